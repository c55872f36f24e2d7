"""Join an explorer's ES module (and its CSS) with the shared files it imports, without a bundler.

anywidget loads one self-contained ES module per widget (``_esm``) and one style sheet (``_css``).
The explorers' common code lives once, in ``shared/``, and each explorer imports what it needs
with ordinary lines, which Node (in the tests) and browsers also understand::

    import { fmt } from "./shared/format.js";
    import OKABE_ITO from "./palette.json" with { type: "json" };      (in a shared module)
    @import "./shared/card.css";                                        (first lines of a CSS file)

:func:`join_esm` inlines them: each shared module once, its own imports first, as a function
scope that returns its exports, which are unpacked where the import line stood. So a shared
module's private names never meet the widget's, and the joined text exports exactly what the
widget file exports: it stays a standalone ES module that could move to another host.
:func:`join_css` puts each imported style sheet once, before the sheets that import it.

Only relative imports of files inside this folder are joined, in the forms above (one line each;
``import { a as b }`` too); anything else that imports, a missing file, an import cycle, a name
that the imported module does not export, and exports other than ``export function|class|const``
in a shared module are refused with a :class:`JoinError` naming the file and the line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["JoinError", "WIDGETS", "join_css", "join_esm"]

WIDGETS = Path(__file__).resolve().parent

_IMPORT = re.compile(r'^import\s+(?P<what>.+?)\s+from\s+"(?P<path>[^"]+)"(?P<json>\s+with\s*\{\s*type:\s*"json"\s*\})?\s*;$')
_NAMED = re.compile(r"^\{\s*(?P<names>[\w$]+(?:\s+as\s+[\w$]+)?(?:\s*,\s*[\w$]+(?:\s+as\s+[\w$]+)?)*)\s*,?\s*\}$")
_DEFAULT = re.compile(r"^[\w$]+$")
_EXPORT = re.compile(r"^export\s+(?:(?:async\s+)?function\*?|class|const)\s+([\w$]+)")
_REEXPORT = re.compile(r"^export\b.*\bfrom\s*[\"']")
_CSS_IMPORT = re.compile(r'^@import\s+(?:url\(\s*)?"(?P<path>[^"]+)"\s*\)?\s*;$')


class JoinError(ValueError):
    """An explorer's files cannot be joined into one module: the message names the file and the line."""


@dataclass
class _Module:
    path: Path
    lines: list[str] = field(default_factory=list)        # the body, import lines replaced
    needs: list[Path] = field(default_factory=list)       # the JS modules it imports, in order
    exports: list[str] = field(default_factory=list)


def _where(path: Path, number: int) -> str:
    return f"{path.relative_to(WIDGETS).as_posix()}, line {number}"


def _resolve(importer: Path, spec: str, number: int, suffixes: tuple[str, ...]) -> Path:
    """The file that ``spec`` names, relative to ``importer``; inside this folder, existing, of a known kind."""
    where = _where(importer, number)
    if not spec.startswith(("./", "../")):
        raise JoinError(f"{where}: cannot join an import of {spec!r}: only relative paths to files "
                        f"beside the explorers (./shared/...) are joined, not packages or URLs")
    path = (importer.parent / spec).resolve()
    if not path.is_relative_to(WIDGETS):
        raise JoinError(f"{where}: {spec!r} is outside {WIDGETS}: only the explorers' own files are joined")
    if path.suffix not in suffixes:
        raise JoinError(f"{where}: {spec!r} must name a {' or '.join(suffixes)} file here")
    if not path.is_file():
        raise JoinError(f"{where}: {spec!r} is missing (no file {path})")
    return path


def _scope_name(path: Path) -> str:
    """The joined text's name for a shared module's exports, e.g. shared/plane.js -> $shared$plane."""
    return "$" + re.sub(r"[^\w$]", "$", path.relative_to(WIDGETS).with_suffix("").as_posix())


def _bindings(names: str) -> list[tuple[str, str]]:
    """'a, b as c' -> [('a', 'a'), ('b', 'c')]: (exported name, local name)."""
    pairs = [re.split(r"\s+as\s+", n.strip()) for n in names.split(",") if n.strip()]
    return [(p[0], p[-1]) for p in pairs]


