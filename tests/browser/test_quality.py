"""Quality of every page of the built book in a real browser, over http://127.0.0.1 and as file://.

For each page (intro, every chapter, the index and the search page), loaded once per mode:

- figures: every image of the article has real alt text (not the file name Sphinx
  puts there by default) or a caption;
- links: every internal link resolves to a file of the build, and its #anchor
  exists there (same-page anchors in the live page, other pages in their HTML);
  links to other hosts are not followed, only listed;
- solutions: every exercise solution is collapsed on load, and a click on its
  toggle button shows its content; so does every other toggle; the toggle
  buttons show keyboard focus;
- explorers: every known explorer (EXPLORERS) changes its readout on a key press
  and on a drag or click; a widget that is no known explorer fails the test, so
  that a new explorer gets exercised here;
- keyboard: Tab reaches every control of every explorer in turn (and leaves it
  again), each control shows focus and changes what the explorer shows from the
  keyboard, and every focusable element inside carries data-lm-suppress-shortcuts
  (JupyterLab's arrow-key shortcuts);
- accessibility: axe-core (tests/browser/vendor/axe-core, scripts/vendor_test_assets.py)
  finds no serious or critical violation, colour contrast included, with the
  solutions open;
- nothing of the above logs an error or makes a failed or external request.

A full-page screenshot of each page, taken after all checks (solutions open), goes
to test-artifacts/<page>.<mode>.quality.png.

The build checked is conftest's BUILD_HTML (_build/html), or the folder named by
the environment variable ATTN_COURSE_BUILD_HTML, e.g. a build made elsewhere with
`jupyter-book build . --path-output /tmp/b` (then ATTN_COURSE_BUILD_HTML=/tmp/b/_build/html).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from bs4 import BeautifulSoup

from support.browser import PageLog, wait_for_math
from support.paths import BUILD_HTML, CHECKED_PAGES, ROOT

pytestmark = [pytest.mark.book, pytest.mark.browser]

BUILD = BUILD_HTML
ARTIFACTS = ROOT / "test-artifacts"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
WIDGET_TIMEOUT = 15_000                          # ms for every widget of a page to render
CHANGE_TIMEOUT = 2_000                           # ms for a readout to react to a key, drag or click
CONTROL_TIMEOUT = 700                            # ms for one control of a live explorer to react to a key


# ---- The explorers this module knows how to drive ----------------------------

@dataclass(frozen=True)
class ExplorerType:
    """How to find one kind of explorer, read what it shows, and drive it."""

    name: str
    root: str                   # CSS selector of its root element (inside .widget-subarea)
    ready: str                  # selector inside the root that exists once it is drawn
    readout: str                # selector inside the root: the text that says what it shows
    key: str                    # the key pressed on the key target
    key_target: str | None      # selector inside the root; None: its first control in Tab order
    pointer: str                # "drag" (move by DRAG px) or "click"
    pointer_target: Callable    # root locator -> locator to drag or click (count 0: no pointer control)


DRAG = (45, -35)                # px: right and up

EXPLORERS = [
    ExplorerType(
        name="query/key explorer", root=".qk-explorer", ready=".qk-bar[data-weight]", readout=".qk-readout",
        key="ArrowRight", key_target=".qk-query", pointer="drag",
        pointer_target=lambda root: root.locator(".qk-query")),
    ExplorerType(
        name="decoding stepper", root=".ds-stepper", ready=".ds-readout", readout=".ds-readout",
        key="ArrowRight", key_target=".ds-figure", pointer="click",      # the heatmap takes the arrow keys
        pointer_target=lambda root: root.locator("button:not([aria-disabled='true'])").filter(
            has_text=re.compile(r"next|prev", re.I))),
    ExplorerType(
        name="multi-head explorer", root=".mh-explorer", ready=".mh-bar[data-weight]", readout=".mh-readout",
        key="ArrowRight", key_target=".mh-query", pointer="drag",
        pointer_target=lambda root: root.locator(".mh-query")),
]
ANY_EXPLORER = ", ".join(e.root for e in EXPLORERS)
# Widgets that are not explorers: tqdm's progress bars of training cells (an HBox of
# a label, an ipywidgets progress bar and a label). They show a finished state only.
NOT_EXPLORERS = ".widget-hprogress, .widget-hbox:has(.widget-hprogress)"

FOCUSABLE = ('a[href], area[href], button, input, select, textarea, iframe, summary, '
             '[tabindex], [contenteditable]:not([contenteditable="false"])')

# Installed once per loaded page as window.__q: small helpers the checks share.
HELPERS = """() => {
  const FOCUSABLE = %r;
  const path = (e) => {            // a short CSS selector, enough to find the element by eye
    const parts = [];
    for (let n = e; n && n.nodeType === 1 && parts.length < 4; n = n.parentElement) {
      if (n.id) { parts.unshift('#' + CSS.escape(n.id)); break; }
      const cls = [...n.classList].slice(0, 2).map((c) => '.' + CSS.escape(c)).join('');
      const same = n.parentElement ? [...n.parentElement.children].filter((s) => s.tagName === n.tagName) : [];
      parts.unshift(n.tagName.toLowerCase() + cls + (same.length > 1 ? `:nth-of-type(${same.indexOf(n) + 1})` : ''));
    }
    return parts.join(' > ');
  };
  const label = (e) => {           // a control, for a reader of the test's report
    const name = e.getAttribute('aria-label') || e.textContent.trim();
    return e.tagName.toLowerCase() + (e.tagName === 'INPUT' ? `[type=${e.type}]` : '') + [...e.classList].map((c) => '.' + c).join('')
           + (name ? ` "${name.slice(0, 50)}"` : '');
  };
  const shown = (e) => e.checkVisibility({visibilityProperty: true, opacityProperty: true})
                       && e.getClientRects().length > 0;
  const focusable = (root) => [...root.querySelectorAll(FOCUSABLE)].filter((e) => !e.disabled);
  // In the Tab order: rendered (an invisible radio styled as a chip still counts), and of
  // a radio group only the checked radio (or the first, when none is checked), as browsers do.
  const rendered = (e) => e.checkVisibility({visibilityProperty: true}) && e.getClientRects().length > 0;
  const radioStop = (e) => {
    if (e.type !== 'radio' || !e.name) return true;
    const group = [...document.querySelectorAll(`input[type=radio][name="${CSS.escape(e.name)}"]`)];
    return e === (group.find((g) => g.checked) || group[0]);
  };
  const tabbable = (root) => focusable(root).filter((e) => e.tabIndex >= 0 && rendered(e) && radioStop(e));
  // What an explorer shows, as far as a reader or a screen reader can tell.
  const state = (root) => [root.innerText,
    ...[...root.querySelectorAll('input, select, textarea')].map((e) => e.value),
    ...[...root.querySelectorAll('[aria-label], [aria-valuetext], [aria-valuenow], [aria-pressed], [aria-selected]')]
       .map((e) => ['aria-label', 'aria-valuetext', 'aria-valuenow', 'aria-pressed', 'aria-selected']
                   .map((a) => e.getAttribute(a)).join('|'))].join('\\n');
  const focusRing = (e) => {
    // An invisible input (a radio drawn as a chip) shows its focus on what draws it.
    const drawn = shown(e) ? e : (e.nextElementSibling || e.closest('label') || e);
    const s = getComputedStyle(drawn);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
    return {visible: e.matches(':focus-visible') && (outline || s.boxShadow !== 'none'),
            outline: `${s.outlineStyle} ${s.outlineWidth}`, boxShadow: s.boxShadow};
  };
  // The content of a toggle (everything but its title) is on screen.
  const opened = (box) => [...box.children].filter((c) => !c.matches('.admonition-title, summary'))
                            .some((c) => shown(c) && c.offsetHeight > 0);
  window.__q = {path, label, shown, focusable, tabbable, state, focusRing, opened};
}""" % FOCUSABLE


# ---- Pages -------------------------------------------------------------------

@dataclass
class Loaded:
    """One page, loaded once per mode and shared by this module's tests."""

    page: object
    log: PageLog
    mode: str
    base: str
    path: str
    toggles_at_load: list[dict] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Loaded({self.where()})"

    def where(self) -> str:
        return f"{self.path} ({self.mode})"

    def file_of(self, url: str) -> Path | None:
        """The build file a URL of this mode points to; None if it is not one of ours."""
        u = urlparse(url)
        if self.mode == "http":
            if u.scheme != "http" or u.netloc != urlparse(self.base).netloc:
                return None
            target = BUILD / unquote(u.path).lstrip("/")
        else:
            if u.scheme != "file":
                return None
            target = Path(unquote(u.path))
        return target / "index.html" if unquote(u.path).endswith("/") else target


