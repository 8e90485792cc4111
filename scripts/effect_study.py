#!/usr/bin/env python
"""`gluon-upgrade effect-study` run from a checkout (gluon_upgrade/commands/effect_study.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
