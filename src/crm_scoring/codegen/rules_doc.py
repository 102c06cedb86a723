"""docs/rules.md: a catalogue of every rule ID the code cites (`crm generate`).

For each ID: what it does, the policy parameters it reads, where it is implemented (dbt models and
macros, Python modules, GX suites, policy seeds) and whether it ships enabled. Sources, in order:
the rule seeds (retention_rules, alert_rules, complaint_rules, compensation_matrix: name, enabled,
required parameters), `policy_parameters.used_by`, the code itself (where each ID is cited) and, for
the one-line description, the business specification `seed_spec.md` when it is present beside the
repository (CRM_SEED_SPEC, else ../shared/domain/seed_spec.md). Without it, the descriptions already in
the committed docs/rules.md are kept, so regenerating anywhere gives the same page.
"""

from __future__ import annotations

import csv
import os
import re
from collections import defaultdict
from pathlib import Path

from crm_scoring import settings

ID = re.compile(r"\b([A-Z]{2})-(\d{2})(?:\.\.(?:[A-Z]{2}-)?(\d{2}))?\b")
PREFIXES = ("IN", "ST", "CV", "CM", "CF", "CH", "RL", "CP", "AL", "DQ", "PS", "RP")
AREAS = {
    "IN": "Ingest",
    "ST": "Staging",
    "CV": "Customer value",
    "CM": "Complaints",
    "CF": "Churn features",
    "CH": "Churn model",
    "RL": "Retention list",
    "CP": "Compensation list",
    "AL": "Alerting and monitoring",
    "DQ": "Data quality",
    "PS": "Privacy and security",
    "RP": "Reporting",
}
CODE_GLOBS = (
    ("src/crm_scoring", "*.py"),
    ("dags", "*.py"),
    ("dbt_project/models", "*.sql"),
    ("dbt_project/models", "*.yml"),
    ("dbt_project/macros", "*.sql"),
    ("dbt_project/tests", "*.sql"),
    ("dbt_project/seeds", "*.csv"),
    ("expectations", "*.json"),
)
RULE_SEEDS = {
    "retention_rules": ("rule_code", "condition"),
    "alert_rules": ("alert_code", "rule_name"),
    "complaint_rules": ("rule_code", "rule_name"),
    "compensation_matrix": ("rule_code", "trigger"),
}
DOC = "docs/rules.md"


def ids_in(text: str) -> set[str]:
    """Every rule ID in a text; ranges such as CV-01..03 or RL-01..RL-05 are expanded."""
    out = set()
    for prefix, first, last in ID.findall(text):
        if prefix not in PREFIXES:
            continue
        end = int(last) if last else int(first)
        out.update(f"{prefix}-{n:02d}" for n in range(int(first), max(end, int(first)) + 1))
    return out


def code_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for folder, pattern in CODE_GLOBS:
        files += [p for p in (root / folder).rglob(pattern) if "codegen" not in p.parts]
    return sorted(set(files))


def citations(root: Path) -> dict[str, set[str]]:
    """Rule ID -> the files citing it (repository-relative)."""
    cited: dict[str, set[str]] = defaultdict(set)
    for path in code_files(root):
        for rule in ids_in(path.read_text(encoding="utf-8", errors="replace")):
            cited[rule].add(str(path.relative_to(root)))
    return cited


def _seed_rows(root: Path, seed: str) -> list[dict[str, str]]:
    path = root / "dbt_project" / "seeds" / "policy" / f"{seed}.csv"
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _spec_descriptions(root: Path) -> dict[str, str]:
    spec = Path(os.environ.get("CRM_SEED_SPEC") or root.parent / "shared" / "domain" / "seed_spec.md")
    if not spec.exists():
        return {}
    out = {}
    for line in spec.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| ([A-Z]{2}-\d{2}) \| (.+?) \|", line)
        if m and m.group(1) not in out:
            out[m.group(1)] = _first_sentence(m.group(2))
    return out


