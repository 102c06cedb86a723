"""Partitioning changes no output: the same nights built by two dbt projects, compared row for row.

Usage (from a worktree with the venv):
    .venv/bin/python docs/scripts/partition_outputs_equal.py /path/to/main/dbt_project dbt_project

Each project is copied to a temporary folder (nothing is written into either tree) and builds the
hand-made landing fixture of the tests (tests/support/dbt_project.py) for two consecutive run dates, in
its own throw-away database, with the same stand-in churn scores (written by this tree's
`ensure_scores_table`: partitioned for the second project). Then every table of marts, lists_build and
scoring is compared by the md5 of its rows in order (`string_agg(t::text order by t::text)`); the script
prints one line per table and exits 1 on a difference.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from crm_scoring import partitions, warehouse  # noqa: E402
from tests.support.dbt_project import D1, D2, FIXTURE, _dbt, _load_raw  # noqa: E402

SCHEMAS = ("marts", "lists_build", "scoring")
PROBABILITY = {"c1": 0.91, "c2": 0.75, "c3": 0.55, "c4": 0.35, "c5": 0.82, "c6": 0.1, "c7": 0.66, "c8": 0.2}


def build(project_src: Path, partitioned: bool, tmp: Path, server: str) -> tuple[str, str]:
    project = tmp / f"project_{int(partitioned)}" / "dbt_project"
    shutil.copytree(project_src, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    name = warehouse.create_database(server, "s9_partition_eq")
    url = warehouse.with_database(server, name)
    for key, value in warehouse.parse_url(url).dbt_env().items():
        os.environ[key] = value
    os.environ["DBT_TARGET_PATH"] = str(project / "target")
    _load_raw(url, FIXTURE)
    with psycopg.connect(url, autocommit=True) as conn:
        for day in (D1, D2):
            if partitioned:
                partitions.ensure(conn, "scoring.churn_scores", day)
            conn.cursor().executemany(
                "insert into scoring.churn_scores values"
                " (%s, %s, %s, 'crm_churn', '3', 'run-1', '2026-01-01')",
                [(day, c, p) for c, p in PROBABILITY.items()],
            )
    _dbt(project, "seed", profile=None)
    for day in (D1, D2):
        _dbt(project, "run", run_date=day, profile=None)
    return name, url


def digests(url: str) -> dict[str, str]:
    out = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) and c.relkind in ('r', 'p') order by 1, 2",
            (list(SCHEMAS),),
        ).fetchall()
        for schema, table in tables:
            out[f"{schema}.{table}"] = conn.execute(
                "select count(*) || ':' || md5(coalesce(string_agg(t::text, '|' order by t::text), ''))"
                f' from "{schema}"."{table}" t'
            ).fetchone()[0]
    return out


def main(before: Path, after: Path) -> int:
    server = warehouse.warehouse_url()
    names = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            a_name, a_url = build(before.resolve(), False, Path(tmp), server)
            names.append(a_name)
            b_name, b_url = build(after.resolve(), True, Path(tmp), server)
            names.append(b_name)
            a, b = digests(a_url), digests(b_url)
            with psycopg.connect(b_url) as conn:
                parted = conn.execute(
                    "select count(*) from pg_partitioned_table p join pg_class c on c.oid = p.partrelid"
                    " join pg_namespace n on n.oid = c.relnamespace where n.nspname = any(%s)",
                    (list(SCHEMAS),),
                ).fetchone()[0]
    finally:
        for name in names:
            warehouse.drop_database(server, name)
    differ = 0
    for table in sorted(set(a) | set(b)):
        same = a.get(table) == b.get(table)
        differ += not same
        print(f"{'same' if same else 'DIFFERENT':9} {table:45} {a.get(table)}  {b.get(table)}")
    print(f"{len(a)} tables, {differ} different; {parted} of them partitioned in the second build")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
