"""What changes from one night to the next: the premise of any further incremental step (issue 12).

The nightly path stays above 25 % of a full refresh because every stage after the marts restates the
decision for every customer (docs/scaling.md, "Session 33"). Building the scores, the candidates and the
lists only for the customers whose inputs changed would pay only if few of them change from one night to
the next. `crm bench --nights N` (N >= 3: the bench's first night follows no published list) measures
that on its last two nights: the customers the night's export touches, the feature rows, scores and churn
bands that differ, the retention candidates' rule hits and decisions that differ, the list rows of both
nights and the ticket facts that differ. Counts only, from the tables the nights wrote; no timing.
"""

from __future__ import annotations

from datetime import date

from crm_scoring import contract, warehouse


def _touched_sql() -> str:
    """Distinct customers of every raw table with a customer_id, exported on the night's date."""
    tables = [name for name, table in contract.TABLES.items() if "customer_id" in table.column_names]
    parts = " union ".join(
        f"select customer_id from raw.{name} where _export_date = %(after)s and customer_id is not null"
        for name in tables
    )
    return f"select count(*) from ({parts}) as touched"


QUERIES: dict[str, str] = {
    "customers": "select count(*) from marts.churn_features where run_date = %(after)s",
    # every feature row is compared whole (minus its dates): recency and tenure move every customer nightly
    "feature_rows_changed": """
        select count(*)
        from marts.churn_features as b
        left join marts.churn_features as a on a.customer_id = b.customer_id and a.run_date = %(before)s
        where b.run_date = %(after)s
          and (a.customer_id is null
               or to_jsonb(a) - array['run_date', 'as_of_date']
                  <> to_jsonb(b) - array['run_date', 'as_of_date'])
    """,
    "scores_changed": """
        select count(*) filter (where a.customer_id is null
                                or a.churn_probability <> b.churn_probability),
               count(*) filter (where a.customer_id is null
                                or abs(a.churn_probability - b.churn_probability) > 0.001),
               count(*) filter (where a.customer_id is null
                                or a.clv_estimate is distinct from b.clv_estimate)
        from scoring.churn_scores as b
        left join scoring.churn_scores as a on a.customer_id = b.customer_id and a.run_date = %(before)s
        where b.run_date = %(after)s
    """,
    "bands_changed": """
        select count(*)
        from marts.churn_bands as b
        left join marts.churn_bands as a on a.customer_id = b.customer_id and a.run_date = %(before)s
        where b.run_date = %(after)s and (a.customer_id is null or a.churn_band is distinct from b.churn_band)
    """,
    # a retention candidate is a (customer, rule) hit and its governance outcome; what differs: the hit
    # itself (new, gone, another trigger) or only its decision (cooldowns after the previous night's list)
    "retention_candidates": """
        with a as (select * from lists_build.retention_candidates where run_date = %(before)s),
             b as (select * from lists_build.retention_candidates where run_date = %(after)s)
        select count(b.customer_id),
               count(*) filter (where a.customer_id is null),
               count(*) filter (where b.customer_id is null),
               count(*) filter (where a.customer_id is not null and b.customer_id is not null
                                and (a.trigger_detail, a.crisis_event_id, a.action_code)
                                    is distinct from (b.trigger_detail, b.crisis_event_id, b.action_code)),
               count(*) filter (where a.customer_id is not null and b.customer_id is not null
                                and (a.trigger_detail, a.crisis_event_id, a.action_code)
                                    is not distinct from (b.trigger_detail, b.crisis_event_id, b.action_code)
                                and (a.decision, a.suppression_reason, a.channel)
                                    is distinct from (b.decision, b.suppression_reason, b.channel)),
               count(distinct coalesce(a.customer_id, b.customer_id))
        from a full join b on b.customer_id = a.customer_id and b.rule_code = a.rule_code
    """,
    "retention_list": """
        select count(*) filter (where run_date = %(before)s), count(*) filter (where run_date = %(after)s)
        from lists.retention_list where run_date in (%(before)s, %(after)s)
    """,
    "compensation_list": """
        select count(*) filter (where run_date = %(before)s), count(*) filter (where run_date = %(after)s)
        from lists.compensation_list where run_date in (%(before)s, %(after)s)
    """,
    # the per-date ticket fact restates every ticket each night
    "fct_tickets": """
        select count(b.ticket_id),
               count(*) filter (where a.ticket_id is null),
               count(*) filter (where a.ticket_id is not null
                                and to_jsonb(a) - 'run_date' <> to_jsonb(b) - 'run_date')
        from marts.fct_tickets as b
        left join marts.fct_tickets as a on a.ticket_id = b.ticket_id and a.run_date = %(before)s
        where b.run_date = %(after)s
    """,
}


