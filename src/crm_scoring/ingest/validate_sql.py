"""Set-based validation SQL generated from the contract: one reason per broken rule, per row.

Stage 1 (`typed_sql`) turns the landing table of text fields into typed columns plus the reasons that
only need the field itself (required, type, value set, pattern). Stage 2 (`load_sql`) adds the reasons
that need typed values or other rows (negative amounts, future timestamps, ROW_CHECKS, duplicate ids)
and, in one statement, inserts good rows into raw.<table> and bad rows into ops.quarantine.
Casts only run behind a validity test, so a bad value becomes a reason instead of aborting the load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from crm_scoring import contract
from crm_scoring.ingest.errors import IngestError

# What the contract calls a timestamp/date: an ISO 8601 `YYYY-MM-DD` start that PostgreSQL parses. The
# prefix rules out strings PostgreSQL would happily accept ('now', 'infinity', '11/26/2026'); BC is refused.
TS_LIKE = "____-__-__%"
DATE_LIKE = "____-__-__"
# Decimals and integers: plain digits with an optional sign and '.', nothing PostgreSQL 16 also takes
# ('NaN', 'Infinity', '1_000', '0x1F', exponents, surrounding blanks).
DECIMAL_CHARS = "0123456789.-+"
INTEGER_CHARS = "0123456789-+"
# PostgreSQL 15 has no pg_input_is_valid: regexes stand in, and strict shapes that are certainly valid
# spare most values the plpgsql fallback (a subtransaction per call). Regexes are slow (~2 us a value),
# which is why 16 avoids them.
_SURE_DAY = r"(19|20)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])"
TS_SURE_RE = (
    rf"^{_SURE_DAY}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{{1,6}})?)?)?(Z|[+-](0\d|1[0-4])(:?[0-5]\d)?)?$"
)
DATE_SURE_RE = rf"^{_SURE_DAY}$"
DECIMAL_RE = r"^[+-]?(\d+\.?\d*|\.\d+)$"
INTEGER_RE = r"^[+-]?\d{1,18}$"
BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
DECIMAL_LIMIT = "1e16"  # numeric(18,2): 16 integer digits
DECIMAL_SCALE = 2
VALUE_IN_REASON = 60  # characters of an offending value quoted in a reason
JSONB_ARGS = 100  # PostgreSQL's limit on function arguments
PG_MAX_COLUMNS = 1600  # PostgreSQL's column limit (the temp landing table has a column per field)
BLANK = " \t\r\n"  # a required text that is only these characters is missing, not a value


def lit(value: str) -> str:
    """SQL string literal (the loader sets standard_conforming_strings on)."""
    return "'" + value.replace("'", "''") + "'"


@dataclass
class Layout:
    """How one file's header maps onto a contract table and its temp tables."""

    table: contract.Table
    header: list[str]
    label: str
    index: dict[str, int] = field(default_factory=dict)  # contract column -> 1-based field number
    extras: list[str] = field(default_factory=list)

    @property
    def land(self) -> str:
        return f"_land_{self.table.name}"

    @property
    def typed(self) -> str:
        return f"_typed_{self.table.name}"

    @property
    def width(self) -> int:
        return len(self.header)


def plan_layout(table: contract.Table, header: list[str], label: str) -> Layout:
    """Match header names to contract columns; an unusable header makes the file unparseable."""
    layout = Layout(table, header, label)
    known = set(table.column_names)
    # The landing table holds line_no, reader_reason and one text column per field; the typed query
    # also carries two columns per contract column next to the fields.
    most = PG_MAX_COLUMNS - 2 - 2 * len(table.columns)
    if len(header) > most:
        raise IngestError(
            f"{label}: line 1: the header has {len(header)} columns; at most {most} can be loaded "
            f"(the contract's {len(table.columns)} plus extras)"
        )
    if not any(name.lower() in known for name in header):
        raise IngestError(
            f"{label}: line 1: no contract column in the first row; is the header row missing? "
            f"(missing required column(s) {', '.join(table.required_columns)})"
        )
    seen: set[str] = set()
    for pos, name in enumerate(header, 1):
        if not name:
            raise IngestError(f"{label}: line 1: header column {pos} has no name")
        key = name.lower()
        if key in seen:
            raise IngestError(f"{label}: line 1: column {name!r} appears twice in the header")
        seen.add(key)
        if key in known:
            layout.index[key] = pos
        else:
            layout.extras.append(name)
    missing = [c for c in table.required_columns if c not in layout.index]
    if missing:
        raise IngestError(f"{label}: missing required column(s) {', '.join(missing)}")
    return layout


