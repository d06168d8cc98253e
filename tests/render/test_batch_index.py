"""The index page of ``civicmap batch``: in the map's language, and no error text.

The page is for the map's readers; it said 「失敗: 」 and the exception message (with the
file paths in it) for an area whose build failed, in Japanese whatever the map's language.
The reason belongs in the manifest and on the console, for the organiser.
"""

from __future__ import annotations

import csv
import importlib
import json
from pathlib import Path

import geopandas as gpd
import pytest
from paths import DATA

from civicmap.errors import InputError
from civicmap.render.batch_index import index_page

KOTOURA = DATA / "boundaries" / "chome_kotoura" / "kotoura_chome.shp"
BROKEN = "佐崎"
#: The failing area's error: names a local file, as a real one does.
SECRET = "/home/organiser/secret-folder/places.csv"


def _map(folder: Path, language: str) -> Path:
    raw = gpd.read_file(KOTOURA).to_crs(4326)
    w, s, e, n = raw.total_bounds
    (folder / "places.csv").write_text(
        f"name,lat,lon\n公民館,{(s + n) / 2:.6f},{(w + e) / 2:.6f}\n", encoding="utf-8"
    )
    (folder / "places.yaml").write_text(
        "id: places\ntitle: {ja: 集会所, en: Halls}\nsources:\n  - csv: {path: places.csv}\n"
        'style: {color: "#2f9e44", symbol: circle}\n',
        encoding="utf-8",
    )
    (folder / "map.yaml").write_text(
        f"title: 地図\nlanguage: {language}\narea: {{bbox: [{w}, {s}, {e}, {n}]}}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [places.yaml]\n"
        "outputs:\n  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    return folder / "map.yaml"


def _batch_with_one_failure(folder: Path, monkeypatch, language: str):
    batch_mod = importlib.import_module("civicmap.batch")
    real = batch_mod.pipeline.render

    def render(data, **kwargs):
        if data.spec.title.startswith(BROKEN):
            raise InputError(f"{SECRET}: row 3: lat is not a number; fix the row")
        return real(data, **kwargs)

    monkeypatch.setattr(batch_mod.pipeline, "render", render)
    result = batch_mod.batch(
        _map(folder, language), each=str(KOTOURA), name_field="MOJI",
        out_dir=folder / "out", workers=0,
    )  # fmt: skip
    rows = {r["name"]: r for r in result.rows}
    assert rows[BROKEN]["status"] == "failed"
    return result, (folder / "out" / "index.html").read_text(encoding="utf-8")


#: What the link to an area's GeoJSON reads, per map language.
DATA_LINK = {"en": ">Data (GeoJSON)</a>", "ja": ">データ（GeoJSON）</a>"}


@pytest.mark.parametrize(
    ("language", "says", "not_says"),
    [
        ("en", "The map of this area could not be made this time.", "地図の一覧"),
        ("ja", "この地区の地図は今回作れませんでした", "could not be made"),
    ],
)
def test_a_failed_area_reads_as_not_made_this_time_without_the_error(
    tmp_path, monkeypatch, language, says, not_says
):
    result, page = _batch_with_one_failure(tmp_path, monkeypatch, language)
    assert says in page
    assert page.count(says) == 1  # the broken area only
    assert not_says not in page  # one language, the map's
    assert f'<html lang="{language}">' in page
    # the links read what they open, in the map's language (not the file's extension)
    assert DATA_LINK[language] in page and ">geojson<" not in page
    for internal in (SECRET, "secret-folder", "lat is not a number", "失敗", "row 3"):
        assert internal not in page, internal
    assert str(tmp_path) not in page  # links are relative (folder/map.geojson)
    # the organiser still gets the reason: the manifests keep it
    with open(result.manifest_csv, encoding="utf-8-sig", newline="") as f:
        manifest = {r["area"]: r for r in csv.DictReader(f)}
    assert SECRET in manifest[BROKEN]["error"]
    rows = json.loads(result.manifest_json.read_text(encoding="utf-8"))["rows"]
    assert "lat is not a number" in next(r for r in rows if r["name"] == BROKEN)["error"]


def test_the_page_speaks_each_glossary_language():
    rows = [
        {
            "name": "<b>甲</b>",
            "key": "a",
            "status": "ok",
            "files": ["map.html"],
            "places": {"p": 2},
        },
        {"name": "乙", "key": "b", "status": "failed", "error": "Traceback /tmp/x", "files": []},
    ]
    vi = index_page(rows, language="vi")
    assert "Danh sách bản đồ" in vi and "bản đồ của 1 / 2 khu vực" in vi
    assert "Lần này không thể tạo bản đồ cho khu vực này." in vi
    assert "&lt;b&gt;甲&lt;/b&gt;" in vi and '<a href="a/map.html">Bản đồ web</a>' in vi
    assert "Traceback" not in vi and "/tmp/x" not in vi
    easy = index_page(rows, language="ja-easy")
    assert 'lang="ja-x-easy"' in easy and "《" not in easy  # readings not printed as marks


@pytest.mark.parametrize(
    ("language", "labels"),
    [
        ("ja", ["ウェブ地図", "紙の地図（PDF）", "紙の地図（画像）", "データ（GeoJSON）", "データ（uMap）", "データ（KML）"]),
        ("en", ["Web map", "Paper map (PDF)", "Paper map (image)", "Data (GeoJSON)", "Data (uMap)", "Data (KML)"]),
        ("ja-easy", ["ウェブの地図", "紙の地図（PDF）", "紙の地図（画像）", "データ（GeoJSON）", "データ（uMap）", "データ（KML）"]),
    ],
)  # fmt: skip
def test_each_link_says_what_it_opens_in_the_maps_language(language, labels):
    # the links read "html", "pdf", "geojson": file extensions, in no reader's language
    files = ["map.html", "map.pdf", "map.png", "map.geojson", "map.umap", "map.kml", "tiles/"]
    rows = [{"name": "甲", "key": "a", "status": "ok", "files": files, "places": {"p": 1}}]
    page = index_page(rows, language=language)
    for f, label in zip(files, labels, strict=False):
        assert f'<a href="a/{f}">{label}</a>' in page
    # a file of no known kind keeps its name: the page still links it
    assert '<a href="a/tiles/">tiles/</a>' in page
    for ext in ("html", "pdf", "png", "geojson", "umap", "kml"):
        assert f">{ext}</a>" not in page
