"""Rules written once and generated elsewhere (`crm generate`): the committed files match a fresh
generation, the generated SQL redaction does what the Python one does, and every rule ID the code
cites is in docs/rules.md."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import shutil

import jinja2
import psycopg
import pytest
from dbt.cli.main import dbtRunner

from crm_scoring import contract, settings
from crm_scoring.codegen import contract_files, generate, rules_doc, stale_files
from crm_scoring.enrich.redact import redact


def test_generated_files_are_up_to_date() -> None:
    stale = stale_files()
    assert not stale, f"run `crm generate` (or `make generate`): stale {stale}"


def test_a_stale_file_is_reported_and_rewritten(tmp_path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "landing_contract.md").write_text("hand edited\n")
    stale = generate(check=True, root=tmp_path)
    assert "docs/landing_contract.md" in stale and "expectations/raw/orders.json" in stale
    generate(root=tmp_path)
    assert generate(check=True, root=tmp_path) == []


def test_the_incremental_activity_sources_are_the_contract_tables_with_an_activity_time() -> None:
    """Macro incremental_customers finds a night's affected customers through raw's key index (or, where
    the key holds the customer and the time, tonight's rows alone) and trusts that no stored row lies after
    its export day: both hold only for contract tables with an activity_time (key indexed by
    raw_table_ddl, the column not_future), so the models may read no other."""
    timed = {t.name for t in contract.TABLES.values() if t.activity_time}
    assert timed == {"orders", "interactions", "tickets", "surveys", "contacts", "consents"}
    for name in timed:
        table = contract.TABLES[name]
        assert table.column(table.activity_time).not_future
        index = f"{name}_key_idx on raw.{name} ({', '.join(table.key)})"
        assert (index in contract.raw_table_ddl(table)) is not table.key_holds_customer_and_time
    assert [t for t in timed if contract.TABLES[t].key_holds_customer_and_time] == ["consents"]
    assert "_key_idx" not in contract.raw_table_ddl(contract.TABLES["customers"])
    models = settings.dbt_project_dir() / "models" / "intermediate"
    sources = {
        "activity/int_activity__customer_days": {"orders", "interactions", "tickets", "surveys"},
        "activity/int_activity__customer_lifetime": {"orders", "interactions", "tickets", "surveys"},
        "lists/int_lists__consent": {"consents", "contacts"},
    }
    for model, tables in sources.items():
        config = (models / f"{model}.sql").read_text().split("incremental_customers_config(")[1]
        assert set(re.findall(r"'(\w+)'", config.split("]")[0])) == tables
    assert set().union(*sources.values()) == timed
    with pytest.raises(ValueError, match="must be not_future"):
        contract.Table("x", (contract.Column("ts", "timestamp"),), key=("ts",), activity_time="ts")


def test_a_new_contract_table_gets_a_suite_and_a_source(monkeypatch) -> None:
    """Another table in contract.py (e.g. dsr_requests) is generated without further code."""
    table = contract.Table(
        "dsr_requests",
        (
            contract.Column("request_id", "text", True),
            contract.Column("customer_id", "text", True),
            contract.Column("request_type", "text", True, allowed=("erasure", "access", "restriction")),
            contract.Column("requested_at", "timestamp", True, not_future=True),
        ),
        key=("request_id",),
        version_column=None,
    )
    monkeypatch.setitem(contract.TABLES, "dsr_requests", table)
    suite = json.loads(contract_files.suite_json("dsr_requests"))
    kinds = {e["type"]: e for e in suite["expectations"]}
    value_set = kinds["expect_column_values_to_be_in_set"]["kwargs"]["value_set"]
    assert value_set == ["erasure", "access", "restriction"]
    assert kinds["expect_column_values_to_be_unique"]["kwargs"] == {"column": "request_id"}
    assert {e["meta"]["rule"] for e in suite["expectations"]} == {"LC"}
    assert "      - name: dsr_requests\n" in contract_files.sources_yml()
    assert "### dsr_requests.csv" in contract_files.contract_doc()
    assert "expectations/raw/dsr_requests.json" in contract_files.targets()


def test_the_suites_take_their_value_sets_from_the_contract(monkeypatch) -> None:
    orders = contract.TABLES["orders"]
    cols = tuple(
        dataclasses.replace(c, allowed=(*c.allowed, "lost")) if c.name == "status" else c
        for c in orders.columns
    )
    monkeypatch.setitem(contract.TABLES, "orders", dataclasses.replace(orders, columns=cols))
    assert '"lost"' in contract_files.suite_json("orders")


def test_every_cited_rule_is_in_the_catalogue() -> None:
    doc = (settings.project_root() / "docs" / "rules.md").read_text()
    catalogued = {line.split(" | ")[0].removeprefix("| ") for line in doc.splitlines() if line[:2] == "| "}
    cited = rules_doc.citations(settings.project_root())
    missing = {rule: sorted(files)[:3] for rule, files in cited.items() if rule not in catalogued}
    assert not missing, f"rule IDs cited in code but not in docs/rules.md (run `crm generate`): {missing}"


def test_rule_id_ranges_are_expanded() -> None:
    assert rules_doc.ids_in("used by CV-01..03 and RL-05..RL-06, not XX-01") == {
        "CV-01", "CV-02", "CV-03", "RL-05", "RL-06",
    }  # fmt: skip


CORPUS = [
    "mail angry.customer@example.com or +86 138-0000-0005, 身份证11010519491231002X，电话13800138000，"
    "旧证110105491231002",
    "Order OR12-01234 on 2026-11-26 cost 123.45 CNY",
    "call (010) 6552-9988 after 2026/11/27, ref 1234567890123456789012",
    "v1.2.3.4567890 and x_1234567 and 12345678 and 2026-11-26 13812345678",
    "",
    None,
]


def _sql_redact(source: str) -> str:
    macro = (settings.dbt_project_dir() / "macros" / "redact_text.sql").read_text()
    return jinja2.Environment().from_string(macro + "{{ redact_text('" + source + "') }}").render().strip()


def _random_texts(n: int) -> list[str]:
    rnd = random.Random(7)
    alphabet = "0123456789" * 4 + " -.()+@xX_abc身份证" + "e.com"
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(5, 60))) for _ in range(n)]


@pytest.mark.parametrize("corpus", ["fixed", "random"])
def test_staging_redacts_like_enrichment(warehouse_db: str, corpus: str) -> None:
    texts = CORPUS if corpus == "fixed" else _random_texts(400)
    with psycopg.connect(warehouse_db) as conn:
        redacted = _sql_redact("t").replace("%", "%%")
        rows = conn.execute(
            f"select t, {redacted} from unnest(%s::text[]) with ordinality as u(t, i) order by i", (texts,)
        ).fetchall()
    mismatches = [(t, sql, redact(t)) for t, sql in rows if sql != redact(t)]
    assert not mismatches, mismatches[:5]


def test_the_catalogue_regenerates_without_the_business_spec(monkeypatch) -> None:
    """A clone without seed_spec.md keeps the committed descriptions: same page."""
    monkeypatch.setenv("CRM_SEED_SPEC", "/nonexistent/seed_spec.md")
    committed = (settings.project_root() / "docs" / "rules.md").read_text()
    assert rules_doc.render() == committed


def test_staging_views_are_the_contract_with_pii_masked(project, dbt_env: str) -> None:
    """Every stg_crm__* view is written by macro staging_view from the contract (contract_table, generated
    above): each contract column reaches its view under its own or its renamed name, and a view that
    leaves a PII column unmasked does not compile."""
    # the staging views alone (and the generic tests of their YAML): a parse of seconds, not of the project
    for other in [
        *(project / "models").iterdir(),
        *(project / "tests").glob("*.sql"),
        project / "selectors.yml",
    ]:
        if other.name != "staging":
            shutil.rmtree(other) if other.is_dir() else other.unlink()

    def compile_(select: str) -> tuple[bool, str]:
        args = ["compile", "--quiet", "--project-dir", str(project), "--profiles-dir", str(project)]
        args += ["--target-path", str(project / "target"), "--select", select]
        result = dbtRunner().invoke([*args, "--vars", '{"run_date": "2026-11-26"}'])
        return result.success, str(result.exception)

    assert compile_("stg_crm__*")[0]
    compiled = {p.stem: p.read_text() for p in (project / "target" / "compiled").rglob("stg_crm__*.sql")}
    for table in contract.TABLES.values():
        if table.name == "dsr_requests":  # applied by crm_scoring.privacy, never staged
            continue
        sql = compiled[f"stg_crm__{table.name}"]
        for col in table.columns:
            quoted = '"' + col.name + '"'  # "text" is quoted in SQL
            used = (f"{col.name},", f"{col.name} as ", f"({col.name}", f"({quoted}")
            assert any(u in sql for u in used), (table.name, col.name)
            if col.pii:  # masked: inside a hash or redaction only, under another name
                assert f" {col.name},\n" not in sql and f" as {col.name}," not in sql, (table.name, col.name)

    view = project / "models" / "staging" / "crm" / "stg_crm__surveys.sql"
    view.write_text("{{ staging_view('surveys') }}\n")
    ok, error = compile_("stg_crm__surveys")
    assert not ok and "PII column comment must be masked" in error
