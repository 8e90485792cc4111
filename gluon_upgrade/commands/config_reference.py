"""Write the reference of every config key, from the schema's own field documentation.

Examples
--------
python scripts/config_reference.py --out docs/config_reference.md
"""
from ..cli import command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--out", required=True, help="Markdown file to write")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..config.reference import reference_markdown
    from ..reporting.files import write_text

    def work():
        write_text(args.out, reference_markdown())
        return "wrote {}".format(args.out)
    return run_main(work)
