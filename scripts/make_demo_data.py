#!/usr/bin/env python
"""`gluon-upgrade make-demo-data` run from a checkout (gluon_upgrade/commands/make_demo_data.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
