#!/usr/bin/env python
"""`gluon-upgrade eval` run from a checkout (gluon_upgrade/commands/eval.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
