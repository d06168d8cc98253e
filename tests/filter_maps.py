"""Maps the filter tests share (render and browser), and what a reader sees in their CSV.

The built-in layers are named by their file in this checkout (``layers/childcare.yaml``), not
by id: a test must read this tree's layer files, whatever ``civicmap`` is installed from.

``toyama_filter_map``: every 富山市 nursery of the real CSV (papamama layout) on the built-in
childcare layer. ``suzu_shelter_map``: 珠洲市's 指定緊急避難場所 (国土地理院's GeoJSON, 洪水 …
as "1") on the built-in shelters layer. No OSM data, no tiles: they build offline.

The ``expected_*`` helpers read the data files with csv/json, independently of civicmap, as
a parent reading the list would: which nurseries take a 0-year-old, which have 一時保育.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import yaml
from paths import DATA, ROOT

TOYAMA_CSV = DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv"
SUZU_EMERGENCY = DATA / "shelters/gsi/emergency_172057.json"
CHILDCARE = ROOT / "layers/childcare.yaml"
SHELTERS = ROOT / "layers/shelters.yaml"


def toyama_rows() -> list[dict[str, str]]:
    """The CSV's nurseries that have a position (a row without one gets no marker)."""
    with TOYAMA_CSV.open(encoding="utf-8-sig", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["Y"].strip() and r["X"].strip()]


def _bbox(points: list[tuple[float, float]]) -> list[float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [min(xs) - 0.01, min(ys) - 0.01, max(xs) + 0.01, max(ys) + 0.01]


def toyama_filter_map(folder: Path, *, outputs: dict | None = None, language: str = "ja") -> Path:
    """The 富山 nurseries map file in ``folder`` (a web page unless ``outputs`` say otherwise)."""
    rows = toyama_rows()
    raw = {
        "title": "富山市 保育施設マップ",
        "language": language,
        "area": {"bbox": _bbox([(float(r["X"]), float(r["Y"])) for r in rows])},
        "osm": False,
        "layers": [{"use": str(CHILDCARE), "extra_sources": [{"csv": {"path": str(TOYAMA_CSV)}}]}],
        "outputs": outputs or {"web": {"file": "out/toyama.html", "self_contained": True}},
    }
    path = folder / "toyama.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def suzu_features() -> list[dict]:
    return json.loads(SUZU_EMERGENCY.read_text(encoding="utf-8"))["features"]


def suzu_shelter_map(folder: Path) -> Path:
    """珠洲市's emergency evacuation sites on the built-in shelters layer, as a web page."""
    points = [tuple(f["geometry"]["coordinates"][:2]) for f in suzu_features()]
    raw = {
        "title": "珠洲市 指定緊急避難場所",
        "area": {"bbox": _bbox(points)},
        "osm": False,
        "layers": [
            {
                "use": str(SHELTERS),
                "extra_sources": [
                    {"geojson": {"path": str(SUZU_EMERGENCY), "category": "指定緊急避難場所"}}
                ],
            }
        ],
        "outputs": {"web": {"file": "out/suzu.html", "self_contained": True}},
    }
    path = folder / "suzu.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def both_cities_map(folder: Path) -> Path:
    """富山's nurseries and 珠洲's evacuation sites on one map: two layers, each its filters."""
    raw = yaml.safe_load(toyama_filter_map(folder).read_text(encoding="utf-8"))
    suzu = yaml.safe_load(suzu_shelter_map(folder).read_text(encoding="utf-8"))
    (w1, s1, e1, n1), (w2, s2, e2, n2) = raw["area"]["bbox"], suzu["area"]["bbox"]
    raw["area"] = {"bbox": [min(w1, w2), min(s1, s2), max(e1, e2), max(n1, n2)]}
    raw["layers"] += suzu["layers"]
    raw["outputs"] = {"web": {"file": "out/both.html", "self_contained": True}}
    path = folder / "both.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def takes_a_baby(row: dict[str, str]) -> bool:
    """Whether a nursery takes a child under one, read as a parent reads AgeS.

    The first age is given in days or weeks (生後8週, 57日), in months under twelve
    (生後6か月) or as 0歳 (0歳（3ヶ月）); 生後12か月 and 1歳児 are one year old; an empty
    cell says nothing, so the nursery is not listed as taking a baby.
    """
    first = row["AgeS"]
    if re.search(r"0歳", first) or re.search(r"\d+\s*(日|週)", first):
        return True
    months = re.search(r"(\d+)\s*[かヶケカ]月", first)
    return bool(months) and int(months.group(1)) < 12


def has_temporary_care(row: dict[str, str]) -> bool:
    """一時保育: the papamama column Temp says Y."""
    return row["Temp"].strip().upper() == "Y"


#: The CSV's Type as the map's category (the layer's categories name them so).
def category_of(row: dict[str, str]) -> str:
    return row["Type"]
