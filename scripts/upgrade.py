#!/usr/bin/env python
"""`gluon-upgrade upgrade` run from a checkout (gluon_upgrade/commands/upgrade.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
