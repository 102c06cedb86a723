"""Open a report in headless Chromium and look at it as a person would: what rendered, and a screenshot.

Chromium (the Debian package, `/usr/bin/chromium`) is driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: JSON messages, NUL-terminated, on file descriptors 3 and 4), so no extra
package, no port and no browser download are needed. Used by the browser test and by
`crm report --screenshot` (the README's picture).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")

# Evaluated in the page once it has loaded: everything the test checks, measured by the browser itself.
_PROBE = """(() => {
  const imgs = Array.from(document.images).map(i => ({
    alt: i.alt, complete: i.complete, naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight,
    external: !i.src.startsWith('data:')}));
  const ext = Array.from(document.querySelectorAll('script[src], link[href], iframe[src]'))
    .map(e => e.src || e.href).filter(u => u && !u.startsWith('data:') && !u.startsWith('#'));
  return {
    title: document.title,
    h1: Array.from(document.querySelectorAll('h1')).map(h => h.textContent.trim()),
    h2: Array.from(document.querySelectorAll('h2')).map(h => h.textContent.trim()),
    textLength: document.body.innerText.trim().length,
    missingPanels: document.querySelectorAll('.missing').length,
    images: imgs,
    externalResources: ext,
    width: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
  };
})()"""


class BrowserError(RuntimeError):
    pass


@dataclass
class PageCheck:
    title: str
    h1: list[str]
    h2: list[str]
    text_length: int
    missing_panels: int
    images: list[dict[str, Any]]
    external_resources: list[str]
    width: int
    height: int
    screenshot: Path | None = None
    console_errors: list[str] = field(default_factory=list)

    @property
    def broken_images(self) -> list[str]:
        return [i["alt"] for i in self.images if not i["complete"] or i["naturalWidth"] <= 0]


def chromium_path() -> str:
    """The Chromium binary: `CRM_CHROMIUM` or the first on PATH; a clear error when there is none."""
    explicit = os.environ.get("CRM_CHROMIUM")
    if explicit:
        return explicit
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserError("no Chromium found: install it with `apt-get install -y chromium` or set CRM_CHROMIUM")


class _Pipe:
    """The DevTools protocol over Chromium's debugging pipe: send a command, read until its answer."""

    def __init__(self, proc: subprocess.Popen, write_fd: int, read_fd: int, timeout_s: float) -> None:
        self.proc, self.write_fd, self.read_fd = proc, write_fd, read_fd
        self.deadline = time.monotonic() + timeout_s
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict] = []

    def _read_message(self) -> dict:
        import select

        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self.read_fd, 1 << 20)
                if not chunk:
                    raise BrowserError(f"Chromium closed its pipe (exit code {self.proc.poll()})")
                self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.write_fd, json.dumps(msg).encode() + b"\0")
        while True:
            answer = self._read_message()
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_event(self, method: str) -> dict:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read_message()
            if event.get("method") == method:
                return event
            self.events.append(event)


def inspect(
    html_path: Path, screenshot: Path | None = None, width: int = 1280, timeout_s: float = 60
) -> PageCheck:
    """Load `html_path` in headless Chromium with the network off; probe the DOM and take a full-page PNG."""
    html_path = html_path.resolve()
    if not html_path.exists():
        raise BrowserError(f"{html_path} does not exist")
    with tempfile.TemporaryDirectory(prefix="crm-chromium-", ignore_cleanup_errors=True) as profile:
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        args = [
            chromium_path(),
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",  # CI runs as root in a container, where the sandbox cannot start
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            f"--window-size={width},900",
            "about:blank",
        ]
        stderr_log = open(Path(profile) / "stderr.log", "wb")  # noqa: SIM115 - closed below
        # Chromium reads commands on fd 3 and writes answers on fd 4: the shell moves our pipe ends there.
        proc = subprocess.Popen(
            ["sh", "-c", 'exec "$@" 3<&0 4>&1 </dev/null >/dev/null', "sh", *args],
            stdin=to_browser_r,
            stdout=from_browser_w,
            stderr=stderr_log,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        pipe = _Pipe(proc, to_browser_w, from_browser_r, timeout_s)
        try:
            return _drive(pipe, html_path, screenshot, width)
        except BrowserError as exc:
            stderr_log.flush()
            tail = (Path(profile) / "stderr.log").read_bytes()[-2000:].decode(errors="replace")
            raise BrowserError(f"{exc}; chromium stderr: {tail}") from exc
        finally:
            try:
                pipe.call("Browser.close")
            except (BrowserError, OSError):
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(to_browser_w)
            os.close(from_browser_r)
            stderr_log.close()


def _drive(pipe: _Pipe, html_path: Path, screenshot: Path | None, width: int) -> PageCheck:
    target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    pipe.call("Page.enable", session=session)
    pipe.call("Runtime.enable", session=session)
    # the report must be self-contained: any network request fails instead of reaching a CDN
    pipe.call("Network.enable", session=session)
    pipe.call(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        session=session,
    )
    pipe.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    pipe.call("Page.navigate", {"url": html_path.as_uri()}, session=session)
    pipe.wait_event("Page.loadEventFired")
    probe = pipe.call(
        "Runtime.evaluate",
        {"expression": _PROBE, "returnByValue": True, "awaitPromise": True},
        session=session,
    )
    value = probe["result"]["value"]
    errors = [
        e["params"]["exceptionDetails"].get("text", "")
        for e in pipe.events
        if e.get("method") == "Runtime.exceptionThrown"
    ]
    check = PageCheck(
        title=value["title"],
        h1=value["h1"],
        h2=value["h2"],
        text_length=value["textLength"],
        missing_panels=value["missingPanels"],
        images=value["images"],
        external_resources=value["externalResources"],
        width=value["width"],
        height=value["height"],
        console_errors=errors,
    )
    if screenshot is not None:
        shot = pipe.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": check.height, "scale": 1},
            },
            session=session,
        )
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        check.screenshot = screenshot
    return check
