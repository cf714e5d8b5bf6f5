"""Chart geometry for the usage page, drawn as inline SVG by templates (no JavaScript, no CDN).

Functions here turn a `UsageSummary` into plain numbers (rectangles, ticks, labels); the
templates `admin/ai_proxy/chart_*.svg.html` only place them.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from ai_proxy.usage_stats import Totals, UsageSummary

# Colour-blind-friendly palette (Okabe-Ito, then two greys); models beyond it reuse it.
PALETTE = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
    "#666666",
]


@dataclass(frozen=True)
class Kind:
    name: str  # in a sentence: "1,000 cache reads"
    legend: str
    colour: str
    attribute: str  # of `Totals`


# The token kinds, in the order bars stack them.
KINDS = [
    Kind("input", "input tokens (uncached)", "#0072B2", "input_tokens"),
    Kind("cache writes", "cache writes", "#CC79A7", "cache_write_tokens"),
    Kind("cache reads", "cache reads", "#009E73", "cache_read_tokens"),
    Kind("output", "output tokens", "#E69F00", "output_tokens"),
]

WIDTH = 760
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 12, 36


def compact(number: float) -> str:
    """12 345 → "12.3K", 2 000 000 → "2M"."""
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(number) >= threshold:
            text = f"{number / threshold:.1f}".rstrip("0").rstrip(".")
            return text + suffix
    return f"{number:g}"


def nice_step(value: float) -> float:
    """The smallest 1, 2 or 5 times 10^n at or above value (at least 1)."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    return next(f * magnitude for f in (1, 2, 5, 10) if f * magnitude >= value)


def axis_ticks(peak: float, intervals: int = 5) -> list[float]:
    """Round tick values from 0 to at or above peak, in at most `intervals` steps."""
    step = nice_step(peak / intervals)
    return [step * n for n in range(math.ceil(peak / step) + 1 if peak else 2)]


@dataclass
class Rect:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass
class BarGroup:
    key: str  # ISO date or hour, for tests and tooltips
    label: str  # shown under the axis, or "" when thinned out
    label_x: float
    label_y: float
    total_title: str
    rects: list[Rect] = field(default_factory=list)


@dataclass
class Tick:
    y: float
    label: str
    label_x: float = LEFT - 6


@dataclass
class LegendItem:
    label: str
    colour: str


@dataclass
class StackedBarChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    groups: list[BarGroup]
    ticks: list[Tick]
    legend: list[LegendItem]
    empty: bool

    @property
    def centre(self) -> tuple[float, float]:
        return (self.plot_left + self.plot_right) / 2, (self.plot_top + self.plot_bottom) / 2


def kinds_text(totals: Totals) -> str:
    """ "1,000 input, 200 cache writes, 9,000 cache reads, 300 output": each kind in words."""
    return ", ".join(f"{getattr(totals, kind.attribute):,} {kind.name}" for kind in KINDS)


def _bucket_key(bucket: date | datetime) -> str:
    return (
        bucket.strftime("%Y-%m-%dT%H:00Z") if isinstance(bucket, datetime) else bucket.isoformat()
    )


def _bucket_label(bucket: date | datetime) -> str:
    return bucket.strftime("%H:00") if isinstance(bucket, datetime) else bucket.strftime("%b %d")


def _ticks(values: list[float], plot_top: int, plot_height: int) -> list[Tick]:
    top_value = values[-1]
    return [
        Tick(y=round(plot_top + plot_height * (1 - value / top_value), 2), label=compact(value))
        for value in values
    ]


def model_colours(summary: UsageSummary) -> dict[str, str]:
    """A stable colour per model: the biggest model of the period gets the first colour."""
    return {model: PALETTE[i % len(PALETTE)] for i, (model, _t) in enumerate(summary.by_model)}


