"""Build and load the compiled deformable-sampling operator (impl="fast"); warn when it cannot be."""
import sys

from gluon_upgrade.ops import library_path, load_fast_operator


def main() -> int:
    problem = load_fast_operator()
    if problem:
        print("warning: impl='fast' is unavailable on this machine; upgrades fall back to MXNet's operators "
              "(v1) or impl='sampled' (v2): " + problem, file=sys.stderr)
    else:
        print("impl='fast' ready: {}".format(library_path()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
