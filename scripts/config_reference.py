#!/usr/bin/env python
"""Write the reference of every config key, from the schema's own field documentation.

Examples
--------
python scripts/config_reference.py --out docs/config_reference.md
"""
import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="Markdown file to write")
    args = parser.parse_args(argv)
    from gluon_upgrade.cli import run_main
    from gluon_upgrade.config.reference import reference_markdown
    from gluon_upgrade.reporting.files import write_text

    def work():
        write_text(args.out, reference_markdown())
        return "wrote {}".format(args.out)
    return run_main(work)


if __name__ == "__main__":
    sys.exit(main())
