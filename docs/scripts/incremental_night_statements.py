"""Time the statements of one incremental night of int_activity__customer_days (and late_arriving_customers)
one by one on a kept bench database, with EXPLAIN (ANALYZE, BUFFERS), wall and backend CPU seconds.

docs/scaling.md, "Session 12: the incremental night at 1,000,000 customers". Everything runs in one
transaction that is rolled back at the end, so the database is unchanged and variants can be compared on
the same data. The statements are those the macros compile to (macros/incremental_customers.sql, the
model int_activity__customer_days, dbt-postgres' append): `before` is the macro of commit da4b9be,
`after` this branch's. The backend's CPU is read from /proc/<pid>/stat (run this on the database's host,
as a user that may read it).

    python docs/scripts/incremental_night_statements.py --dsn 'host=/path/to/socketdir user=postgres
        dbname=crm_bench_4bc3db0c4d' --run-date 2026-11-26 --mark 2026-11-25 --variant before
        [--work-mem 4MB] [--plans /tmp/plans-before] [--only days|late]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import psycopg

# (raw table, key, time column) as int_activity__customer_days' config lists them
SOURCES = [
    ("orders", "order_id", "order_ts"),
    ("interactions", "event_id", "event_ts"),
    ("tickets", "ticket_id", "created_at"),
    ("surveys", "survey_id", "responded_at"),
]
DAYS = "intermediate.int_activity__customer_days"
AFFECTED = "int_activity__customer_days__affected"


def utc_date(ts: str) -> str:
    return f"(({ts}) at time zone 'UTC')::date"


def day_end(date_sql: str) -> str:
    return f"(({date_sql} + 1)::timestamp at time zone 'UTC')"


def affected_branch(table: str, key: str, ts: str, run: str, mark: str, variant: str) -> str:
    """One raw table's affected customer-days (the pre-hook's union branch)."""
    delta = f"""select d.{key} from raw.{table} as d
                where d._export_date > date '{mark}' and d._export_date <= date '{run}'"""
    mark_end, run_end = day_end(f"date '{mark}'"), day_end(f"date '{run}'")
    window = f"r.{ts} >= {mark_end} and r.{ts} < {run_end}"
    if variant == "before":
        return f"""
        select r.customer_id, {utc_date("r." + ts)} as activity_date
        from raw.{table} as r
        where r._export_date <= date '{run}'
          and (r.{key} in ({delta}) or ({window}))
          and r.customer_id is not null"""
    # after: the keys' versions by a hash semi-join (no OR around the subquery: a SubPlan that is only
    # hashed while the keys fit work_mem), the rows come into view by their own scan arm
    return f"""
        select r.customer_id, {utc_date("r." + ts)} as activity_date
        from raw.{table} as r
        where r._export_date <= date '{run}'
          and r.{key} in ({delta})
          and r.customer_id is not null
        union
        select r.customer_id, {utc_date("r." + ts)}
        from raw.{table} as r
        where r._export_date <= date '{run}'
          and {window}
          and r.customer_id is not null"""


def days_select(run: str, variant: str, columns: list[str]) -> str:
    """The model's forward select (incremental_customers_filter with ts) with the table's columns."""
    end = day_end(f"date '{run}'")

    def flt(ts: str) -> str:
        if variant == "before":
            return (
                f"and (f.customer_id, {utc_date(ts)}) in (select customer_id, activity_date from {AFFECTED})"
            )
        # after: the same customer-days as a range on the time column, which the facts' (customer_id,
        # time) indexes serve
        return f"""and exists (select from {AFFECTED} as a where a.customer_id = f.customer_id
                   and {ts} >= a.activity_date::timestamp at time zone 'UTC'
                   and {ts} < (a.activity_date + 1)::timestamp at time zone 'UTC')"""

    has_last = "last_activity_at" in columns
    last = ", max(activity_ts) as last_activity_at" if has_last else ""
    return f"""
