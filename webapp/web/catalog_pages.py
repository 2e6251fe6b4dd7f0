"""The Catalog page (every member): one search box across the schemas of every source of the
organization, results grouped by source, a page at a time (a plain GET form; with htmx it
searches as you type and swaps only the results)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from markupsafe import Markup, escape

from ..dialects import DIALECTS
from ..sources import catalog_search as uc
from . import bp
from .access import current_org, viewer_required

RESULTS_ID = "catalog-results"


def highlight(text: str | None, needle: str) -> Markup:
    """`text` escaped, each case-insensitive occurrence of `needle` in a <mark>."""
    if not text:
        return Markup("")
    if not needle:
        return escape(text)
    lowered, owner = text.lower(), list(range(len(text)))
    if len(lowered) != len(text):  # a character whose lower case is longer (İ → i̇)
        parts = [(ch.lower(), i) for i, ch in enumerate(text)]
        lowered = "".join(low for low, _ in parts)
        owner = [i for low, i in parts for _ in low]
    needle = needle.lower()
    pieces, done, at = [], 0, lowered.find(needle)
    while at != -1:
        start, end = owner[at], owner[at + len(needle) - 1] + 1
        if start >= done:
            pieces.append(escape(text[done:start]))
            pieces.append(Markup("<mark>%s</mark>") % text[start:end])
            done = end
        at = lowered.find(needle, at + len(needle))
    pieces.append(escape(text[done:]))
    return Markup("").join(pieces)


def _page_number() -> int:
    text = request.args.get("page", "1")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 1


@bp.route("/catalog")
@viewer_required
def catalog() -> Any:
    """Find a table or a column by name or comment across every source."""
    text = uc.clean_text(request.args.get("q", ""))
    results = uc.search(current_org(), text, _page_number())

    def page_url(n: int) -> str:
        return url_for("web.catalog", q=text or None, page=n if n > 1 else None)

    context = {
        "results": results,
        "text": text,
        "page_url": page_url,
        "mark": lambda value: highlight(value, text),
        "dialects": DIALECTS,
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == RESULTS_ID:
        return render_template("catalog/_results.html", **context)
    return render_template("catalog/search.html", **context)
