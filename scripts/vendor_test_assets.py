"""(Re)create tests/browser/vendor/: JavaScript that only the browser tests inject into the pages.

    axe-core/   axe.min.js + LICENSE (MPL-2.0)   npm axe-core (accessibility rules)

tests/browser/test_quality.py injects axe.min.js into every built page with
Playwright's add_script_tag and fails on serious or critical violations. Nothing
here ships with the book.

The package is fetched with `npm pack` into a temporary folder, checked against its
registry integrity hash and read with tarfile: nothing is installed, no node_modules
is left behind. To bump the pin: `npm view axe-core@<version> dist.integrity`, update
AXE_CORE below, rerun, then rerun the browser tests (new axe versions add rules).

Usage: .venv/bin/python scripts/vendor_test_assets.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from vendor import npm_pack  # scripts/vendor.py: npm pack + integrity check

# (npm name, version, registry integrity from `npm view <name>@<version> dist.integrity`)
AXE_CORE = ("axe-core", "4.14.1",
            "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==")
AXE_FILES = ("axe.min.js", "LICENSE")

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "tests" / "browser" / "vendor"


def vendor_axe(work: Path, out: Path) -> None:
    out.mkdir(parents=True)
    with npm_pack(*AXE_CORE, work) as tar:
        for name in AXE_FILES:
            member = tar.getmember(f"package/{name}")
            (out / name).write_bytes(tar.extractfile(member).read())
    if f"axe v{AXE_CORE[1]}" not in (out / "axe.min.js").read_text()[:300]:
        sys.exit(f"axe.min.js does not announce version {AXE_CORE[1]} in its header")
    (out / "VERSION").write_text(
        f"{AXE_CORE[0]} {AXE_CORE[1]} ({AXE_CORE[2]})\n"
        "Written by scripts/vendor_test_assets.py; do not edit. Change the pin there and rerun.\n")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vendor-test-") as tmp:
        work, staged = Path(tmp) / "npm", Path(tmp) / "vendor"
        work.mkdir()
        vendor_axe(work, staged / "axe-core")
        # Replace tests/browser/vendor only now that everything succeeded.
        if VENDOR.exists():
            shutil.rmtree(VENDOR)
        shutil.copytree(staged, VENDOR)
    for path in sorted(VENDOR.rglob("*")):
        if path.is_file():
            print(f"{path.relative_to(ROOT)}  {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
