"""Furigana on the paper map in やさしい日本語: on every kanji of its fixed texts, never overlapping.

The demo drawn in ``ja-easy``: every line the sheet prints is recorded as it is drawn; each
kanji of it either carries a reading (set above it by ``render/_fonts.py``) or belongs to the
data (a name, an address, the author's title and notes, a credit). The PDF read back with
``pdftotext -bbox`` has no two words (readings included) overlapping.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import pytest
from paths import ROOT

from civicmap.pipeline import collect
from civicmap.render import _fonts
from civicmap.render.background import map_credits
from civicmap.render.paper import render_paper
from civicmap.spec.mapfile import load_map

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed"),
]
KANJI = re.compile(r"[\u3400-\u9fff々]+")


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ruby")
    for f in (ROOT / "civicmap" / "data" / "demo").iterdir():
        shutil.copy(f, folder / f.name)
    text = (folder / "demo.yaml").read_text(encoding="utf-8")
    (folder / "demo.yaml").write_text(text.replace("language: ja", "language: ja-easy"), "utf-8")
    spec = load_map(folder / "demo.yaml")
    data = collect(spec)
    lines: list[tuple[str, list]] = []
    original = _fonts.draw_text

    def recording(c, x, y, text, size, **kw):
        lines.append((text, _fonts._ruby.spans(text)))
        return original(c, x, y, text, size, **kw)

    mp = pytest.MonkeyPatch()
    for module in list(__import__("sys").modules.values()):
        if getattr(module, "draw_text", None) is original and module.__name__.startswith(
            "civicmap.render"
        ):
            mp.setattr(module, "draw_text", recording)
    try:
        pdf, _plan = render_paper(data)
    finally:
        mp.undo()
    path = folder / "easy.pdf"
    path.write_bytes(pdf)
    # the credits as the sources give them, without the sheet's own 「日付がわかりません」
    strings = [spec.title, spec.subtitle, spec.notes, *(c.line() for c in map_credits(data))]
    frames = [layer.features for layer in data.layers]
    frames += [data.basemap] if data.basemap is not None else []
    for frame in frames:
        for col in frame.columns:
            if col != "geometry":
                strings += [str(v) for v in frame[col] if isinstance(v, str)]
    blob = re.sub(r"\s+", "", "\n".join(strings))
    return lines, path, blob


def test_every_kanji_of_a_fixed_text_carries_its_reading(drawn):
    lines, _path, blob = drawn
    assert sum(1 for _t, sp in lines if sp) > 30  # the sheet's words have readings
    bare = []
    for text, spans in lines:
        covered = set()
        for start, end, reading in spans:
            assert reading and re.fullmatch(r"[\u3041-\u309fー]+", reading), (text, reading)
            covered |= set(range(start, end))
        for m in KANJI.finditer(text):
            rest = "".join(ch for i, ch in enumerate(m.group(), m.start()) if i not in covered)
            if rest and m.group() not in blob:
                bare.append((text, m.group()))
    assert not bare, bare[:10]


def test_readings_are_set_above_their_base_and_never_overlap(drawn):
    _lines, path, _blob = drawn
    out = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    pat = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    pages = [
        [(float(a), float(b), float(c), float(d), html.unescape(w)) for a, b, c, d, w in
         re.findall(pat, page)]
        for page in out.split("<page ")[1:]
    ]  # fmt: skip
    readings = [w for page in pages for w in page if w[4] == "きごう"]
    base = [w for page in pages for w in page if w[4].startswith("記号の意味")]
    assert readings and base
    # きごう sits on 記号: above it (smaller y from the top), over its left part
    r, b = readings[0], base[0]
    assert r[3] <= b[1] + 0.3 and b[0] - 1 <= r[0] and r[2] <= b[2]
    for n, words in enumerate(pages, start=1):
        ws = sorted(words)
        bad = []
        for i, a in enumerate(ws):
            for o in ws[i + 1 :]:
                if o[0] >= a[2] - 0.3:
                    break
                if (min(a[2], o[2]) - max(a[0], o[0]) > 0.3
                        and min(a[3], o[3]) - max(a[1], o[1]) > 0.3):  # fmt: skip
                    bad.append((a[4], o[4]))
        assert not bad, (n, bad[:8])
