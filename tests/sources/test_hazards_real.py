"""Real 国土数値情報 hazard files (issue 25): 大分県 宇佐市 cuts of A31-22 and A40-16.

The files are cut from what a public repository serves (see tests/data/README.md, 「Real
hazard files」); every expected value is read from the file text in the test with json.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import yaml
from paths import TESTS

from civicmap.hazards import DEPTH_CLASSES, load_hazard
from civicmap.pipeline import collect
from civicmap.spec.hazards import HazardSpec
from civicmap.spec.mapfile import load_map

REAL = TESTS / "data" / "hazards" / "real"
#: 洪水浸水想定区域（計画規模）, 国土数値情報 A31-22 layout: one file per scenario, the rank in A31_101.
FLOOD = REAL / "A31-10-22_10_5031_usa_CUT.geojson"
#: 津波浸水想定, A40-16 layout: the depth written as text in A40_003 (「2m以上 〜 3m未満」).
TSUNAMI = REAL / "A40-16_44_usa_CUT.geojson"

#: Points inside zones of the files (a zone's representative point, from the coordinates).
IN_RANK_1 = (33.49904, 131.29075)  # the large rank-1 zone with 12 holes
IN_RANK_3 = (33.49973, 131.2906125)  # the one rank-3 zone (3–5 m)
IN_TSUNAMI_1_2 = (33.56583, 131.2984627)  # 「1m以上 〜 2m未満」


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text("utf-8"))["features"]


def test_a31_22_planned_scale_ranks_are_read_through_the_depth_rank_code_list():
    layer = load_hazard(HazardSpec(file=FLOOD, kind="flood", year="2022"))
    ranks = [f["properties"]["A31_101"] for f in _features(FLOOD)]
    assert len(layer.zones) == len(ranks) == 20  # no zone lost
    assert sorted(layer.zones["cls"] + 1) == sorted(ranks)
    assert [layer.classes[c].ja for c in layer.classes_used()] == ["0.5 m未満", "0.5–3 m", "3–5 m"]
    covered, cls, _ = layer.at(IN_RANK_1[1], IN_RANK_1[0])
    assert covered and layer.classes[cls].ja == "0.5 m未満"
    covered, cls, _ = layer.at(IN_RANK_3[1], IN_RANK_3[0])
    assert covered and layer.classes[cls].ja == "3–5 m"


def test_a40_tsunami_depth_text_with_a_wave_dash_keeps_the_published_wording():
    layer = load_hazard(HazardSpec(file=TSUNAMI, kind="tsunami"))
    texts = [f["properties"]["A40_003"] for f in _features(TSUNAMI)]
    assert len(layer.zones) == len(texts) == 11
    assert list(layer.zones["depth"]) == [unicodedata.normalize("NFKC", t) for t in texts]
    by_text = dict(zip(layer.zones["depth"], layer.zones["cls"], strict=True))
    # classed by the lower bound of the published range
    assert DEPTH_CLASSES[by_text["0.3m未満"]].ja == "0.5 m未満"
    assert DEPTH_CLASSES[by_text["2m以上 〜 3m未満"]].ja == "0.5–3 m"
    assert DEPTH_CLASSES[by_text["3m以上 〜 4m未満"]].ja == "3–5 m"


def test_usa_shelters_get_their_hazard_lines_from_the_real_files(tmp_path):
    rows = [
        ("浸水区域の避難所", *IN_RANK_1),
        ("深い浸水区域の避難所", *IN_RANK_3),
        ("津波区域の避難所", *IN_TSUNAMI_1_2),
    ]
    csv_path = tmp_path / "sites.csv"
    csv_path.write_text(
        "名称,緯度,経度,洪水,津波\n" + "".join(f"{n},{a},{o},○,○\n" for n, a, o in rows), "utf-8"
    )
    raw = {
        "title": "宇佐市 浸水想定と避難所",
        "area": {"municipality": "44211"},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [
            {"id": "hinan", "title": {"ja": "避難所", "en": "Shelters"}, "role": "shelter",
             "style": {"symbol": "triangle", "color": "#2b8a3e"},
             "sources": [{"csv": {"path": str(csv_path)}}]},
        ],
        "hazards": [{"file": str(FLOOD), "kind": "flood", "year": 2022},
                    {"file": str(TSUNAMI), "kind": "tsunami"}],
    }  # fmt: skip
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    data = collect(load_map(path))
    features = data.layer("hinan").features
    lines = {features.loc[k[1], "name"]: s.lines for k, s in data.hazards.sites.items()}
    assert set(lines) == {r[0] for r in rows}
    assert lines["浸水区域の避難所"][0] == "洪水：想定浸水深 0.5 m未満"
    assert lines["深い浸水区域の避難所"][0] == "洪水：想定浸水深 3–5 m"
    assert "この災害では使えない可能性があります（洪水）" in lines["深い浸水区域の避難所"]
    assert "この災害では使えない可能性があります（洪水）" not in lines["浸水区域の避難所"]
    assert lines["津波区域の避難所"][1] == "津波：想定浸水深 1m以上 〜 2m未満"
    # the tsunami cut covers the coast only: the inland sites are not called safe
    assert lines["浸水区域の避難所"][1] == "津波：情報なし"