def _first_sentence(text: str) -> str:
    text = re.sub(r"\*\*|`", "", text).replace("|", "/").strip()
    m = re.match(r"(.{40,}?\.)(\s|$)", text)
    text = m.group(1) if m else text
    return text if len(text) <= 220 else text[:217].rstrip() + "..."


def _committed_descriptions(root: Path) -> dict[str, str]:
    doc = root / DOC
    if not doc.exists():
        return {}
    out = {}
    for line in doc.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| ([A-Z]{2}-\d{2}) \| (.*?) \| ", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _where(files: set[str]) -> str:
    names = []
    for f in sorted(files):
        p = Path(f)
        if f.startswith("dbt_project/seeds"):
            names.append(f"seed `{p.stem}`")
        elif f.startswith("dbt_project/macros"):
            names.append(f"macro file `{p.stem}`")
        elif f.startswith("dbt_project/tests"):
            names.append(f"dbt test `{p.stem}`")
        elif f.startswith("dbt_project/models"):
            names.append(f"`{p.stem}`")
        elif f.startswith("expectations"):
            names.append(f"GX `{p.parent.name}.{p.stem}`")
        else:
            names.append(f"`{f.removeprefix('src/crm_scoring/').removesuffix('.py').replace('/', '.')}`")
    names = list(dict.fromkeys(names))
    return ", ".join(names[:6]) + (f" (+{len(names) - 6} more)" if len(names) > 6 else "")


def render(root: Path | None = None) -> str:
    root = root or settings.project_root()
    cited = citations(root)
    params: dict[str, set[str]] = defaultdict(set)
    for row in _seed_rows(root, "policy_parameters"):
        for rule in ids_in(row.get("used_by") or ""):
            params[rule].add(row["key"])
    enabled: dict[str, list[bool]] = defaultdict(list)
    seed_text: dict[str, str] = {}
    for seed, (code_col, text_col) in RULE_SEEDS.items():
        for row in _seed_rows(root, seed):
            rule = row[code_col]
            enabled[rule].append(row.get("enabled", "true").strip().lower() == "true")
            seed_text.setdefault(rule, (row.get(text_col) or "").replace("|", "/"))
            params[rule].update(p for p in re.split(r"[|\s]+", row.get("required_params") or "") if p)
    described = {**_committed_descriptions(root), **_spec_descriptions(root)}
    lines = [
        "<!-- GENERATED by `crm generate` (src/crm_scoring/codegen/rules_doc.py): do not edit. -->",
        "# Rule catalogue",
        "",
        "Every rule ID the code cites, by area: what it does, the policy parameters it reads",
        "(`dbt_project/seeds/policy/policy_parameters.csv`), where it is implemented and whether it ships",
        "enabled. 'seed' means the rule can be switched per policy version in its rule seed (see",
        "[policy.md](policy.md)); 'always' means it has no switch. Thresholds are never in code: change the",
        "seed rows, not the models. Regenerate with `crm generate` after adding or citing a rule.",
    ]
    all_ids = sorted(set(cited) | set(enabled), key=lambda r: (PREFIXES.index(r[:2]), r))
    for prefix in PREFIXES:
        rules = [r for r in all_ids if r.startswith(prefix)]
        if not rules:
            continue
        lines += [
            "",
            f"## {prefix}: {AREAS[prefix]}",
            "",
            "| ID | what it does | parameters | implemented in | enabled |",
            "|---|---|---|---|---|",
        ]
        for rule in rules:
            what = described.get(rule) or seed_text.get(rule) or "(no description yet)"
            flags = enabled.get(rule)
            if not flags:
                on = "always"
            elif all(flags):
                on = "yes (seed)"
            elif any(flags):
                on = "partly (seed)"
            else:
                on = "no (seed)"
            where = _where(cited.get(rule, set()))
            p = ", ".join(f"`{k}`" for k in sorted(params.get(rule, ()))) or "-"
            lines.append(f"| {rule} | {what} | {p} | {where} | {on} |")
    return "\n".join(lines) + "\n"
