"""Server-rendered SVG column charts: no chart library, no script, nothing the strict CSP
would refuse (colours come from classes in static/css/quality.css, not inline styles).

A chart is geometry only; `templates/schedules/quality/_chart.html` draws it, with a data
table and a one-sentence summary beside it (the table is what a screen reader reads).
"""

import math
from dataclasses import dataclass, field

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 40


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    sublabel: str
    value_text: str
    label_x: float


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class Reference:
    """A published figure: a line (`y == y_low`) or a band between two values."""

    y: float
    y_low: float
    label: str

    @property
    def band(self) -> bool:
        return self.y != self.y_low

    @property
    def band_height(self) -> float:
        return self.y_low - self.y


@dataclass(frozen=True)
class Chart:
    slug: str
    title: str
    summary: str
    unit: str
    bars: list[Bar]
    ticks: list[Tick]
    references: list[Reference]
    rows: list[tuple[str, str]]  # (label, value as shown) for the data table
    value_heading: str
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - BOTTOM
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    extra_columns: list[str] = field(default_factory=list)


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    # Four equal steps of a round size: 0.25, 0.5, 1, 2 or 2.5 times the magnitude.
    for step in (1, 2, 4, 8, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    text = f"{value:g}" if unit != "%" else f"{round(value, 1):g}"
    return f"{text}{unit}"


def column_chart(
    *,
    slug: str,
    title: str,
    summary: str,
    points: list[tuple[str, str, float | None]],
    unit: str = "%",
    maximum: float | None = None,
    references: tuple[tuple[float, float, str], ...] = (),
    value_heading: str = "Value",
    row_labels: list[str] | None = None,
) -> Chart:
    """Columns for `points` ((label, second line, value or None)); `references` are
    (low, high, label): a line when low == high, else a band."""
    values = [v for _, _, v in points if v is not None]
    highest = max(values + [ref[1] for ref in references] + [0]) * 1.1
    if unit == "":
        # Counts: a multiple of 4, so the five ticks are whole numbers.
        top = maximum or max(4, math.ceil(highest / 4) * 4)
    else:
        top = maximum or _nice_ceiling(highest)
    plot_height = HEIGHT - TOP - BOTTOM
    plot_width = WIDTH - LEFT - RIGHT

    def y_of(value: float) -> float:
        return round(TOP + plot_height * (1 - min(value, top) / top), 1)

    slot = plot_width / max(len(points), 1)
    bar_width = round(min(slot * 0.6, 48), 1)
    bars = []
    for index, (label, sublabel, value) in enumerate(points):
        centre = LEFT + slot * index + slot / 2
        height = 0 if value is None else round(plot_height * min(value, top) / top, 1)
        bars.append(
            Bar(
                x=round(centre - bar_width / 2, 1),
                y=round(HEIGHT - BOTTOM - height, 1),
                width=bar_width,
                height=height,
                label=label,
                sublabel=sublabel,
                value_text="" if value is None else _format(value, unit),
                label_x=round(centre, 1),
            )
        )
    ticks = [Tick(y_of(top * step / 4), _format(top * step / 4, unit)) for step in range(5)]
    refs = [Reference(y=y_of(high), y_low=y_of(low), label=text) for low, high, text in references]
    labels = row_labels or [f"{label} {sublabel}".strip() for label, sublabel, _ in points]
    rows = [
        (text, _format(value, unit)) for text, (_, _, value) in zip(labels, points, strict=True)
    ]
    return Chart(
        slug=slug,
        title=title,
        summary=summary,
        unit=unit,
        bars=bars,
        ticks=ticks,
        references=refs,
        rows=rows,
        value_heading=value_heading,
    )