def land_ddl(layout: Layout) -> str:
    fields = ", ".join(f"f{i} text" for i in range(1, layout.width + 1))
    return (
        f"create temp table {layout.land} (line_no bigint not null, reader_reason text, {fields})"
        " on commit drop"
    )


def copy_sql(layout: Layout) -> str:
    """COPY of (line_no, reader_reason, f1..fn): the reader's reason comes first (reader.Record)."""
    fields = ", ".join(f"f{i}" for i in range(1, layout.width + 1))
    return f"copy {layout.land} (line_no, reader_reason, {fields}) from stdin"


def _json_object(pairs: list[tuple[str, str]]) -> str:
    """jsonb_build_object over any number of pairs (chunked under the argument limit)."""
    if not pairs:
        return "'{}'::jsonb"
    per_call = JSONB_ARGS // 2
    chunks = []
    for start in range(0, len(pairs), per_call):
        args = ", ".join(f"{lit(k)}, {v}" for k, v in pairs[start : start + per_call])
        chunks.append(f"jsonb_build_object({args})")
    return " || ".join(chunks)


def _shown(col: contract.Column) -> str:
    """The offending value as it may appear in a reason; PII never does."""
    if col.pii:
        return "'(value withheld: PII)'"
    return f"quote_literal(left(v_{col.name}, {VALUE_IN_REASON}))"


def _ok_expr(col: contract.Column, pg_major: int) -> str | None:
    """SQL boolean: v_<col> is null or a valid value of the column's type. None for text.

    CASE (not AND) orders the tests, so a cast only ever sees a value its shape test let through.
    """
    v = f"v_{col.name}"
    modern = pg_major >= 16
    if col.type in ("timestamp", "date"):
        pg_type = "timestamptz" if col.type == "timestamp" else "date"
        shape = TS_LIKE if col.type == "timestamp" else DATE_LIKE
        sure = TS_SURE_RE if col.type == "timestamp" else DATE_SURE_RE
        exact = (
            f"pg_input_is_valid({v}, '{pg_type}')"
            if modern
            else f"case when {v} ~ {lit(sure)} then true else ops.ingest_input_ok({v}, '{pg_type}') end"
        )
        return (
            f"case when {v} is null then true when {v} not like {lit(shape)} or upper({v}) like '%BC%' "
            f"then false else {exact} end"
        )
    if col.type == "decimal":
        n = f"{v}::numeric"
        shape = (
            f"ltrim({v}, {lit(DECIMAL_CHARS)}) <> '' or not pg_input_is_valid({v}, 'numeric')"
            if modern
            else f"{v} !~ {lit(DECIMAL_RE)}"
        )
        return (
            f"case when {v} is null then true when {shape} then false "
            f"else abs({n}) < {DECIMAL_LIMIT} and {n} = round({n}, {DECIMAL_SCALE}) end"
        )
    if col.type == "integer":
        if modern:
            return (
                f"case when {v} is null then true when ltrim({v}, {lit(INTEGER_CHARS)}) <> '' then false "
                f"else pg_input_is_valid({v}, 'bigint') end"
            )
        return f"({v} is null or {v} ~ {lit(INTEGER_RE)})"
    if col.type == "boolean":
        values = ", ".join(lit(k) for k in BOOLEANS)
        return f"({v} is null or lower({v}) in ({values}))"
    if col.type == "text":
        return None
    raise ValueError(f"unsupported contract type {col.type}")


