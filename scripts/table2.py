#!/usr/bin/env python
"""`gluon-upgrade table2` run from a checkout (gluon_upgrade/commands/table2.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
