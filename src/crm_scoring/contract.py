"""The landing contract as data (`crm generate` writes docs/landing_contract.md from it).

One definition drives the loader's validation SQL, the raw-layer DDL, the demo generator's
headers and the docs, so the contract cannot drift between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Column types of the contract. The raw layer stores them as these PostgreSQL types.
PG_TYPES = {
    "text": "text",
    "timestamp": "timestamptz",
    "date": "date",
    "decimal": "numeric(18,2)",
    "integer": "bigint",
    "boolean": "boolean",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # key of PG_TYPES
    required: bool = False
    allowed: tuple[str, ...] | None = None  # value set, for enumerations
    non_negative: bool = False  # amounts
    not_future: bool = False  # timestamps / dates that may not lie after the export date
    pattern: str | None = None  # regex for text shapes (MM-DD, ISO codes)
    pii: bool = False
    # added to the contract after its first release: existing raw tables gain it by
    # `alter table ... add column if not exists` (raw_table_ddl), new ones are created with it
    added_later: bool = False

    @property
    def pg_type(self) -> str:
        return PG_TYPES[self.type]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required_file: bool = False
    version_column: str | None = "updated_at"  # later versions replace earlier ones
    # sent only when there is something to send (no export is expected every night): DQ-12 freshness
    # ("the partition for run_date - 1 is present for every source") does not apply to it, else its
    # first file would raise a freshness alert, and deliver it, on every later night without one
    event_driven: bool = False
    description: str = ""
    extra: dict = field(default_factory=dict)
    # The row's own time (int_activity__customer_days files an activity under its UTC day). The models
    # incremental by customer (dbt macro incremental_customers) read only tables with one, and find a
    # night's affected customers as those of every stored version of a key re-exported tonight. The
    # column must be not_future: a row never lies after its export day, so no stored row "comes into
    # view" on a later night and the re-exported keys are the whole affected set. Where the key does not
    # hold the customer and the time (key_holds_customer_and_time), the key is indexed in raw
    # (raw_table_ddl): one index probe per new version instead of a scan of the whole history (at
    # 1,000,000 customers the four activity tables hold 57M rows).
    activity_time: str | None = None

    def __post_init__(self) -> None:
        if self.activity_time is not None and not self.column(self.activity_time).not_future:
            raise ValueError(f"{self.name}.{self.activity_time}: an activity_time must be not_future")

    @property
    def key_holds_customer_and_time(self) -> bool:
        """Every version of a key has the key's customer and time (consents: customer, purpose, channel,
        status_ts): tonight's rows alone are the night's affected customers (and days), no probe of the
        key's earlier versions, so no key index."""
        return self.activity_time is not None and {"customer_id", self.activity_time} <= set(self.key)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")


def _c(name: str, type_: str = "text", required: bool = False, **kw) -> Column:
    return Column(name, type_, required, **kw)


