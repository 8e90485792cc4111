"""The positive control: its data hides the class from any 9 px window, its plain network sees 9 px, and its four
experiments start the fine-tunes from the trained plain network exactly."""
import json

import mxnet as mx
import numpy as np
import pytest

from gluon_upgrade.data.pairs import MARGIN, SEPARATION, blob_pairs
from gluon_upgrade.experiments.positive_control import ControlSettings, run_positive_control
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
    images, labels = blob_pairs(40, seed=5)
    assert images.shape == (40, 1, 40, 40) and images.dtype == np.float32 and list(labels[:4]) == [0, 1, 0, 1]
    for image, label in zip(images[:, 0], labels):
        (r0, c0), (r1, c1) = dot_centres(image)
        gap = abs(c1 - c0) if label == 0 else abs(r1 - r0)
        across = abs(r1 - r0) if label == 0 else abs(c1 - c0)
        assert SEPARATION[0] - 1 <= gap <= SEPARATION[1] + 1 and across <= 1
        assert min(r0, c0, r1, c1) >= MARGIN - 1 and max(r0, c0, r1, c1) <= 40 - MARGIN
    again, _ = blob_pairs(40, seed=5)
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
    # A unit midway between the closest dots reaches 3 px from each centre, where a dot is 1.1% of its peak
    # (exp(-4.5)), a tenth of the pixel noise: no unit sees more of both dots than that.
    assert SEPARATION[0] >= 2 * (RECEPTIVE_FIELD // 2 + 3)


@pytest.mark.slow
def test_the_fine_tunes_start_from_the_trained_plain_network_and_the_report_is_written(tmp_path):
    settings = ControlSettings(train_images=64, val_images=64, epochs=4, decays=(3,), steps=3, batch=16)
    control = run_positive_control(2, str(tmp_path / "pc.md"), settings, "check", progress=False)
    for curves in control.curves.values():
        assert len(curves["baseline"]) == 5 and len(curves["upgrade"]) == 2  # epoch 0, and a quarter of 4
        # The upgrade changes no output, so before fine-tuning it scores what the trained baseline scored.
        assert curves["upgrade"][0] == curves["control"][0] == curves["baseline"][-1]
    data = json.load(open(tmp_path / "pc.json"))
    finals = [c["dcn_scratch"][-1] - c["baseline"][-1] for c in data["curves"].values()]
    assert data["paired"]["dcn_scratch - baseline"]["differences"] == pytest.approx([100 * f for f in finals])
    text = open(tmp_path / "pc.md").read()
    assert "Made by `check`" in text and "| 2. deformable from the start |" in text
    assert (tmp_path / "pc.png").stat().st_size > 1000
