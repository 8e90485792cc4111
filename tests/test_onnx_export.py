"""ONNX export of upgraded networks: the DeformConv converters against MXNet's operators (non-zero offsets, both
backends), the v1 border rule, a whole detector, errors, and scripts/export.py."""
import json
import os

import mxnet as mx
import numpy as np
import onnx
import pytest
from conftest import run_script
from mxnet.gluon import nn
from onnx import TensorProto, helper

import gluon_upgrade as gu
from gluon_upgrade.deploy.export import export_network
from gluon_upgrade.deploy.onnx_export import (before_nms, check_onnx, export_onnx, load_symbol, onnx_output_name,
                                              run_mxnet, run_onnx)
from gluon_upgrade.deploy.symbol import save_network
from gluon_upgrade.errors import ExportError, ModelError
from gluon_upgrade.selection.heads import head_outputs
from gluon_upgrade.models.zoo import load_zoo_model

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def upgraded_net(version, deformable_groups=1, offset_std=0.3, seed=0):
    """Conv -> 3x3 conv (stride 2) -> BN -> 3x3 conv (dilation 2, 2 groups), the last two deformable, with
    random offset branches large enough that many samples fall near or outside the map's border."""
    mx.random.seed(seed)
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Conv2D(8, 3, padding=1, activation="relu"), nn.Conv2D(8, 3, strides=2, padding=1, use_bias=False),
                nn.BatchNorm(), nn.Activation("relu"), nn.Conv2D(6, 3, padding=2, dilation=2, groups=2))
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 3, 11, 9)))
    net = gu.upgrade(net, layers="last2", scope="", version=version, deformable_groups=deformable_groups)
    for name, param in net.collect_params().items():
        if "offset" in name:
            param.set_data(mx.nd.random.normal(0, offset_std if name.endswith("weight") else 1.0, shape=param.shape))
    return net


def export(net, tmp_path, shape=(2, 3, 11, 9)):
    prefix = str(tmp_path / "net")
    save_network(net, prefix, True, shape)
    sym, params = load_symbol(prefix + "-symbol.json", prefix + "-0000.params")
    export_onnx(sym, params, shape, prefix + ".onnx")
    return sym, params, prefix + ".onnx"


def data(shape=(2, 3, 11, 9), seed=1):
    return np.random.RandomState(seed).normal(size=shape).astype(np.float32)


@pytest.mark.parametrize("version,groups", [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_onnx_equals_mxnet_with_nonzero_offsets(tmp_path, version, groups):
    net = upgraded_net(version, groups)
    sym, params, path = export(net, tmp_path)
    model = onnx.load(path)
    assert model.opset_import[0].version == 19
    assert sum(node.op_type == "DeformConv" for node in model.graph.node) == 2
    assert [value.name for value in model.graph.input] == ["data"]
    check = check_onnx(sym, params, path, data())
    assert check.backend.startswith("onnxruntime")
    layers = [o for o in check.outputs if o.role == "deformable layer output"]
    assert len(layers) == 2 and all(o.max_value > 0.1 for o in layers)
    assert check.max_abs < 2e-5, check.format_table()
    # The network itself, run by Gluon, agrees too (the check's MXNet side is the exported graph).
    ours = net(mx.nd.array(data())).asnumpy()
    theirs, _ = run_onnx(path, data())
    np.testing.assert_allclose(theirs[onnx_output_name(sym.list_outputs()[0])], ours, atol=2e-5)


def test_samples_reach_the_border_where_v1_and_onnx_rules_differ(tmp_path):
    """Without the v1 border rule in the graph, ONNX's DeformConv would differ from MXNet's v1 here."""
    net = upgraded_net(1)
    sym, params, path = export(net, tmp_path)
    internals = sym.get_internals()
    layer = [s for s in internals if s.attr("op_name") == "_contrib_DeformableConvolution"][-1]
    x_sym, offset_sym, weight_sym, bias_sym = layer.get_children()
    x, offset = run_mxnet(mx.sym.Group([x_sym, offset_sym]), params, data())
    weight, bias = params[weight_sym.name].asnumpy(), params[bias_sym.name].asnumpy()
    plain = helper.make_model(helper.make_graph(
        [helper.make_node("DeformConv", ["x", "w", "offset", "b"], ["y"], kernel_shape=[3, 3], pads=[2] * 4,
                          dilations=[2, 2], group=2)], "plain",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape)
         for n, a in (("x", x), ("w", weight), ("offset", offset), ("b", bias))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]), opset_imports=[helper.make_opsetid("", 19)])
    import onnxruntime
    session = onnxruntime.InferenceSession(plain.SerializeToString(), providers=["CPUExecutionProvider"])
    plain_out = session.run(None, {"x": x, "w": weight, "offset": offset, "b": bias})[0]
    mxnet_out = run_mxnet(layer, params, data())[0]
    exported, _ = run_onnx(path, data())
    assert np.abs(plain_out - mxnet_out).max() > 1e-2
    np.testing.assert_allclose(exported[onnx_output_name(sym.list_outputs()[0])], mxnet_out, atol=2e-5)


