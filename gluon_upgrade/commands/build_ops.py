"""Build and load the compiled deformable-sampling operator (impl="fast"); warn when it cannot be."""
from ..cli import command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    parse_args(argv)
    from ..ops import library_path, load_fast_operator

    def work() -> str:
        problem = load_fast_operator()
        if problem:
            return ("warning: impl='fast' is unavailable on this machine; upgrades fall back to MXNet's operators "
                    "(v1) or impl='sampled' (v2): " + problem)
        return "impl='fast' ready: {}".format(library_path())
    return run_main(work)
