#!/usr/bin/env python
"""`gluon-upgrade export` run from a checkout (gluon_upgrade/commands/export.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
