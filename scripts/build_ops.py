#!/usr/bin/env python
"""`gluon-upgrade build-ops` run from a checkout (gluon_upgrade/commands/build_ops.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