@lru_cache(maxsize=None)
def anchors_in(file: Path) -> frozenset[str]:
    """The ids (and <a name>s) in a built HTML file, as Sphinx wrote them."""
    soup = BeautifulSoup(file.read_text(encoding="utf-8"), "html.parser")
    return frozenset([t["id"] for t in soup.find_all(id=True)] + [t["name"] for t in soup.find_all("a", attrs={"name": True})])


@pytest.fixture(scope="module", autouse=True)
def axe_is_vendored():
    assert AXE.exists(), f"{AXE} is missing: run scripts/vendor_test_assets.py"


@pytest.fixture(scope="module", params=[(m, p) for m in ("http", "file") for p in CHECKED_PAGES],
                ids=lambda mp: f"{mp[0]}:{mp[1]}")
def loaded(request, browser, server):
    """The page loaded, its math typeset and its widgets drawn; a screenshot at the end."""
    mode, path = request.param
    if not (BUILD / path).exists():
        pytest.fail(f"{path} is not in the build {BUILD}")
    base = server.url if mode == "http" else BUILD.as_uri()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = PageLog(mode)
    log.attach(page)
    page.goto(f"{base}/{path}", wait_until="load")
    wait_for_math(page)
    page.evaluate(HELPERS)
    views = page.evaluate("document.querySelectorAll('script[type=\"application/vnd.jupyter.widget-view+json\"]').length")
    if views and not changed(page, "() => document.querySelectorAll('.widget-subarea > *').length >= " + str(views),
                             None, "false", WIDGET_TIMEOUT):
        pytest.fail(f"{path} ({mode}): {views} widget views, not all drawn after {WIDGET_TIMEOUT} ms")
    for kind in EXPLORERS:
        if not changed(page, f"() => [...document.querySelectorAll({kind.root!r})].every((r) => r.querySelector("
                             f"{kind.ready!r}))", None, "false", WIDGET_TIMEOUT):
            pytest.fail(f"{path} ({mode}): a {kind.name} ({kind.root}) has no {kind.ready} after {WIDGET_TIMEOUT} ms")
    toggles = page.evaluate("""() => [...document.querySelectorAll('.solution, .toggle')].map((box) => ({
        path: __q.path(box), solution: box.classList.contains('solution'),
        open: __q.opened(box), hasButton: !!box.querySelector('.toggle-button')}))""")
    loaded = Loaded(page, log, mode, base, path, toggles)
    yield loaded
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")   # no focus ring, header on top
    page.screenshot(path=str(ARTIFACTS / f"{path.replace('/', '_')}.{mode}.quality.png"), full_page=True)
    page.close()


