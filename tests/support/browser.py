"""Browser test support: Debian's Chromium driven by Playwright, and the built book served locally.

Never `playwright install`: it downloads a browser. Chromium comes from the system
(`apt-get install -y chromium`); set CHROMIUM to use another binary.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
HOW_TO_ENABLE = "browser tests need Chromium: `apt-get install -y chromium` (or set CHROMIUM=/path/to/chromium)"


def chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return path if path and Path(path).exists() else None


def require_chromium() -> str:
    """The Chromium binary; skip with one line saying how to enable, or fail where browsers are required (CI)."""
    path = chromium_path()
    if path is None:
        if os.environ.get("ATTN_COURSE_REQUIRE_BROWSER"):
            pytest.fail(HOW_TO_ENABLE + " (required here: ATTN_COURSE_REQUIRE_BROWSER is set)")
        pytest.skip(HOW_TO_ENABLE)
    return path


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium browser (Playwright), closed afterwards; skips or fails as require_chromium."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serving(directory: Path) -> Iterator[StaticServer]:
    server = StaticServer(directory)
    try:
        yield server
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StaticServer:
    """`python -m http.server` on 127.0.0.1, stopped by its PID."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1", "--directory", str(directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"the static server on port {self.port} did not start")
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class PageLog:
    """What a page did: requests that failed or left the machine, console errors, page errors."""

    mode: str                                   # "http" or "file"
    failed: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: int = 0

    def attach(self, page) -> None:
        page.on("request", self._on_request)
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} (HTTP {r.status})"))
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))

    def _on_request(self, request) -> None:
        self.requests += 1
        url = urlparse(request.url)
        local = url.scheme in ("data", "blob", "about") or (
            url.scheme == "file" if self.mode == "file" else url.hostname == "127.0.0.1"
        )
        if not local:
            self.external.append(request.url)

    def clear(self) -> None:
        """Forget what was recorded so far (to check one step of a long-lived page)."""
        for records in (self.failed, self.external, self.console_errors, self.page_errors):
            records.clear()
        self.requests = 0

    def problems(self) -> list[str]:
        return ([f"failed request: {u}" for u in self.failed] + [f"external request: {u}" for u in self.external]
                + [f"console error: {m}" for m in self.console_errors] + [f"page error: {m}" for m in self.page_errors])


def wait_for_math(page) -> int:
    """Wait until MathJax has typeset the page; return the number of typeset formulas (0 if no MathJax)."""
    return page.evaluate(
        """async () => {
            if (!window.MathJax) return 0;
            for (let i = 0; i < 100 && !(MathJax.startup && MathJax.startup.promise); i++)
                await new Promise(r => setTimeout(r, 50));
            await MathJax.startup.promise;
            return document.querySelectorAll('mjx-container').length;
        }"""
    )
