"""Which config a resumed run continues with: the one saved in its run directory."""
from typing import Mapping, Optional, Sequence

from ..config.loader import load_config
from ..config.schema import Config, differences
from ..errors import ConfigError
from .rundir import CONFIG, RunDir

CHANGEABLE = ("ctx", "data.root", "data.num_workers", "eval.batch_size", "train.log_interval", "train.tensorboard")
"""Keys a resumed run may change: where it runs and reads data, not what it trains."""


def resume_config(output: str, config: Optional[Mapping] = None, overrides: Sequence[str] = ()) -> Config:
    """The saved config of the run in ``output``, with the ``CHANGEABLE`` keys of ``config`` or ``overrides``.

    Raises
    ------
    ConfigError
        No run in ``output``, or ``config``/``overrides`` changing what the run trains (the keys are named).
    """
    run = RunDir(output)
    run.require_run()
    saved_path = run.file(CONFIG)
    saved = load_config(saved_path)
    wanted = load_config(saved_path, overrides) if config is None else config
    changed = [key for key in differences(saved, wanted) if key not in CHANGEABLE]
    if changed:
        raise ConfigError("--resume: the run in {} was started with other values of: {}; a resumed run may "
                          "change only {}".format(output, ", ".join(changed), ", ".join(CHANGEABLE)))
    return wanted
