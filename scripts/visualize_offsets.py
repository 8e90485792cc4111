#!/usr/bin/env python
"""`gluon-upgrade visualize-offsets` run from a checkout (gluon_upgrade/commands/visualize_offsets.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
