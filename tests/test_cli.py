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
                 "1,3,64,64", "--layers", "stage4_conv8", "--dcn-version", "v2", "--verify", "--prefix", out)
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
    # Gluon's advice names an argument of load_parameters, which a user of the command line cannot set.
    bigger = tmp_path / "resnet34.params"
    build("resnet34_v1", 32).save_parameters(str(bigger))
    result = run("--model", "resnet18_v1", "--weights", bigger)
    assert result.returncode == 2 and "does not fit resnet18_v1" in result.stderr
    assert "is not present in ParameterDict" in result.stderr and "ignore_extra" not in result.stderr


def _export_small(prefix, classes, channels=3):
    """A 3x3 convolution and a dense head of ``classes`` outputs, exported under fixed names."""
    net = mx.gluon.nn.HybridSequential(prefix="small_")
    with net.name_scope():
        net.add(mx.gluon.nn.Conv2D(8, 3, padding=1, in_channels=channels), mx.gluon.nn.GlobalAvgPool2D(),
                mx.gluon.nn.Dense(classes, in_units=8))
    net.initialize()
    net.hybridize()
    net(mx.nd.zeros((1, channels, 16, 16)))
    net.export(prefix)
    return prefix + "-symbol.json", prefix + "-0000.params"


def test_exported_params_of_another_shape_are_refused_before_anything_is_written(tmp_path):
    """The same names in other shapes (a 10-class head's file for a 1000-class graph): MXNet loads any shape into
    a graph and fails only when it runs, and the upgrade used to write an empty .params file and exit 0."""
    graph, _ = _export_small(str(tmp_path / "five"), 5)
    _, other = _export_small(str(tmp_path / "three"), 3)
    out = str(tmp_path / "upgraded")
    expected = ("error: {} does not fit the graph for an input of shape 1,3,16,16: 2 parameter(s) have other shapes: "
                "small_dense0_weight is (3, 8), the graph needs (5, 8); small_dense0_bias is (3,), the graph needs "
                "(5,)".format(other))
    result = run("--symbol", graph, "--params", other, "--input-shape", "1,3,16,16", "--prefix", out)
    assert (result.returncode, result.stderr.strip()) == (2, expected)
    exported = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "export.py"), "--symbol", graph,
                               "--params", other, "--input-shape", "1,3,16,16", "--prefix", out],
                              capture_output=True, text=True, cwd=ROOT)
    assert (exported.returncode, exported.stderr.strip()) == (2, expected)
    # An input the graph cannot take: one line with MXNet's own words, not its stack trace.
    _, params = _export_small(str(tmp_path / "five"), 5)
    result = run("--symbol", graph, "--params", params, "--input-shape", "1,1,16,16", "--prefix", out)
    assert (result.returncode, result.stderr.strip()) == (
        2, "error: the graph cannot take an input of shape 1,1,16,16: Error in operator small_conv0_fwd: Shape "
           "inconsistent, Provided = [8,3,3,3], inferred shape=(8,1,3,3)")
    assert not [name for name in os.listdir(tmp_path) if name.startswith("upgraded")]


