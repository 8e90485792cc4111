"""scripts/upgrade.py: the acceptance command, the symbol path, and one-line errors with exit 2."""
import json
import os
import subprocess
import sys

import mxnet as mx
import pytest
from conftest import build

from gluon_upgrade.deploy.symbol import save_network

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SCRIPT = os.path.join(ROOT, "scripts", "upgrade.py")


def run(*args):
    return subprocess.run([sys.executable, SCRIPT] + [str(a) for a in args], capture_output=True, text=True,
                          cwd=ROOT)


@pytest.mark.slow
def test_ssd512_random_init_last3_verify_report(tmp_path):
    """The issue's acceptance command, as written (512x512 input)."""
    report = tmp_path / "upgrade.json"
    result = run("--model", "ssd_512_resnet50_v1_voc", "--random-init", "--layers", "last3", "--verify",
                 "--report", report)
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    assert [l["name"].split("_", 2)[2] for l in data["layers"]] == ["stage4_conv1", "stage4_conv5", "stage4_conv8"]
    assert all(l["params_before"] == 2359296 and l["params_after"] == 2442240 for l in data["layers"])
    assert data["max_rel_diff"] <= 1e-5
    assert data["params_after"] - data["params_before"] == 3 * (82944 + 18)
    assert "total (3 layers)" in result.stdout and "7,326,720" in result.stdout


@pytest.mark.slow
def test_symbol_model_upgrade_writes_symbol_and_params(tmp_path):
    prefix = str(tmp_path / "resnet")
    save_network(build("resnet50_v1", 64), prefix, symbolic=True, input_shape=(1, 3, 64, 64))
    out = str(tmp_path / "upgraded")
    result = run("--symbol", prefix + "-symbol.json", "--params", prefix + "-0000.params", "--input-shape",
                 "1,3,64,64", "--layers", "stage4_conv8", "--dcn", "v2", "--verify", "--out", out)
    assert result.returncode == 0, result.stderr
    graph = json.load(open(out + "-symbol.json"))
    assert sum(n["op"] == "_contrib_ModulatedDeformableConvolution" for n in graph["nodes"]) == 1
    assert os.path.isfile(out + "-0000.params")


@pytest.mark.parametrize("args,message", [
    (["--model", "ssd_512_resnet50_v1_vco", "--random-init"], "unknown model 'ssd_512_resnet50_v1_vco'; did you mean"),
    (["--model", "resnet18_v1", "--weights", "/nonexistent.params"], "weights file not found: /nonexistent.params"),
    (["--symbol", "/no/such-symbol.json", "--params", "/no/such.params", "--input-shape", "1,3,8,8"],
     "file not found: /no/such-symbol.json"),
    (["--model", "resnet18_v1", "--random-init", "--layers", "stage9_conv1"], "no convolution is named"),
])
@pytest.mark.slow
def test_bad_input_is_one_line_on_stderr_and_exit_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_params_file_that_does_not_fit(tmp_path):
    path = tmp_path / "resnet18.params"
    build("resnet18_v1", 32).save_parameters(str(path))
    result = run("--model", "resnet34_v1", "--weights", path)
    assert result.returncode == 2
    assert "does not fit resnet34_v1" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_truncated_params_file_is_named_as_such_not_as_a_misfit(tmp_path):
    """A damaged file gets one line saying so, distinct from a readable file that does not fit; the same for an
    exported model's parameters."""
    whole = tmp_path / "resnet18.params"
    build("resnet18_v1", 32).save_parameters(str(whole))
    cut = tmp_path / "cut.params"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = run("--model", "resnet18_v1", "--weights", cut)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "{}: not a readable .params file (truncated or corrupt?)".format(cut) in result.stderr
    assert "does not fit" not in result.stderr
    prefix = tmp_path / "exported"
    net = build("resnet18_v1", 32)
    net.hybridize()
    net(mx.nd.zeros((1, 3, 32, 32)))
    net.export(str(prefix))
    params = tmp_path / "exported-0000.params"
    params.write_bytes(params.read_bytes()[:1000])
    result = run("--symbol", str(prefix) + "-symbol.json", "--params", params, "--input-shape", "1,3,32,32")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "not a readable .params file (truncated or corrupt?)" in result.stderr
