#!/usr/bin/env python
"""`gluon-upgrade launch-dist` run from a checkout (gluon_upgrade/commands/launch_dist.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