def _typed_expr(col: contract.Column) -> str:
    v = f"v_{col.name}"
    if col.type == "text":
        return v
    if col.type == "boolean":
        cases = " ".join(f"when {lit(k)} then {str(b).lower()}" for k, b in BOOLEANS.items())
        return f"case when ok_{col.name} then case lower({v}) {cases} end end"
    return f"case when ok_{col.name} then {v}::{col.pg_type} end"


TYPE_NAMES = {
    "timestamp": "ISO 8601 timestamp",
    "date": "date (YYYY-MM-DD)",
    "decimal": f"decimal with '.' and at most {DECIMAL_SCALE} decimals",
    "integer": "integer",
    "boolean": "boolean (true/false/1/0)",
}


def _field_reasons(col: contract.Column) -> list[str]:
    v = f"v_{col.name}"
    out = []
    if col.required:
        blank = f" or btrim({v}, {lit(BLANK)}) = ''" if col.type == "text" else ""
        out.append(f"case when {v} is null{blank} then {lit(col.name + ': missing required value')} end")
    if col.type != "text":
        msg = lit(f"{col.name}: %s is not a valid {TYPE_NAMES[col.type]}")
        out.append(f"case when not ok_{col.name} then format({msg}, {_shown(col)}) end")
    if col.allowed:
        values = ", ".join(lit(a) for a in col.allowed)
        allowed = "{" + ", ".join(col.allowed) + "}"
        out.append(
            f"case when {v} <> all(array[{values}]) then "
            f"format({lit(col.name + ': %s not in ' + allowed)}, {_shown(col)}) end"
        )
    if col.pattern:
        out.append(
            f"case when {v} !~ {lit(col.pattern)} then "
            f"format({lit(col.name + ': %s does not match ' + col.pattern)}, {_shown(col)}) end"
        )
    return out


def _raw_record(layout: Layout, alias: str = "") -> str:
    """The file's own text fields, keyed by its header names, for quarantine."""
    return _json_object([(h, f"{alias}f{i}") for i, h in enumerate(layout.header, 1)])


def typed_sql(layout: Layout, export_date: date, pg_major: int) -> str:
    """Stage 1: `create temp table _typed_<t>`: typed columns and every reason except duplicates.

    Nested subqueries fenced with `offset 0` compute each step once per row: the text value, its
    validity, the typed value, the reasons; the raw record is only built for rows that have a reason.
    """
    cols = layout.table.columns
    names = [c.name for c in cols]
    values = []
    for col in cols:
        pos = layout.index.get(col.name)
        values.append(f"nullif(f{pos}, '') as v_{col.name}" if pos else f"null::text as v_{col.name}")
    fields = ", ".join(f"f{i}" for i in range(1, layout.width + 1))
    extra_pairs = [(h, f"f{layout.header.index(h) + 1}") for h in layout.extras]
    extra = _json_object(extra_pairs) if extra_pairs else "null::jsonb"
    oks = [f"{expr} as ok_{c.name}" for c in cols if (expr := _ok_expr(c, pg_major)) is not None]
    typed = [f"{_typed_expr(c)} as {c.name}" for c in cols]
    field_reasons = [r for c in cols for r in _field_reasons(c)]
    row_reasons = _row_reasons(layout, export_date)
    return f"""
create temp table {layout.typed} on commit drop as
select line_no, extra, {", ".join(names)}, reasons,
    case when cardinality(reasons) > 0 then {_raw_record(layout)} end as raw_record
from (
    select line_no, extra, {fields}, {", ".join(names)},
        field_reasons || array_remove(array[{", ".join(row_reasons) or "null"}]::text[], null) as reasons
    from (
        select line_no, extra, {fields}, {", ".join(typed)},
            array_remove(array[{", ".join(["reader_reason", *field_reasons])}]::text[], null) as field_reasons
        from (
            select s1.*{"".join(", " + o for o in oks)}
            from (
                select line_no, reader_reason, {fields}, {", ".join(values)}, {extra} as extra
                from {layout.land} offset 0
            ) s1
            offset 0
        ) s2
        offset 0
    ) s3
    offset 0
) s4"""