CUSTOMER_STATUS = ("active", "closed", "suspended")
ORDER_STATUS = ("completed", "cancelled", "returned", "partially_returned")
ORDER_CHANNEL = ("online", "app", "store", "phone", "marketplace")
TICKET_TYPE = ("complaint", "inquiry", "request", "feedback", "incident")
TICKET_CHANNEL = ("phone", "chat", "email", "social", "app", "store", "bot")
PRIORITY = ("P0", "P1", "P2", "P3")
COMPLEXITY = ("simple", "complex")
SEVERITY = ("low", "medium", "high")
CATEGORY_L1 = ("function", "performance", "security", "other")
COMPLAINT_TYPE = (
    "product_quality",
    "service_delay",
    "logistics_delay",
    "technical",
    "billing",
    "after_sales",
    "account_anomaly",
    "data_security",
    "other",
)
TICKET_STATUS = ("open", "pending", "resolved", "closed", "reopened")
EVENT_TYPE = (
    "login",
    "login_failed",
    "app_open",
    "page_view",
    "feature_use",
    "add_to_cart",
    "checkout_start",
    "share",
    "search",
)
INTERACTION_CHANNEL = ("web", "app", "store", "call_centre")
SURVEY_TYPE = ("CSAT", "NPS")
SURVEY_TRIGGER = ("post_ticket", "post_resolution_revisit", "post_crisis_revisit", "periodic")
CRISIS_TYPE = ("service_outage", "data_breach", "product_quality", "product_safety", "logistics", "brand_pr")
SCOPE_LEVEL = ("local", "regional", "network_wide")
OPINION_LEVEL = ("light", "medium", "severe")
CONTACT_CHANNEL = ("sms", "email", "wechat", "phone", "app_push", "video")
CONTACT_PURPOSE = (
    "retention",
    "wake_up",
    "winback",
    "revisit",
    "survey",
    "compensation_notice",
    "care",
    "status_update",
    "marketing",
)
CONTACT_OUTCOME = ("delivered", "opened", "responded", "accepted", "declined", "no_answer", "opted_out")
COMPENSATION_TYPE = (
    "voucher",
    "points",
    "refund",
    "in_kind",
    "service_extension",
    "priority_handling",
    "dedicated_advisor",
    "membership_rights",
    "consultation",
)
CONSENT_PURPOSE = ("service", "marketing", "profiling", "emotion_analysis")  # emotion_analysis: 003-1
CONSENT_CHANNEL = CONTACT_CHANNEL + ("any",)
CONSENT_STATUS = ("granted", "withdrawn")
DSR_REQUEST_TYPE = ("erasure", "access", "restriction")

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "customers",
            (
                _c("customer_id", required=True),
                _c("registered_at", "timestamp", True, not_future=True),
                _c("status", required=True, allowed=CUSTOMER_STATUS),
                _c("country", pattern=r"^[A-Z]{2}$"),
                _c("region"),
                _c("timezone"),
                _c("preferred_language"),
                _c("birth_month_day", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"),
                _c("email", pii=True),
                _c("phone", pii=True),
                _c("account_manager_id"),
                _c("updated_at", "timestamp", not_future=True),
            ),
            key=("customer_id",),
            required_file=True,
        ),
        Table(
            "orders",
            (
                _c("order_id", required=True),
                _c("customer_id", required=True),
                _c("order_ts", "timestamp", True, not_future=True),
                _c("status", required=True, allowed=ORDER_STATUS),
                _c("net_amount", "decimal", True, non_negative=True),
                _c("gross_amount", "decimal", non_negative=True),
                _c("discount_amount", "decimal", non_negative=True),
                _c("refund_amount", "decimal", non_negative=True),
                _c("currency", pattern=r"^[A-Z]{3}$"),
                _c("channel", allowed=ORDER_CHANNEL),
                _c("points_earned", "integer", non_negative=True),
                _c("updated_at", "timestamp", not_future=True),
            ),
            key=("order_id",),
            activity_time="order_ts",
            required_file=True,
        ),
        Table(
            "tickets",
            (
                _c("ticket_id", required=True),
                _c("customer_id"),
                _c("created_at", "timestamp", True, not_future=True),
                _c("ticket_type", required=True, allowed=TICKET_TYPE),
                _c("channel", allowed=TICKET_CHANNEL),
                _c("priority", allowed=PRIORITY),
                _c("is_urgent", "boolean"),
                _c("complexity", allowed=COMPLEXITY),
                _c("severity", allowed=SEVERITY),
                _c("category_l1", allowed=CATEGORY_L1),
                _c("module_l2"),
                _c("complaint_type", allowed=COMPLAINT_TYPE),
                _c("status", required=True, allowed=TICKET_STATUS),
                _c("first_response_at", "timestamp", not_future=True),
                _c("resolved_at", "timestamp", not_future=True),
                _c("closed_at", "timestamp", not_future=True),
                _c("reopened_count", "integer", non_negative=True),
                _c("crisis_event_id"),
                _c("language"),
                _c("text", pii=True),
                _c("updated_at", "timestamp", not_future=True),
            ),
            key=("ticket_id",),
            activity_time="created_at",
        ),
        Table(
            "interactions",
            (
                _c("event_id", required=True),
                _c("customer_id", required=True),
                _c("event_ts", "timestamp", True, not_future=True),
                _c("event_type", required=True, allowed=EVENT_TYPE),
                _c("channel", allowed=INTERACTION_CHANNEL),
                _c("page_type"),
            ),
            key=("event_id",),
            activity_time="event_ts",
            version_column=None,
        ),
        Table(
            "surveys",
            (
                _c("survey_id", required=True),
                _c("customer_id", required=True),
                _c("survey_type", required=True, allowed=SURVEY_TYPE),
                _c("trigger_type", required=True, allowed=SURVEY_TRIGGER),
                _c("related_ticket_id"),
                _c("related_crisis_event_id"),
                _c("sent_at", "timestamp", True, not_future=True),
                _c("responded_at", "timestamp", not_future=True),
                _c("score", "integer", non_negative=True),
                _c("comment", pii=True),
            ),
            key=("survey_id",),
            activity_time="responded_at",
            version_column=None,
        ),
        Table(
            "crisis_events",
            (
                _c("crisis_event_id", required=True),
                _c("crisis_type", required=True, allowed=CRISIS_TYPE),
                _c("scope_level", required=True, allowed=SCOPE_LEVEL),
                _c("opinion_level", required=True, allowed=OPINION_LEVEL),
                _c("started_at", "timestamp", True, not_future=True),
                _c("resolved_at", "timestamp", not_future=True),
                _c("description"),
            ),
            key=("crisis_event_id",),
            version_column=None,
        ),
        Table(
            "crisis_affected_customers",
            (
                _c("crisis_event_id", required=True),
                _c("customer_id", required=True),
                _c("impact_type"),
                _c("impact_value", "decimal", non_negative=True),
            ),
            key=("crisis_event_id", "customer_id"),
            version_column=None,
        ),
        Table(
            "contacts",
            (
                _c("contact_id", required=True),
                _c("customer_id", required=True),
                _c("contact_ts", "timestamp", True, not_future=True),
                _c("channel", required=True, allowed=CONTACT_CHANNEL),
                _c("purpose", required=True, allowed=CONTACT_PURPOSE),
                _c("list_run_date", "date", not_future=True),
                _c("campaign_id"),
                _c("ab_variant", added_later=True),  # IN-08 / RP-11: the A/B arm of campaign_id
                _c("outcome", allowed=CONTACT_OUTCOME),
            ),
            key=("contact_id",),
            version_column=None,
            activity_time="contact_ts",  # an opted_out contact withdraws marketing (int_lists__consent)
        ),
        Table(
            "compensations",
            (
                _c("compensation_id", required=True),
                _c("customer_id", required=True),
                _c("ticket_id"),
                _c("crisis_event_id"),
                _c("round_no", "integer", non_negative=True),
                _c("compensation_type", required=True, allowed=COMPENSATION_TYPE),
                _c("amount", "decimal", non_negative=True),
                _c("points", "integer", non_negative=True),
                _c("issued_at", "timestamp", True, not_future=True),
            ),
            key=("compensation_id",),
            version_column=None,
        ),
        Table(
            "consents",
            (
                _c("customer_id", required=True),
                _c("purpose", required=True, allowed=CONSENT_PURPOSE),
                _c("channel", required=True, allowed=CONSENT_CHANNEL),
                _c("status", required=True, allowed=CONSENT_STATUS),
                _c("status_ts", "timestamp", True, not_future=True),
            ),
            key=("customer_id", "purpose", "channel", "status_ts"),
            version_column="status_ts",
            activity_time="status_ts",  # int_lists__consent, incremental by customer
        ),
        Table(
            "dsr_requests",
            (
                _c("request_id", required=True),
                _c("customer_id", required=True),
                _c("request_type", required=True, allowed=DSR_REQUEST_TYPE),
                _c("requested_at", "timestamp", True, not_future=True),
            ),
            key=("request_id",),
            version_column=None,
            event_driven=True,
            description="Data-subject requests (PS-08); an erasure is applied by crm_scoring.privacy after "
            "the load and audited in ops.erasures.",
        ),
    ]
}