@pytest.mark.slow
@pytest.mark.parametrize("version", [1, 2])
def test_reference_evaluator_agrees(tmp_path, version):
    net = upgraded_net(version)
    sym, params, path = export(net, tmp_path, shape=(1, 3, 11, 9))
    check = check_onnx(sym, params, path, data((1, 3, 11, 9)), backend="reference")
    assert check.backend.startswith("onnx.reference")
    assert check.max_abs < 2e-5, check.format_table()


def test_detector_export_compares_before_nms_and_runs_whole(tmp_path):
    net = load_zoo_model("ssd_128_resnet29_v1_demo", random=True, input_shape=(1, 3, 128, 128))
    net = gu.upgrade(net, layers="last3", version=1)
    for name, param in net.collect_params().items():
        if "offset_weight" in name:
            param.set_data(mx.nd.random.normal(0, 0.05, shape=param.shape))
    result = export_network(net, str(tmp_path / "ssd"), (1, 3, 128, 128), check_input=data((1, 3, 128, 128)))
    assert [os.path.basename(p) for p in result.files] == ["ssd-symbol.json", "ssd-0000.params", "ssd.onnx"]
    check = result.check
    assert "before non-maximum suppression" in check.compared
    assert [o.role for o in check.outputs].count("deformable layer output") == 3
    assert check.max_rel < 1e-4, check.format_table()
    assert check.model_outputs == [(1, 100, 1), (1, 100, 1), (1, 100, 4)]
    sym, _ = load_symbol(str(tmp_path / "ssd-symbol.json"), str(tmp_path / "ssd-0000.params"))
    assert before_nms(sym) is not None
    report = result.to_markdown("t", "cmd", "machine", "random")
    assert "| ssd0_" in report and "Command: `cmd`" in report


def _shift(net):
    """Fractional offsets of about a pixel, the same at every position: random offset weights would scale with
    the random detectors' activations (up to 1e4 in YOLOv3) and send every sample off the map."""
    for name, param in net.collect_params().items():
        if name.endswith("offset_bias"):
            param.set_data(mx.nd.random.normal(0, 1.0, shape=param.shape))


def _nms_graph(symbol_file, force_suppress):
    """The exported graph with its ``box_nms`` suppressing across classes (True) or per class (as exported)."""
    graph = json.load(open(symbol_file))
    (nms,) = [node for node in graph["nodes"] if node["op"] == "_contrib_box_nms"]
    assert nms["attrs"]["force_suppress"] == "False"  # GluonCV suppresses per class
    nms["attrs"]["force_suppress"] = str(force_suppress)
    return mx.sym.load_json(json.dumps(graph))


@pytest.mark.parametrize("name,size", [("ssd_128_resnet29_v1_demo", 128),
                                       pytest.param("yolo3_darknet53_voc", 128, marks=pytest.mark.slow)])
