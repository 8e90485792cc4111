#!/usr/bin/env python
"""`gluon-upgrade depth-study` run from a checkout (gluon_upgrade/commands/depth_study.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
