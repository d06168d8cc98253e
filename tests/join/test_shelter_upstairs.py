"""Vertical evacuation (2階以上可, 垂直避難): read as a qualified disaster flag (issue #17).

A ``2階以上可`` cell in a 洪水 column says the site serves floods, upper
floors only; a ``2階以上可`` / ``垂直避難`` column says a building's upper
floors are usable when water rises (洪水, 内水, 津波). Either way the site's
designations say so (the popup shows them), and the site counts for those
disasters only as far as the list says: an explicit yes or no in a
disaster's own column stands.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from paths import TESTS
from shapely.geometry import Point

from civicmap.join import nearest_shelters
from civicmap.join.sites import flag_value, merge_sites
from civicmap.pipeline import collect, render
from civicmap.schema import CRS
from civicmap.sources import read_path
from civicmap.spec.mapfile import load_map

DATA = TESTS / "data"
UPSTAIRS = DATA / "shelters/upstairs"


def _sites(name: str) -> gpd.GeoDataFrame:
    result = read_path(UPSTAIRS / name, layer="shelters")
    assert result.rejected == []
    return merge_sites(result.features).sites.set_index("name")


def test_flag_cells_saying_upstairs_are_yes():
    for cell in ("2階以上可", "２階以上可", "3階以上", "2階以上のみ可"):
        assert flag_value(cell) is True
    assert flag_value("2階") is None  # not a statement about use


def test_a_2kai_ijouka_column_qualifies_water_disasters_without_overriding_the_list():
    sites = _sites("upstairs_column.csv")
    raw = pd.read_csv(UPSTAIRS / "upstairs_column.csv", dtype=str, keep_default_na=False)
    assert len(sites) == len(raw) == 5  # five places, far apart: no merges
    marked = set(raw.loc[raw["2階以上可"].isin(["○", "1", "可"]), "名称"])
    assert marked == {"大野町小学校", "大野町公民館", "粟崎中学校"}
    for name in marked:
        assert sites.loc[name, "designations"] == "指定緊急避難場所（2階以上可）"
        assert sites.loc[name, "upstairs_only"] == "2階以上可"
        # the list has no 内水 column: the upstairs column is all it says about it
        assert sites.loc[name, "serves_inland_flood"] is True
    # an explicit no in the disaster's own column stands (大野町公民館: 洪水 ×)
    assert sites.loc["大野町公民館", "serves_flood"] is False
    assert sites.loc["大野町公民館", "serves_tsunami"] is True
    # a blank 津波 cell in a list that has the column is not turned into a yes
    assert sites.loc["大野町小学校", "serves_tsunami"] is False
    # no upstairs mark: nothing added
    assert sites.loc["粟崎公園", "designations"] == "指定緊急避難場所"
    assert sites.loc["粟崎公園", "serves_inland_flood"] is None
    # the 洪水 cell itself says 2階以上可: yes for floods, and which disaster it qualifies
    assert sites.loc["金石センター", "serves_flood"] is True
    assert sites.loc["金石センター", "designations"] == "指定緊急避難場所（洪水: 2階以上可）"
    assert sites.loc["金石センター", "serves_inland_flood"] is None  # its column says ×


def test_a_vertical_evacuation_column_alone_ranks_buildings_for_tsunami_and_says_upstairs():
    sites = _sites("vertical_only.csv")
    raw = pd.read_csv(UPSTAIRS / "vertical_only.csv", dtype=str, keep_default_na=False)
    yes = raw.loc[raw["垂直避難"] != "", "名称"].tolist()
    assert len(yes) == 3
    for name in yes:
        assert sites.loc[name, "designations"] == "津波避難ビル（垂直避難可）"
        for key in ("flood", "inland_flood", "tsunami"):
            assert sites.loc[name, f"serves_{key}"] is True
        assert sites.loc[name, "serves_earthquake"] is None  # says nothing about shaking
    assert sites.loc["無印会館", "serves_tsunami"] is None

    home = gpd.GeoDataFrame(
        {"name": ["自宅"], "source_ref": ["home:1"]},
        geometry=[Point(136.6100, 36.6050)],
        crs=CRS,
    )
    frame = gpd.GeoDataFrame(sites.reset_index(), geometry="geometry", crs=CRS)
    ranked = nearest_shelters(home, frame, disaster="津波", k=5)
    assert sorted(ranked.table["shelter_name"]) == sorted(yes)
    # the route says "upstairs" too (the web map's route tooltip shows it)
    assert set(ranked.table["shelter_category"]) == {"津波避難ビル（垂直避難可）"}
    assert any("1 of 4 shelters have no information on 津波" in n for n in ranked.notes)
    assert nearest_shelters(home, frame, disaster="地震", k=5).table.empty


@pytest.mark.parametrize("path", ["opendata/derived/ishikawa_flags_other_styles.csv"])
def test_real_list_with_2kai_ijouka_flood_cells_keeps_the_note_on_its_sites(path):
    raw = pd.read_csv(DATA / path, dtype=str, keep_default_na=False)
    upstairs_rows = [i + 1 for i in range(len(raw)) if raw["洪水"].iloc[i] == "2階以上可"]
    assert len(upstairs_rows) == 7
    result = read_path(DATA / path, layer="shelters")
    sites = merge_sites(result.features).sites
    name = Path(path).name
    for row in upstairs_rows:
        ref = f"{name}:{row}"
        (site,) = [s for s in sites.itertuples() if ref in s.site_refs.split(" + ")]
        assert "洪水: 2階以上可" in site.designations
        assert site.serves_flood is True


def _yes(cell: str) -> bool:
    return cell in ("○", "1", "可")


@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler missing")
def test_a_tsunami_map_ranks_upstairs_buildings_and_both_maps_say_upstairs(tmp_path):
    """A 金石 home, disaster 津波, both hand-made lists in the built-in shelters layer."""
    shutil.copy(DATA / "osm/SmallAroundWaseda.osm", tmp_path / "extract.osm")  # not 金沢: straight
    raw = {
        "title": "金石 津波避難マップ",
        "area": {"point": [36.6100, 136.6110], "radius": 3000},  # all 9 places
        "osm": {"file": "extract.osm"},
        "basemap": {"draw": False},
        "layers": [
            {
                "use": "shelters",
                "extra_sources": [
                    {"csv": {"path": str(UPSTAIRS / "upstairs_column.csv")}},
                    {"csv": {"path": str(UPSTAIRS / "vertical_only.csv")}},
                ],
            }
        ],
        "home": {"point": [36.6050, 136.6100], "disaster": "津波"},
        "outputs": {"web": {"file": "out/map.html", "self_contained": True},
                    "paper": {"file": "out/map.pdf", "size": "A4"}},
    }  # fmt: skip
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    data = collect(load_map(tmp_path / "map.yaml"))
    # the sites the lists designate for 津波, read with plain pandas: a yes in 津波, or,
    # in the list without a 津波 column, a yes in 垂直避難
    a = pd.read_csv(UPSTAIRS / "upstairs_column.csv", dtype=str, keep_default_na=False)
    b = pd.read_csv(UPSTAIRS / "vertical_only.csv", dtype=str, keep_default_na=False)
    tsunami = set(a.loc[a["津波"].map(_yes), "名称"]) | set(b.loc[b["垂直避難"].map(_yes), "名称"])
    assert len(tsunami) == 6
    assert set(data.routes["shelter_name"]) <= tsunami and len(data.routes) == 3
    notes = " ".join(data.route_notes)
    assert "9か所中 1か所は津波への対応の情報がありません" in notes  # 無印会館
    assert "2か所は津波に対応しない指定です" in notes  # blank 津波 cells in a list with the column

    written = render(data)
    html = written["web"][0].read_text(encoding="utf-8")
    assert "津波避難ビル（垂直避難可）" in html and "指定緊急避難場所（2階以上可）" in html
    text = subprocess.run(
        ["pdftotext", str(written["paper"][0]), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    assert "津波避難ビル（垂直避難可）" in flat and "（洪水:2階以上可）" in flat
    # the route table repeats the note beside each routed shelter that is upstairs only
    sites = next(layer for layer in data.layers if layer.id == "shelters").features
    upstairs = dict(zip(sites["name"], sites["upstairs_only"], strict=True))
    routed = [n for n in data.routes["shelter_name"] if upstairs.get(n)]
    assert routed, "the ranked buildings here are designated upstairs only"
    for name in routed:  # "1.金石北ビル[3]（垂直避難可）": rank, name, index number, note
        pattern = r"\d\." + re.escape(name) + r"(\[\d+\])?（" + re.escape(upstairs[name]) + "）"
        assert re.search(pattern, flat), (name, upstairs[name])
