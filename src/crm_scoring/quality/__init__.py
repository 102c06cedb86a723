"""Great Expectations checkpoints over the raw layer and the candidate lists.

Suites are committed JSON files under `expectations/` (see expectations/README.md for severities).
GX itself is imported only when a validation runs, so importing this package stays cheap.
"""

from crm_scoring.quality.checkpoint import (
    ValidationFailed,
    ValidationReport,
    validate_lists,
    validate_raw,
)
from crm_scoring.quality.report import Outcome

__all__ = ["Outcome", "ValidationFailed", "ValidationReport", "validate_lists", "validate_raw"]