def night_changes(url: str, before: date, after: date) -> dict[str, int]:
    """The counts above for two consecutive nights `before` and `after` (the tables must hold both)."""
    if (after - before).days != 1:
        raise ValueError(f"night_changes compares consecutive nights, not {before} and {after}")
    params = {"before": before, "after": after}
    with warehouse.connect(url) as conn:

        def row(sql: str) -> tuple:
            found = conn.execute(sql, params).fetchone()
            assert found is not None
            return tuple(int(v) for v in found)

        (customers,) = row(QUERIES["customers"])
        (touched,) = row(_touched_sql())
        (features,) = row(QUERIES["feature_rows_changed"])
        scores, scores_001, clv = row(QUERIES["scores_changed"])
        (bands,) = row(QUERIES["bands_changed"])
        hits, new, gone, trigger, decision, hit_customers = row(QUERIES["retention_candidates"])
        retention_before, retention_after = row(QUERIES["retention_list"])
        compensation_before, compensation_after = row(QUERIES["compensation_list"])
        tickets, tickets_new, tickets_changed = row(QUERIES["fct_tickets"])
    return {
        "customers": customers,
        "customers_touched_by_the_export": touched,
        "feature_rows_changed": features,
        "scores_changed": scores,
        "scores_changed_over_0_001": scores_001,
        "clv_estimates_changed": clv,
        "churn_bands_changed": bands,
        "retention_hits": hits,
        "retention_hits_new": new,
        "retention_hits_gone": gone,
        "retention_hits_trigger_changed": trigger,
        "retention_hits_decision_changed_only": decision,
        "retention_hit_customers_either_night": hit_customers,
        "retention_list_before": retention_before,
        "retention_list_after": retention_after,
        "compensation_list_before": compensation_before,
        "compensation_list_after": compensation_after,
        "fct_tickets": tickets,
        "fct_tickets_new": tickets_new,
        "fct_tickets_changed": tickets_changed,
    }


def summary(changes: dict[str, int]) -> str:
    """One line for the bench's output: each count as a share of what it is counted among."""
    n = changes["customers"] or 1
    hits = changes["retention_hits"] or 1
    tickets = changes["fct_tickets"] or 1
    return (
        f"night over night ({changes['customers']:,} customers): touched by the export "
        f"{changes['customers_touched_by_the_export'] / n:.1%}; feature rows changed "
        f"{changes['feature_rows_changed'] / n:.1%}; scores changed {changes['scores_changed'] / n:.1%} "
        f"(by > 0.001: {changes['scores_changed_over_0_001'] / n:.1%}); churn bands "
        f"{changes['churn_bands_changed'] / n:.1%}; retention hits {changes['retention_hits']:,}: new "
        f"{changes['retention_hits_new'] / hits:.1%}, gone {changes['retention_hits_gone'] / hits:.1%}, "
        f"trigger {changes['retention_hits_trigger_changed'] / hits:.1%}, decision only "
        f"{changes['retention_hits_decision_changed_only'] / hits:.1%}; retention list "
        f"{changes['retention_list_before']:,} -> {changes['retention_list_after']:,}; ticket facts new or "
        f"changed {(changes['fct_tickets_new'] + changes['fct_tickets_changed']) / tickets:.1%}"
    )
