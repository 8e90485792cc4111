#!/usr/bin/env python
"""`gluon-upgrade train` run from a checkout (gluon_upgrade/commands/train.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
