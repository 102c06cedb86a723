"""The daily morning report (issue 13): one self-contained HTML page per run date, read from the warehouse.

`render_report(run_date)` writes `<reports dir>/daily/<date>.html` and stores the same bytes in
`ops.daily_reports`. Nothing here computes business logic: every figure is a query on marts the nightly
run already built, so the report can never disagree with the warehouse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm_scoring.report.render import RenderedReport, render_report

__all__ = ["RenderedReport", "render_report"]


def __getattr__(name: str) -> Any:
    """Lazy: `crm --help` imports `crm_scoring.report.cli`, which must not pull in matplotlib."""
    if name in __all__:
        from crm_scoring.report import render

        return getattr(render, name)
    raise AttributeError(name)
