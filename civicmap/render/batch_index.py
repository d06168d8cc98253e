"""The page ``civicmap batch`` writes beside the areas' folders: a link to each area's maps.

The page is for the map's readers (a town's residents open it to find their 町丁目), so it
speaks the map's language through the glossaries (``batch.*``; each link reads what it opens,
「ウェブ地図」, 「紙の地図（PDF）」, from ``batch.link.*``) and shows nothing of the
run: an area whose build failed reads 「この地区の地図は今回作れませんでした」, never the
error, which stays in the manifest and on the console for the organiser.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from civicmap import wording

#: Statuses whose area has its maps (built now, or built before and unchanged).
MADE = ("ok", "skipped")


def link_label(file: str, *, language: str) -> str:
    """What a link to one of an area's files reads: 「ウェブ地図」, 「紙の地図（PDF）」….

    The words are the glossary's ``batch.link.<extension>``; a file of another kind (a
    site's script, a tile folder) keeps its extension, or its name when it has none.
    """
    ext = Path(file).suffix.lstrip(".").lower()
    return wording.section(language, "batch.link").get(ext) or ext or file


def index_page(rows: Iterable[Mapping[str, Any]], *, language: str) -> str:
    """The index page of a batch, every name escaped.

    Parameters
    ----------
    rows
        The manifest rows: ``name``, ``key`` (the area's folder), ``status``, ``files``
        (relative to the folder) and ``places`` (layer → count).
    language
        The map's language (the first of ``language:``); a language without a glossary
        reads the Japanese one.
    """
    lang = language if language in wording.LANGUAGES else wording.SOURCE
    words = wording.words(lang)
    rows = list(rows)
    items = []
    for r in rows:
        links = []
        for f in r.get("files", []):
            href = html.escape(f"{r['key']}/{f}", quote=True)
            links.append(f'<a href="{href}">{html.escape(link_label(f, language=lang))}</a>')
        status = (
            ""
            if r["status"] in MADE
            else f' <span class="err">{html.escape(words["batch.failed"])}</span>'
        )
        count = sum((r.get("places") or {}).values())
        items.append(
            f"<li><b>{html.escape(r['name'])}</b> ({count}) {' '.join(links)}{status}</li>"
        )
    made = sum(1 for r in rows if r["status"] in MADE)
    title = html.escape(words["batch.title"])
    counted = html.escape(words["batch.count"].format(ok=made, total=len(rows)))
    tag = html.escape(wording.BCP47.get(lang, lang), quote=True)
    return (
        f'<!DOCTYPE html>\n<html lang="{tag}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>body{{font-family:sans-serif;margin:1em}}"
        ".err{color:#c92a2a}li{margin:.3em 0}</style></head><body>"
        f"<h1>{title}</h1><p>{counted}</p><ul>" + "\n".join(items) + "</ul></body></html>\n"
    )