def test_a_damaged_symbol_file_is_named_in_one_line(tmp_path):
    """MXNet's own error for a cut-off graph file is a stack trace ending in bytes it cannot decode."""
    graph, params = _export_small(str(tmp_path / "five"), 5)
    text = open(graph).read()
    for content, reason in ((text[: len(text) // 2], "Expecting"), ('{"arg_nodes": []}', "without a list of nodes")):
        with open(graph, "w") as f:
            f.write(content)
        for script in ("upgrade.py", "export.py"):
            result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", script), "--symbol", graph,
                                     "--params", params, "--input-shape", "1,3,16,16", "--prefix",
                                     str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)
            lines = result.stderr.strip().splitlines()
            assert result.returncode == 2 and len(lines) == 1, result.stderr
            assert lines[0].startswith("error: {}: not an MXNet symbol file (".format(graph)) and reason in lines[0]


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
                 "--deformable-groups", "2", "--verify", "--report", report, "--prefix", prefix, "--export")
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
    result = run("--model", "resnet18_v1", "--weights", path, "--input-shape", "1,3,64,64", "--prefix",
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
                 "--verify", "--prefix", prefix, "--export")
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


def readme_python_example():
    """The README's first Python block."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    return text.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_the_readme_python_example_offline_says_what_the_command_line_says(tmp_path):
    """Offline, the README's example stops with the command line's message (where the weights go, how to build
    without them) instead of requests' 80-line chain, and leaves no empty lock file in the weights folder."""
    home = tmp_path / "home"
    env = dict(os.environ, MXNET_HOME=str(home), MXNET_GLUON_REPO="http://127.0.0.1:9/")
    result = subprocess.run([sys.executable, "-c", readme_python_example()], capture_output=True, text=True,
                            cwd=str(tmp_path), env=env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) < 15, result.stderr
    assert lines[-1].startswith("gluon_upgrade.errors.ModelError: building ssd_512_resnet50_v1_voc needs GluonCV "
                                "weights that could not be fetched")
    assert lines[-1].endswith("copy them into {}, or build without them (pretrained: false, pretrained_base: "
                              "false)".format(home / "models"))
    assert not [name for name in os.listdir(home / "models") if name.endswith(".lock")]


@pytest.mark.exactness
@pytest.mark.slow
def test_a_trained_demo_detector_upgrades_from_its_run_config(demo_voc, tmp_path):
    """scripts/upgrade.py used to build the project's demo detector with one class and refuse its trained
    weights; --config builds it as its run did (the classes of its data), and the result loads into the network
    that config builds in upgrade mode."""
    from gluon_upgrade.config.loader import config_from_dict
    from gluon_upgrade.data.datasets import detection_dataset
    from gluon_upgrade.models.build import build_network
    raw = {"model": {"name": "ssd_128_resnet29_v1_demo", "pretrained_base": False},
           "data": {"format": "voc", "root": demo_voc.root, "train_splits": ["2007/trainval"],
                    "val_splits": ["2007/test"]}}
    config = config_from_dict(raw)
    classes = detection_dataset(config.data, train=False).classes
    weights = str(tmp_path / "baseline.params")
    build_network(config.model, classes, [mx.cpu()]).save_parameters(weights)
    path = tmp_path / "config.yaml"
    path.write_text(config.to_yaml())
    out = str(tmp_path / "upgraded")
    result = run("--config", path, "--weights", weights, "--verify", "--prefix", out)
    assert result.returncode == 0, result.stderr
    as_upgrade = dict(raw, model=dict(raw["model"], mode="upgrade", weights=weights))
    upgraded = build_network(config_from_dict(as_upgrade).model, classes, [mx.cpu()])
    upgraded.load_parameters(out + ".params")  # every parameter, each in its shape
    path.write_text(config_from_dict(dict(raw, model=dict(raw["model"], mode="dcn_scratch"))).to_yaml())
    result = run("--config", path, "--weights", weights)
    assert (result.returncode, result.stderr.strip()) == (
        2, "error: model.mode is dcn_scratch, a network that is already deformable; give a baseline's config "
           "(model.mode: baseline)")


def test_out_names_files_not_a_folder(tmp_path):
    """--prefix DIR/ used to write the hidden file DIR/.params."""
    graph, params = _export_small(str(tmp_path / "small"), 5)
    for script in ("upgrade.py", "export.py"):
        result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", script), "--symbol", graph,
                                 "--params", params, "--input-shape", "1,3,16,16", "--prefix", str(tmp_path) + os.sep],
                                capture_output=True, text=True, cwd=ROOT)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines()[-1].endswith(
            "error: argument --prefix: {} is a folder; give the files' name inside it, e.g. {}".format(
                str(tmp_path) + os.sep, os.path.join(str(tmp_path) + os.sep, "upgraded")))
    assert sorted(os.listdir(tmp_path)) == ["small-0000.params", "small-symbol.json"]


def test_an_input_too_small_for_the_network_is_one_line():
    result = run("--model", "ssd_300_vgg16_atrous_voc", "--random-init", "--input-shape", "1,3,16,16")
    assert result.returncode == 2 and result.stdout == ""
    line, = result.stderr.strip().splitlines()
    assert line.startswith("error: ssd_300_vgg16_atrous_voc cannot take an input of shape 1,3,16,16 (")
    assert "kernel size exceed input" in line and line.endswith("; its training size is 1,3,300,300")
