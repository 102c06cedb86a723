"""Files generated from the one place a rule is written (`crm generate`; `crm generate --check` in CI).

Each generated file names its source in its first lines. Tests compare the committed files with a fresh
generation, so an edit to the source that is not regenerated (or a hand edit of a generated file) fails.
This is a tool beside the runtime: nothing on the nightly path imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from crm_scoring import settings


def _targets() -> dict[str, Callable[[], str]]:
    """Repository-relative path -> generator. Imported lazily: generators import the rule modules."""
    from crm_scoring.codegen import contract_files, rules_doc, source_tables
    from crm_scoring.enrich import redact
    from crm_scoring.privacy import consent

    return {
        "dbt_project/macros/redact_text.sql": redact.sql_macro,
        consent.MACRO_FILE: consent.sql_macro,
        **contract_files.targets(),
        "docs/rules.md": rules_doc.render,
        source_tables.MACRO: source_tables.sql_macro,
    }


def generate(check: bool = False, root: Path | None = None) -> list[str]:
    """Write every generated file (or, with `check`, only report them); returns the ones that differed."""
    root = root or settings.project_root()
    stale = []
    for rel, render in _targets().items():
        path = root / rel
        text = render()
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(rel)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    if not check:
        # a generated file whose source is gone (e.g. a table dropped from the contract)
        stale.extend(_remove_orphans(root, set(_targets())))
    return stale


def _remove_orphans(root: Path, current: set[str]) -> list[str]:
    from crm_scoring.codegen import contract_files

    removed = []
    for path in contract_files.generated_globs(root):
        rel = str(path.relative_to(root))
        if rel not in current:
            path.unlink()
            removed.append(rel)
    return removed


def stale_files(root: Path | None = None) -> list[str]:
    return generate(check=True, root=root)
