"""JupyterLab end to end: one Lab server on a copy of the chapters, driven by Playwright.

    with Lab() as lab:                                  # one server for a whole test session
        page = browser.new_page()
        open_notebook(page, lab, "01_self_attention.ipynb")
        wait_for_kernel(page, "01_self_attention.ipynb")
        run_all(page, "01_self_attention.ipynb")
        assert not cell_errors(page, "01_self_attention.ipynb")
        print(execute(page, "01_self_attention.ipynb", "print(1 + 1)"))   # '2\\n'

Lab serves a temporary COPY of the chapters folder, with autosave off, so nothing
can write into the source notebooks. Settings and workspaces live in a temporary
folder too (no news, no update check, no restored layout). Lab runs with
``expose_app_in_browser``, so the page has ``window.jupyterapp``; the helpers find
a notebook's panel by its path, not by ``shell.currentWidget``, which moves with
the focus.

Trap: the kernel indicator says "idle" before the kernel's websocket is connected,
and Run All then silently does nothing. :func:`wait_for_kernel` waits for the
session context to be ready with ``connectionStatus === 'connected'`` instead.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil  # a dependency of ipykernel, so always there with Lab

from support.browser import PageLog, free_port
from support.paths import ROOT

CHAPTERS_DIR = ROOT / "chapters"

# Settings that Lab reads from JUPYTERLAB_SETTINGS_DIR: plugin id -> settings.
SETTINGS = {
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},        # never write the notebooks
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
KERNEL_GRACE = 2.0          # seconds the kernels get to exit after Lab stops
# jupyterlab-myst 2.7 renders markdown cells without the `renderedInput` that Lab 4.6's
# cell toolbar measures, so Lab logs this page error once per load. Harmless; allowed
# only in exactly this form (its message and the function it comes from).
KNOWN_PAGE_ERROR = ("Cannot read properties of undefined (reading 'node')", "_markdownOverlapsToolbar")


class Lab:
    """`jupyter lab` from this venv on 127.0.0.1, a free port and a random token; stopped by its PID.

    root: the folder to copy and serve (the chapters by default).
    Use as a context manager, or call start() and stop().
    """

    def __init__(self, root: Path = CHAPTERS_DIR, startup_timeout: float = 60.0):
        self.source = Path(root)
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(16)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.root_dir: Path | None = None           # the copy that Lab serves
        self.log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page_url(self, name: str) -> str:
        """The Lab URL that opens notebook `name` (a path relative to the served copy) in a
        workspace of its own, so that no layout saved by an earlier page is restored."""
        return f"{self.url}/lab/workspaces/{secrets.token_hex(4)}/tree/{name}?token={self.token}"

    def start(self) -> "Lab":
        self._tmp = tempfile.TemporaryDirectory(prefix="attn-lab-")
        tmp = Path(self._tmp.name)
        self.root_dir = tmp / "root"
        shutil.copytree(self.source, self.root_dir,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "_build"))
        settings = tmp / "settings"
        for plugin, values in SETTINGS.items():
            package, name = plugin.split(":")
            path = settings / package / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        (tmp / "workspaces").mkdir()
        env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
                   JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTER_CONFIG_DIR=str(tmp / "config"))
        self.port = free_port()
        self.log_path = tmp / "lab.log"
        jupyter = Path(sys.executable).parent / "jupyter"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(jupyter), "lab", "--no-browser", "--allow-root", "--ip", "127.0.0.1", "--port", str(self.port),
                 f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={self.root_dir}",
                 "--ServerApp.port_retries=0", "--LabApp.news_url=None",
                 "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                 "--LabApp.expose_app_in_browser=True"],
                cwd=self.root_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        self._wait_until_up()
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RuntimeError(f"JupyterLab did not start on port {self.port}; its log:\n{log}")
            time.sleep(0.2)

    def log(self) -> str:
        """What Lab printed so far (for failure messages)."""
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop Lab by its PID (terminate, wait, kill), then its kernels (2 s grace, then kill)."""
        if self.proc is not None:
            try:
                children = psutil.Process(self.proc.pid).children(recursive=True)   # the kernels
            except psutil.NoSuchProcess:
                children = []
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            _, alive = psutil.wait_procs(children, timeout=KERNEL_GRACE)
            for p in alive:
                try:
                    p.kill()
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(alive, timeout=KERNEL_GRACE)
            self.proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "Lab":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- Driving a notebook in a Playwright page --------------------------------

