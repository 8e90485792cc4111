"""The figures' data: what plot_against draws for plain values and for values per seed."""
import numpy as np

from gluon_upgrade.reporting import curves


def drawn(monkeypatch, panels):
    """The axes plot_against would save for ``panels`` at x = 0, 1, 3."""
    figures = []
    monkeypatch.setattr(curves, "save_figure", lambda figure, out, title=None: figures.append(figure) or out)
    curves.plot_against([0, 1, 3], panels, "unused.png", "layers")
    return figures[0].axes


def test_values_per_seed_draw_the_mean_of_the_seeds_present_and_a_dot_per_seed(monkeypatch):
    (ax,) = drawn(monkeypatch, {"mIoU": {"upgrade": [[60.0, 62.0, 64.0], [61.0, None, None], [None, None, None]]}})
    (line,) = ax.get_lines()
    assert np.allclose(line.get_ydata()[:2], [62.0, 61.0]) and np.isnan(line.get_ydata()[2])
    dots, hollow = ax.collections
    assert dots.get_offsets().tolist() == [[0, 60.0], [0, 62.0], [0, 64.0], [1, 61.0]]
    # x = 1 has 1 of the 3 seeds x = 0 has: its mean is marked, the empty x = 3 is not
    assert hollow.get_offsets().tolist() == [[1, 61.0]]
    assert [(text.get_text(), text.xy) for text in ax.texts] == [("1 of 3", (1, 61.0))]


def test_means_over_every_seed_are_not_marked(monkeypatch):
    (ax,) = drawn(monkeypatch, {"mAP": {"s": [[60.0, 62.0], [61.0, 63.0], [None, None]]}})
    assert len(ax.collections) == 1 and not ax.texts  # the seeds' dots only


def test_plain_values_draw_a_line_and_no_dots(monkeypatch):
    left, right = drawn(monkeypatch, {"a": {"s": [1.0, 2.0, 4.0]}, "b": {"s": [[1.0], [2.0], [3.0]]}})
    assert left.get_lines()[0].get_ydata().tolist() == [1.0, 2.0, 4.0] and not left.collections
    assert right.get_lines()[0].get_ydata().tolist() == [1.0, 2.0, 3.0] and not right.collections  # one seed each
