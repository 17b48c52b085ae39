"""Sphinx extension: drop repeated <script> entries from each page.

sphinx-thebe (pulled in by Jupyter Book 1) registers its configuration script on every ``env-before-read-docs``,
which fires more than once in a Jupyter Book build; the repeated ``const THEBE_JS_URL`` is then a JavaScript error
on every page.  Keeping the first copy of each script fixes that without touching the theme.
"""


def _dedupe(app, pagename, templatename, context, doctree) -> None:
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", str(script)) or "", repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    if "script_files" in context:
        context["script_files"][:] = unique


def setup(app):
    # html-page-context is emitted with emit_firstresult: run first, so that no earlier handler can stop us
    app.connect("html-page-context", _dedupe, priority=1)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
