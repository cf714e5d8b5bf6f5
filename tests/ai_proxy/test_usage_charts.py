import pytest

from ai_proxy.usage_charts import axis_ticks, compact


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (150, [0, 50, 100, 150]),
        (210_000, [0, 50_000, 100_000, 150_000, 200_000, 250_000]),
        (999, [0, 200, 400, 600, 800, 1000]),
    ],
)
def test_axis_ticks_are_round_numbers_that_reach_the_peak(peak, ticks):
    assert axis_ticks(peak) == ticks


@pytest.mark.parametrize(
    ("number", "text"),
    [(0, "0"), (950, "950"), (1000, "1K"), (12_345, "12.3K"), (2_000_000, "2M"), (1.5e9, "1.5B")],
)
def test_axis_labels_are_compact(number, text):
    assert compact(number) == text
