#!/usr/bin/env python
"""`gluon-upgrade show-data` run from a checkout (gluon_upgrade/commands/show_data.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
