"""What Great Expectations checks on each raw table, and which rule each check enforces.

The shape of every check comes from the landing contract (`contract.py`): the value sets of
`in_set`, the key columns of `key`, which columns are required or non-negative. This module only
chooses which checks each table's suite carries, in which order, under which rule ID and why; the
suites in expectations/raw/*.json are generated from both by `crm generate`. A table without an
entry (a table newly added to the contract) gets every check its contract implies, under rule "LC".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_scoring import contract

KEY_WHY = "the table's key: duplicates within one export would double-count downstream"
SET_WHY = "value outside the contract's set: the loader should have quarantined it, so the load is broken"
ROW_COUNT_WHY = "a required file with no rows for the export date means a broken or empty export"


@dataclass(frozen=True)
class Check:
    """One expectation: kind (row_count | not_null | key | in_set | non_negative | ordered | sql)."""

    kind: str
    column: str | None = None
    later: str | None = None  # `ordered`: column <= later
    why: str | None = None
    rule: str | None = None  # default: the table's rule
    severity: str = "critical"
    query: str | None = None  # `sql`: rows returned are unexpected ({batch} = the export date's rows)
    meta_column: str | None = None  # `sql`: the column the report names


@dataclass(frozen=True)
class TableChecks:
    rule: str
    checks: tuple[Check, ...]


RAW_SUITES: dict[str, TableChecks] = {
    "compensations": TableChecks(
        "DQ-11",
        (
            Check("not_null", "compensation_id", why="every compensation row needs its id"),
            Check("key"),
            Check("in_set", "compensation_type"),
            Check("non_negative", "amount", why="a granted amount is never negative"),
        ),
    ),
    "consents": TableChecks(
        "LC",
        (
            Check("key"),
            Check("in_set", "purpose"),
            Check("in_set", "channel"),
            Check(
                "in_set",
                "status",
                why="value outside the contract's set: the loader should have quarantined it, so the load is broken; consent enforcement (PS-07) reads it",  # noqa: E501
            ),
        ),
    ),
    "contacts": TableChecks(
        "LC",
        (
            Check("not_null", "contact_id", why="every contact row needs its id"),
            Check("key"),
            Check("in_set", "channel"),
            Check("in_set", "purpose"),
        ),
    ),
    "crisis_affected_customers": TableChecks(
        "DQ-15",
        (
            Check("not_null", "crisis_event_id", why="required contract column"),
            Check("not_null", "customer_id", why="required contract column"),
            Check("key"),
            Check(
                "sql",
                why="affected customers reference a known crisis event; a late event is reconciled later, so warn",  # noqa: E501
                query="with a as (select * from {batch}) select a.crisis_event_id, a.customer_id from a where not exists (select 1 from raw.crisis_events e where e.crisis_event_id = a.crisis_event_id and e._export_date <= a._export_date)",  # noqa: E501
                meta_column="crisis_event_id",
                severity="warning",
            ),
        ),
    ),
    "crisis_events": TableChecks(
        "DQ-15",
        (
            Check("not_null", "crisis_event_id", why="every crisis row needs its id"),
            Check("key"),
            Check("in_set", "crisis_type"),
            Check("in_set", "scope_level"),
            Check("in_set", "opinion_level"),
            Check(
                "ordered",
                "started_at",
                "resolved_at",
                why="started_at <= resolved_at: an inverted crisis window corrupts every crisis-window rule (compensation eligibility, post-crisis revisits)",  # noqa: E501
            ),
        ),
    ),
    "customers": TableChecks(
        "DQ-01",
        (
            Check("row_count"),
            Check("not_null", "customer_id", why="every customer row needs its id"),
            Check("key"),
            Check("in_set", "status"),
            Check("not_null", "registered_at", why="required contract column; tenure features use it"),
        ),
    ),
    "interactions": TableChecks(
        "LC",
        (
            Check("not_null", "event_id", why="every event row needs its id"),
            Check("key"),
            Check("in_set", "event_type"),
        ),
    ),
    "orders": TableChecks(
        "DQ-10",
        (
            Check("row_count"),
            Check("not_null", "order_id", why="every order row needs its id"),
            Check("key"),
            Check("not_null", "customer_id", why="an order without a customer cannot feed any feature"),
            Check("not_null", "net_amount", why="required contract column; spend features sum it"),
            Check("non_negative", "net_amount", why="net amount after refunds is never negative"),
            Check("in_set", "status"),
        ),
    ),
    "surveys": TableChecks(
        "DQ-09",
        (
            Check("not_null", "survey_id", why="every survey row needs its id"),
            Check("key"),
            Check("in_set", "survey_type"),
            Check(
                "sql",
                why="score scale by survey_type: CSAT 1-5, NPS 0-10; an off-scale answer is dropped downstream",  # noqa: E501
                query="select survey_id, survey_type, score from {batch} where score is not null and ((survey_type = 'CSAT' and score not between 1 and 5) or (survey_type = 'NPS' and score not between 0 and 10))",  # noqa: E501
                meta_column="score",
                severity="warning",
            ),
            Check("ordered", "sent_at", "responded_at", why="sent_at <= responded_at", severity="warning"),
        ),
    ),
    "tickets": TableChecks(
        "DQ-02",
        (
            Check("not_null", "ticket_id", why="every ticket row needs its id"),
            Check("key"),
            Check("in_set", "ticket_type"),
            Check("in_set", "priority"),
            Check("in_set", "channel"),
            Check("in_set", "status"),
            Check(
                "ordered",
                "created_at",
                "first_response_at",
                why="created_at <= first_response_at; an inverted pair skews response-time features only",
                severity="warning",
            ),
            Check(
                "ordered",
                "first_response_at",
                "resolved_at",
                why="first_response_at <= resolved_at",
                severity="warning",
            ),
            Check(
                "ordered",
                "created_at",
                "resolved_at",
                why="created_at <= resolved_at (also when there was no first response)",
                severity="warning",
            ),
            Check("ordered", "resolved_at", "closed_at", why="resolved_at <= closed_at", severity="warning"),
        ),
    ),
}


def default_checks(table: contract.Table) -> TableChecks:
    """Every check the contract implies for a table without a curated suite."""
    checks: list[Check] = [Check("row_count")] if table.required_file else []
    checks += [Check("not_null", c, why="required contract column") for c in table.required_columns]
    checks.append(Check("key"))
    checks += [Check("in_set", c.name) for c in table.columns if c.allowed]
    checks += [
        Check("non_negative", c.name, why="the contract's amounts are never negative")
        for c in table.columns
        if c.non_negative
    ]
    return TableChecks("LC", tuple(checks))


def _expectation(table: contract.Table, rule: str, check: Check) -> dict[str, Any]:
    col = table.column(check.column) if check.column else None
    meta: dict[str, Any] = {"severity": check.severity, "rule": check.rule or rule}
    if check.kind == "row_count":
        kind, kwargs, why = "expect_table_row_count_to_be_between", {"min_value": 1}, ROW_COUNT_WHY
        meta["rule"] = check.rule or "DQ-12"
        if not table.required_file:
            raise ValueError(f"{table.name}: row_count check on a file the contract does not require")
    elif check.kind == "key":
        why = check.why or KEY_WHY
        if len(table.key) == 1:
            kind, kwargs = "expect_column_values_to_be_unique", {"column": table.key[0]}
        else:
            kind, kwargs = "expect_compound_columns_to_be_unique", {"column_list": list(table.key)}
    elif check.kind == "in_set":
        if not col.allowed:
            raise ValueError(f"{table.name}.{col.name}: in_set check on a column without a value set")
        kind, kwargs = (
            "expect_column_values_to_be_in_set",
            {"column": col.name, "value_set": list(col.allowed)},
        )
        why = check.why or SET_WHY
    elif check.kind == "not_null":
        kind, kwargs, why = "expect_column_values_to_not_be_null", {"column": col.name}, check.why
    elif check.kind == "non_negative":
        if not col.non_negative:
            raise ValueError(f"{table.name}.{col.name}: the contract does not make it non-negative")
        kind, kwargs, why = (
            "expect_column_values_to_be_between",
            {"column": col.name, "min_value": 0},
            check.why,
        )
    elif check.kind == "ordered":
        table.column(check.later)
        kind = "expect_column_pair_values_a_to_be_greater_than_b"
        kwargs = {
            "column_A": check.later,
            "column_B": col.name,
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        }
        why = check.why
    elif check.kind == "sql":
        kind, kwargs, why = "unexpected_rows_expectation", {"unexpected_rows_query": check.query}, check.why
        meta["column"] = check.meta_column
    else:
        raise ValueError(f"{table.name}: unknown check kind {check.kind!r}")
    meta["why"] = why
    return {"type": kind, "kwargs": kwargs, "meta": meta}


def raw_suite(table_name: str) -> dict[str, Any]:
    """The GX suite of one raw table (the layout quality/suites.py reads)."""
    table = contract.TABLES[table_name]
    spec = RAW_SUITES.get(table_name) or default_checks(table)
    return {
        "name": f"raw.{table_name}",
        "meta": {
            "table": table_name,
            "date_column": "_export_date",
            "description": f"raw.{table_name}: the rows of one export date (_export_date)",
        },
        "expectations": [_expectation(table, spec.rule, c) for c in spec.checks],
    }
