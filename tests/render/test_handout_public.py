"""The handout is for the public: nothing of the build reaches a printed page or the web page.

Three maps as testers built them: a map whose walking routes fail (Overpass on
127.0.0.1 answering errors, and the same map offline with no pack), a tile map
whose tile server answers errors, and the bundled demo. The PDF's text
(``pdftotext``) and the web page's visible text (tags and scripts stripped, plus
every string the page's script shows: legend, popups, banners, notes, credits)
must hold no URL, no path, no CLI flag, no environment variable, no config key
or file name and no layer id. Why a route fell back stays for the builder: the
console (logging) and the ``--report`` rows.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from paths import TESTS

import civicmap
from civicmap import settings
from civicmap.pipeline import collect, render, with_output_dir
from civicmap.report import quality_rows
from civicmap.spec.basemap import REGISTRY
from civicmap.spec.mapfile import load_map

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler missing")

DATA = TESTS / "data"
GSI = DATA / "shelters/gsi"
HOME_A = [36.5613, 136.6562]  # 金沢市 広坂
HOME_B = [36.5650, 136.6600]
STRAIGHT = {
    "ja": "道路データがないため直線距離です。実際の道順ではありません",
    "en": "No street data here, so these are straight-line distances, not the way to walk",
}

#: Keys of the page's data that are for the script, not for people (ids, URLs, styles, shapes).
TECHNICAL_KEYS = {
    "id", "url", "tile", "tiles_url", "color", "fill", "symbol", "path", "cluster", "lang",
    "icon", "inline", "local", "type", "coordinates", "g", "ll", "bounds", "files", "folder",
    "s", "o", "k", "i", "h",
}  # fmt: skip


def pdf_text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def _strings(obj, key: str = ""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k not in TECHNICAL_KEYS:
                yield from _strings(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v, key)
    elif isinstance(obj, str) and not obj.startswith("data:"):
        yield obj


def _untag(text: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", text))


def page_texts(page: Path) -> list[str]:
    """The web page as people see it: visible text, and every string its script shows."""
    text = page.read_text(encoding="utf-8")
    m = re.search(r'id="civicmap-data">(.*?)</script>', text, re.S)
    assert m, "the page's data block is missing"
    data = json.loads(m.group(1))
    lookups = set(data.get("texts", {}))  # popup labels the script translates (``other_names``)
    shown = [_untag(s) for s in _strings(data) if s not in lookups]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    body = re.sub(r"<head\b.*?</head>", " ", body, flags=re.S | re.I)
    return [_untag(body), *shown]


def leaks(texts: list[str], *, layer_ids: list[str], private: list[str]) -> list[str]:
    """Every piece of the build found in ``texts`` (empty when the handout is clean)."""
    patterns = {
        "url": r"https?:|www\.",
        "path": r"(?:^|[\s(（「:：=])(?:/|~/|\./|\.\./)[\w.-]+|[A-Za-z]:\\",
        "tile address": r"\b\d{1,2}/\d+/\d+\b",
        "CLI flag": r"(?<![\w-])--[a-z]",
        "environment variable": r"CIVICMAP_",
        # a data file without credit: is credited 「出典の記載なし」, never by its name
        "file name": r"\.(?:ya?ml|osm|pbf|bz2|csv|tsv|json|geojson|xlsx?|ods|kmz|kml|shp|umap)\b",
        "config key": r"\b[a-z]+_[a-z_]+\b|\b(?:osm|basemap|outputs|role|homes?)\s*[.:]\s*[a-z{]",
        "service": r"Overpass|interpreter|overpass",
    }
    found = []
    for text in texts:
        flat = " ".join(text.split())
        for what, pat in patterns.items():
            for m in re.finditer(pat, flat):
                found.append(f"{what}: …{flat[max(0, m.start() - 30) : m.end() + 30]}…")
        for lid in layer_ids:
            for m in re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(lid)}(?![A-Za-z0-9_])", flat):
                found.append(f"layer id: …{flat[max(0, m.start() - 30) : m.end() + 30]}…")
        for p in private:
            if p and p in flat:
                found.append(f"local path {p!r}")
    return found


def _routes_map(tmp: Path, language: str = "ja") -> Path:
    layer = {
        "id": "hinan_list",
        "title": {"ja": "避難場所一覧", "en": "Shelters"},
        "role": "shelter",
        "sources": [{"geojson": {"path": str(GSI / "emergency_172014.json"),
                                 "category": "指定緊急避難場所"}}],
    }  # fmt: skip
    (tmp / "hinan.yaml").write_text(yaml.safe_dump(layer, allow_unicode=True), "utf-8")
    raw = {
        "title": "金沢 避難マップ",
        "language": language,
        "area": {"point": HOME_A, "radius": 800},
        "basemap": {"draw": False},
        "layers": ["hinan.yaml"],
        "homes": {"disaster": "地震", "points": [{"name": "集合場所A", "point": HOME_A},
                                                {"name": "集合場所B", "point": HOME_B}]},
        "outputs": {"web": {"file": "out/map.html", "self_contained": True},
                    "paper": {"file": "out/map.pdf", "size": "A3"}},
    }  # fmt: skip
    (tmp / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return tmp / "map.yaml"


def _check(written: dict, *, layer_ids: list[str], private: list[str]) -> tuple[str, list[str]]:
    pdf = pdf_text(written["paper"][0])
    page = page_texts(written["web"][0])
    found = leaks([pdf, *page], layer_ids=layer_ids, private=private)
    assert not found, "the handout shows the build's internals:\n" + "\n".join(found[:20])
    return pdf, page


@pytest.mark.parametrize(
    ("how", "language"),
    [("overpass_fails", "ja"), ("offline_without_pack", "ja"), ("overpass_fails", "en")],
)
def test_a_map_whose_routes_fall_back_says_so_in_plain_words_only(
    how, language, tmp_path, overpass_server, monkeypatch, caplog
):
    if how == "overpass_fails":
        overpass_server.script[:] = [503] * 40  # every attempt: busy
    else:
        monkeypatch.setattr(settings, "offline", True)
    with caplog.at_level("WARNING", logger="civicmap.shelter_routes"):
        data = collect(load_map(_routes_map(tmp_path, language)))
    assert (data.routes["route"] == "straight").all()
    written = render(data)
    pdf, page = _check(
        written,
        layer_ids=["hinan_list"],
        private=[str(tmp_path), str(settings.cache_folder), str(Path.home())],
    )
    # the map says it in plain words, on paper and on the web page
    flat = "".join(pdf.split())
    assert "".join(STRAIGHT[language].split()) in flat
    assert any(STRAIGHT[language] in " ".join(t.split()) for t in page)
    assert ("避難場所一覧" if language == "ja" else "Shelters") in flat  # the layer by its title
    # why, and how to fix it, is for the builder: the --report rows and the console
    reasons = " ".join(r["reason"] for r in quality_rows(data))
    assert "straight lines only" in reasons and "Overpass" in reasons
    assert "straight lines only" in caplog.text and "Overpass" in caplog.text


def test_a_tile_map_whose_tile_server_fails_shows_nothing_of_it(tmp_path, tile_server, monkeypatch):
    import dataclasses

    from tile_server import use_loopback_gsi

    use_loopback_gsi(monkeypatch, tile_server, cache_folder=tmp_path / "cache")
    broken = tile_server.url.replace("/{z}", "/broken/{z}")  # the server answers 404 there
    monkeypatch.setitem(REGISTRY, "gsi-pale", dataclasses.replace(REGISTRY["gsi-pale"], url=broken))
    shutil.copy(DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv", tmp_path / "n.csv")
    raw = {
        "title": "富山市 保育施設マップ",
        "area": {"bbox": [137.20, 36.69, 137.22, 36.70]},
        "osm": False,
        "basemap": {"tiles": "gsi-pale"},
        "layers": [{"id": "nursery_list", "title": {"ja": "保育施設", "en": "Childcare"},
                    "sources": [{"csv": {"path": "n.csv"}}]}],
        "outputs": {"web": {"file": "out/map.html"},
                    "paper": {"file": "out/map.pdf", "size": "A4"}},
    }  # fmt: skip
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    written = render(collect(load_map(tmp_path / "map.yaml")))
    assert any("/broken/" in r for r in tile_server.requests)  # the tiles were asked and failed
    pdf, page = _check(
        written,
        layer_ids=["nursery_list"],
        private=[str(tmp_path), str(settings.cache_folder), "127.0.0.1"],
    )
    # n.csv gives no credit: the reader is told so, on paper and on the web page
    assert "出典の記載なし/日付不明" in "".join(pdf.split())
    assert any("出典の記載なし / 日付不明" in t for t in page)


def test_the_demo_handout_shows_nothing_of_the_build(tmp_path):
    spec = with_output_dir(load_map(civicmap.demo_map_path()), tmp_path / "out")
    data = collect(spec)
    pdf, _ = _check(
        render(data),
        layer_ids=[layer.id for layer in data.layers],
        private=[str(tmp_path), str(settings.cache_folder), str(Path(civicmap.__file__).parent)],
    )
    assert "保育園・幼稚園・認定こども園" in "".join(pdf.split())
