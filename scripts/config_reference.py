#!/usr/bin/env python
"""`gluon-upgrade config-reference` run from a checkout (gluon_upgrade/commands/config_reference.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
