"""Backend CPU seconds and wall time of compiled model selects, alternating, on one database.

docs/scaling.md, "Session 13: late_arriving_customers by delta". Each select runs in its own transaction
(rolled back) with the settings of a model build (`planner_settings()`: no nested loops, no JIT, work_mem
64MB) and, by default, no parallel workers, so the backend's CPU is the whole query's. The CPU is read from
/proc/<pid>/stat of the backend: run it on the database's host, as a user that may read it.

    python docs/scripts/select_cpu.py --dsn postgresql://postgres@127.0.0.1:5432/late_bench100k --rounds 2 \
        before=/tmp/late/full100k.sql after=/tmp/late/fwd100k.sql
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import psycopg


def backend_cpu(pid: int) -> float:
    """utime + stime of a process in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--parallel", action="store_true", help="Keep PostgreSQL's parallel workers.")
    parser.add_argument("selects", nargs="+", help="label=path of a compiled select")
    args = parser.parse_args()
    selects = [s.split("=", 1) for s in args.selects]
    settings = "set local enable_nestloop = off; set local jit = off; set local work_mem = '64MB'"
    if not args.parallel:
        settings += "; set local max_parallel_workers_per_gather = 0"
    for round_no in range(1, args.rounds + 1):
        for label, path in selects:
            sql = Path(path).read_text()
            with psycopg.connect(args.dsn) as conn:
                pid = conn.execute("select pg_backend_pid()").fetchone()[0]
                conn.execute(settings)
                cpu0, wall0 = backend_cpu(pid), time.perf_counter()
                rows = len(conn.execute(sql).fetchall())
                wall, cpu = time.perf_counter() - wall0, backend_cpu(pid) - cpu0
                conn.rollback()
            print(
                f"round {round_no} {label}: {rows} rows, wall {wall:.2f} s, backend CPU {cpu:.2f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
