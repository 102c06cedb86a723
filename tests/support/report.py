"""The morning report's browser check, shared by test_report, test_campaigns and test_e2e."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

from PIL import Image

from crm_scoring import settings
from crm_scoring.report.browser import inspect

HEADINGS = (
    "Today's lists",
    "Alerts",
    "Complaint health",
    "Crisis",
    "Campaigns",
    "Model health",
    "Data health",
    "Value concentration and seed hypotheses",
    "Policy in force",
)


def artifacts_dir() -> Path:
    """Screenshots kept after the run (CI uploads the folder): `CRM_TEST_ARTIFACTS` or .crm/test-artifacts."""
    path = Path(os.environ.get("CRM_TEST_ARTIFACTS", settings.project_root() / ".crm" / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def assert_renders_in_chromium(html: Path, name: str, min_images: int = 0) -> None:
    """Open `html` in headless Chromium (network off), keep a full-page screenshot, and check what a reader
    sees: the expected headings, text, every image decoded, nothing fetched from outside, a non-blank page."""
    assert shutil.which("chromium") or os.environ.get("CRM_CHROMIUM"), (
        "Chromium is missing: `apt-get install -y chromium` (make test installs it)"
    )
    shot = artifacts_dir() / f"{name}.png"
    shot.unlink(missing_ok=True)
    page = inspect(html, shot)
    assert page.h1 and page.h1[0].startswith("CRM morning report"), page.h1
    assert list(page.h2) == list(HEADINGS), page.h2
    assert page.text_length > 500
    assert page.external_resources == [], "the report must not reference anything outside the file"
    assert len(page.images) >= min_images, f"{len(page.images)} images, expected at least {min_images}"
    assert page.broken_images == [], f"images that did not load: {page.broken_images}"
    assert page.console_errors == []
    assert shot.exists() and shot.stat().st_size > 10_000
    with Image.open(io.BytesIO(shot.read_bytes())) as img:
        assert img.width >= 1000 and img.height >= 900
        colours = img.convert("RGB").resize((64, 256)).getcolors(64 * 256) or []
    # a blank page has one colour; the rendered report has a header bar, text, tables and charts
    assert len(colours) > 20, f"screenshot looks blank ({len(colours)} colours)"
