"""Parameter counts: the paper's ResNet-101 example, totals, JSON."""
import json

import mxnet as mx
import numpy as np
import pytest
from conftest import build, image

import gluon_upgrade as gu


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


def test_report_json_and_table_for_a_v2_upgrade(tmp_path):
    net, x = build("resnet50_v1", 64), image(64)
    before = net(x)
    net = gu.upgrade(net, version=2)
    after = net(x)
    report = gu.upgrade_report(net, gu.output_difference(before, after))
    path = tmp_path / "report.json"
    report.save_json(str(path))
    data = json.loads(path.read_text())
    assert [l["params_after"] - l["params_before"] for l in data["layers"]] == [27 * 512 * 9] * 3  # 3*k*k offsets
    assert [l["offset_bias"] for l in data["layers"]] == [27] * 3
    assert data["params_after"] - data["params_before"] == 3 * (27 * 512 * 9 + 27)
    reference, upgraded = before.asnumpy().astype(np.float64), after.asnumpy().astype(np.float64)
    max_abs = np.abs(upgraded - reference).max()
    assert 0 < max_abs < 1e-5 * np.abs(reference).max()  # a different summation order: float32 rounding
    assert data["max_abs_diff"] == pytest.approx(max_abs, rel=1e-12)
    assert data["max_rel_diff"] == pytest.approx(max_abs / np.abs(reference).max(), rel=1e-12)
    table = report.format_table()
    assert "total (3 layers)" in table and "2,359,296" in table and "2,483,712" in table
