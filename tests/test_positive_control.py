"""The positive control: its far pairs hide the class from any 9 px window, its plain network sees 9 px, and its
four experiments start the fine-tunes from the trained plain network exactly."""
import json

import mxnet as mx
import numpy as np
import pytest

from gluon_upgrade.data.pairs import FAR, MARGIN, SEPARATION, blob_pairs
from gluon_upgrade.experiments.effect_study import positive_control_lines
from gluon_upgrade.experiments.positive_control import ControlSettings, FineTune, hits, run_positive_control
from gluon_upgrade.models.pair_classifier import RECEPTIVE_FIELD, pair_classifier


def dot_centres(image):
    """The two brightest well-separated pixels of a noise-free image, as (row, column)."""
    flat = np.argsort(image.ravel())[::-1]
    first = np.unravel_index(flat[0], image.shape)
    for index in flat[1:]:
        second = np.unravel_index(index, image.shape)
        if np.hypot(second[0] - first[0], second[1] - first[1]) > 5:
            return sorted([first, second])


def test_class_0_dots_sit_side_by_side_and_class_1_dots_one_above_the_other(monkeypatch):
    from gluon_upgrade.data import pairs
    monkeypatch.setattr(pairs, "NOISE", 0.0)
    images, labels, gaps = blob_pairs(40, seed=5)
    assert images.shape == (40, 1, 40, 40) and images.dtype == np.float32 and list(labels[:4]) == [0, 1, 0, 1]
    for image, label, drawn in zip(images[:, 0], labels, gaps):
        (r0, c0), (r1, c1) = dot_centres(image)
        gap = abs(c1 - c0) if label == 0 else abs(r1 - r0)
        across = abs(r1 - r0) if label == 0 else abs(c1 - c0)
        assert abs(gap - drawn) <= 1 and SEPARATION[0] <= drawn <= SEPARATION[1] and across <= 1
        assert min(r0, c0, r1, c1) >= MARGIN - 1 and max(r0, c0, r1, c1) <= 40 - MARGIN
    # Near and far pairs both occur: the plain network can learn the near ones, only offsets the far ones.
    assert (gaps < FAR).any() and (gaps >= FAR).any()
    again, _, _ = blob_pairs(40, seed=5)
    np.testing.assert_array_equal(images, again)


def test_one_output_of_the_plain_convolutions_sees_a_9_pixel_window():
    net = pair_classifier()
    net.initialize(mx.init.Xavier())
    convolutions = net[:-2]  # without the pooling and the classifier
    mx.random.seed(0)
    x = mx.nd.random.uniform(0.5, 1, shape=(1, 1, 40, 40))  # positive, so that the ReLUs pass changes on
    poked = x.copy()
    poked[0, 0, 20, 20] += 1
    # Inference mode: batch norm with its running statistics, so outputs change only where they see the pixel.
    changed = np.abs(convolutions(poked).asnumpy() - convolutions(x).asnumpy()).max(axis=(0, 1)) > 0
    rows, cols = np.nonzero(changed)
    assert RECEPTIVE_FIELD == 9
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (16, 24, 16, 24)
    # A unit midway between two far dots reaches 3 px from each centre, where a dot is 1.1% of its peak
    # (exp(-4.5)), a tenth of the pixel noise: no unit sees more of both dots than that.
    assert FAR == 2 * (RECEPTIVE_FIELD // 2 + 3)


def test_hits_compares_each_image_s_class_with_its_label_across_batches():
    class Fixed(mx.gluon.HybridBlock):
        def hybrid_forward(self, F, x):  # class 1 wherever the image's first pixel is positive
            first = F.slice_axis(F.reshape(x, (0, -1)), axis=1, begin=0, end=1)
            return F.concat(-first, first, dim=1)
    x = mx.nd.array(np.array([1, -1, 1, 1, -1], dtype=np.float32).reshape(5, 1, 1, 1))
    y = mx.nd.array([1, 0, 0, 1, 1])
    assert hits(Fixed(), x, y, batch=2).tolist() == [True, True, False, True, False]


@pytest.mark.slow
def test_the_fine_tunes_start_from_the_trained_plain_network_and_the_report_is_written(tmp_path):
    settings = ControlSettings(train_images=64, val_images=64, epochs=4, decays=(3,), steps=3, batch=16)
    tunes = (FineTune(3, 0.001, 1.0), FineTune(3, 0.001, 0.0))
    control = run_positive_control(2, str(tmp_path / "positive_control.md"), settings, "check", progress=False, fine_tunes=tunes)
    for curves in control.curves.values():
        assert len(curves["baseline"]) == 5 and len(curves["upgrade"]) == 2  # epoch 0, and a quarter of 4
        # The upgrade changes no output, so before fine-tuning it scores what the trained baseline scored.
        assert curves["upgrade"][0] == curves["control"][0] == curves["baseline"][-1]
        # The other fine-tunes: 3 epochs each, from the same trained network; the two share one control.
        assert sorted(curves) == sorted(["baseline", "dcn_scratch", "upgrade", "control", "upgrade 3:0.001:1",
                                         "upgrade 3:0.001:0", "control 3:0.001"])
        assert len(curves["upgrade 3:0.001:1"]) == 4 and curves["upgrade 3:0.001:1"][0] == curves["baseline"][-1]
    data = json.load(open(tmp_path / "positive_control.json"))
    finals = [c["dcn_scratch"][-1] - c["baseline"][-1] for c in data["curves"].values()]
    assert data["paired"]["dcn_scratch - baseline"]["differences"] == pytest.approx([100 * f for f in finals])
    far = [f["upgrade"] - f["control"] for f in data["far"].values()]
    assert data["paired_far"]["upgrade - control"]["differences"] == pytest.approx([100 * f for f in far])
    assert all(0 <= v <= 1 for f in data["far"].values() for v in f.values())
    text = open(tmp_path / "positive_control.md").read()
    assert "Made by `check`" in text and "| 2. deformable from the start |" in text
    assert "| 3 epochs (x0.1 after 2), lr 0.001, offsets x1 | 0.75 |" in text
    tuned = [c["upgrade 3:0.001:1"][-1] - c["control 3:0.001"][-1] for c in data["curves"].values()]
    assert data["fine_tunes"][0]["upgrade - control"]["differences"] == pytest.approx([100 * t for t in tuned])
    # The effect study's report summarises it: the paper's quarter and each other fine-tune, differences as above.
    summary = "\n".join(positive_control_lines(str(tmp_path)))
    quarter = [c["upgrade"][-1] - c["control"][-1] for c in data["curves"].values()]
    assert "| upgrade - control | {:+.2f} +- ".format(100 * np.mean(quarter)) in summary
    assert "| upgrade - control after 3 epochs, lr 0.001, offsets x1 | {:+.2f} +- ".format(
        100 * np.mean(tuned)) in summary
    assert (tmp_path / "positive_control.png").stat().st_size > 1000


@pytest.mark.parametrize("text", ["4:0.001", "4:0.001:1:2", "four:0.001:1", "0:0.001:1", "4:-1:1"])
def test_a_malformed_fine_tune_is_refused_with_its_form(text):
    with pytest.raises(ValueError, match="EPOCHS:LR:OFFSET_LR_MULT"):
        FineTune.parse(text)


def test_a_fine_tune_reads_epochs_rate_and_offset_multiplier():
    assert FineTune.parse("4:0.001:1") == FineTune(4, 0.001, 1.0)
