"""Small fixes to the built pages, as a local Sphinx extension.

sphinx-thebe 0.3.1 registers its inline script twice under Sphinx 7.4, once with
filename None and once with '' (so Sphinx's own duplicate check misses it), and
every page then logs "Identifier 'THEBE_JS_URL' has already been declared".
We drop repeated identical <script> entries before each page is written.

The bibliography (sphinxcontrib-bibtex through docutils) is a role="list" whose entries
have role="doc-biblioentry": axe reports "aria-required-children" (a list must own
listitems). Each entry becomes a plain listitem; the label and text are unchanged.
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for js in context.get("script_files", []):
        key = (js.filename or "", js.priority, tuple(sorted(js.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def _bibliography_list_items(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("html-page-context", _bibliography_list_items, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
