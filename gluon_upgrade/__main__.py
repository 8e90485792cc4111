"""``python -m gluon_upgrade COMMAND ARGS``: the ``gluon-upgrade`` command without its console script."""
import sys

from .commands import main

sys.exit(main())
