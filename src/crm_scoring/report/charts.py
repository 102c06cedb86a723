"""Charts of the morning report: matplotlib figures inlined as base64 PNG data URIs.

Why matplotlib and PNG: it is already in the lock (the model's MLflow plots use it), a PNG needs no
script to display, and a whole report stays around 0.5 MB, where plotly's inline JS alone weighs ~4 MB
per file. `matplotlib.figure.Figure` is used directly (no pyplot): no global state, no backend switch on
import, safe inside an Airflow worker. PNG metadata is cleared so the same data gives the same bytes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

PALETTE = ("#1f5f8b", "#e07b39", "#4a9d5b", "#b8405e", "#7d6bb3", "#8c8c8c", "#c9a227", "#2aa1b3")
LEVEL_COLOURS = {
    "blue": "#4a7fb5",
    "yellow": "#e3b505",
    "orange": "#e07b39",
    "red": "#c0392b",
    "general": "#7fa7d1",
    "medium": "#edae49",
    "high": "#d1495b",
    "urgent": "#8b1e3f",
    "warn": "#edae49",
    "breach": "#d1495b",
}
DPI = 96


def _figure(width: float = 7.0, height: float = 3.0) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    fig.patch.set_facecolor("white")
    return fig


def to_data_uri(fig: Figure) -> str:
    """PNG bytes of the figure as a data URI; no Software / date metadata, so output is byte-stable."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _style(ax) -> None:  # noqa: ANN001 - matplotlib Axes
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    ax.grid(axis="x", alpha=0.25)


def barh_panels(groups: Sequence[tuple[str, Sequence[tuple[str, float]]]]) -> str:
    """Side-by-side horizontal bar charts, one per (title, [(label, value)]) group."""
    fig = _figure(3.2 * len(groups), 0.9 + 0.28 * max(len(g[1]) for g in groups))
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, (title, items) in zip(axes, groups, strict=True):
        labels = [str(k) for k, _ in items][::-1]
        values = [float(v) for _, v in items][::-1]
        ax.barh(labels, values, color=PALETTE[0])
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:,.0f}", va="center", fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.margins(x=0.18)
        _style(ax)
    return to_data_uri(fig)


def stacked_bars_by_day(
    days: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    ylabel: str,
    highlight: str | None = None,
) -> str:
    """Stacked daily bars (e.g. alerts per level over the trailing window); the run date outlined."""
    fig = _figure(7.0, 2.6)
    ax = fig.subplots()
    bottom = [0.0] * len(days)
    for i, (name, values) in enumerate(series):
        colour = LEVEL_COLOURS.get(name.lower(), PALETTE[i % len(PALETTE)])
        ax.bar(range(len(days)), values, bottom=bottom, label=name, color=colour, width=0.8)
        bottom = [b + float(v) for b, v in zip(bottom, values, strict=True)]
    if highlight in days:
        x = list(days).index(highlight)
        ax.bar([x], [bottom[x]], fill=False, edgecolor="black", linewidth=1.2, width=0.8)
    _ticks(ax, days)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.legend(fontsize=7, frameon=False, ncols=min(len(series), 5))
    _style(ax)
    return to_data_uri(fig)


def _ticks(ax, days: Sequence[str]) -> None:  # noqa: ANN001
    step = max(1, len(days) // 8)
    ticks = list(range(0, len(days), step))
    ax.set_xticks(ticks, [days[t][5:] for t in ticks])


def _lines(
    ax,  # noqa: ANN001
    series: Sequence[tuple[str, Sequence[float | None]]],
    markersize: float,
    hline: tuple[str, float] | None,
) -> None:
    """Each series as a line over its non-null points (x = position; a gap skips the point), then the
    optional dashed threshold line: the one drawing of lines_by_day and xy_lines."""
    for i, (name, values) in enumerate(series):
        pts = [(x, float(v)) for x, v in enumerate(values) if v is not None]
        ax.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            marker="o",
            markersize=markersize,
            linewidth=1.4,
            label=name,
            color=PALETTE[i % len(PALETTE)],
        )
    if hline is not None:
        ax.axhline(hline[1], color="#b8405e", linestyle="--", linewidth=1, label=hline[0])


def lines_by_day(
    days: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    ylabel: str,
    hline: tuple[str, float] | None = None,
    log: bool = False,
) -> str:
    """Daily lines (FRT / TTR medians, volumes per file, complaint spike against its baseline)."""
    fig = _figure(7.0, 2.6)
    ax = fig.subplots()
    _lines(ax, series, 3, hline)
    if log:
        ax.set_yscale("log")
    ax.set_xlim(-0.5, len(days) - 0.5)
    _ticks(ax, days)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.legend(fontsize=7, frameon=False, ncols=min(len(series) + 1, 4))
    _style(ax)
    return to_data_uri(fig)


def pareto(labels: Sequence[str], counts: Sequence[float], title: str) -> str:
    """Pareto chart: bars in descending order and the cumulative share line on a second axis."""
    fig = _figure(7.0, 3.0)
    ax = fig.subplots()
    total = float(sum(counts)) or 1.0
    cum, running = [], 0.0
    for c in counts:
        running += float(c)
        cum.append(running / total)
    ax.bar(range(len(counts)), counts, color=PALETTE[0])
    ax.set_xticks(range(len(labels)), [str(label)[:22] for label in labels], rotation=35, ha="right")
    ax2 = ax.twinx()
    ax2.plot(range(len(cum)), cum, color=PALETTE[1], marker="o", markersize=3)
    ax2.axhline(0.8, color="#8c8c8c", linestyle=":", linewidth=1)
    ax2.set_ylim(0, 1.05)
    ax2.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax2.tick_params(labelsize=8)
    ax.set_title(title, fontsize=9)
    _style(ax)
    return to_data_uri(fig)


