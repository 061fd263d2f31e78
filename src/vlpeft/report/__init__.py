"""Paper-style tables and the efficiency plot from run metrics (the `vlpeft tables` verb, ``report.cli``).

``build_report`` (``report.build``) writes the tables, ``metrics/summary.json`` and the plot; ``runs``
reads the runs' metrics, ``render`` formats cells, ``paper`` holds the papers' rows, ``prior`` the
constant-prediction baseline, ``plot`` draws the efficiency plot.
"""

from vlpeft.report.build import build_report

__all__ = ["build_report"]