def _parse(path: Path, entry: bool) -> tuple[_Module, list[tuple[Path, list[tuple[str, str]], int]]]:
    """The module at ``path``, and what it imports: (module, [(path, bindings, line number)])."""
    module, wanted = _Module(path), []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(("import ", "import{")) or _REEXPORT.match(stripped):
            match = _IMPORT.match(stripped)
            if not match:
                raise JoinError(f"{_where(path, number)}: cannot join {stripped!r}: write "
                                f'`import {{ a, b }} from "./file.js";` (or a JSON default import) on one line')
            what, spec = match["what"].strip(), match["path"]
            if match["json"]:
                if not _DEFAULT.match(what):
                    raise JoinError(f"{_where(path, number)}: a JSON file is imported as one name: "
                                    f'`import NAME from "{spec}" with {{ type: "json" }};`')
                data = json.loads(_resolve(path, spec, number, (".json",)).read_text(encoding="utf-8"))
                module.lines.append(f"const {what} = {json.dumps(data)};")
                continue
            named = _NAMED.match(what)
            if not named:
                raise JoinError(f"{_where(path, number)}: cannot join {stripped!r}: import named exports, "
                                f'`import {{ a, b }} from "{spec}";`')
            dependency, bindings = _resolve(path, spec, number, (".js",)), _bindings(named["names"])
            wanted.append((dependency, bindings, number))
            module.needs.append(dependency)
            unpacked = ", ".join(name if name == local else f"{name}: {local}" for name, local in bindings)
            module.lines.append(f"const {{ {unpacked} }} = {_scope_name(dependency)};")
            continue
        if not entry and stripped.startswith("export "):
            export = _EXPORT.match(stripped)
            if not export or line != stripped:
                raise JoinError(f"{_where(path, number)}: a shared module exports with `export function`, "
                                f"`export class` or `export const` at the start of a line; got {stripped!r}")
            module.exports.append(export[1])
            line = line.removeprefix("export ")
        module.lines.append(line)
    return module, wanted


def _collect(entry: Path) -> tuple[_Module, list[_Module]]:
    """The entry module and the shared modules it needs, each once, every module after its imports."""
    done: dict[Path, _Module] = {}
    order: list[_Module] = []

    def visit(path: Path, chain: tuple[Path, ...]) -> _Module:
        if path in chain:
            cycle = " -> ".join(p.relative_to(WIDGETS).as_posix() for p in (*chain[chain.index(path):], path))
            raise JoinError(f"import cycle: {cycle}")
        if path not in done:
            module, wanted = _parse(path, entry=path == entry)
            for dependency, bindings, number in wanted:
                exports = visit(dependency, (*chain, path)).exports
                missing = [name for name, _ in bindings if name not in exports]
                if missing:
                    raise JoinError(f"{_where(path, number)}: {dependency.relative_to(WIDGETS).as_posix()} "
                                    f"does not export {', '.join(missing)} (it exports {', '.join(exports)})")
            done[path] = module
            order.append(module)
        return done[path]

    visit(entry, ())
    return order[-1], order[:-1]


def join_esm(name: str | Path) -> str:
    """The explorer module ``name`` (e.g. "query_key.js") with the shared modules it imports inlined."""
    entry, shared = _collect((WIDGETS / name).resolve())
    parts = [f"// {entry.path.name}, joined with {', '.join(m.path.relative_to(WIDGETS).as_posix() for m in shared)} "
             "by attn_course/widgets/_esm.py: edit those files, not this text.\n"] if shared else []
    for module in shared:
        body = "\n".join(module.lines).strip("\n")
        parts.append(f"// ---- {module.path.relative_to(WIDGETS).as_posix()}\n"
                     f"const {_scope_name(module.path)} = (() => {{\n{body}\n"
                     f"return {{ {', '.join(module.exports)} }};\n}})();\n")
    parts.append(f"// ---- {entry.path.name}\n" + "\n".join(entry.lines) + "\n")
    return "\n".join(parts)


def join_css(name: str | Path) -> str:
    """The style sheet ``name`` (e.g. "query_key.css") after the sheets it @imports, each once."""
    done: list[Path] = []
    texts: list[str] = []

    def visit(path: Path, chain: tuple[Path, ...]) -> None:
        if path in chain:
            raise JoinError(f"@import cycle: {' -> '.join(p.relative_to(WIDGETS).as_posix() for p in (*chain, path))}")
        if path in done:
            return
        kept = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip().startswith("@import"):
                match = _CSS_IMPORT.match(line.strip())
                if not match:
                    raise JoinError(f'{_where(path, number)}: write `@import "./shared/file.css";`; got {line.strip()!r}')
                visit(_resolve(path, match["path"], number, (".css",)), (*chain, path))
            else:
                kept.append(line)
        done.append(path)
        texts.append("\n".join(kept).strip("\n") + "\n")

    visit((WIDGETS / name).resolve(), ())
    return "\n".join(texts)
