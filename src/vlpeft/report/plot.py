"""The efficiency trade-off plot: average score vs trainable % (log x), one panel per (group,
backbone), one marker per method (filled: ours, with the std over seeds as error bar; hollow: the
paper's number). PNG and SVG with deterministic bytes: Agg canvas, DejaVu Sans (shipped with
matplotlib), fixed SVG hash salt, no date/creator/software metadata."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

from vlpeft.io import atomic_path
from vlpeft.report.paper import PaperRow
from vlpeft.report.runs import Table

MARKERS = "osD^v<>phP*Xd"
LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "svg.hashsalt": "vlpeft",
    "svg.fonttype": "path",
    "path.simplify": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
METADATA = {"svg": {"Date": None, "Creator": None}, "png": {"Software": None}}


def _style(index: int) -> tuple[str, tuple[float, float, float, float]]:
    from matplotlib import colormaps

    return MARKERS[index % len(MARKERS)], colormaps["tab10"](index % 10)


def _panel(ax, table: Table, papers: Mapping[str, PaperRow], style_of: Mapping[str, int]) -> None:
    for row in table.rows:
        x, y = row.params["percent"].mean, row.average
        if not (x > 0 and math.isfinite(x)):
            continue  # nothing to place on a log axis
        marker, color = _style(style_of[row.method])
        ax.errorbar(
            [x],
            [y.mean],
            yerr=None if y.std is None else [y.std],
            fmt=marker,
            color=color,
            markersize=6,
            capsize=2,
            label=row.method,
        )
        paper = papers.get(row.method)
        if paper is not None and paper.params_pct and "average" in paper.scores:
            ax.plot(
                [paper.params_pct],
                [paper.scores["average"]],
                marker=marker,
                linestyle="none",
                markerfacecolor="none",
                markeredgecolor=color,
                markersize=7,
            )
    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    ax.set_xticks([t for t in LOG_TICKS if lo <= t <= hi])
    ax.xaxis.set_major_formatter("{x:g}")
    ax.xaxis.set_minor_formatter("")
    ax.set_title(f"{table.group} / {table.backbone}")
    ax.set_xlabel("trainable parameters (%, log scale)")
    ax.set_ylabel("average score (0-100)")


def plot_efficiency(
    tables: Sequence[Table],
    papers: Mapping[str, Mapping[str, PaperRow]],
    method_order: Sequence[str],
    out_png: str | os.PathLike,
    out_svg: str | os.PathLike,
) -> None:
    """Write the efficiency plot of all tables (``papers`` is keyed by ``Table.name``)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    style_of = {m: i for i, m in enumerate(method_order)}
    ncols = min(3, max(1, len(tables)))
    nrows = math.ceil(max(1, len(tables)) / ncols)
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]  # the stub wants rcParams keys as Literals
        fig = Figure(figsize=(4.2 * ncols, 3.4 * nrows + 0.9), dpi=100)
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, table in zip(axes, tables):
            _panel(ax, table, papers.get(table.name, {}), style_of)
        for ax in axes[len(tables) :]:
            ax.set_visible(False)
        shown = [m for m in method_order if any(r.method == m for t in tables for r in t.rows)]
        handles = [
            Line2D([], [], marker=_style(style_of[m])[0], color=_style(style_of[m])[1], linestyle="none", label=m)
            for m in shown
        ]
        if any(papers.values()):
            handles.append(
                Line2D(
                    [], [], marker="o", color="gray", markerfacecolor="none", linestyle="none", label="paper (hollow)"
                )
            )
        fig.legend(handles=handles, loc="lower center", ncol=min(5, max(1, len(handles))), frameon=False, fontsize=7)
        fig.tight_layout(rect=(0, 0.06 + 0.03 * math.ceil(len(handles) / 5), 1, 1))
        for path, fmt in ((out_png, "png"), (out_svg, "svg")):
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, metadata=METADATA[fmt])