def fail_on(problems: list[str], loaded: Loaded) -> None:
    assert not problems, f"{loaded.where()}:\n  " + "\n  ".join(problems)


def open_all_toggles(page) -> None:
    for button in page.locator(".toggle-button[aria-expanded='false']").all():
        button.click()
    page.wait_for_function("() => [...document.querySelectorAll('.toggle')].every((b) => __q.opened(b))",
                           timeout=CHANGE_TIMEOUT)
    # sphinx-togglebutton fades the content in: wait until no animation or transition runs,
    # or axe would measure half-transparent text as low contrast.
    page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')",
                           timeout=CHANGE_TIMEOUT)


def changed(page, expression: str, arg, old: str, timeout: int = CHANGE_TIMEOUT) -> bool:
    """Wait up to timeout ms for `expression(arg)` to differ from old (compared as strings)."""
    try:
        page.wait_for_function(f"([arg, old]) => String(({expression})(arg)) !== old", arg=[arg, old], timeout=timeout)
        return True
    except Exception as error:                          # playwright's TimeoutError
        if "Timeout" not in type(error).__name__:
            raise
        return False


# ---- Tests -------------------------------------------------------------------

def test_figures_have_alt_text_or_caption(loaded):
    found = loaded.page.evaluate(r"""() => {
        const article = document.querySelector('article.bd-article') || document.querySelector('.bd-article-container')
                        || document.querySelector('main') || document.body;
        const caption = (e) => { const f = e.closest('figure'); const c = f && f.querySelector(':scope > figcaption');
                                 return c ? c.textContent.trim() : ''; };
        const bad = [];
        for (const img of article.querySelectorAll('img')) {
            const alt = (img.getAttribute('alt') || '').trim();
            const src = img.getAttribute('src') || '';
            // Sphinx writes the image's path as alt when none is given: that is no alt text.
            const placeholder = !alt || alt === src || /\.(png|jpe?g|gif|svg|webp)$/i.test(alt)
                                || src.endsWith(alt.split('/').pop());
            if (placeholder && !caption(img)) bad.push(`img ${__q.path(img)} (src ${src}, alt ${JSON.stringify(alt)})`);
        }
        for (const svg of article.querySelectorAll('svg[role="img"], [role="img"]:not(svg)')) {
            if (svg.closest('[aria-hidden="true"]')) continue;          // decorative, e.g. an icon in a named button
            const name = (svg.getAttribute('aria-label') || '').trim() || (svg.getAttribute('aria-labelledby') || '')
                         || (svg.querySelector(':scope > title') || {}).textContent;
            if (!name && !caption(svg)) bad.push(`role=img ${__q.path(svg)} without a name`);
        }
        for (const fig of article.querySelectorAll('figure')) {
            if (!fig.querySelector('img, svg, [role="img"]') && !caption(fig))
                bad.push(`figure ${__q.path(fig)} with neither an image nor a caption`);
        }
        return bad;
    }""")
    fail_on(found, loaded)


