"""gluon-upgrade: upgrade trained Gluon networks' convolutions to deformable convolutions in place."""
import glob
import os
import re

from setuptools import find_packages, setup

# The version is written once, in the package; read it as text (importing the package needs MXNet).
VERSION = re.search(r'^__version__ = "([^"]+)"', open("gluon_upgrade/__init__.py", encoding="utf-8").read(),
                    re.M).group(1)

setup(
    name="gluon-upgrade",
    version=VERSION,
    license="Apache-2.0",
    description=("Upgrade standard convolutions of trained MXNet Gluon / GluonCV networks to deformable "
                 "convolutions in place, keeping every trained weight and every output."),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["gluon_upgrade", "gluon_upgrade.*"]),
    # The compiled operator's source: built on first use (or by scripts/build_ops.py) against the MXNet wheel.
    package_data={"gluon_upgrade.ops": ["deform_sample.cc"]},
    # The configs, for `configs/...` paths from any folder (gluon_upgrade.paths.configs_root).
    data_files=[(os.path.join("share", "gluon-upgrade", folder), sorted(glob.glob(os.path.join(folder, "*.yaml"))))
                for folder in sorted({os.path.dirname(p) for p in glob.glob("configs/**/*.yaml", recursive=True)})],
    entry_points={"console_scripts": ["gluon-upgrade = gluon_upgrade.commands:main"]},
    python_requires=">=3.8",
    # mxnet itself is an extra: the CPU wheel and the CUDA wheel are different distributions.
    install_requires=[
        "gluoncv==0.10.5.post0",
        "numpy<1.24",
        "matplotlib<3.9",
        "pyyaml",
        "tqdm",
        "pycocotools",
        "opencv-python<4.11",
        "pandas<2.2",
        "scipy<1.12",
    ],
    extras_require={
        "cpu": ["mxnet==1.9.1"],
        "cu112": ["mxnet-cu112==1.9.1"],
        "tensorboard": ["tensorboardX"],
        # ONNX export (scripts/export.py): DeformConv needs opset 19; onnxruntime runs it on CPU.
        "onnx": ["onnx", "onnxruntime"],
        "test": ["pytest", "tensorboardX", "onnx", "onnxruntime"],
    },
)
