"""The one Node harness of the explorers' tests: run a script against an explorer's ES modules.

The explorers' files (attn_course/widgets/*.js and shared/) are copied into a temporary folder
marked ``"type": "module"``, so Node imports the real files as they are, ``./shared/...`` imports
included; or, given ``source``, the joined text that anywidget receives (``_esm``) stands alone in
an empty folder, which proves that it needs nothing else. The fake DOM (fake_dom.mjs) lets a
script render a view and drive it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from attn_course.widgets._esm import WIDGETS

__all__ = ["NODE", "requires_node", "run_module"]

NODE = shutil.which("node")
MIN_VERSION = (20, 10)                  # import attributes: `import x from "./palette.json" with { type: "json" }`
FAKE_DOM = Path(__file__).with_name("fake_dom.mjs")


def _version() -> tuple[int, ...]:
    out = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    return tuple(int(n) for n in re.findall(r"\d+", out)[:2])


def _why_not() -> str | None:
    if NODE is None:
        return "node is not installed: the explorers' ES modules cannot be run (apt-get install nodejs)"
    if _version() < MIN_VERSION:
        return f"node {'.'.join(map(str, MIN_VERSION))} or newer is needed (JSON import attributes); found {NODE}"
    return None


_REASON = _why_not()
requires_node = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")

_PRELUDE = """\
import * as module from {entry};
import {{ readFileSync }} from "node:fs";
import {{ all, event, fakeModel, focusable, installDom, mount, snapshot }} from "./fake_dom.mjs";
const view = module.default;
const data = JSON.parse(readFileSync(0, "utf8"));
let printed = false;
const print = (value) => {{ printed = true; process.stdout.write(JSON.stringify(value)); }};
process.on("exit", () => {{ if (!printed) process.stderr.write("the script printed nothing: call print(value)\\n"); }});
"""


def run_module(entry: str, script: str, data: object = None, *, source: str | None = None,
               timeout: float = 60) -> object:
    """Run ``script`` (the body of an ES module) under Node and return what it print()s, parsed.

    entry: an explorer's module, relative to attn_course/widgets ("query_key.js", "shared/format.js").
    The script sees ``module`` (its namespace), ``view`` (its default export), ``data`` (``data``
    sent as JSON), ``print(value)`` (the answer, sent back as JSON) and the fake DOM's ``mount``,
    ``event``, ``all``, ``focusable``, ``snapshot``, ``fakeModel``, ``installDom``; it may import the other
    files as "./widgets/<path>". With ``source``, ``module`` is that text (a joined ``_esm``),
    alone in an empty folder. A script that throws fails the test with Node's message.
    """
    with tempfile.TemporaryDirectory(prefix="explorer-node-") as tmp:
        root = Path(tmp)
        shutil.copytree(WIDGETS, root / "widgets", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        (root / "package.json").write_text(json.dumps({"type": "module"}))
        shutil.copy(FAKE_DOM, root / "fake_dom.mjs")
        if source is None:
            path = f"./widgets/{entry}"
        else:
            (root / "joined").mkdir()
            (root / "joined" / Path(entry).name).write_text(source, encoding="utf-8")
            path = f"./joined/{Path(entry).name}"
        (root / "main.js").write_text(_PRELUDE.format(entry=json.dumps(path)) + script, encoding="utf-8")
        done = subprocess.run([NODE, "--disable-warning=ExperimentalWarning", "main.js"], cwd=root,
                              input=json.dumps(data), capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 or done.stderr.strip():
        raise AssertionError(f"node failed on {entry} (exit {done.returncode}):\n{done.stderr.strip()}")
    return json.loads(done.stdout)
