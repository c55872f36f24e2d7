"""The joiner (_esm.py) that inlines the explorers' shared files into each widget's one module
and style sheet, without a bundler."""

from __future__ import annotations

from pathlib import Path

import pytest

from attn_course.widgets import _esm
from attn_course.widgets._esm import JoinError


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


@pytest.fixture
def widgets(tmp_path, monkeypatch):
    """A scratch widgets folder for the joiner."""
    monkeypatch.setattr(_esm, "WIDGETS", tmp_path.resolve())
    return tmp_path


def test_join_inlines_each_module_once_in_dependency_order(widgets):
    write(widgets, {
        "w.js": 'import { b } from "./shared/b.js";\nimport { a as first } from "./shared/a.js";\n'
                "export const both = () => [first(), b()];\nexport default { render() {} };\n",
        "shared/a.js": "const secret = 1;\nexport function a() { return secret; }\n",
        "shared/b.js": 'import { a } from "./a.js";\nimport DATA from "./d.json" with { type: "json" };\n'
                       "const secret = 2;\nexport const b = () => a() + secret + DATA.x;\n",
        "shared/d.json": '{"x": 10}',
        "w.css": '@import "./shared/c.css";\n.w { color: red; }\n',
        "shared/c.css": '@import url("./d.css");\n.c { color: blue; }\n',
        "shared/d.css": ".d { margin: 0; }\n",
    })
    esm = _esm.join_esm("w.js")
    assert esm.count("const $shared$a = ") == 1 and esm.index("const $shared$a") < esm.index("const $shared$b")
    assert "const { a: first } = $shared$a;" in esm and 'const DATA = {"x": 10};' in esm
    assert "return { a };" in esm and "return { b };" in esm       # private names (secret) stay inside
    css = _esm.join_css("w.css")
    assert css.index(".d {") < css.index(".c {") < css.index(".w {") and "@import" not in css


@pytest.mark.parametrize("files, message", [
    ({"w.js": 'import { x } from "lodash";\n'}, r"w.js, line 1: cannot join an import of 'lodash': only relative paths"),
    ({"w.js": 'import { x } from "./shared/nope.js";\n'}, r"'./shared/nope.js' is missing"),
    ({"w.js": 'import { x } from "../outside.js";\n'}, r"is outside"),
    ({"w.js": 'import x from "./shared/a.js";\n', "shared/a.js": "export const x = 1;\n"}, r"import named exports"),
    ({"w.js": 'import * as all from "./shared/a.js";\n', "shared/a.js": "export const x = 1;\n"}, r"import named exports"),
    ({"w.js": 'import {\n  x } from "./shared/a.js";\n'}, r"line 1: cannot join 'import \{'"),
    ({"w.js": 'import { y } from "./shared/a.js";\n', "shared/a.js": "export const x = 1;\n"},
     r"w.js, line 1: shared/a.js does not export y \(it exports x\)"),
    ({"w.js": 'import { x } from "./shared/a.js";\n', "shared/a.js": 'import { y } from "./b.js";\nexport const x = 1;\n',
      "shared/b.js": 'import { x } from "./a.js";\nexport const y = 2;\n'}, r"import cycle: shared/a.js -> shared/b.js -> shared/a.js"),
    ({"w.js": 'import { x } from "./shared/a.js";\n', "shared/a.js": "export let x = 1;\n"}, r"shared/a.js, line 1: a shared module exports"),
    ({"w.js": 'import { x } from "./shared/a.js";\n', "shared/a.js": "export default 1;\n"}, r"a shared module exports"),
    ({"w.js": 'import { x } from "./shared/a.css";\n', "shared/a.css": ""}, r"must name a .js file"),
    ({"w.js": 'export { x } from "./shared/a.js";\n', "shared/a.js": "export const x = 1;\n"}, r"cannot join 'export \{ x \} from"),
])
def test_join_refuses_what_it_cannot_inline(widgets, files, message):
    write(widgets, files)
    with pytest.raises(JoinError, match=message):
        _esm.join_esm("w.js")


@pytest.mark.parametrize("files, message", [
    ({"w.css": "@import 'x.css';\n"}, r'w.css, line 1: write `@import "./shared/file.css";`'),
    ({"w.css": '@import "./shared/none.css";\n'}, r"is missing"),
    ({"w.css": '@import "./a.css";\n', "a.css": '@import "./w.css";\n'}, r"@import cycle: w.css -> a.css -> w.css"),
])
def test_join_css_refuses_what_it_cannot_inline(widgets, files, message):
    write(widgets, files)
    with pytest.raises(JoinError, match=message):
        _esm.join_css("w.css")
