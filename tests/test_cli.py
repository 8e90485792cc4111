"""scripts/upgrade.py: the acceptance command, the symbol path, and one-line errors with exit 2."""
import json
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from conftest import build

import gluon_upgrade as gu
from gluon_upgrade.deploy.symbol import save_network
from gluon_upgrade.selection.layers import SAMPLED_MARK
from gluon_upgrade.verify import exactness_tolerance, output_difference

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SCRIPT = os.path.join(ROOT, "scripts", "upgrade.py")


def run(*args, env=None):
    return subprocess.run([sys.executable, SCRIPT] + [str(a) for a in args], capture_output=True, text=True,
                          cwd=ROOT, env=env)


@pytest.mark.exactness
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
    check = data["verification"]
    assert check["passed"] and check["tolerance"]["reduction_length"] == 2048 * 9  # a head on stage 4's 2048 channels
    assert data["max_rel_diff"] == check["raw"]["max_rel"] <= check["tolerance"]["bound"]
    assert check["detections"]["detections"] > 0 and check["detections"]["unmatched"] == 0
    assert data["params_after"] - data["params_before"] == 3 * (82944 + 18)
    assert "total (3 layers)" in result.stdout and "7,326,720" in result.stdout


@pytest.mark.exactness
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


@pytest.mark.slow
def test_pretrained_weights_that_cannot_be_fetched_say_where_they_go(tmp_path):
    # GluonCV fetches from MXNET_GLUON_REPO into $MXNET_HOME/models: a closed local port fails at once, online too.
    env = dict(os.environ, MXNET_HOME=str(tmp_path / "home"), MXNET_GLUON_REPO="http://127.0.0.1:9/")
    result = run("--model", "resnet18_v1", "--pretrained", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "building resnet18_v1 needs GluonCV weights that could not be fetched" in result.stderr
    assert "copy them into {}".format(tmp_path / "home" / "models") in result.stderr


def _trained(tmp_path):
    """A resnet18_v1 with random weights saved as a user's trained file, with its input and outputs."""
    net = build("resnet18_v1", 64)
    path = tmp_path / "trained.params"
    net.save_parameters(str(path))
    x = mx.nd.random.uniform(shape=(1, 3, 64, 64))
    return net, path, x


@pytest.mark.exactness
@pytest.mark.slow
def test_trained_weights_upgraded_with_two_deformable_groups_and_exported(tmp_path):
    net, path, x = _trained(tmp_path)
    last = net.features[7][1].body[3]  # stage 4, block 2, its second 3x3 convolution: resnet18's last
    report, prefix = tmp_path / "report.json", str(tmp_path / "exported")
    result = run("--model", "resnet18_v1", "--weights", path, "--input-shape", "1,3,64,64", "--layers", "last1",
                 "--deformable-groups", "2", "--verify", "--report", report, "--out", prefix, "--export")
    assert result.returncode == 0, result.stderr
    (layer,) = json.loads(report.read_text())["layers"]
    assert layer["name"].endswith("stage4_conv4")
    assert layer["params_after"] - layer["params_before"] == 2 * 2 * 9 * 512 * 9  # (dy, dx) x taps x groups
    assert layer["offset_bias"] == 36
    nodes = json.load(open(prefix + "-symbol.json"))["nodes"]
    (dcn,) = [n for n in nodes if n["op"] == "_contrib_DeformableConvolution"]
    assert dcn["attrs"]["num_deformable_group"] == "2"
    saved = mx.nd.load(prefix + "-0000.params")
    (weight,) = [v for k, v in saved.items() if k.endswith("stage4_conv4_deformable_conv_weight")]
    np.testing.assert_array_equal(weight.asnumpy(), last.weight.data().asnumpy())
    (offset,) = [v for k, v in saved.items() if k.endswith("stage4_conv4_offset_weight")]
    assert offset.shape == (36, 512, 3, 3) and not offset.asnumpy().any()
    # The exported model is the trained network: same outputs on a new input.
    exported = mx.gluon.SymbolBlock.imports(prefix + "-symbol.json", ["data"], prefix + "-0000.params")
    assert output_difference(net(x), exported(x)).max_rel <= exactness_tolerance(exported).bound


@pytest.mark.slow
def test_block_output_loads_into_the_same_upgrade_and_keeps_the_trained_outputs(tmp_path):
    net, path, x = _trained(tmp_path)
    result = run("--model", "resnet18_v1", "--weights", path, "--input-shape", "1,3,64,64", "--out",
                 tmp_path / "upgraded")
    assert result.returncode == 0, result.stderr
    assert "wrote {}".format(tmp_path / "upgraded.params") in result.stdout
    fresh = gu.upgrade(build("resnet18_v1", 64, seed=5), layers="last3")
    fresh.load_parameters(str(tmp_path / "upgraded.params"))
    assert output_difference(net(x), fresh(x)).max_rel <= exactness_tolerance(fresh).bound


@pytest.mark.exactness
@pytest.mark.slow
@pytest.mark.parametrize("impl", ["sampled", "fast"])
def test_composite_impls_verify_and_export_as_their_operators(tmp_path, impl):
    prefix = str(tmp_path / "net")
    result = run("--model", "resnet18_v1", "--random-init", "--input-shape", "1,3,64,64", "--impl", impl,
                 "--verify", "--out", prefix, "--export")
    assert result.returncode == 0, result.stderr
    graph = open(prefix + "-symbol.json").read()
    assert "_contrib_DeformableConvolution" not in graph
    assert graph.count(SAMPLED_MARK) == 3
    assert ('"gu_deform_sample"' in graph) == (impl == "fast")


@pytest.mark.slow
def test_scope_limits_where_last_n_is_counted(tmp_path):
    names = {}
    for scope in ("resnetv10_stage3_", "auto"):
        report = tmp_path / "{}.json".format(scope)
        result = run("--model", "resnet18_v1", "--random-init", "--input-shape", "1,3,64,64", "--layers", "last2",
                     "--scope", scope, "--report", report)
        assert result.returncode == 0, result.stderr
        names[scope] = [l["name"] for l in json.loads(report.read_text())["layers"]]
    # Basic blocks: conv0, conv1, then the first block's 1x1 shortcut conv2, then conv3, conv4.
    assert names["resnetv10_stage3_"] == ["resnetv10_stage3_conv3", "resnetv10_stage3_conv4"]
    assert names["auto"] == ["resnetv10_stage4_conv3", "resnetv10_stage4_conv4"]
    whole = run("--model", "yolo3_darknet53_voc", "--random-init", "--input-shape", "1,3,64,64", "--layers",
                "last1", "--scope", "", "--report", tmp_path / "yolo.json")
    assert whole.returncode == 0, whole.stderr
    (layer,) = json.loads((tmp_path / "yolo.json").read_text())["layers"]
    assert "yolodetectionblockv3" in layer["name"]  # a head's layer, not Darknet's: the whole network


@pytest.mark.slow
def test_verification_that_fails_exits_1():
    # The deformable operator sums in another order than oneDNN's convolution: float32 rounding, above 1e-12.
    result = run("--model", "resnet18_v1", "--random-init", "--input-shape", "1,3,64,64", "--verify", "--rtol",
                 "1e-12")
    assert result.returncode == 1
    assert "FAILED: the outputs changed. raw head outputs: relative difference" in result.stderr
    assert "> 1e-12" in result.stderr