def end_of_export_day(export_date: date) -> datetime:
    """Timestamps at or after this instant lie in the future of the export (dates are UTC days)."""
    return datetime.combine(export_date + timedelta(days=1), time(0), tzinfo=UTC)


def _row_reasons(layout: Layout, export_date: date) -> list[str]:
    """Reasons that need typed values: negative numbers, future timestamps and dates, contract.ROW_CHECKS."""
    table = layout.table
    end = lit(end_of_export_day(export_date).isoformat())
    out = []
    for col in table.columns:
        if col.non_negative:
            what = "negative amount" if col.type == "decimal" else "negative value"
            out.append(
                f"case when {col.name} < 0 then format({lit(col.name + ': ' + what + ' (%s)')}, "
                f"{col.name}) end"
            )
        if col.not_future and col.type == "timestamp":
            msg = f"{col.name}: %s is after the end of the export date {export_date.isoformat()}"
            out.append(
                f"case when {col.name} >= {end}::timestamptz then format({lit(msg)}, {_shown_typed(col)}) end"
            )
        if col.not_future and col.type == "date":  # e.g. a contact made from a list of a later date
            msg = f"{col.name}: %s is after the export date {export_date.isoformat()}"
            out.append(
                f"case when {col.name} > {lit(export_date.isoformat())}::date"
                f" then format({lit(msg)}, {_shown_typed(col)}) end"
            )
    for reason, condition in contract.ROW_CHECKS.get(table.name, []):
        out.append(f"case when {condition} then {lit(reason)} end")
    return out


def _shown_typed(col: contract.Column) -> str:
    return "'(value withheld: PII)'" if col.pii else f"{col.name}::text"


def duplicates_sql(layout: Layout) -> str:
    """Stage 2: every row whose key occurs more than once in the file gets a reason naming another line.

    Keys are found with a hash aggregate, so only the (normally zero) duplicated rows are ever sorted.
    """
    keys = layout.table.key
    key_list = ", ".join(keys)
    label = keys[0] if len(keys) == 1 else "(" + key_list + ")"
    not_null = " and ".join(f"{k} is not null" for k in keys)
    return f"""
with dup_keys as (
    select {key_list} from {layout.typed} where {not_null} group by {key_list} having count(*) > 1
),
dups as (
    select line_no,
        case when line_no = first_value(line_no) over w then lead(line_no) over w
             else first_value(line_no) over w end as other_line
    from {layout.typed}
    where ({key_list}) in (select {key_list} from dup_keys)
    window w as (partition by {key_list} order by line_no)
)
update {layout.typed} t
set reasons = t.reasons || format({lit(label + ": duplicate of line %s")}, d.other_line),
    raw_record = coalesce(t.raw_record, {_raw_record(layout, "l.")})
from dups d join {layout.land} l on l.line_no = d.line_no
where t.line_no = d.line_no"""


def load_sql(layout: Layout, export_date: date) -> str:
    """Stage 3: good rows -> raw.<t>, bad rows -> ops.quarantine; returns (loaded, quarantined)."""
    table = layout.table
    names = ", ".join(table.column_names)
    d = f"{lit(export_date.isoformat())}::date"
    src = lit(layout.label)
    return f"""
with bad as (
    insert into ops.quarantine (export_date, table_name, source_file, line_no, raw_record, reason)
    select {d}, {lit(table.name)}, {src}, line_no, raw_record, array_to_string(reasons, '; ')
    from {layout.typed} where cardinality(reasons) > 0
    returning 1
),
good as (
    insert into raw.{table.name} ({names}, _export_date, _source_file, _line_no, _extra)
    select {names}, {d}, {src}, line_no, extra
    from {layout.typed} where cardinality(reasons) = 0
    returning 1
)
select (select count(*) from good), (select count(*) from bad)"""