with events as (
    select customer_id, {utc_date("order_ts")} as activity_date, 1 as orders_placed,
        case when order_status <> 'cancelled' then 1 else 0 end as paid_orders,
        case when order_status <> 'cancelled' then net_amount else 0 end as paid_revenue,
        0 as logins, 0 as app_events, 0 as tickets_raised, 0 as survey_responses, order_ts as activity_ts
    from marts.fct_orders as f
    where order_ts < {end} {flt("order_ts")}
    union all
    select customer_id, {utc_date("event_ts")}, 0, 0, 0,
        case when event_type = 'login' then 1 else 0 end,
        case when event_type <> 'login' then 1 else 0 end, 0, 0, event_ts
    from marts.fct_interactions as f
    where event_type <> 'login_failed' and event_ts < {end} {flt("event_ts")}
    union all
    select customer_id, {utc_date("created_at")}, 0, 0, 0, 0, 0, 1, 0, created_at
    from intermediate.int_complaints__tickets_latest as f
    where customer_id is not null and created_at < {end} {flt("created_at")}
    union all
    select customer_id, {utc_date("responded_at")}, 0, 0, 0, 0, 0, 0, 1, responded_at
    from intermediate.int_feedback__surveys_latest as f
    where responded_at < {end} {flt("responded_at")}
)
select customer_id, activity_date,
    sum(orders_placed)::integer as orders_placed, sum(paid_orders)::integer as paid_orders,
    sum(paid_revenue)::numeric(18, 2) as paid_revenue, sum(logins)::integer as logins,
    sum(app_events)::integer as app_events, sum(tickets_raised)::integer as tickets_raised,
    sum(survey_responses)::integer as survey_responses{last}
from events
group by customer_id, activity_date"""


def late_select(run: str) -> str:
    sources = [
        ("orders", "marts.fct_orders"),
        ("tickets", "intermediate.int_complaints__tickets_latest"),
        ("interactions", "marts.fct_interactions"),
        ("surveys", "intermediate.int_feedback__surveys_latest"),
        ("contacts", "staging.stg_crm__contacts"),
        ("compensations", "staging.stg_crm__compensations"),
        ("consents", "staging.stg_crm__consents"),
        ("crisis_affected_customers", "staging.stg_crm__crisis_affected_customers"),
    ]
    refs = "\n    union all\n".join(
        f"select '{t}' as source_table, customer_id, exported_on from {m} where customer_id is not null"
        for t, m in sources
    )
    return f"""
with known as (select customer_id from staging.stg_crm__customers),
references_ as (
    {refs}
)
select date '{run}' as run_date, r.source_table, r.customer_id, count(*) as rows_waiting,
    min(r.exported_on) as first_exported_on, date '{run}' - min(r.exported_on) as days_waiting
