"""``train.py --dry-run``: check that a config would train, without weights or data."""
from typing import Mapping

import mxnet as mx

from ..errors import ConfigError
from ..models.build import build_network
from ..reporting.params import upgrade_report
from ..runtime import contexts
from ..config.train_section import require_epochs


def dry_run(config: Mapping) -> str:
    """Build the config's network on the CPU (random weights, the zoo's classes) and return the resolved config.

    Returns
    -------
    str
        YAML of the whole config, every default and computed schedule filled in, after comment lines that say
        which network was built, which layers are deformable, and, if so, which devices of ``ctx`` this machine
        lacks.

    Raises
    ------
    GluonUpgradeError
        A config that could not train: no epochs, an unknown model, layers that cannot be upgraded.
    """
    require_epochs(config)
    model = dict(config["model"], weights=None, pretrained=False, pretrained_base=False)
    net = build_network(model, None, [mx.cpu()])
    report = upgrade_report(net)
    lines = ["# {} ({}): {:,} parameters, {} deformable layers{}".format(
        model["name"], model["mode"], report.params_after, len(report.layers),
        ": " + ", ".join(layer.name for layer in report.layers) if report.layers else "")]
    try:
        contexts(config["ctx"])
    except ConfigError as err:
        # A config for a GPU cluster is checked on a laptop too: say what training here would meet, and go on.
        lines.append("# not on this machine: {}".format(err))
    return "\n".join(lines) + "\n" + config.to_yaml()