def test_written_detector_onnx_equals_mxnet_up_to_its_class_agnostic_nms(tmp_path, name, size):
    """The .onnx file as written, run by onnxruntime, against MXNet running the same exported graph with
    non-maximum suppression across classes: mx2onnx turns box_nms into ONNX NonMaxSuppression, which cannot
    suppress per class (the next test). Against the graph as exported, per class, the detections differ
    wherever boxes of different classes overlap."""
    import onnxruntime
    shape = (1, 3, size, size)
    net = gu.upgrade(load_zoo_model(name, random=True, input_shape=shape), layers="last3", version=1)
    mx.random.seed(0)
    _shift(net)
    prefix = str(tmp_path / "det")
    export_network(net, prefix, shape)
    x = data(shape)
    session = onnxruntime.InferenceSession(prefix + ".onnx", providers=["CPUExecutionProvider"],
                                           disabled_optimizers=["ConstantFolding"])
    ids, scores, boxes = session.run(None, {"data": x})
    assert ids.shape == (1, 100, 1) and (ids >= 0).sum() > 50
    params = mx.nd.load(prefix + "-0000.params")
    params = {k.split(":", 1)[1]: v for k, v in params.items()}

    def mxnet(force_suppress):
        sym = _nms_graph(prefix + "-symbol.json", force_suppress)
        args = {k: v for k, v in params.items() if k in sym.list_arguments()}
        aux = {k: v for k, v in params.items() if k in sym.list_auxiliary_states()}
        executor = sym.bind(mx.cpu(), args=dict(args, data=mx.nd.array(x)), aux_states=aux, grad_req="null")
        return [o.asnumpy() for o in executor.forward(is_train=False)]

    agnostic = mxnet(True)
    np.testing.assert_array_equal(ids, agnostic[0])
    for theirs, ours in zip((scores, boxes), agnostic[1:]):
        # Random YOLOv3 regressions overflow exp() into infinite boxes: both must, in the same places.
        scale = np.abs(ours[np.isfinite(ours)]).max()
        np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-4 * scale)


def test_a_written_segmenter_onnx_scores_every_pixel_as_gluon_does(tmp_path):
    """The demo segmenter (its scores resized to the input, ``BilinearResize2D``'s ``like`` mode, which mx2onnx
    refuses) with three deformable layers and shifted offsets: the .onnx file as written, run by onnxruntime,
    against the Gluon network itself, at 72 px (9x9 maps at stride 8)."""
    import onnxruntime
    from gluon_upgrade.models.demo_fcn import fcn_128_resnet29_v1_demo
    mx.random.seed(0)
    net = fcn_128_resnet29_v1_demo(classes=("a", "b", "c"))
    net.initialize(mx.init.Xavier())
    shape = (1, 3, 72, 72)
    net(mx.nd.zeros(shape))
    net = gu.upgrade(net, layers="last3", version=1)
    _shift(net)
    prefix = str(tmp_path / "seg")
    export_network(net, prefix, shape)
    model = onnx.load(prefix + ".onnx")
    assert sum(node.op_type == "DeformConv" for node in model.graph.node) == 3
    assert sum(node.op_type == "Resize" for node in model.graph.node) == 2
    x = data(shape)
    session = onnxruntime.InferenceSession(prefix + ".onnx", providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"data": x})
    ours = [o.asnumpy() for o in net(mx.nd.array(x))]
    assert [t.shape for t in theirs] == [(1, 4, 72, 72)] * 2
    for a, b in zip(theirs, ours):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(b).max())


def test_onnx_suppresses_across_classes_where_mxnet_suppresses_per_class(tmp_path):
    """Two boxes of different classes overlapping at IoU 0.81: GluonCV's box_nms keeps both, the ONNX model
    keeps the better one. This is what the exported detectors' NMS does differently."""
    boxes = np.array([[[0, 0.9, 0, 0, 10, 10], [1, 0.8, 1, 1, 10, 10], [0, 0.7, 20, 20, 30, 30]]], np.float32)
    sym = mx.sym.contrib.box_nms(mx.sym.var("data"), overlap_thresh=0.5, valid_thresh=0.01, id_index=0,
                                 score_index=1, coord_start=2, force_suppress=False)
    path = export_onnx(sym, {}, boxes.shape, str(tmp_path / "nms.onnx"))
    ours = run_mxnet(sym, {}, boxes)[0]
    theirs = next(iter(run_onnx(path, boxes)[0].values()))
    np.testing.assert_array_equal(ours[0, :, 0], [0, 1, 0])
    np.testing.assert_array_equal(theirs[0, :, 0], [0, 0, -1])
    np.testing.assert_array_equal(theirs[0, :2], boxes[0, [0, 2]])