def test_links_and_anchors_resolve(loaded, record_property):
    page = loaded.page
    links = page.evaluate("""() => [...document.querySelectorAll('a[href], area[href]')].map((a) => ({
        href: a.getAttribute('href'), url: a.href, text: a.textContent.trim().slice(0, 40), path: __q.path(a)}))""")
    here = (BUILD / loaded.path).resolve()
    problems, external = [], set()
    for link in links:
        url = urlparse(link["url"])
        what = f"link {link['href']!r} ({link['text']!r} at {link['path']})"
        if url.scheme == "javascript":
            problems.append(f"{what}: a javascript: link")
            continue
        target = loaded.file_of(link["url"])
        if target is None:
            external.add(link["url"])                   # another host, mailto:, ...: not followed
            continue
        target = target.resolve()
        if not target.is_relative_to(BUILD):
            problems.append(f"{what}: points outside the build, to {target}")
            continue
        if not target.is_file():
            problems.append(f"{what}: no such file {target.relative_to(BUILD)}")
            continue
        anchor = unquote(url.fragment)
        if not anchor:
            continue
        if target == here:
            exists = page.evaluate("(a) => !!(document.getElementById(a) || document.getElementsByName(a).length)",
                                   anchor)
        else:
            exists = target.suffix != ".html" or anchor in anchors_in(target)
        if not exists:
            problems.append(f"{what}: no anchor #{anchor} in {target.relative_to(BUILD)}")
    record_property("external_links", sorted(external))
    if external:
        print(f"{loaded.where()}: external links, not followed: {sorted(external)}")
    fail_on(problems, loaded)


def test_solutions_collapsed_on_load_and_open_on_click(loaded):
    page, problems = loaded.page, []
    for box in loaded.toggles_at_load:
        kind = "solution" if box["solution"] else "toggle"
        if box["open"] and box["solution"]:
            problems.append(f"{kind} {box['path']} is open on load (make it a dropdown: `:class: dropdown`)")
        if not box["hasButton"]:
            problems.append(f"{kind} {box['path']} has no toggle button")
    for i, button in enumerate(page.locator(".toggle-button").all()):
        box = button.evaluate("(b) => __q.path(b.closest('.toggle'))")
        box_handle = button.evaluate_handle("(b) => b.closest('.toggle')")
        if button.get_attribute("aria-expanded") == "true":
            continue                                    # opened by an earlier test of this module
        if i == 0:
            # Keyboard: the toggle button follows the title's link in the Tab order and shows focus.
            button.evaluate("(b) => { const t = b.closest('.toggle').querySelector('.admonition-title'); "
                            "const a = t && t.querySelector('a[href]'); (a || t).focus(); }")
            page.keyboard.press("Tab")
            ring = page.evaluate("() => document.activeElement.classList.contains('toggle-button') "
                                 "? __q.focusRing(document.activeElement) : null")
            if ring is None:
                problems.append(f"toggle {box}: Tab from its title does not reach its toggle button")
            elif not ring["visible"]:
                problems.append(f"toggle {box}: the focused toggle button shows no focus ({ring})")
        button.click()
        if not changed(page, "(b) => __q.opened(b)", box_handle, "false"):
            problems.append(f"toggle {box}: its content stays hidden after a click on its toggle button")
        elif button.get_attribute("aria-expanded") != "true":
            problems.append(f"toggle {box}: open, but its button says aria-expanded="
                            f"{button.get_attribute('aria-expanded')!r}")
    fail_on(problems, loaded)


