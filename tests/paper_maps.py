"""The real-data maps the paper tests build (金沢市 shelters, 富山市 nurseries), written once."""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

DATA = Path(__file__).parent / "data"
GSI = DATA / "shelters" / "gsi"
TOYAMA_CSV = DATA / "childcare" / "toyama" / "toyama_nurseryFacilities_utf8bom.csv"


def kanazawa_raw() -> dict:
    """金沢市 (17201): the GSI 指定避難所 and 指定緊急避難場所 lists as two layers, no OSM."""
    return {
        "title": "金沢市の避難所",
        "area": {"municipality": "17201"},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [
            {"id": "hinanjo", "title": {"ja": "指定避難所", "en": "Shelters"},
             "style": {"symbol": "triangle", "color": "#2b8a3e"},
             "sources": [{"geojson": {"path": str(GSI / "evacuation_172014.json")}}]},
            {"id": "basho", "title": {"ja": "指定緊急避難場所", "en": "Evacuation sites"},
             "style": {"symbol": "square", "color": "#e8590c"},
             "sources": [{"geojson": {"path": str(GSI / "emergency_172014.json")}}]},
        ],
    }  # fmt: skip


def toyama_raw() -> dict:
    """富山市's 159 located nurseries and kindergartens, no OSM."""
    return {
        "title": "富山市の保育施設",
        "area": {"bbox": [137.0, 36.45, 137.55, 36.8]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [{"id": "childcare", "title": {"ja": "保育施設", "en": "Childcare"},
                    "sources": [{"csv": {"path": str(TOYAMA_CSV)}}]}],
    }  # fmt: skip


def pdf_words(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Each page's words as poppler reads them back: (x0, y0, x1, y1, word)."""
    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pat = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [
        [(float(a), float(b), float(c), float(d), html.unescape(w)) for a, b, c, d, w in
         re.findall(pat, page)]
        for page in out.split("<page ")[1:]
    ]  # fmt: skip


def overlapping_words(words: list[tuple[float, float, float, float, str]]) -> list[tuple[str, str]]:
    """The pairs of words of one page whose boxes overlap by more than 0.3 pt both ways."""
    ws = sorted(words)
    bad = []
    for i, a in enumerate(ws):
        for b in ws[i + 1 :]:
            if b[0] >= a[2] - 0.3:
                break
            if (min(a[2], b[2]) - max(a[0], b[0]) > 0.3
                    and min(a[3], b[3]) - max(a[1], b[1]) > 0.3):  # fmt: skip
                bad.append((a[4], b[4]))
    return bad
