"""Alert delivery (AL-17, AL-20) through Airflow's notifier mechanism: e-mail (SMTP) and a Slack-compatible
JSON webhook, with a delivery ledger so a rerun of a date sends nothing twice.

Why our own `BaseNotifier` subclasses rather than the SMTP provider's `SmtpNotifier`: delivery must be
idempotent per alert and channel (the ledger `ops.alert_deliveries`), one message per alert, and the same
classes must serve three callers: the nightly's `deliver_alerts` task, the DAG's failure callback and the
deadline callback (AL-20). They are plain `airflow.sdk.bases.notifier.BaseNotifier`s, so they also work as
`on_failure_callback=[...]` anywhere in Airflow.

Channels and secrets come from the environment or Airflow connections only (never the repo, never a log):
- e-mail: Airflow connection `crm_alerts_smtp` (env `AIRFLOW_CONN_CRM_ALERTS_SMTP`, or any secrets backend),
  else `CRM_ALERT_SMTP_URL` (`smtp://user:password@host:port?starttls=true`); recipients
  `CRM_ALERT_EMAIL_TO` (comma-separated) or the connection extra `to`; sender `CRM_ALERT_EMAIL_FROM` or
  extra `from_email`.
- webhook: Airflow connection `crm_alerts_webhook` (its host / URI is the full https URL), else
  `CRM_ALERT_WEBHOOK_URL`.
A channel without configuration is skipped (logged once, nothing recorded, so configuring it later and
rerunning the date delivers what it missed).
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, unquote, urlparse

from airflow.sdk.bases.notifier import BaseNotifier

from crm_scoring import warehouse

log = logging.getLogger(__name__)
T = TypeVar("T")  # a channel's target: SmtpTarget, a webhook URL

SMTP_CONN_ID = "crm_alerts_smtp"
WEBHOOK_CONN_ID = "crm_alerts_webhook"
ENV_SMTP_URL = "CRM_ALERT_SMTP_URL"
ENV_EMAIL_TO = "CRM_ALERT_EMAIL_TO"
ENV_EMAIL_FROM = "CRM_ALERT_EMAIL_FROM"
ENV_WEBHOOK_URL = "CRM_ALERT_WEBHOOK_URL"
CHANNELS = ("email", "webhook")
TIMEOUT_S = 20

LEDGER_DDL = [
    "create schema if not exists ops",
    """
    create table if not exists ops.alert_deliveries (
        run_date date not null,
        alert_code text not null,
        scope text not null,
        level text not null,
        channel text not null,
        subject text not null,
        delivered_at timestamptz not null,
        primary key (run_date, alert_code, scope, level, channel)
    )""",
]


@dataclass(frozen=True)
class AlertMessage:
    """One alert to deliver; (run_date, alert_code, scope, level) is its identity in the ledger."""

    run_date: date
    alert_code: str
    scope: str
    level: str
    subject: str
    text: str

    @property
    def key(self) -> str:
        return f"{self.run_date.isoformat()}|{self.alert_code}|{self.scope}|{self.level}"

    def payload(self) -> dict[str, Any]:
        """Slack-compatible body: `text` is what Slack shows; the rest is for other receivers."""
        return {
            "text": f"*{self.subject}*\n{self.text}",
            "alert": {
                "key": self.key,
                "run_date": self.run_date.isoformat(),
                "alert_code": self.alert_code,
                "scope": self.scope,
                "level": self.level,
            },
        }


# --- channel configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    login: str | None
    password: str | None = field(repr=False)
    starttls: bool
    sender: str
    recipients: tuple[str, ...]

    def describe(self) -> str:  # for logs: never the password
        return f"smtp://{self.host}:{self.port} -> {len(self.recipients)} recipient(s)"


def _airflow_connection(conn_id: str):
    """An Airflow connection (env AIRFLOW_CONN_*, metadata DB or secrets backend), or None."""
    try:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not defined / no Airflow context: fall back to the env variables
        return None


def smtp_target() -> SmtpTarget | None:
    conn = _airflow_connection(SMTP_CONN_ID)
    extra: dict[str, Any] = {}
    if conn is not None:
        extra = conn.extra_dejson or {}
        host, port, login, password = conn.host, conn.port, conn.login, conn.password
    elif os.environ.get(ENV_SMTP_URL):
        url = urlparse(os.environ[ENV_SMTP_URL])
        extra = {k: v[-1] for k, v in parse_qs(url.query).items()}
        host, port = url.hostname, url.port
        login = unquote(url.username) if url.username else None
        password = unquote(url.password) if url.password else None
    else:
        return None
    to = os.environ.get(ENV_EMAIL_TO) or extra.get("to") or ""
    recipients = tuple(a.strip() for a in (to if isinstance(to, list) else str(to).split(",")) if a.strip())
    if not host or not recipients:
        return None
    sender = os.environ.get(ENV_EMAIL_FROM) or extra.get("from_email") or "crm-alerts@localhost"
    starttls = str(extra.get("starttls", "false")).lower() in ("1", "true", "yes")
    return SmtpTarget(host, int(port or 25), login, password, starttls, sender, recipients)


def webhook_url() -> str | None:
    conn = _airflow_connection(WEBHOOK_CONN_ID)
    if conn is not None:
        extra = conn.extra_dejson or {}
        if extra.get("url"):
            return str(extra["url"])
        if conn.host and conn.host.startswith("http"):
            return conn.host
        scheme = conn.schema or conn.conn_type or "https"
        port = f":{conn.port}" if conn.port else ""
        return f"{scheme}://{conn.host}{port}"
    return os.environ.get(ENV_WEBHOOK_URL) or None


# --- the notifiers -------------------------------------------------------------------------------------


class _AlertChannel(BaseNotifier, Generic[T]):
    """What every delivery channel does the same way, written once; a channel only says how it sends.

    The target given to the constructor wins, else the one configured in the environment or an Airflow
    connection (`_configured_target`). An unconfigured channel is skipped with a warning, so nothing is sent
    or recorded and a later rerun delivers what it missed. The messages are `context['crm_alerts']`, or the
    failed-run message (AL-20) when Airflow calls the notifier as a failure callback.
    """

    channel: str  # the channel's name in the ledger
    label: str  # the channel in the warning
    configured_by: tuple[str, str]  # Airflow connection id, environment variable

    def __init__(self, target: T | None = None) -> None:
        super().__init__()
        self.target = target

    def _configured_target(self) -> T | None:
        raise NotImplementedError

    def _send(self, target: T, messages: list[AlertMessage]) -> None:
        raise NotImplementedError

    def configured(self) -> bool:
        return (self.target or self._configured_target()) is not None

    def notify(self, context: Mapping[str, Any]) -> None:
        target = self.target or self._configured_target()
        if target is None:
            log.warning("%s alert channel not configured (%s / %s): skipped", self.label, *self.configured_by)
            return
        self._send(target, list(context.get("crm_alerts") or [_run_message(context)]))


class EmailAlertNotifier(_AlertChannel[SmtpTarget]):
    """Sends each `AlertMessage` in `context['crm_alerts']` as one e-mail (or a run message, see below)."""

    channel = "email"
    label = "e-mail"
    configured_by = (SMTP_CONN_ID, ENV_SMTP_URL)

    def _configured_target(self) -> SmtpTarget | None:
        return smtp_target()

    def _send(self, target: SmtpTarget, messages: list[AlertMessage]) -> None:
        with smtplib.SMTP(target.host, target.port, timeout=TIMEOUT_S) as smtp:
            if target.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if target.login:
                smtp.login(target.login, target.password or "")
            for message in messages:
                email = EmailMessage()
                email["Subject"] = message.subject
                email["From"] = target.sender
                email["To"] = ", ".join(target.recipients)
                email["X-CRM-Alert-Key"] = message.key
                email.set_content(message.text)
                smtp.send_message(email)
        log.info("e-mailed %d alert message(s) via %s", len(messages), target.describe())


class WebhookAlertNotifier(_AlertChannel[str]):
    """POSTs each `AlertMessage` in `context['crm_alerts']` as one Slack-compatible JSON message."""

    channel = "webhook"
    label = "webhook"
    configured_by = (WEBHOOK_CONN_ID, ENV_WEBHOOK_URL)

    def _configured_target(self) -> str | None:
        return webhook_url()

    def _send(self, target: str, messages: list[AlertMessage]) -> None:
        for message in messages:
            request = urllib.request.Request(
                target,
                data=json.dumps(message.payload()).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - configured URL
                if response.status >= 300:
                    raise RuntimeError(f"webhook {urlparse(target).hostname} answered HTTP {response.status}")
        # the URL of a Slack webhook is its secret: log the host only
        log.info("posted %d alert message(s) to webhook host %s", len(messages), urlparse(target).hostname)


def notifiers() -> list[BaseNotifier]:
    return [EmailAlertNotifier(), WebhookAlertNotifier()]


# --- run-level messages: failed or late nightly (AL-20) ------------------------------------------------


def _run_message(context: Mapping[str, Any]) -> AlertMessage:
    """A failed-run message from an Airflow failure-callback context (dag_run, ti, exception)."""
    dag_run = context.get("dag_run")
    dag_id = getattr(context.get("dag"), "dag_id", None) or getattr(dag_run, "dag_id", "crm_nightly")
    run_id = getattr(dag_run, "run_id", None) or str(context.get("run_id") or "")
    ds = str(context.get("ds") or _logical_day(dag_run) or "")
    ti = context.get("ti") or context.get("task_instance")
    task = getattr(ti, "task_id", None)
    reason = context.get("reason") or context.get("exception") or "a task failed"
    return AlertMessage(
        run_date=date.fromisoformat(ds) if ds else datetime.now(UTC).date(),
        alert_code="AL-20",
        scope=f"run:{dag_id}:{run_id}",
        level="red",
        subject=f"[CRM alert] AL-20 {dag_id} FAILED for {ds}",
        text=f"{dag_id} run {run_id} for {ds} failed" + (f" in task {task}" if task else "") + f": {reason}",
    )


def _logical_day(dag_run) -> str | None:
    value = getattr(dag_run, "logical_date", None)
    return value.date().isoformat() if value is not None else None


class RunFailureNotifier(BaseNotifier):
    """DAG `on_failure_callback`: one 'nightly failed' message to every configured channel."""

    def notify(self, context: Mapping[str, Any]) -> None:
        message = _run_message(context)
        deliver([message], channels=notifiers(), url=_url_or_none())


def report_failed_run(
    dag_id: str, run_id: str, run_date: date, failures: Iterable[tuple[str, str]], url: str | None
) -> dict[str, int]:
    """The failed-run message (AL-20) from whoever saw the run end failed, e.g. `crm run`.

    Why besides the DAG's `on_failure_callback`: Airflow runs a DAG-level callback in the
    dag-processor, after the run is marked failed; `crm run` stops the components it started right
    then, so that callback may never run. The message has the callback's identity
    (`run:<dag>:<run_id>`, same run date), so the ledger lets only the first of the two through.
    """
    tasks = [task for task, _ in failures]
    reason = "; ".join(f"{task}: {why}" for task, why in failures) or "the run failed"
    context = {
        "dag_run": SimpleNamespace(dag_id=dag_id, run_id=run_id, logical_date=None),
        "ds": run_date.isoformat(),
        "ti": SimpleNamespace(task_id=", ".join(tasks)) if tasks else None,
        "reason": reason,
    }
    return deliver([_run_message(context)], channels=notifiers(), url=url)


def deadline_missed(context: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """DeadlineAlert callback (AL-20): the lists were not published by the configured time."""
    context = dict(context or {})
    dag_run = context.get("dag_run") or {}
    get = dag_run.get if isinstance(dag_run, Mapping) else lambda k, d=None: getattr(dag_run, k, d)
    dag_id = kwargs.get("dag_id") or get("dag_id", "crm_nightly")
    # Airflow hands the callback the run as its API model (DAGRunResponse): the run id is `dag_run_id`
    run_id = get("dag_run_id", "") or get("run_id", "") or ""
    logical = get("logical_date", None)
    ds = str(
        context.get("ds") or (str(logical)[:10] if logical else "") or datetime.now(UTC).date().isoformat()
    )
    minutes = kwargs.get("minutes")
    message = AlertMessage(
        run_date=date.fromisoformat(ds),
        alert_code="AL-20",
        scope=f"deadline:{dag_id}:{run_id}",
        level="red",
        subject=f"[CRM alert] AL-20 {dag_id} lists not published on time for {ds}",
        text=(
            f"{dag_id} run {run_id} for {ds} has not published the lists "
            f"{minutes} minutes after it was queued (policy lists_publish_deadline_minutes)."
        ),
    )
    deliver([message], channels=notifiers(), url=_url_or_none())


def _url_or_none() -> str | None:
    try:
        return warehouse.warehouse_url()
    except Exception:  # noqa: BLE001 - deliver without a ledger rather than not at all
        log.warning("no warehouse for the delivery ledger: run message sent without de-duplication")
        return None


# --- the ledger and the nightly delivery ---------------------------------------------------------------


def ensure_ledger(conn) -> None:
    warehouse.run_ddl(conn, *LEDGER_DDL)


def _delivered(url: str | None, messages: Iterable[AlertMessage], channel: str) -> set[str]:
    if url is None:
        return set()
    run_dates = sorted({m.run_date for m in messages})
    if not run_dates:
        return set()
    with warehouse.connect(url) as conn:
        ensure_ledger(conn)
        rows = conn.execute(
            """
            select run_date, alert_code, scope, level from ops.alert_deliveries
             where channel = %s and run_date = any(%s)
            """,
            (channel, run_dates),
        ).fetchall()
    return {f"{r[0].isoformat()}|{r[1]}|{r[2]}|{r[3]}" for r in rows}


def _record(url: str | None, messages: list[AlertMessage], channel: str) -> None:
    if url is None or not messages:
        return
    now = datetime.now(UTC)
    with warehouse.connect(url) as conn:
        ensure_ledger(conn)
        with conn.cursor() as cur:
            cur.executemany(
                """
                insert into ops.alert_deliveries
                    (run_date, alert_code, scope, level, channel, subject, delivered_at)
                values (%s, %s, %s, %s, %s, %s, %s) on conflict do nothing
                """,
                [(m.run_date, m.alert_code, m.scope, m.level, channel, m.subject, now) for m in messages],
            )


def deliver(messages: list[AlertMessage], *, channels: list[BaseNotifier], url: str | None) -> dict[str, int]:
    """Send every message not yet in the ledger for each configured channel; record what was sent.

    At-least-once per (alert, channel): a message is recorded right after its channel accepted it, in
    batches per channel, so a crash between the two can repeat that batch on the rerun, never lose it.
    """
    sent: dict[str, int] = {}
    for notifier in channels:
        channel = getattr(notifier, "channel", type(notifier).__name__)
        if not notifier.configured():
            log.warning("alert channel %s not configured: %d message(s) not sent", channel, len(messages))
            sent[channel] = 0
            continue
        done = _delivered(url, messages, channel)
        todo = [m for m in messages if m.key not in done]
        if todo:
            notifier({"crm_alerts": todo})
            _record(url, todo, channel)
        sent[channel] = len(todo)
    return sent


def alert_messages(url: str, run_date: date, min_level_rank: int) -> list[AlertMessage]:
    """The run date's alerts at or above the delivery level, in a stable order."""
    with warehouse.connect(url) as conn:
        exists = conn.execute("select to_regclass('marts.alerts') is not null").fetchone()[0]
        if not exists:
            return []
        rows = conn.execute(
            """
            select alert_code, scope, level, level_rank, alert_class, rule_name, message, recipients
              from marts.alerts
             where run_date = %s and level_rank >= %s
             order by level_rank desc, alert_code, scope, level
            """,
            (run_date, min_level_rank),
        ).fetchall()
    return [
        AlertMessage(
            run_date=run_date,
            alert_code=code,
            scope=scope,
            level=level,
            subject=f"[CRM alert] {code} {rule} [{level}] {scope} ({run_date.isoformat()})",
            text=f"{message}\nclass: {alert_class}; recipients: {recipients or '-'}; "
            f"run date {run_date.isoformat()}",
        )
        for code, scope, level, _rank, alert_class, rule, message, recipients in rows
    ]


def deliver_alerts(
    run_date: date, url: str | None = None, channels: list[BaseNotifier] | None = None
) -> dict:
    """The nightly's delivery step: marts.alerts at or above alert_delivery_min_level_rank, once each."""
    from crm_scoring.enrich.policy import parameter_values

    url = url or warehouse.warehouse_url()
    with warehouse.connect(url) as conn:
        value = parameter_values(conn, run_date).get("alert_delivery_min_level_rank")
    if value is None:
        log.warning("alert_delivery_min_level_rank is unset (policy profile): no alert is delivered")
        return {"alerts": 0, "sent": {}}
    messages = alert_messages(url, run_date, int(float(value)))
    sent = deliver(messages, channels=channels if channels is not None else notifiers(), url=url)
    return {"alerts": len(messages), "sent": sent}


def publish_deadline_minutes() -> int | None:
    """lists_publish_deadline_minutes from the policy seed CSV (read at DAG parse time: no DB there)."""
    from crm_scoring.enrich.policy import seed_parameter_values

    value = seed_parameter_values().get("lists_publish_deadline_minutes")
    return int(float(value)) if value else None
