#!/usr/bin/env python
"""`gluon-upgrade positive-control` run from a checkout (gluon_upgrade/commands/positive_control.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