def new_page(browser):
    """A Playwright page for Lab that records its requests and errors; see page_problems()."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.log = PageLog("http")
    page.log.attach(page)
    page.error_stacks = []
    page.on("pageerror", lambda e: page.error_stacks.append(e.stack or str(e)))
    return page


def page_problems(page) -> list[str]:
    """Failed or external requests, console errors and page errors, but for KNOWN_PAGE_ERROR."""
    problems = [p for p in page.log.problems() if p != f"page error: {KNOWN_PAGE_ERROR[0]}"]
    unknown = [s for s in page.error_stacks if not all(part in s for part in KNOWN_PAGE_ERROR)]
    return problems + unknown


# Every helper names the notebook by its path in the served copy and finds its
# panel among the main-area widgets.

_PANEL = """(path) => {
    const panel = Array.from(window.jupyterapp.shell.widgets('main'))
        .find(w => w.context && w.context.path === path && w.content && w.sessionContext);
    if (!panel) throw new Error(`no notebook panel for ${path}`);
    return panel;
}"""


def _js(body: str, is_async: bool = True) -> str:
    """A page function of (path, arg) with `panel(path)` in scope; not async for wait_for_function,
    which would take the promise itself for a true value."""
    return f"{'async ' if is_async else ''}([path, arg]) => {{ const panel = {_PANEL}; {body} }}"


def evaluate(page, name: str, body: str, arg: object = None) -> object:
    """Run `body` as an async page function with `notebook` (the NotebookPanel of `name`,
    whose .sessionContext.session.kernel is its kernel) and `arg` in scope; return its value."""
    return page.evaluate(_js(f"const notebook = panel(path); {body}"), [name, arg])


def open_notebook(page, lab: Lab, name: str, timeout: float = 60.0) -> None:
    """Open notebook `name` in Lab (navigating the page there the first time) and wait for its panel."""
    if not page.url.startswith(lab.url):
        page.goto(lab.page_url(name), wait_until="domcontentloaded")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=timeout * 1000)
    else:
        page.evaluate("async (path) => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }",
                      name)
    page.wait_for_function(_js("try { return !!panel(path); } catch { return false; }", False), arg=[name, None],
                           timeout=timeout * 1000, polling=100)
    page.evaluate(_js("await panel(path).context.ready; await panel(path).revealed;"), [name, None])


def close_notebook(page, name: str) -> None:
    """Shut the notebook's kernel down and close its panel without saving (and without Lab's
    "save your changes?" dialog, which a run notebook would raise)."""
    page.evaluate(_js("""
        const p = panel(path);
        await p.sessionContext.shutdown();
        p.context.model.dirty = false;
        p.dispose();
    """), [name, None])


def wait_for_kernel(page, name: str, timeout: float = 60.0) -> None:
    """Wait until the notebook's kernel is really connected and idle (not just the indicator)."""
    page.wait_for_function(_js("""
        const ctx = panel(path).sessionContext;
        const kernel = ctx.session && ctx.session.kernel;
        return ctx.isReady && !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
    """, False), arg=[name, None], timeout=timeout * 1000, polling=100)


def run_all(page, name: str, timeout: float = 120.0) -> None:
    """Run all cells; return once the kernel is idle and every code cell has an execution count.

    Returns early (and lets the caller read cell_errors) when a cell failed: Lab then
    stops the run, and the cells after it keep no execution count.
    """
    page.evaluate(_js("""
        window.jupyterapp.shell.activateById(panel(path).id);   // the command runs the current notebook
        await window.jupyterapp.commands.execute('notebook:run-all-cells');
    """), [name, None])
    page.wait_for_function(_js("""
        const p = panel(path);
        if (p.sessionContext.session.kernel.status !== 'idle') return false;
        const cells = Array.from(p.content.model.cells);
        const failed = cells.some(c => c.type === 'code' &&
            Array.from({length: c.outputs.length}, (_, i) => c.outputs.get(i)).some(o => o.type === 'error'));
        return failed || cells.every(c => c.type !== 'code' || c.executionCount !== null);
    """, False), arg=[name, None], timeout=timeout * 1000, polling=100)


