"""(Re)create book/vendor/: the JavaScript the book's pages load, so they work offline.

By default the pages would load require.js, the ipywidgets HTML manager, MathJax and
anywidget's front end from CDNs. This script copies pinned versions into book/vendor/
instead (_config.yml serves them as static files, next to book/widgets-shim.js):

    requirejs/      require.js                       npm requirejs
    html-manager/   embed-amd.js + Font Awesome      npm @jupyter-widgets/html-manager
    mathjax/        tex-chtml.js + fonts + TeX exts  npm mathjax (es5 build, trimmed)
    anywidget/      index.js (an AMD module)         the installed anywidget wheel

npm packages are fetched with `npm pack` into a temporary folder, checked against
their registry integrity hash and read with tarfile: nothing is installed, no
node_modules is left behind. anywidget's front end is copied from the installed
Python package, so the page and the kernel run the same version.

Usage: .venv/bin/python scripts/vendor.py   (or `make vendor`). Rerunnable: the
folder is rebuilt from scratch and replaced only when everything succeeded.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import importlib.metadata
import importlib.util
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# Pins: (npm name, version, registry integrity from `npm view <name>@<version> dist.integrity`).
HTML_MANAGER = ("@jupyter-widgets/html-manager", "1.0.15",
                "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==")
MATHJAX = ("mathjax", "3.2.2",
           "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==")
REQUIREJS = ("requirejs", "2.3.8",
             "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==")
ANYWIDGET_VERSION = "0.11.0"  # must match the installed wheel (requirements.txt)

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "book" / "vendor"

# Font Awesome 5 ships in five formats; every browser that can run anywidget's front
# end (2023+) picks woff2 first, so the .eot/.ttf/.svg/.woff copies (2.7 MB) are dropped.
FONT_FORMATS = ("woff2",)

# MathJax: the combined component tex-chtml.js (TeX in, CommonHTML out; it already
# contains the base, ams, newcommand, noundefined, require, autoload and configmacros
# TeX packages, the menu and assistive MathML). At run time it fetches only the CHTML
# fonts it needs and, when a page uses a macro like \boldsymbol or \cancel, the TeX
# package that `autoload` maps it to. Everything else (SVG output, MathML/AsciiMath
# input, other combined components, the speech engine, node builds) is left out.
MATHJAX_ENTRY = "tex-chtml.js"
MATHJAX_KEEP = [
    "es5/" + MATHJAX_ENTRY,
    "es5/output/chtml/fonts/woff-v2/*.woff",
    "es5/input/tex/extensions/*.js",
]
MATHJAX_DROP = [  # bundled in tex-chtml.js already, or only for tex-chtml-full.js
    f"es5/input/tex/extensions/{name}.js"
    for name in ("all-packages", "ams", "newcommand", "noundefined", "require",
                 "autoload", "configmacros")
]

MIT_LICENSE = """\
{copyright}

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify,
merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to the following
conditions:

The above copyright notice and this permission notice shall be included in all copies
or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE
OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def npm_pack(name: str, version: str, integrity: str, workdir: Path) -> tarfile.TarFile:
    """Download name@version with `npm pack`, check its integrity, open the tarball."""
    spec = f"{name}@{version}"
    result = subprocess.run(
        ["npm", "pack", spec, "--json", "--ignore-scripts", "--pack-destination", str(workdir)],
        cwd=workdir, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"npm pack {spec} failed:\n{result.stderr}")
    tgz = workdir / json.loads(result.stdout)[0]["filename"]
    algo, expected = integrity.split("-", 1)
    actual = base64.b64encode(hashlib.new(algo, tgz.read_bytes()).digest()).decode()
    if actual != expected:
        sys.exit(f"{spec}: integrity mismatch, expected {integrity}, got {algo}-{actual}")
    return tarfile.open(tgz)


def extract(tar: tarfile.TarFile, keep: list[str], dest: Path, *, strip: str = "",
            drop: tuple[str, ...] | list[str] = ()) -> list[Path]:
    """Copy the tarball's files matching `keep` (globs under package/) into dest."""
    written = []
    for member in tar.getmembers():
        path = member.name.removeprefix("package/")
        if not member.isfile() or path in drop:
            continue
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in keep):
            target = dest / path.removeprefix(strip)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())
            written.append(target)
    for pattern in keep:  # a pin bump that moves files must fail loudly
        if not any(fnmatch.fnmatchcase(str(p.relative_to(dest)), pattern.removeprefix(strip))
                   for p in written):
            sys.exit(f"{tar.name}: nothing matches {pattern!r}")
    return written


