"""Parameter counts: the paper's ResNet-101 example, totals, JSON."""
import json

import mxnet as mx
import numpy as np
import pytest
from conftest import build, image

import gluon_upgrade as gu
from gluon_upgrade.verify import upgrade_verified


def test_paper_example_resnet101_stage4_conv8():
    net = build("resnet101_v1", 32)
    total_before = sum(int(mx.nd.array(p.shape).prod().asscalar()) for p in net.collect_params().values())
    net = gu.upgrade(net, layers=["stage4_conv8"])
    report = gu.upgrade_report(net)
    (layer,) = report.layers
    assert layer.name.endswith("stage4_conv8")
    assert (layer.kernel, layer.in_channels, layer.out_channels) == ([3, 3], 512, 512)
    assert layer.params_before == 2359296  # 512 * 512 * 3 * 3, no bias
    assert layer.params_after == 2442240  # + offset weight 18 * 512 * 3 * 3
    assert round(layer.increase * 100, 1) == 3.5
    assert layer.offset_bias == 18
    assert report.params_before == total_before
    assert report.params_after == total_before + 82944 + 18


@pytest.mark.exactness
def test_report_json_and_table_for_a_v2_upgrade(tmp_path):
    net, x = build("resnet50_v1", 64), image(64)
    before = net(x)
    net, verification = upgrade_verified(net, [x], version=2)
    after = net(x)
    report = gu.upgrade_report(net, verification)
    path = tmp_path / "report.json"
    report.save_json(str(path))
    data = json.loads(path.read_text())
    assert [l["params_after"] - l["params_before"] for l in data["layers"]] == [27 * 512 * 9] * 3  # 3*k*k offsets
    assert [l["offset_bias"] for l in data["layers"]] == [27] * 3
    assert data["params_after"] - data["params_before"] == 3 * (27 * 512 * 9 + 27)
    # The bound: float32's gamma_K for stage 4's 3x3 convolutions on 512 channels (the longest sum), twice.
    k, u = 512 * 9, 2.0 ** -24
    assert data["verification"]["tolerance"]["bound"] == pytest.approx(2 * k * u / (1 - k * u), rel=1e-12)
    # A classifier's raw head output is its last layer, the network's output itself.
    reference, upgraded = before.asnumpy().astype(np.float64), after.asnumpy().astype(np.float64)
    max_abs = np.abs(upgraded - reference).max()
    assert 0 < max_abs <= data["verification"]["tolerance"]["bound"] * np.abs(reference).max()
    assert data["verification"]["passed"] and data["verification"]["detections"] is None
    assert data["machine"]["mxnet"] == mx.__version__ and data["machine"]["onednn_isa"].startswith("Intel")
    assert data["max_abs_diff"] == pytest.approx(max_abs, rel=1e-12)
    assert data["max_rel_diff"] == pytest.approx(max_abs / np.abs(reference).max(), rel=1e-12)
    table = report.format_table()
    assert "total (3 layers)" in table and "2,359,296" in table and "2,483,712" in table
    assert "raw head outputs (1): max rel" in table and "K = 4608" in table