def explorers_on(page) -> tuple[list[tuple[ExplorerType, object]], list[str]]:
    """Every known explorer on the page (type, root locator), and the widgets that are none."""
    unknown = page.evaluate("""([known, NOT_EXPLORERS]) => [...document.querySelectorAll('.widget-subarea > div')]
        .filter((w) => !w.matches(known) && !w.querySelector(known) && !w.matches(NOT_EXPLORERS))
        .map((w) => `${__q.path(w)} > ${[...w.querySelectorAll('*')].slice(0, 3)
                       .map((e) => e.tagName.toLowerCase() + [...e.classList].map((c) => '.' + c).join('')).join(' > ')}`)""",
                            [ANY_EXPLORER, NOT_EXPLORERS])
    found = [(kind, root) for kind in EXPLORERS for root in page.locator(kind.root).all()]
    return found, unknown


def test_explorers_are_live(loaded):
    page, problems = loaded.page, []
    found, unknown = explorers_on(page)
    problems += [f"widget that is no known explorer: {w}; add its type to EXPLORERS in "
                 f"tests/browser/test_quality.py so that it is exercised" for w in unknown]
    read = "(e) => e.textContent"
    for n, (kind, root) in enumerate(found):
        name = f"{kind.name} #{n + 1} ({root.evaluate('(r) => __q.path(r)')})"
        root.scroll_into_view_if_needed()
        readout = root.locator(kind.readout)
        if readout.count() != 1:
            problems.append(f"{name}: expected one {kind.readout}, found {readout.count()}")
            continue
        handle = readout.element_handle()
        # A key press on its key control.
        target = root.locator(kind.key_target) if kind.key_target else None
        if target is None or target.count() == 0:
            index = root.evaluate("(r) => { const t = __q.tabbable(r); t.forEach((e, i) => e.dataset.qTab = i); "
                                  "return t.length; }")
            target = root.locator("[data-q-tab='0']") if index else None
        if target is None:
            problems.append(f"{name}: nothing to focus for the key press")
        else:
            before = readout.text_content()
            target.first.focus()
            page.keyboard.press(kind.key)
            if not changed(page, read, handle, before):
                problems.append(f"{name}: {kind.key} on {kind.key_target or 'its first control'} "
                                f"leaves {kind.readout} at {before!r}")
        # A drag or a click.
        pointer = kind.pointer_target(root)
        if pointer.count() == 0:
            if kind.pointer == "drag":
                problems.append(f"{name}: nothing to drag")
            continue                                    # a click target is optional (the keys suffice)
        before = readout.text_content()
        box = pointer.first.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        if kind.pointer == "drag":
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + DRAG[0], y + DRAG[1], steps=6)
            page.mouse.up()
        else:
            page.mouse.click(x, y)
        if not changed(page, read, handle, before):
            problems.append(f"{name}: a {kind.pointer} on it leaves {kind.readout} at {before!r}")
    fail_on(problems, loaded)


KEYS = {"BUTTON": ["Enter"], "SELECT": ["ArrowDown", "ArrowUp"]}   # other controls: OTHER_KEYS
OTHER_KEYS = ["ArrowRight", "ArrowLeft", "Enter"]


def operate_by_keyboard(page, root, controls: list[dict]) -> list[str]:
    """Every control (marked data-q-tab=i) changes what the explorer shows from the keyboard.

    A <button> with Enter, a <select> with ArrowDown/ArrowUp (unless it has a single
    option), any other control with ArrowRight, else ArrowLeft (it may sit at its
    maximum), else Enter. A control that is aria-disabled on its turn (a "previous"
    button on the first step) or that changes nothing gets up to four more chances,
    each after one of the controls that did work has moved the explorer.
    """
    state, handle = "(r) => __q.state(r)", root.element_handle()
    keys_of = lambda i: KEYS.get(controls[i]["tag"], OTHER_KEYS)          # noqa: E731
    locator = lambda i: root.locator(f"[data-q-tab='{i}']")               # noqa: E731
    disabled = lambda i: locator(i).get_attribute("aria-disabled") == "true"  # noqa: E731

    def press(i: int, key: str) -> bool:
        before = root.evaluate(state)
        locator(i).focus()
        page.keyboard.press(key)
        return changed(page, state, handle, before, CONTROL_TIMEOUT)

    def operate(i: int) -> str | None:
        return next((key for key in keys_of(i) if press(i, key)), None)

    worked, later = {}, []
    for i in range(len(controls)):
        if controls[i]["choices"] is not None and controls[i]["choices"] < 2:
            continue                                    # a <select> with one option: nothing to change
        key = None if disabled(i) else operate(i)
        if key:
            worked[i] = key
        else:
            later.append(i)
    def after_moving(i: int) -> bool:
        for j, key in list(worked.items())[:4]:
            press(j, key)                               # move the explorer, then try again
            if not disabled(i) and operate(i):
                return True
        return False

    problems = []
    for i in later:
        if after_moving(i):
            continue
        problems.append(f"{controls[i]['path']} stays aria-disabled whatever the other controls do" if disabled(i)
                        else f"{controls[i]['path']} changes nothing on {' / '.join(keys_of(i))}")
    return problems