def vendor_requirejs(work: Path, out: Path) -> None:
    with npm_pack(*REQUIREJS, work) as tar:
        (script,) = extract(tar, ["require.js"], out)
    # The npm tarball has no LICENSE file; require.js's header names the licence.
    header = script.read_text().splitlines()[1]  # " * @license RequireJS 2.3.8 Copyright ..."
    if "MIT" not in script.read_text()[:400] or "Copyright" not in header:
        sys.exit("require.js: unexpected licence header")
    copyright_line = header.split("@license ", 1)[1].replace(f"RequireJS {REQUIREJS[1]} ", "")
    (out / "LICENSE").write_text(
        MIT_LICENSE.format(copyright=f"RequireJS: {copyright_line}"
                                     "\n(MIT, https://github.com/requirejs/requirejs/blob/master/LICENSE)"))


def vendor_html_manager(work: Path, out: Path) -> None:
    fonts = [f"dist/*.{ext}" for ext in FONT_FORMATS]
    with npm_pack(*HTML_MANAGER, work) as tar:
        written = extract(tar, ["dist/embed-amd.js", "dist/embed.js.LICENSE.txt", *fonts],
                          out, strip="dist/")
    bundle = (out / "embed-amd.js").read_text()
    for path in written:
        if path.suffix.lstrip(".") in FONT_FORMATS and path.name not in bundle:
            sys.exit(f"html-manager: {path.name} is not referenced by embed-amd.js")
    # The npm tarball has no LICENSE file; it is built from the ipywidgets repository,
    # whose BSD-3-Clause LICENSE the ipywidgets wheel carries.
    (out / "LICENSE").write_text(dist_license("ipywidgets"))


def vendor_mathjax(work: Path, out: Path) -> None:
    with npm_pack(*MATHJAX, work) as tar:
        extract(tar, MATHJAX_KEEP + ["LICENSE"], out, strip="es5/", drop=MATHJAX_DROP)


def vendor_anywidget(out: Path) -> None:
    installed = importlib.metadata.version("anywidget")
    if installed != ANYWIDGET_VERSION:
        sys.exit(f"anywidget {installed} is installed, the pin is {ANYWIDGET_VERSION}: "
                 "update ANYWIDGET_VERSION together with requirements.txt")
    package = Path(importlib.util.find_spec("anywidget").origin).parent
    source = package / "nbextension" / "index.js"
    if 'define(["@jupyter-widgets/base"]' not in source.read_text():
        sys.exit(f"{source} is no longer an AMD module depending on @jupyter-widgets/base")
    out.mkdir(parents=True)
    shutil.copyfile(source, out / "index.js")
    (out / "LICENSE").write_text(dist_license("anywidget"))


def dist_license(distribution: str) -> str:
    """The LICENSE text shipped in an installed wheel's .dist-info."""
    for file in importlib.metadata.distribution(distribution).files or []:
        if file.name in ("LICENSE", "LICENSE.txt", "LICENSE.md"):
            return file.read_text()
    sys.exit(f"no LICENSE file in the installed {distribution} wheel")


def write_versions(out: Path) -> None:
    rows = [(HTML_MANAGER[0], HTML_MANAGER[1], "npm", "html-manager"),
            (MATHJAX[0], MATHJAX[1], "npm (es5, trimmed)", "mathjax"),
            (REQUIREJS[0], REQUIREJS[1], "npm", "requirejs"),
            ("anywidget", ANYWIDGET_VERSION, "pip wheel", "anywidget")]
    lines = ["# Written by scripts/vendor.py; do not edit. Change the pins there and rerun.",
             f"{'package':31} {'version':8} {'source':19} {'folder':13} {'files':>5} {'bytes':>9}"]
    total_files = total_bytes = 0
    for package, version, source, folder in rows:
        files = [p for p in (out / folder).rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        total_files, total_bytes = total_files + len(files), total_bytes + size
        lines.append(f"{package:31} {version:8} {source:19} {folder + '/':13} {len(files):5} {size:9}")
    lines.append(f"{'total':73} {total_files:5} {total_bytes:9}")
    (out / "VERSIONS.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[1:]))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vendor-") as tmp:
        work, staged = Path(tmp) / "npm", Path(tmp) / "vendor"
        work.mkdir()
        vendor_requirejs(work, staged / "requirejs")
        vendor_html_manager(work, staged / "html-manager")
        vendor_mathjax(work, staged / "mathjax")
        vendor_anywidget(staged / "anywidget")
        write_versions(staged)
        # Replace book/vendor only now that everything succeeded.
        if VENDOR.exists():
            shutil.rmtree(VENDOR)
        shutil.copytree(staged, VENDOR)
    print(f"wrote {VENDOR.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
