"""Sphinx extension: search results with their lines of text in a book opened from ``file://``.

Sphinx's search page shows, under each result, the lines around the match, which it reads by fetching the result's
page; a browser refuses ``fetch()`` on ``file://`` URLs, so a book opened from disk listed titles only. At the end of
the build this writes the text of every page (its article, with the sections that search results link to) into
``_static/search_text.js``, loaded by the search page alone, which answers that fetch from it when the page is read
from ``file://``; served over HTTP the search fetches the pages as usual.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: Tags whose edges separate words: replaced by a space, every other tag (inline: span, a, em, code) by nothing.
BLOCK = ("p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "td", "th", "table", "thead", "tbody", "pre", "br",
         "h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption", "blockquote", "details", "summary", "img")

SHIM = """
(function () {  // answer the search page's fetch of a page from IH_PAGE_TEXT when the book is read from file://
  if (window.location.protocol !== "file:" || !window.fetch) return;
  const pages = window.IH_PAGE_TEXT, fetchPage = window.fetch.bind(window);
  window.fetch = function (resource, options) {
    const url = new URL(typeof resource === "string" ? resource : resource.url, document.baseURI);
    const root = new URL(document.documentElement.dataset.content_root || "./", document.baseURI);
    const name = url.pathname.startsWith(root.pathname)
      ? decodeURIComponent(url.pathname.slice(root.pathname.length)).replace(/\\.html$/, "") : null;
    if (name !== null && Object.prototype.hasOwnProperty.call(pages, name))
      return Promise.resolve(new Response(pages[name], {headers: {"Content-Type": "text/html"}}));
    return fetchPage(resource, options);
  };
})();
"""


def page_text(html: str) -> str | None:
    """The article of a built page as the search reads it: its text, inside its ``<section id=...>`` elements (a
    result that points at a section shows that section's lines), under ``role="main"``; None for a page without one."""
    start, end = html.find('<article class="bd-article">'), html.rfind("</article>")
    if start < 0 or end < 0:
        return None
    body = html[start:end]
    body = re.sub(r"<(script|style|svg)\b.*?</\1\s*>", " ", body, flags=re.S | re.I)
    body = re.sub(r'<a class="headerlink".*?</a>', "", body, flags=re.S)  # the "#" after each heading
    body = re.sub(r"<section\b[^>]*?\s(id=\"[^\"]*\")[^>]*>", r"<section \1>", body)
    body = re.sub(r"</?(?:%s)\b[^>]*>" % "|".join(BLOCK), " ", body, flags=re.I)
    body = re.sub(r"<(?!/?section\b)[^>]*>", "", body)
    return '<div role="main">' + re.sub(r"\s+", " ", body).strip() + "</div>"


def _add_to_search_page(app, pagename, templatename, context, doctree) -> None:
    if pagename == "search":
        app.add_js_file("search_text.js")  # added in html-page-context: this page only


def _write(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    pages = {}
    for docname in sorted(app.env.found_docs):
        path = out / f"{docname}{app.builder.out_suffix}"
        text = page_text(path.read_text(encoding="utf-8")) if path.exists() else None
        if text:
            pages[docname] = text
    data = json.dumps(pages, ensure_ascii=False).replace("</", "<\\/")
    (out / "_static").mkdir(exist_ok=True)
    (out / "_static" / "search_text.js").write_text(f"window.IH_PAGE_TEXT = {data};\n{SHIM}", encoding="utf-8")


def setup(app):
    app.connect("html-page-context", _add_to_search_page)
    app.connect("build-finished", _write)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
