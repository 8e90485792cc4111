#!/usr/bin/env python
"""`gluon-upgrade plot` run from a checkout (gluon_upgrade/commands/plot.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