def cell_errors(page, name: str) -> list[str]:
    """One line per error output and per stderr stream, read from the notebook model: 'cell 7: NameError: ...'."""
    return page.evaluate(_js("""
        const problems = [];
        Array.from(panel(path).content.model.cells).forEach((cell, index) => {
            if (cell.type !== 'code') return;
            for (let i = 0; i < cell.outputs.length; i++) {
                const out = cell.outputs.get(i).toJSON();
                if (out.output_type === 'error') problems.push(`cell ${index}: ${out.ename}: ${out.evalue}`);
                if (out.output_type === 'stream' && out.name === 'stderr') {
                    const text = Array.isArray(out.text) ? out.text.join('') : out.text;
                    problems.push(`cell ${index}: stderr: ${text.trim()}`);
                }
            }
        });
        return problems;
    """), [name, None])


def cells(page, name: str) -> list[dict]:
    """The notebook model's cells: {type, source, execution_count, outputs: [{type, name, text}]},
    where text is a stream's text, an error's 'ename: evalue', or a result's text/plain."""
    return page.evaluate(_js("""
        const join = (t) => Array.isArray(t) ? t.join('') : (t || '');
        return Array.from(panel(path).content.model.cells).map(cell => {
            const json = cell.toJSON();
            const outputs = (json.outputs || []).map(o => ({
                type: o.output_type,
                name: o.name || null,
                text: o.output_type === 'stream' ? join(o.text)
                    : o.output_type === 'error' ? `${o.ename}: ${o.evalue}`
                    : join((o.data || {})['text/plain']),
            }));
            return {type: cell.type, source: join(json.source), execution_count: json.execution_count ?? null, outputs};
        });
    """), [name, None])


def execute(page, name: str, code: str, timeout: float = 30.0) -> str:
    """Execute `code` in the notebook's kernel (no cell, no history) and return its stdout.

    Raises RuntimeError with the traceback's last line when the code fails.
    """
    result = page.evaluate(_js("""
        const kernel = panel(path).sessionContext.session.kernel;
        const future = kernel.requestExecute({code: arg, store_history: false});
        let stdout = '', error = null;
        future.onIOPub = (msg) => {
            const type = msg.header.msg_type;
            if (type === 'stream' && msg.content.name === 'stdout') stdout += msg.content.text;
            if (type === 'error') error = `${msg.content.ename}: ${msg.content.evalue}`;
        };
        const reply = await future.done;
        return {stdout, error, status: reply.content.status};
    """), [name, code])
    if result["status"] != "ok":
        raise RuntimeError(f"kernel code failed: {result['error']}\n--- code ---\n{code}")
    return result["stdout"]


def reveal(locator, timeout: float = 10.0) -> None:
    """Scroll `locator` into view and wait until the browser has rendered it.

    Lab 4.6 notebooks default to windowingMode 'contentVisibility': cells out of view are
    in the DOM (textContent works) but not rendered, so innerText is '' until a frame
    after the scroll, and the scroll itself moves as skipped cells get their real height.
    """
    page = locator.page
    deadline = time.monotonic() + timeout
    while True:
        locator.scroll_into_view_if_needed()
        shown = locator.evaluate("""async (e) => {
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            const box = e.getBoundingClientRect();
            return e.checkVisibility({contentVisibilityAuto: true})
                && box.bottom > 0 && box.top < window.innerHeight;
        }""")
        if shown:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{locator} was not rendered after scrolling to it")
        page.wait_for_timeout(50)


def active_cell_state(page, name: str) -> dict:
    """The active cell index, the collapsed headings and the hidden cells: what Lab's shortcuts change."""
    return page.evaluate(_js("""
        const nb = panel(path).content;
        return {
            active: nb.activeCellIndex,
            mode: nb.mode,
            collapsed: nb.widgets.map((c, i) => c.headingCollapsed ? i : -1).filter(i => i >= 0),
            hidden: nb.widgets.map((c, i) => c.isHidden ? i : -1).filter(i => i >= 0),
        };
    """), [name, None])
