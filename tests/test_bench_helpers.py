"""The benchmark helpers: alternation order and the ratio statistics, against hand-computed values."""
import pytest

from gluon_upgrade.reporting.bench import alternate, format_ratio, ratio_spread


def test_alternate_calls_the_steps_in_turn_and_times_only_the_rounds_after_warm_up():
    calls = []
    times = alternate({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3, warmup=2)
    assert calls == ["a", "b"] * 5
    assert [len(times["a"]), len(times["b"])] == [3, 3]
    assert all(t >= 0 for t in times["a"] + times["b"])


def test_ratio_spread_is_median_and_quartiles_of_per_round_ratios():
    # ratios 2, 2, 3, 4: median 2.5; quartiles (exclusive method) at positions 1.25 and 3.75 -> 2.0 and 3.75
    assert ratio_spread([2.0, 4.0, 6.0, 8.0], [1.0, 2.0, 2.0, 2.0]) == pytest.approx((2.5, 2.0, 3.75))
    assert ratio_spread([3.0], [2.0]) == (1.5, 1.5, 1.5)
    assert format_ratio((1.0512, 1.0331, 1.0608)) == "1.051 (1.033-1.061)"
