#!/usr/bin/env python
"""`gluon-upgrade pretrain-backbone` run from a checkout (gluon_upgrade/commands/pretrain_backbone.py)."""
from gluon_upgrade.commands import run_script

run_script(__file__)