def test_errors_name_the_problem(tmp_path):
    net = upgraded_net(1)
    sym, params, _ = export(net, tmp_path)
    with pytest.raises(ExportError, match="opset >= 19"):
        export_onnx(sym, params, (1, 3, 11, 9), str(tmp_path / "x.onnx"), opset=17)
    two_inputs = mx.sym.elemwise_add(sym, mx.sym.var("other"))
    with pytest.raises(ExportError, match="one input named data.*other"):
        export_onnx(two_inputs, params, (1, 3, 11, 9), str(tmp_path / "x.onnx"))
    with pytest.raises(ModelError, match="not found"):
        load_symbol(str(tmp_path / "no-symbol.json"), str(tmp_path / "no.params"))
    with pytest.raises(ExportError, match="backend must be one of"):
        run_onnx(str(tmp_path / "net.onnx"), data(), backend="tvm")


def run_export(*args):
    return run_script("scripts/export.py", *args)


@pytest.mark.slow
def test_script_exports_a_symbol_model_and_writes_the_report(tmp_path):
    net = upgraded_net(2)
    prefix = str(tmp_path / "net")
    save_network(net, prefix, True, (1, 3, 11, 9))
    report = tmp_path / "report.md"
    result = run_export("--symbol", prefix + "-symbol.json", "--params", prefix + "-0000.params", "--input-shape",
                        "1,3,11,9", "--prefix", tmp_path / "out", "--report", report)
    assert result.returncode == 0, result.stderr
    assert os.path.isfile(str(tmp_path / "out.onnx"))
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["opset"] == 19 and saved["check"]["max_abs"] < 2e-5
    assert "deformable layer output" in report.read_text()


@pytest.mark.slow
def test_script_errors_exit_2(tmp_path):
    result = run_export("--symbol", tmp_path / "no-symbol.json", "--params", tmp_path / "no.params",
                        "--input-shape", "1,3,8,8", "--prefix", tmp_path / "o")
    assert result.returncode == 2 and "exported model file not found" in result.stderr
    for shape in ("1,3,8", "1,3,8,x", "1,3,0,8"):
        result = run_export("--symbol", tmp_path / "no-symbol.json", "--params", tmp_path / "no.params",
                            "--input-shape", shape, "--prefix", tmp_path / "o")
        assert result.returncode == 2 and "N,C,H,W" in result.stderr and "Traceback" not in result.stderr


def _saved_detector(tmp_path, name, size, seed=0):
    """An upgraded model-zoo detector with random offset branches, saved as symbol + params: the prefix."""
    net = gu.upgrade(load_zoo_model(name, random=True, input_shape=(1, 3, size, size)), layers="last3")
    mx.random.seed(seed)
    _shift(net)
    prefix = str(tmp_path / name)
    save_network(net, prefix, True, (1, 3, size, size))
    return prefix


