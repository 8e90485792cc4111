#!/usr/bin/env python
"""`gluon-upgrade reproduce` run from a checkout (gluon_upgrade/commands/reproduce.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
