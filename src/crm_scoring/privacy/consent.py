"""Purpose consent as of a run date (PS-12 profiling, 003-1 emotion analysis): the one definition.

A customer's status for a purpose is the latest `status_ts` row of that purpose (any channel) exported
on or before the run date and stamped before its end; on a tie `withdrawn` wins. A customer with no row
keeps the policy default `consent_default_<purpose>` (landing contract). When that parameter is unset
(the `strict` profile treats starter defaults as unset) the conservative reading applies:

- profiling: `granted` - PS-12 / GDPR art. 21 make profiling an objection (opt-out) right;
- emotion_analysis: `withdrawn` - 003-1 asks explicit consent for emotion data (opt-in).

The churn scoring (model/score.py) and the text enrichment (enrich/task.py) both read it here, so the
rule exists once. The query is set-based and returns only the customers whose status differs from
the default, which is the small set in practice. dbt reads the same rule through the macro
`consent_allows(customer_col, purpose)`, generated from this module (`crm generate`,
`dbt_project/macros/consent.sql`): the churn training snapshots (`churn_training_set`) leave out every
customer whose profiling consent is withdrawn as of the training run date, so nobody who objected to
profiling is trained on either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import psycopg

PROFILING = "profiling"
EMOTION_ANALYSIS = "emotion_analysis"
UNSET_DEFAULT = {PROFILING: "granted", EMOTION_ANALYSIS: "withdrawn"}
STATUSES = ("granted", "withdrawn")

# Latest status per customer for one purpose, as of the run date (same ordering as dbt's latest_version).
LATEST_STATUS = """
select customer_id, status
  from (select distinct on (customer_id) customer_id, status
          from raw.consents
         where purpose = %(purpose)s
           and _export_date <= %(run_date)s
           and status_ts < (%(run_date)s::date + 1)::timestamp at time zone 'UTC'
         order by customer_id, status_ts desc, (status = 'withdrawn') desc, _export_date desc, _line_no desc
       ) as latest
 where status <> %(default)s
"""


@dataclass(frozen=True)
class PurposeConsent:
    """Consent for one purpose on one run date: the default and the customers who differ from it."""

    purpose: str
    default_granted: bool
    exceptions: frozenset[str]

    def allows(self, customer_id: str | None) -> bool:
        if customer_id is None:
            return self.default_granted
        return self.default_granted != (customer_id in self.exceptions)

    def mask(self, customer_ids: np.ndarray) -> np.ndarray:
        """Boolean array: True where the customer may be processed for the purpose."""
        listed = np.isin(customer_ids.astype(object), np.array(sorted(self.exceptions), dtype=object))
        return ~listed if self.default_granted else listed

    @property
    def withdrawn(self) -> frozenset[str] | None:
        """The withdrawn customers when the default is granted (None: the default itself is withdrawn)."""
        return self.exceptions if self.default_granted else None


def default_status(conn: psycopg.Connection, purpose: str, run_date: date) -> str:
    from crm_scoring.enrich.policy import parameter_values

    value = parameter_values(conn, run_date).get(f"consent_default_{purpose}")
    if value is None:
        return UNSET_DEFAULT[purpose]
    value = value.strip().lower()
    if value not in STATUSES:
        raise ValueError(
            f"policy_parameters.csv: consent_default_{purpose} must be one of {STATUSES}, got {value!r}"
        )
    return value


def purpose_consent(conn: psycopg.Connection, purpose: str, run_date: date) -> PurposeConsent:
    """The consent of every customer for `purpose` on `run_date` (raw.consents + the policy default)."""
    if purpose not in UNSET_DEFAULT:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    default = default_status(conn, purpose, run_date)
    if conn.execute("select to_regclass('raw.consents') is not null").fetchone()[0]:
        rows = conn.execute(
            LATEST_STATUS, {"purpose": purpose, "run_date": run_date, "default": default}
        ).fetchall()
    else:  # no consents file has ever been loaded: everybody keeps the default
        rows = []
    return PurposeConsent(purpose, default == "granted", frozenset(r[0] for r in rows))


MACRO_FILE = "dbt_project/macros/consent.sql"


def sql_macro() -> str:
    """The dbt macro `consent_allows(customer_col, purpose)`: LATEST_STATUS and UNSET_DEFAULT as Jinja.

    True when the customer may be processed for the purpose as of the run date (var run_date), with the
    policy default `consent_default_<purpose>` under the build's profile (policy_param)."""
    latest = (
        LATEST_STATUS.strip()
        .replace("raw.consents", "{{ source('raw', 'consents') }}")
        .replace("%(purpose)s", "'{{ purpose }}'")
        .replace("%(run_date)s", "{{ run_date() }}")
        .replace("%(default)s", "({{ default }})")
    )
    body = "\n".join("        " + line for line in latest.splitlines())
    unset = ", ".join(f"'{k}': '{v}'" for k, v in UNSET_DEFAULT.items())
    return (
        "{#- GENERATED by `crm generate` from crm_scoring/privacy/consent.py (LATEST_STATUS, UNSET_DEFAULT):"
        " do not edit.\n"
        "    PS-12 / 003-1: true when the customer may be processed for `purpose` as of the run date: their\n"
        "    latest status for the purpose, else the policy default consent_default_<purpose>, else the\n"
        "    conservative reading (profiling granted, emotion analysis withdrawn). -#}\n"
        "{% macro consent_allows(customer_col, purpose) -%}\n"
        f"    {{%- set unset = {{{unset}}} -%}}\n"
        "    {%- if purpose not in unset -%}\n"
        '        {{ exceptions.raise_compiler_error("unknown consent purpose \'" ~ purpose ~ "\'") }}\n'
        "    {%- endif -%}\n"
        "    {%- set default -%}\n"
        "        coalesce(lower(trim({{ policy_param('consent_default_' ~ purpose, 'text') }})),"
        " '{{ unset[purpose] }}')\n"
        "    {%- endset -%}\n"
        "    (({{ default }}) = 'granted') <> ({{ customer_col }} in (\n"
        "        select customer_id from (\n"
        f"{body}\n"
        "        ) as differs_from_default\n"
        "    ))\n"
        "{%- endmacro %}\n"
    )
