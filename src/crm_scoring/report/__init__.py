"""The daily morning report (issue 13): one self-contained HTML page per run date, read from the warehouse.

`render_report(run_date)` writes `<reports dir>/daily/<date>.html` and stores the same bytes in
`ops.daily_reports`. Nothing here computes business logic: every figure is a query on marts the nightly
run already built, so the report can never disagree with the warehouse.
"""

from crm_scoring.report.render import RenderedReport, render_report

__all__ = ["RenderedReport", "render_report"]
