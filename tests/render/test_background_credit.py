"""A paper map credits only the background it drew (issue #30).

The tile server connects, then fails during the build (every tile dripping or a
broken image): the map is drawn on its fallback background, and neither the
sheet's credits nor the PDF's author line name 地理院タイル or its 承認番号.
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest
from paths import TESTS

import civicmap
from civicmap import settings
from civicmap.pipeline import build
from civicmap.spec.basemap import REGISTRY

TOYAMA_CSV = (TESTS / "data/childcare/toyama/toyama_nurseryFacilities_utf8bom.csv").resolve()


def tile_map(folder: Path, paper: dict) -> Path:
    """富山市 nurseries on 地理院タイル (with a 承認番号), no OSM: the fallback is the N03 outlines."""
    path = folder / "map.yaml"
    path.write_text(
        json.dumps(
            {
                "title": "富山市 保育施設マップ",
                "area": {"bbox": [137.19, 36.68, 137.23, 36.71]},
                "osm": False,
                "basemap": {"tiles": "gsi-pale", "approval": "国地情第123号"},
                "layers": [
                    {
                        "id": "nursery",
                        "title": {"ja": "保育施設", "en": "Childcare"},
                        "sources": [{"csv": {"path": str(TOYAMA_CSV)}}],
                    }
                ],
                "outputs": {"paper": {"file": "out/map.pdf", **paper}},
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def pdf_text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return "".join(out.stdout.split())


def pdf_author(pdf: Path) -> str:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return "".join(line for line in out.stdout.splitlines() if line.startswith("Author:"))


@pytest.fixture
def tile_budget(monkeypatch):
    """Small tile budgets (2 s for all tiles, 0.5 s each, 4 failures) and tiny retry waits."""
    monkeypatch.setattr(settings, "tile_deadline", 2.0)
    monkeypatch.setattr(settings, "tile_request_deadline", 0.5)
    monkeypatch.setattr(settings, "tile_max_failures", 4)
    monkeypatch.setattr(settings, "backoff_base", 0.001)
    monkeypatch.setattr(settings, "max_wait", 0.05)
    monkeypatch.setattr(settings, "http_timeout", 0.5)
    monkeypatch.setattr(settings, "http_deadline", 2.0)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("failure", "paper"),
    [
        ("drip", {"size": "A4"}),
        ("broken", {"size": "A4"}),
        ("broken", {"size": "A4", "atlas": True, "scale": 5000}),
    ],
    ids=["drip-sheet", "broken-sheet", "broken-atlas"],
)
def test_tiles_that_fail_mid_build_are_not_credited(
    gsi, tile_budget, tmp_path, caplog, failure, paper
):
    gsi.default = failure
    caplog.set_level(logging.WARNING)
    pdf = build(civicmap.load_map(tile_map(tmp_path, paper)), overwrite=True)["paper"][0]
    assert gsi.requests  # the server was connected to and asked: it failed during the build
    text = pdf_text(pdf)
    assert "背景地図なし" in text  # the fallback background, said on the map
    assert "地理院タイル" not in text
    assert "承認番号" not in text and "国地情第123号" not in text
    author = pdf_author(pdf)
    assert "地理院" not in author and "承認" not in author
    # the console says which background could not be had
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    (warned,) = [m for m in said if "background tiles" in m]
    # the service named once: "(GSI tiles (pale))", not "(GSI tiles, GSI tiles (pale))"
    assert "(GSI tiles (pale))" in warned and "GSI tiles, " not in warned, warned


@pytest.mark.timeout(120)
def test_tiles_drawn_are_credited(gsi, tmp_path):
    """The same map with a working server prints the tiles and credits them (the test can fail)."""
    pdf = build(civicmap.load_map(tile_map(tmp_path, {"size": "A4"})), overwrite=True)["paper"][0]
    text = pdf_text(pdf)
    assert "地理院タイル" in text and "国地情第123号" in text
    assert "地理院" in pdf_author(pdf)
    assert "背景地図なし" not in text


@pytest.mark.timeout(120)
@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_n03_credit_is_printed_in_the_maps_language(tmp_path, language):
    """Without a background the sheet draws the N03 outlines and credits them: an English
    map printed 「国土数値情報（行政区域データ）国土交通省」 (issue #28)."""
    path = tile_map(tmp_path, {"size": "A4"})
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw.update(basemap={"tiles": "none"}, language=language)
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    pdf = build(civicmap.load_map(path), overwrite=True)["paper"][0]
    text = pdf_text(pdf)
    english = "National Land Numerical Information (Administrative Areas data)"
    if language == "en":
        assert "".join(english.split()) in text
        assert "国土数値情報" not in text and "国土交通省" not in text
    else:  # the Japanese sheet is unchanged
        assert "国土数値情報（行政区域データ）国土交通省" in text
        assert "NationalLand" not in text


def test_gsi_tiles_are_credited_in_the_maps_language():
    """An English map credited GSI's tiles in Japanese only; the Japanese wording stays GSI's."""
    pale = REGISTRY["gsi-pale"]
    (ja,) = pale.credits(date="2026-12-01", language="ja")
    assert ja.credit == "出典：国土地理院 地理院タイル（淡色地図）。地理院タイルを加工して作成"
    (en,) = pale.credits(language="en")
    assert "Geospatial Information Authority of Japan" in en.credit
    assert "Made by processing GSI Tiles" in en.credit and "地理院" not in en.credit
    # the web attribution: the same words, linked to GSI's terms, escaped
    html = pale.attribution_in("en")
    assert html.startswith('<a href="https://maps.gsi.go.jp/') and "GSI Tiles (pale map)" in html
    assert "国土地理院" in pale.attribution_in("ja")
