"""The graph rewrite alone, on a hand-built graph: exact outputs, the operators it writes, its refusals."""
import json

import mxnet as mx
import numpy as np
import pytest

from gluon_upgrade import UpgradeError
from gluon_upgrade.surgery.graph import NodeUpgrade, rewrite_graph


def _graph():
    data = mx.sym.var("data")
    conv0 = mx.sym.Convolution(data, num_filter=8, kernel=(3, 3), pad=(1, 1), name="net_conv0")
    relu = mx.sym.relu(conv0, name="relu0")
    conv1 = mx.sym.Convolution(relu, num_filter=8, kernel=(3, 3), pad=(2, 2), dilate=(2, 2), no_bias=True,
                               num_group=8, name="net_conv1")
    return mx.sym.Group([conv1, relu])


def _params():
    rng = np.random.RandomState(0)
    return {"data": rng.normal(size=(2, 4, 10, 10)), "net_conv0_weight": rng.normal(size=(8, 4, 3, 3)),
            "net_conv0_bias": rng.normal(size=(8,)), "net_conv1_weight": rng.normal(size=(8, 1, 3, 3))}


@pytest.mark.parametrize("version,channels", [(1, 18), (2, 27)])
def test_rewritten_graph_computes_the_same_with_zero_offsets(version, channels):
    graph = _graph()
    new, shapes = rewrite_graph(json.loads(graph.tojson()), {"net_conv0": NodeUpgrade(version, 1, 4),
                                                              "net_conv1": NodeUpgrade(version, 1, 8)})
    assert shapes == {"net_conv0_offset_weight": (channels, 4, 3, 3), "net_conv0_offset_bias": (channels,),
                      "net_conv1_offset_weight": (channels, 8, 3, 3), "net_conv1_offset_bias": (channels,)}
    op = "_contrib_DeformableConvolution" if version == 1 else "_contrib_ModulatedDeformableConvolution"
    deform = [n for n in new["nodes"] if n["op"] == op]
    assert [n["name"] for n in deform] == ["net_conv0", "net_conv1"]
    assert (deform[1]["attrs"]["num_group"], deform[1]["attrs"]["dilate"]) == ("8", "(2, 2)")
    rewritten = mx.sym.load_json(json.dumps(new))
    assert rewritten.list_outputs() == graph.list_outputs()
    args = {k: mx.nd.array(v) for k, v in _params().items()}
    expected = graph.eval(ctx=mx.cpu(), **args)
    args.update({k: mx.nd.zeros(s) for k, s in shapes.items()})
    got = rewritten.eval(ctx=mx.cpu(), **args)
    for a, b in zip(expected, got):
        np.testing.assert_allclose(b.asnumpy(), a.asnumpy(), rtol=1e-5, atol=1e-4)
    args["net_conv1_offset_bias"] = mx.nd.full(shapes["net_conv1_offset_bias"], 0.5)
    moved = rewritten.eval(ctx=mx.cpu(), **args)
    assert np.abs(moved[1].asnumpy() - got[1].asnumpy()).max() == 0  # relu0 comes before net_conv1
    assert np.abs(moved[0].asnumpy() - expected[0].asnumpy()).max() > 1e-2


def test_rewrite_refuses_non_convolutions_and_unknown_nodes():
    graph = json.loads(_graph().tojson())
    with pytest.raises(UpgradeError, match="relu0 is a relu, not a Convolution"):
        rewrite_graph(graph, {"relu0": NodeUpgrade(1, 1, 8)})
    with pytest.raises(UpgradeError, match="no node named nope"):
        rewrite_graph(graph, {"nope": NodeUpgrade(1, 1, 8)})