# Per-table value checks that involve two columns (score ranges depend on the survey type).
ROW_CHECKS: dict[str, list[tuple[str, str]]] = {
    "surveys": [
        (
            "score out of range for survey_type (CSAT 1-5, NPS 0-10)",
            "score is not null and ((survey_type = 'CSAT' and score not between 1 and 5) "
            "or (survey_type = 'NPS' and score not between 0 and 10))",
        ),
    ],
}

REQUIRED_FILES = [t.name for t in TABLES.values() if t.required_file]
OPTIONAL_FILES = [t.name for t in TABLES.values() if not t.required_file]
EVENT_DRIVEN_FILES = [t.name for t in TABLES.values() if t.event_driven]
FILE_SUFFIXES = (".csv", ".csv.gz", ".parquet")
MANIFEST = "_manifest.json"

# Metadata columns every raw table carries in addition to the contract's columns.
RAW_META_COLUMNS = (
    ("_export_date", "date not null"),
    ("_source_file", "text not null"),
    ("_line_no", "bigint not null"),
    ("_extra", "jsonb"),
    ("_loaded_at", "timestamptz not null default now()"),
)


def raw_table_ddl(table: Table, schema: str = "raw") -> str:
    """`create table if not exists` for the typed raw table; history of every export is kept by date."""
    cols = [f"{c.name} {c.pg_type}" for c in table.columns]
    cols += [f"{name} {decl}" for name, decl in RAW_META_COLUMNS]
    added = "".join(
        f"\nalter table {schema}.{table.name} add column if not exists {c.name} {c.pg_type};"
        for c in table.columns
        if c.added_later
    )
    key = ", ".join(table.key)
    key_index = (
        f"\ncreate index if not exists {table.name}_key_idx on {schema}.{table.name} ({key});"
        if table.activity_time and not table.key_holds_customer_and_time
        else ""
    )
    return (
        f"create table if not exists {schema}.{table.name} (\n    " + ",\n    ".join(cols) + "\n);\n"
        f"create index if not exists {table.name}_export_date_idx on {schema}.{table.name} (_export_date);"
        + key_index
        + added
    )


# What each file holds, in words: the dbt source descriptions and docs/landing_contract.md are generated
# from it (`crm generate`), with the key appended. A table added above without an entry gets a
# generic description.
TABLE_SUMMARIES: dict[str, str] = {
    "customers": "Customer master (required file).",
    "orders": "Orders (required file); net_amount = paid after discounts and refunds.",
    "tickets": "Support tickets; complaints are ticket_type = complaint. "
    "Later versions (updated_at) replace earlier ones.",
    "interactions": "Logins and app/web activity events.",
    "surveys": "CSAT and NPS surveys.",
    "crisis_events": "Crisis-event register (IN-05).",
    "crisis_affected_customers": "Customers affected by a crisis event.",
    "contacts": "Outbound contact history and outcomes.",
    "compensations": "Compensations actually granted by the CRM.",
    "consents": "Consent status changes.",
}


def table_summary(table: Table) -> str:
    """One line on the table, ending with its key (sources YAML, docs)."""
    text = table.description or TABLE_SUMMARIES.get(table.name) or f"The {table.name} file."
    return f"{text} Key: {', '.join(table.key)}."
