"""Expectations GX does not ship. Importing this module registers them (GX registers on subclassing)."""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.expectations.expectation import BatchExpectation


class ExpectTableColumnsToNotInclude(BatchExpectation):
    """The table has none of the named columns (case-insensitive), e.g. no `email`/`phone` in a list (DQ-14).

    GX's column-set expectations are allow-lists; a deny-list keeps the check stable while the
    list schema grows.
    """

    column_set: list[str]

    metric_dependencies: ClassVar[tuple[str, ...]] = ("table.columns",)
    success_keys: ClassVar[tuple[str, ...]] = ("column_set",)
    args_keys: ClassVar[tuple[str, ...]] = ("column_set",)

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        forbidden = {name.lower() for name in self.column_set}
        found = sorted(str(col) for col in metrics["table.columns"] if str(col).lower() in forbidden)
        return {"success": not found, "result": {"observed_value": found}}
