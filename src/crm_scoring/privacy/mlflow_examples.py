"""MLflow input examples without personal data (PS-08).

MLflow stores an input example beside every logged model (`input_example.json`, and for pyfunc serving
`serving_input_example.json`). Training now logs per-feature quantiles of the whole training set
(`aggregate_example`), which describe no single customer. Models logged before that carried real
feature rows; an erasure cannot tell whose rows they were (examples carry no customer id), so every
erasure replaces each stored example's rows by the column means (`scrub_input_examples`): same shape and
columns, so the model's signature and `mlflow models predict` keep working, but nobody's row survives.

Only a local artifact store (the default `mlruns/`, or any `file:` location) can be rewritten in place;
for a remote store the scrub logs what it could not reach and the operator must run it where the files are.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

EXAMPLE_FILES = ("input_example.json", "serving_input_example.json")


def aggregate_example(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """`rows` rows at evenly spaced quantiles of each column independently (NaN -> 0): no real row."""
    qs = (np.arange(rows) + 0.5) / max(rows, 1)
    out = frame.astype("float64").quantile(qs, interpolation="linear").fillna(0.0)
    return out.reset_index(drop=True)


def _mean_rows(data: list[list]) -> list[list]:
    if not data:
        return data
    width = len(data[0])
    means = []
    for j in range(width):
        values = [r[j] for r in data if isinstance(r[j], int | float) and not isinstance(r[j], bool)]
        means.append(float(np.mean(values)) if values else data[0][j])
    return [list(means) for _ in data]


def scrub_file(path: Path) -> bool:
    """Replace the example's rows by their column means; True when the file changed."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    split = doc.get("dataframe_split", doc) if isinstance(doc, dict) else None
    if not isinstance(split, dict) or not isinstance(split.get("data"), list):
        return False
    scrubbed = _mean_rows(split["data"])
    if scrubbed == split["data"]:
        return False
    split["data"] = scrubbed
    path.write_text(json.dumps(doc), encoding="utf-8")
    return True


def _local_dir(location: str) -> Path | None:
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None


def scrub_input_examples(roots: list[Path] | None = None) -> int:
    """Scrub every input example under the experiments' local artifact locations; files changed."""
    if roots is None:
        from crm_scoring.model import registry

        roots = []
        for exp in registry.client().search_experiments():
            local = _local_dir(exp.artifact_location or "")
            if local is None:
                log.warning(
                    "PS-08: artifact store %s is not local; scrub its input examples there",
                    exp.artifact_location,
                )
            elif local.exists():
                roots.append(local)
    changed = 0
    for root in roots:
        for name in EXAMPLE_FILES:
            for path in sorted(root.rglob(name)):
                changed += scrub_file(path)
    if changed:
        log.info("PS-08: %d MLflow input examples scrubbed", changed)
    return changed