@pytest.mark.slow
def test_script_checks_on_an_image_prepared_as_in_evaluation(tmp_path):
    """A one-colour image: resized it stays that colour, so the network input is known by hand, (RGB / 255 -
    ImageNet mean) / std, and the deformable layers' outputs the report gives can be recomputed from it."""
    import cv2
    prefix = _saved_detector(tmp_path, "ssd_128_resnet29_v1_demo", 128)
    rgb = np.array([120, 60, 200], np.uint8)
    image = tmp_path / "colour.png"
    cv2.imwrite(str(image), np.tile(rgb[::-1], (30, 40, 1)))  # OpenCV writes BGR
    common = ["--symbol", prefix + "-symbol.json", "--params", prefix + "-0000.params"]
    result = run_export(*common, "--input-shape", "1,3,128,128", "--image", image, "--prefix", tmp_path / "out",
                        "--report", tmp_path / "report.md")
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["input"] == "colour.png"
    pixel = (rgb / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    x = np.broadcast_to(pixel.astype(np.float32)[None, :, None, None], (1, 3, 128, 128)).copy()
    sym, params = load_symbol(prefix + "-symbol.json", prefix + "-0000.params")
    layers = [o for o in saved["check"]["outputs"] if o["role"] == "deformable layer output"]
    assert len(layers) == 3
    internals = sym.get_internals()
    for layer in layers:
        (value,) = run_mxnet(internals[layer["name"]], params, x)
        assert layer["max_value"] == pytest.approx(np.abs(value).max(), rel=1e-5) and layer["max_value"] > 0.1
    two = run_export(*common, "--input-shape", "2,3,128,128", "--image", image, "--prefix", tmp_path / "two")
    assert two.returncode == 2 and "--image checks one image: give --input-shape 1,C,H,W" in two.stderr
    missing = run_export(*common, "--input-shape", "1,3,128,128", "--image", tmp_path / "no.png", "--prefix",
                         tmp_path / "none")
    assert missing.returncode == 2 and "image not found" in missing.stderr


@pytest.mark.slow
def test_script_without_check_only_writes(tmp_path):
    net = upgraded_net(1)
    prefix = str(tmp_path / "net")
    save_network(net, prefix, True, (1, 3, 11, 9))
    result = run_export("--symbol", prefix + "-symbol.json", "--params", prefix + "-0000.params", "--input-shape",
                        "1,3,11,9", "--no-check", "--prefix", tmp_path / "out", "--report", tmp_path / "report.md")
    assert result.returncode == 0, result.stderr
    assert "ONNX against MXNet" not in result.stdout
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["check"] is None and saved["input"] == "no input"
    # The file is still the network: onnxruntime runs it and agrees with MXNet.
    theirs, _ = run_onnx(str(tmp_path / "out.onnx"), data((1, 3, 11, 9)))
    np.testing.assert_allclose(next(iter(theirs.values())), net(mx.nd.array(data((1, 3, 11, 9)))).asnumpy(),
                               atol=2e-5)


@pytest.mark.slow
def test_script_exports_an_upgraded_yolo3(tmp_path):
    prefix = _saved_detector(tmp_path, "yolo3_darknet53_voc", 128)
    result = run_export("--symbol", prefix + "-symbol.json", "--params", prefix + "-0000.params", "--input-shape",
                        "1,3,128,128", "--prefix", tmp_path / "yolo", "--report", tmp_path / "report.md")
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "report.json").read_text())
    assert [o["role"] for o in saved["check"]["outputs"]].count("deformable layer output") == 3
    assert saved["check"]["model_outputs"] == [[1, 100, 1], [1, 100, 1], [1, 100, 4]]
    layers = [o for o in saved["check"]["outputs"] if o["role"] == "deformable layer output"]
    assert all(o["max_rel"] < 1e-4 and o["max_value"] > 1 for o in layers), layers
    model = onnx.load(str(tmp_path / "yolo.onnx"))
    assert sum(node.op_type == "DeformConv" for node in model.graph.node) == 3


def test_head_outputs_are_the_prediction_layers():
    """The graph cut the latency benchmark times as "network alone": a classifier's last layer, YOLOv3's three
    output convolutions, and for the demo SSD (deformable layers spliced in, impl='fast') its class and box
    predictors on each of its three feature maps, not the deformable layers."""
    classifier = load_zoo_model("resnet18_v1", random=True, input_shape=(1, 3, 64, 64))
    assert head_outputs(classifier(mx.sym.var("data"))).list_outputs() == ["resnetv10_dense0_fwd_output"]
    yolo = load_zoo_model("yolo3_darknet53_voc", random=True, input_shape=(1, 3, 128, 128))
    names = head_outputs(mx.sym.Group(list(yolo(mx.sym.var("data"))))).list_outputs()
    assert sorted(names) == ["yolov30_yolooutputv3{}_conv0_fwd_output".format(i) for i in range(3)]
    ssd = load_zoo_model("ssd_128_resnet29_v1_demo", random=True, input_shape=(1, 3, 128, 128))
    ssd = gu.upgrade(ssd, layers="last3", impl="fast")
    cut = head_outputs(mx.sym.Group(list(ssd(mx.sym.var("data")))))
    names = cut.list_outputs()
    assert len(names) == 6 and all("predictor" in name for name in names), names
    _, shapes, _ = cut.infer_shape(data=(1, 3, 128, 128))
    # 3 anchor shapes per position on maps of 16, 8 and 8 cells: class scores (classes + background) and boxes.
    assert sorted(s[2] for s in shapes) == [8, 8, 8, 8, 16, 16]