def tokens_by_bucket_chart(summary: UsageSummary) -> StackedBarChart:
    """Tokens (input + output) per hour or day, one stacked segment per model."""
    colours = model_colours(summary)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    peak = max(
        (sum(t.tokens for t in per_model.values()) for per_model in summary.by_bucket.values()),
        default=0,
    )
    tick_values = axis_ticks(peak)
    top_value = tick_values[-1]
    slot = plot_width / len(summary.buckets)
    bar_width = max(slot * 0.7, 1)
    every = max(1, math.ceil(len(summary.buckets) / 10))  # at most ~10 axis labels
    groups = []
    for index, bucket in enumerate(summary.buckets):
        per_model = summary.by_bucket[bucket]
        x = LEFT + slot * index + (slot - bar_width) / 2
        key, label = _bucket_key(bucket), _bucket_label(bucket)
        bucket_total = sum(t.tokens for t in per_model.values())
        group = BarGroup(
            key=key,
            label=label if index % every == 0 or index == len(summary.buckets) - 1 else "",
            label_x=round(x + bar_width / 2, 2),
            label_y=HEIGHT - BOTTOM + 18,
            total_title=f"{label}: {bucket_total:,} tokens",
        )
        base: float = TOP + plot_height
        for model, _totals in summary.by_model:  # same stacking order in every group
            totals = per_model.get(model)
            if not totals or not totals.tokens:
                continue
            height = plot_height * totals.tokens / top_value
            base -= height
            group.rects.append(
                Rect(
                    x=round(x, 2),
                    y=round(base, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    colour=colours[model],
                    title=f"{label} · {model}: {totals.tokens:,} tokens ({kinds_text(totals)})",
                )
            )
        groups.append(group)
    return StackedBarChart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_top=TOP,
        plot_bottom=TOP + plot_height,
        groups=groups,
        ticks=_ticks(tick_values, TOP, plot_height),
        legend=[LegendItem(model, colours[model]) for model, _t in summary.by_model],
        empty=peak == 0,
    )


@dataclass
class KindBar:
    label: str
    bar_y: float
    text_y: float
    segments: list[Rect]
    value_x: float
    totals: Totals

    @property
    def title(self) -> str:
        t = self.totals
        return (
            f"{self.label}: {t.tokens:,} tokens ({kinds_text(t)}), {t.requests:,} requests, "
            f"cache hit rate {t.cache_hit_percent}"
        )

    @property
    def value_label(self) -> str:
        return f"{self.totals.tokens:,} tokens · ${self.totals.cost_usd:,.2f}"


@dataclass
class KindBarsChart:
    width: int
    height: int
    label_x: int
    bar_height: int
    bars: list[KindBar]
    legend: list[LegendItem]


def kind_bars_chart(rows: list[tuple[str, Totals]]) -> KindBarsChart:
    """One horizontal bar per row (a user, a key), stacked by token kind, in the order given;
    bar lengths share one scale: the row with the most tokens fills the room."""
    label_width, row_height, value_room = 170, 26, 150
    bar_room = WIDTH - label_width - value_room
    peak = max((totals.tokens for _label, totals in rows), default=0) or 1
    bars = []
    for index, (label, totals) in enumerate(rows):
        top = index * row_height
        x: float = label_width
        segments = []
        for kind in KINDS:
            count = getattr(totals, kind.attribute)
            if not count:
                continue
            width = bar_room * count / peak
            segments.append(
                Rect(
                    x=round(x, 2),
                    y=top + 4,
                    width=round(width, 2),
                    height=row_height - 8,
                    colour=kind.colour,
                    title=f"{label}: {count:,} {kind.name}",
                )
            )
            x += width
        bars.append(
            KindBar(
                label=label,
                bar_y=top + 4,
                text_y=top + 13,
                segments=segments,
                value_x=round(x + 6, 2),
                totals=totals,
            )
        )
    return KindBarsChart(
        width=WIDTH,
        height=max(len(rows), 1) * row_height,
        label_x=label_width - 8,
        bar_height=row_height - 8,
        bars=bars,
        legend=kinds_legend(),
    )


def kinds_legend() -> list[LegendItem]:
    return [LegendItem(kind.legend, kind.colour) for kind in KINDS]