from references_ as r
left join known as k on k.customer_id = r.customer_id
where k.customer_id is null
group by r.source_table, r.customer_id"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--run-date", required=True)
    ap.add_argument("--mark", required=True)
    ap.add_argument("--variant", choices=["before", "after"], required=True, help="the model select's filter")
    ap.add_argument("--affected", choices=["before", "after"], default=None, help="default: --variant")
    ap.add_argument("--work-mem", default=None)
    ap.add_argument("--plans", default=None, help="folder for the EXPLAIN outputs")
    ap.add_argument("--only", choices=["days", "late", "all"], default="all")
    ap.add_argument("--nestloop-delete", action="store_true", help="index nested loop for the delete")
    ap.add_argument("--compare", action="store_true", help="EXCEPT ALL of the select against the before form")
    ap.add_argument("--drop-unique-index", action="store_true", help="insert without the unique index")
    ap.add_argument(
        "--nonunique-index", action="store_true", help="with --drop-unique-index: a non-unique one"
    )
    ap.add_argument("--insert-sorted", action="store_true", help="insert in the unique index's order")
    ap.add_argument("--nestloop-select", action="store_true", help="nested loops allowed in the model select")
    args = ap.parse_args()
    run, mark, variant = args.run_date, args.mark, args.variant
    plans = Path(args.plans) if args.plans else None
    if plans:
        plans.mkdir(parents=True, exist_ok=True)

    with psycopg.connect(args.dsn, autocommit=False) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        conn.execute("set local enable_nestloop = off")
        conn.execute("set local jit = off")
        if args.work_mem:
            conn.execute(f"set local work_mem = '{args.work_mem}'")
        wm = conn.execute("show work_mem").fetchone()[0]
        print(f"{vars(args)}, work_mem {wm}, backend {pid}")

        def step(label: str, sql: str, explain: bool = True) -> None:
            c0, t0 = cpu_seconds(pid), time.perf_counter()
            if explain:
                rows = conn.execute(f"explain (analyze, buffers) {sql}").fetchall()
                text = "\n".join(r[0] for r in rows)
            else:
                cur = conn.execute(sql)
                text = f"{cur.statusmessage}"
            wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - c0
            top = text.splitlines()[0][:110] if text else ""
            print(f"{label:34s} wall {wall:8.2f} s  cpu {cpu:8.2f} s  {top}", flush=True)
            if plans:
                (plans / f"{label}.txt").write_text(
                    f"-- {label}: wall {wall:.2f} s, cpu {cpu:.2f} s\n{sql}\n\n{text}\n"
                )

        if args.only in ("days", "all"):
            # each raw table's branch into its own temporary table (timed apart), then their union: the
            # same rows as the pre-hook's single `create ... as <branch> union <branch> ...`
            for table, key, ts in SOURCES:
                branch = affected_branch(table, key, ts, run, mark, args.affected or variant)
                step(f"affected scan {table}", f"create temporary table affected_{table} as {branch}")
            union = " union ".join(f"select * from affected_{t}" for t, _, _ in SOURCES)
            step("affected union", f"create temporary table {AFFECTED} as {union}")
            step("analyze affected", f"analyze {AFFECTED}", explain=False)
            n = conn.execute(f"select count(*) from {AFFECTED}").fetchone()[0]
            print(f"affected customer-days: {n}")
            delete = f"""delete from {DAYS} as t using {AFFECTED} as a
                         where t.customer_id = a.customer_id and t.activity_date = a.activity_date"""
            if args.nestloop_delete:
                conn.execute("set local enable_nestloop = on")
                conn.execute("set local enable_hashjoin = off")
                conn.execute("set local enable_mergejoin = off")
            step("delete", delete)
            if args.nestloop_delete:
                conn.execute("set local enable_nestloop = off")
                conn.execute("set local enable_hashjoin = on")
                conn.execute("set local enable_mergejoin = on")
            columns = [
                r[0]
                for r in conn.execute(
                    """select column_name from information_schema.columns
                       where table_schema = 'intermediate' and table_name = 'int_activity__customer_days'
                       order by ordinal_position"""
                ).fetchall()
            ]
            if args.nestloop_select:
                conn.execute("set local enable_nestloop = on")
            step(
                "model select -> temp",
                "create temporary table days__dbt_tmp as " + days_select(run, variant, columns),
            )
            conn.execute("set local enable_nestloop = off")
            cols = ", ".join(columns)
            if args.compare and variant != "before":
                step(
                    "model select (before) -> temp",
                    "create temporary table days__before as " + days_select(run, "before", columns),
                )
                for a, b in (("days__dbt_tmp", "days__before"), ("days__before", "days__dbt_tmp")):
                    n = conn.execute(
                        f"select count(*) from (table {a} except all table {b}) as x"
                    ).fetchone()[0]
                    print(f"{a} except all {b}: {n} rows")
            if args.drop_unique_index:  # rolled back with the rest: the insert without the unique index
                for (name,) in conn.execute(
                    """select indexrelid::regclass::text from pg_index
                       where indrelid = %s::regclass and indisunique""",
                    (DAYS,),
                ).fetchall():
                    conn.execute(f"drop index {name}")
                if (
                    args.nonunique_index
                ):  # the same columns, not unique (built here, before the delete's rows go)
                    step(
                        "create non-unique index",
                        f"create index on {DAYS} (customer_id, activity_date)",
                        False,
                    )
            order = " order by customer_id, activity_date" if args.insert_sorted else ""
            step("insert (2 indexes)", f"insert into {DAYS} ({cols}) select {cols} from days__dbt_tmp{order}")
        if args.only in ("late", "all"):
            step("late_arriving select", late_select(run))
        conn.rollback()


if __name__ == "__main__":
    main()
