"""The suite's own rule for browsers: without Chromium the browser tests are set aside with one
line saying how to enable them (never a silent pass); where browsers are required (CI), they fail."""

import os
import subprocess
import sys

from support.browser import HOW_TO_ENABLE
from support.paths import ROOT

BROWSER_ONLY = "tests/lab/test_explorers.py"          # three tests, all marked browser
MIXED = ["tests/lab/test_explorers.py",
         "tests/book/test_launch.py::test_binder_installs_the_pinned_cpu_set_and_the_package"]


def run_pytest(*args: str, require: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ATTN_COURSE_REQUIRE_BROWSER"}
    env["CHROMIUM"] = "/nonexistent/chromium"
    if require:
        env["ATTN_COURSE_REQUIRE_BROWSER"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_without_chromium_the_browser_tests_are_set_aside_with_one_line():
    run = run_pytest(*MIXED, require=False)
    lines = [line for line in run.stdout.splitlines() if "Chromium" in line]
    assert lines == [f"SKIPPED 3 tests: {HOW_TO_ENABLE}"], run.stdout
    assert run.returncode == 0, run.stdout
    assert "1 passed, 3 deselected" in run.stdout, run.stdout


def test_where_browsers_are_required_a_missing_chromium_fails():
    run = run_pytest(BROWSER_ONLY, require=True)
    assert run.returncode == 1, run.stdout
    assert "ATTN_COURSE_REQUIRE_BROWSER is set" in run.stdout, run.stdout
    assert "SKIPPED" not in run.stdout, run.stdout
