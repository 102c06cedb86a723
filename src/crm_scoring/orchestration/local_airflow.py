"""Start a real Airflow (API server, DAG processor, scheduler with its executor) for the length of a run.

`crm run` needs a scheduler so that the run it records is a true one (real start and end times, its
own run_id, every attempt kept). When none is alive for this AIRFLOW_HOME, this starts the three
components Airflow 3 needs for LocalExecutor and stops them afterwards:

- `airflow api-server --apps execution`: task processes report state and fetch XComs and
  connections through the execution API (only that app; the UI is `make airflow-ui`'s job);
- `airflow dag-processor`: parses the DAG files into the metadata DB (Airflow 3 never parses in
  the scheduler);
- the scheduler (`python -m crm_scoring.orchestration.scheduler`: `airflow scheduler` after
  importing the tasks' libraries once): creates the task instances and runs them on LocalExecutor.

Ports are picked free, so `make airflow-ui` or a parallel test session never collide with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

STOP_TIMEOUT_S = 20.0
# how long the warm-up request may take: on the saturated machine the first answer took 20-26 s
WARM_UP_TIMEOUT_S = 300.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def component_env(env: dict[str, str], api_port: int, log_port: int) -> dict[str, str]:
    """The env of the spawned components: the execution API they share, and one run at a time."""
    env = dict(env)
    env.update(
        {
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port),
            # the spawned scheduler runs what `crm run` triggers, never the DAGs' own schedules
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            # parse each DAG file once at start-up; the run does not need re-parsing every 30 s
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": env.get(
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL", "600"
            ),
            "AIRFLOW__API__WORKERS": "1",
        }
    )
    for key, value in {
        # a night is a chain of short tasks: look for the next one every 0.2 s, not every second
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
        # two DAG files: one parsing process, not two forked ones competing for two cores
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        # LocalExecutor forks all its workers from the scheduler at start (32 by default), each a copy of
        # a process with Airflow, dbt, GX, MLflow and XGBoost loaded; a night runs one task at a time
        # (two at the end, a few scoring shards): a handful is plenty
        "AIRFLOW__CORE__PARALLELISM": str(max(4, os.cpu_count() or 1)),
        # a task's calls to the Execution API (default timeout 5 s): on a saturated machine the API
        # server answered a task's start (PATCH .../run) after 36 s; the client's retry then got 400
        # (already running) and the task failed without ever running. Slow is not failed.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        # a task's supervisor wakes every min_heartbeat_interval (default 5 s) and only then sees that its
        # task process has exited; the scheduler's shutdown waits for it, so `crm run` stopped its
        # components 5.1-5.5 s after the last task (2026-12-01, load 16-26), 0.7-1.1 s with 1 s.
        # Cost: one heartbeat a second per running task to the API server instead of one per 5 s.
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
    }.items():
        env.setdefault(key, value)
    return env


class LocalAirflow:
    """Context manager: the components run while the block runs; their output goes to `log_path`."""

    def __init__(
        self,
        airflow_bin: str,
        env: dict[str, str],
        log_path: Path,
        celery_workers: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """`celery_workers`: name -> extra env of each `airflow celery worker` to start beside the
        three components (CeleryExecutor set in `env`; the worker is named `<name>@<host>`)."""
        self.api_port = free_port()
        self.celery_workers = dict(celery_workers or {})
        self.env = component_env(env, self.api_port, free_port())
        self.airflow_bin = airflow_bin
        self.python = sys.executable
        self.log_path = log_path
        self.procs: dict[str, subprocess.Popen] = {}
        self._log: IO[str] | None = None
        self.cpu_seconds: dict[str, float] = {}
        self.api_warm_seconds: float | None = None  # port open -> first answer of the execution API

    def commands(self) -> dict[str, list[str]]:
        api = ["api-server", "--apps", "execution", "--host", "127.0.0.1", "--port", str(self.api_port)]
        commands = {
            "api-server": [self.airflow_bin, *api],
            "dag-processor": [self.airflow_bin, "dag-processor"],
            # `airflow scheduler`, with the tasks' libraries imported before its executor forks; without
            # its log server (a forked FastAPI app for the UI to fetch running tasks' logs from this
            # machine): `crm run` reads the task logs from their files, and the CPU it took to start
            # competed with the scheduler's own start-up, the longest of the night's start
            "scheduler": [self.python, "-m", "crm_scoring.orchestration.scheduler", "--skip-serve-logs"],
        }
        queue = self.env.get("AIRFLOW__OPERATORS__DEFAULT_QUEUE", "default")
        for name in self.celery_workers:
            commands[f"celery-worker-{name}"] = [
                self.airflow_bin,
                "celery",
                "worker",
                "--celery-hostname",
                f"{name}@%h",
                "--queues",
                queue,
                "--concurrency",
                self.env.get("AIRFLOW__CELERY__WORKER_CONCURRENCY", "1"),
                "--without-mingle",
                "--without-gossip",
                "--skip-serve-logs",
                "--pid",
                str(Path(self.env["AIRFLOW_HOME"]) / f"celery-worker-{name}.pid"),
            ]
        return commands

    def component_env(self, name: str) -> dict[str, str]:
        worker = name.removeprefix("celery-worker-")
        if worker != name:
            return {**self.env, **self.celery_workers[worker]}
        return self.env

    def __enter__(self) -> LocalAirflow:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
        for name, cmd in self.commands().items():
            self.procs[name] = subprocess.Popen(
                cmd,
                env=self.component_env(name),
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopping it stops its workers too
                preexec_fn=_stop_with_parent,
            )
        threading.Thread(target=self._warm_up_api, name="warm-up-execution-api", daemon=True).start()
        return self

    def _warm_up_api(self) -> None:
        """Send the execution API its first request as soon as its port is open, in the background.

        Why: the API server builds its execution app on the first request it gets. Without this, that
        first request is the first task's start call (`PATCH .../run`), so the night's first task waited
        for it: 23 s on the loaded machine (2026-12-01, `request finished ... duration_us=23281804` in
        the components' log). Sent here, it overlaps with the scheduler's start-up, which is longer.
        """
        proc = self.procs.get("api-server")
        deadline = time.monotonic() + WARM_UP_TIMEOUT_S
        while not port_open(self.api_port):
            if proc is None or proc.poll() is not None or time.monotonic() > deadline:
                return
            time.sleep(0.1)
        start = time.monotonic()
        url = f"http://127.0.0.1:{self.api_port}/execution/health"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
        try:
            with opener.open(url, timeout=WARM_UP_TIMEOUT_S) as response:
                response.read()
        except (OSError, urllib.error.URLError):
            return  # a slow or failed warm-up only means the first task pays for it, as before
        self.api_warm_seconds = round(time.monotonic() - start, 1)

    def dead(self) -> list[str]:
        """Components that exited although the run still needs them."""
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def api_ready(self) -> bool:
        return port_open(self.api_port)

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _signal(self, names: tuple[str, ...], sig: int) -> None:
        for name in names:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                _signal_group(proc, sig)

    def stop(self, settled: Callable[[], bool] | None = None) -> dict[str, float]:
        """SIGTERM every component's process group, SIGKILL what is left after STOP_TIMEOUT_S.

        `settled`: once it returns True (the run is over and the scheduler has recorded its own end
        in the metadata DB), nothing the components still do matters, and what has not exited yet is
        killed at once: a Python process with Airflow, dbt, MLflow and XGBoost loaded can take many
        seconds to exit on a busy machine.

        Returns each component's CPU seconds (user + system, with the task processes it ran), which
        `crm run` writes into its log: where a run's time goes.
        """
        if not self.procs:  # already stopped (the block's exit after an explicit stop)
            return self.cpu_seconds
        # the scheduler first: it stops handing out tasks while the API server still answers them.
        # With `settled`, the API server and DAG processor are stopped only once the scheduler has
        # recorded its end: a task process that was still exiting when the run finished gets SIGTERM
        # with its process group and its supervisor then reports to the API server; with the server
        # already gone it retried until the scheduler was killed at STOP_TIMEOUT_S (20 s, 2026-12-01)
        workers = [name for name in self.procs if name.startswith("celery-worker-")]
        first = ("scheduler", *workers)
        last = ("dag-processor", "api-server")
        self._signal(first if settled is not None else (*first, *last), signal.SIGTERM)
        start = time.monotonic()
        deadline = start + STOP_TIMEOUT_S
        if settled is not None:
            while time.monotonic() < deadline and any(p.poll() is None for p in self.procs.values()):
                if _safe(settled):
                    deadline = time.monotonic()  # SIGKILL the rest now
                    break
                if all(self.procs[name].poll() is not None for name in first if name in self.procs):
                    break  # exited without recording its end: stop the rest the normal way
                time.sleep(0.25)
            self._signal(last, signal.SIGTERM)
        cpu, stopped_after = {}, {}
        for name, proc in self.procs.items():
            cpu[name] = _reap(proc, deadline)
            stopped_after[name] = round(time.monotonic() - start, 1)
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)  # stray children (executor workers, log server)
        self.procs.clear()
        if self._log is not None:
            self._log.write(f"component cpu seconds: {cpu}\n")
            self._log.write(f"component stopped after seconds: {stopped_after}\n")
            self._log.write(f"execution API warm-up seconds: {self.api_warm_seconds}\n")
            self._log.close()
            self._log = None
        self.cpu_seconds = cpu
        return cpu


def _reap(proc: subprocess.Popen, deadline: float) -> float:
    """Wait for `proc` (SIGKILL at the deadline) and return its CPU seconds, -1 if already reaped."""
    if proc.returncode is not None:
        return -1.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return round(usage.ru_utime + usage.ru_stime, 1)
        if time.monotonic() > deadline:
            _signal_group(proc, signal.SIGKILL)
        time.sleep(0.1)


def _safe(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:  # noqa: BLE001 - e.g. the metadata DB busy: keep waiting the normal way
        return False


def _stop_with_parent() -> None:
    """Linux: the component gets SIGTERM if `crm run` dies without stopping it (kill -9)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