def lorenz(customer_share: Sequence[float], revenue_share: Sequence[float], top_share: float) -> str:
    """RP-16: cumulative revenue share against the share of customers, best customers first."""
    fig = _figure(4.2, 3.0)
    ax = fig.subplots()
    ax.plot([0, *customer_share], [0, *revenue_share], color=PALETTE[0], linewidth=1.6, label="customers")
    ax.plot([0, 1], [0, 1], color="#8c8c8c", linestyle=":", linewidth=1, label="equal share")
    ax.axvline(top_share, color=PALETTE[1], linestyle="--", linewidth=1, label=f"top {top_share:.0%}")
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_xlabel("share of customers (by 365-day revenue)", fontsize=8)
    ax.set_ylabel("share of revenue", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    _style(ax)
    return to_data_uri(fig)


def xy_lines(
    xs: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    ylabel: str,
    hline: tuple[str, float] | None = None,
    percent: bool = False,
) -> str:
    """Lines over categorical x (matured cutoffs, FRT quintiles)."""
    fig = _figure(6.0, 2.6)
    ax = fig.subplots()
    _lines(ax, series, 4, hline)
    ax.set_xticks(range(len(xs)), [str(x) for x in xs], rotation=20, ha="right")
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_ylabel(ylabel, fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    _style(ax)
    return to_data_uri(fig)


def bars_with_threshold(
    labels: Sequence[str],
    values: Sequence[float],
    threshold: float | None,
    statuses: Sequence[str],
    xlabel: str,
) -> str:
    """Drift per feature (PSI) against its policy threshold, coloured by status."""
    colours = {"ok": "#66a182", "warn": "#edae49", "breach": "#d1495b"}
    fig = _figure(6.0, 0.9 + 0.28 * len(labels))
    ax = fig.subplots()
    ax.barh(
        list(labels)[::-1], list(values)[::-1], color=[colours.get(s, PALETTE[5]) for s in statuses][::-1]
    )
    if threshold is not None:
        ax.axvline(threshold, color="#b8405e", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
        ax.legend(fontsize=7, frameon=False)
    ax.set_xlabel(xlabel, fontsize=8)
    _style(ax)
    return to_data_uri(fig)


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    ylabel: str,
    target: tuple[str, float] | None = None,
) -> str:
    """Grouped vertical bars (SLA compliance per priority or channel, one bar per SLA clock)."""
    fig = _figure(3.6 + 0.45 * len(categories) * max(1, len(series)) / 2, 2.8)
    ax = fig.subplots()
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series):
        xs = [c + (i - (len(series) - 1) / 2) * width for c in range(len(categories))]
        ax.bar(
            xs,
            [0.0 if v is None else float(v) for v in values],
            width=width,
            label=name,
            color=PALETTE[i % len(PALETTE)],
        )
    if target is not None:
        ax.axhline(target[1], color="#b8405e", linestyle="--", linewidth=1, label=target[0])
    ax.set_xticks(range(len(categories)), [str(c) for c in categories])
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.legend(
        fontsize=7,
        frameon=False,
        ncols=min(len(series) + 1, 5),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
    )
    _style(ax)
    return to_data_uri(fig)


def intervals(
    labels: Sequence[str],
    values: Sequence[float],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    flags: Sequence[bool | None],
    xlabel: str,
) -> str:
    """A forest plot: one row per comparison, its estimate and interval, a zero line; significant rows
    (flag True) in the accent colour, the rest grey (RP-11 A/B differences)."""
    fig = _figure(7.0, 0.9 + 0.3 * len(labels))
    ax = fig.subplots()
    ys = list(range(len(labels)))[::-1]
    for y, v, lo, hi, flag in zip(ys, values, lows, highs, flags, strict=True):
        colour = PALETTE[1] if flag else PALETTE[5]
        if lo is not None and hi is not None:
            ax.plot([float(lo), float(hi)], [y, y], color=colour, linewidth=2)
        ax.plot([float(v)], [y], marker="o", markersize=5, color=colour)
    ax.axvline(0, color="#444444", linestyle=":", linewidth=1)
    ax.set_yticks(ys, [str(label) for label in labels])
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_xlabel(xlabel, fontsize=8)
    _style(ax)
    return to_data_uri(fig)


STATUS_COLOURS = {"on target": "#66a182", "off target": "#d1495b"}


def against_targets(
    groups: Sequence[tuple[str, float | None, float | None, Sequence[tuple[str, float, str]]]],
) -> str:
    """Small multiples, one per KPI (title, target, reference, [(label, value, status)]): a bar per
    event coloured by its verdict (grey while the window is open or data are short), the target as a
    dashed line and a seeded reference, if any, as a dotted one (RP-03 crisis KPIs)."""
    fig = _figure(3.0 * len(groups), 1.3 + 0.3 * max(len(g[3]) for g in groups))
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, (title, target, reference, items) in zip(axes, groups, strict=True):
        labels = [label for label, _, _ in items][::-1]
        values = [float(v) for _, v, _ in items][::-1]
        colours = [STATUS_COLOURS.get(s, PALETTE[5]) for _, _, s in items][::-1]
        ax.barh(labels, values, color=colours)
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:.2f}", va="center", fontsize=7)
        if target is not None:
            ax.axvline(target, color="#b8405e", linestyle="--", linewidth=1, label=f"target {target:g}")
        if reference is not None:
            ax.axvline(reference, color="#444444", linestyle=":", linewidth=1, label=f"ref. {reference:g}")
        if target is not None or reference is not None:
            ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.15))
        ax.axvline(0, color="#8c8c8c", linewidth=0.6)
        ax.set_title(title, fontsize=9)
        ax.margins(x=0.2)
        _style(ax)
    return to_data_uri(fig)
