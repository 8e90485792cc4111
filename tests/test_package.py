"""The package's import contract."""
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def test_import_without_mxnet_names_the_two_extras():
    code = "import sys; sys.modules['mxnet'] = None; import gluon_upgrade"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert "gluon-upgrade[cpu]" in result.stderr and "gluon-upgrade[cu112]" in result.stderr