def test_explorers_work_by_keyboard_alone(loaded):
    page, problems = loaded.page, []
    found, _ = explorers_on(page)                       # unknown widgets fail test_explorers_are_live
    for n, (kind, root) in enumerate(found):
        name = f"{kind.name} #{n + 1} ({root.evaluate('(r) => __q.path(r)')})"
        root.scroll_into_view_if_needed()
        unsuppressed = root.evaluate("(r) => __q.focusable(r).filter((e) => !e.hasAttribute("
                                     "'data-lm-suppress-shortcuts')).map(__q.label)")
        problems += [f"{name}: focusable {e} lacks data-lm-suppress-shortcuts" for e in unsuppressed]
        controls = root.evaluate("(r) => { const t = __q.tabbable(r); t.forEach((e, i) => e.dataset.qTab = i); "
                                 "return t.map((e) => ({path: __q.label(e), tag: e.tagName, "
                                 "choices: e.tagName === 'SELECT' ? e.options.length : null})); }")
        if not controls:
            problems.append(f"{name}: no control reachable with Tab")
            continue
        # Tab from just before the explorer: each control in turn, with a visible focus, then out.
        root.evaluate("(r) => { const s = document.createElement('button'); s.id = 'q-sentinel'; "
                      "s.textContent = 'before'; r.before(s); s.focus(); }")
        for i in range(len(controls) + 1):
            page.keyboard.press("Tab")
            now = root.evaluate("(r) => { const e = document.activeElement; return {inside: r.contains(e), "
                                "tab: e.dataset.qTab ?? null, path: __q.label(e), ring: __q.focusRing(e)}; }")
            if i < len(controls):
                if now["tab"] != str(i):
                    problems.append(f"{name}: Tab {i + 1} from before it reached {now['path']}, "
                                    f"expected {controls[i]['path']}")
                    break
                if not now["ring"]["visible"]:
                    problems.append(f"{name}: {now['path']} shows no focus ({now['ring']})")
            elif now["inside"]:
                problems.append(f"{name}: Tab from its last control stays inside, at {now['path']} (a trap?)")
        page.evaluate("() => document.getElementById('q-sentinel').remove()")
        problems += [f"{name}: {p}" for p in operate_by_keyboard(page, root, controls)]
    fail_on(problems, loaded)


def test_no_serious_accessibility_violations(loaded, record_property):
    page = loaded.page
    open_all_toggles(page)                              # check the solutions' content too
    if not page.evaluate("!!window.axe"):
        page.add_script_tag(path=str(AXE))
    # axe fetches the stylesheets again (XHR) for its CSSOM rules; file:// pages may not
    # (CORS), so there it reads only what the page already has.
    violations = page.evaluate("""async (preload) => (await axe.run(document, {resultTypes: ['violations'], preload}))
        .violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({
            target: n.target.join(' '), html: n.html.slice(0, 160),
            summary: (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 240)}))}))""", loaded.mode == "http")
    minor = [f"{v['id']} ({v['impact']}): {len(v['nodes'])} node(s)" for v in violations
             if v["impact"] not in FAILING_IMPACTS]
    record_property("axe_minor", minor)
    if minor:
        print(f"{loaded.where()}: axe, not failing: {minor}")
    problems = [f"axe {v['id']} ({v['impact']}: {v['help']}) at {n['target']}: {n['summary']} | {n['html']}"
                for v in violations if v["impact"] in FAILING_IMPACTS for n in v["nodes"]]
    fail_on(problems, loaded)


def test_no_errors_during_the_checks(loaded):
    """Runs last for each page: covers the load and everything the tests above did."""
    fail_on(loaded.log.problems(), loaded)
