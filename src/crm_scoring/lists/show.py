"""A terminal view of the published lists, for `crm lists show` and `make run`."""

from __future__ import annotations

from datetime import date

from crm_scoring import warehouse


def render(run_date: date, limit: int = 10) -> str:
    lines: list[str] = []
    with warehouse.connect() as conn:
        for name in ("retention_list", "compensation_list"):
            exists = conn.execute("select to_regclass(%s)", (f"lists.{name}",)).fetchone()[0]
            if not exists:
                lines.append(f"lists.{name}: not published yet")
                continue
            by_rule = conn.execute(
                f"select rule_code, count(*) from lists.{name} where run_date = %s group by 1 order by 1",
                (run_date,),
            ).fetchall()
            total = sum(n for _, n in by_rule)
            lines.append(f"lists.{name} for {run_date}: {total} rows")
            lines += [f"  {rule:10} {n}" for rule, n in by_rule]
            if name == "retention_list":
                # CH-09: rows beyond a team's daily capacity stay on the list, reported, never dropped
                by_status = conn.execute(
                    "select contact_status, count(*) from lists.retention_list where run_date = %s"
                    " group by 1 order by 1",
                    (run_date,),
                ).fetchall()
                lines.append("  contact status: " + ", ".join(f"{s} {n}" for s, n in by_status))
            cur = conn.execute(
                f"select * from lists.{name} where run_date = %s order by 1, 2 limit %s", (run_date, limit)
            )
            cols = [d.name for d in cur.description]
            rows = cur.fetchall()
            if rows:
                lines.append("  " + " | ".join(cols))
                lines += ["  " + " | ".join("" if v is None else str(v) for v in row) for row in rows]
    return "\n".join(lines)
