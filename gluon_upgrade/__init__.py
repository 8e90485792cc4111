"""gluon-upgrade: upgrade standard convolutions of trained Gluon networks to deformable ones, in place.

Implements "Upgrade standard convolution in-place using deformable convolution": a trained ``Conv2D`` becomes a
deformable convolution whose main weight and bias are the trained ones and whose offset branch is zero, so the
network's outputs do not change until fine-tuning lets the offsets learn.
"""
try:
    import mxnet  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "gluon_upgrade needs MXNet 1.9.1, which is installed through an extra: "
        "pip install 'gluon-upgrade[cpu]' (mxnet==1.9.1, CPU) or "
        "pip install 'gluon-upgrade[cu112]' (mxnet-cu112==1.9.1, CUDA 11.2)"
    ) from err

from .errors import (ConfigError, DataError, ExportError, GluonUpgradeError, ModelError, TrainingError, UpgradeError,
                     UsageError)
from .models.zoo import load_zoo_model
from .reporting.params import LayerCost, UpgradeReport, upgrade_report
from .selection.layers import ConvLayer, conv_layers
from .surgery.inplace import upgrade
from .verify import (Difference, Verification, exactness_tolerance, network_outputs,
                     output_difference, upgrade_verified, verify_outputs)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ConvLayer",
    "DataError",
    "Difference",
    "ExportError",
    "GluonUpgradeError",
    "LayerCost",
    "ModelError",
    "TrainingError",
    "UpgradeError",
    "UpgradeReport",
    "UsageError",
    "Verification",
    "conv_layers",
    "exactness_tolerance",
    "load_zoo_model",
    "network_outputs",
    "output_difference",
    "upgrade",
    "upgrade_report",
    "upgrade_verified",
    "verify_outputs",
]
