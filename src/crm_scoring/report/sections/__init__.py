"""One module per report section; `build_sections` runs them in the report's reading order."""

from __future__ import annotations

from datetime import date

import psycopg

from crm_scoring.report.panels import Section
from crm_scoring.report.sections import (
    alerts,
    campaigns,
    complaints,
    crisis,
    data,
    lists,
    model,
    policy,
    value,
)

ORDER = (lists, alerts, complaints, crisis, campaigns, model, data, value, policy)


def build_sections(conn: psycopg.Connection, run_date: date) -> list[Section]:
    return [module.section(conn, run_date) for module in ORDER]
