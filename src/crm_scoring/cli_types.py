"""Click parameter types shared by every `crm` command group."""

from __future__ import annotations

from datetime import date

import click


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):  # noqa: ANN001 - click's signature
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date in YYYY-MM-DD form", param, ctx)


DATE = DateType()
