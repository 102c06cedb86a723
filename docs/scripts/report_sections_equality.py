# Session 10 (dups): the report sections (every panel, chart data URIs included) one tree builds from a warehouse
# (a database kept by demo_tables_equality.py, or an empty one), for comparing two trees byte for byte.
# Usage: PYTHONPATH=<tree>/src .venv/bin/python docs/scripts/report_sections_equality.py <out file> <database>
import hashlib, sys
from datetime import date
import psycopg
from crm_scoring.report.sections import build_sections
url = "postgresql://postgres@127.0.0.1:5432/" + sys.argv[2]
with psycopg.connect(url) as conn:
    text = "\n".join(repr(s) for d in (date(2024, 3, 4), date(2024, 3, 5)) for s in build_sections(conn, d))
open(sys.argv[1], "w").write(text)
print(sys.argv[1], len(text), hashlib.md5(text.encode()).hexdigest())
