"""An empty layer says why: rows without coordinates are not "outside the area".

A volunteer's list with 住所 but no 緯度・経度 (and no ``geocode: true``) gives a layer
with nothing on it; the warning must send them to the coordinates, not to the area.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from civicmap.check import build_warnings, check_map
from civicmap.pipeline import collect
from civicmap.spec.mapfile import load_map

ROWS = "名称,住所\n大久保第一保育園,東京都新宿区大久保3-11-1\n戸山小学校,東京都新宿区戸山1-1\n"


def _map(tmp: Path, csv_text: str) -> Path:
    (tmp / "list.csv").write_text(csv_text, encoding="utf-8")
    raw = {
        "title": "住所だけの一覧",
        "area": {"bbox": [139.70, 35.70, 139.72, 35.715]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [{"id": "list", "title": "一覧",
                    "sources": [{"csv": {"path": "list.csv", "credit": "新宿区"}}]}],
        "outputs": {"geojson": {"file": "out/list.geojson"}},
    }  # fmt: skip
    (tmp / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return tmp / "map.yaml"


def _messages(problems) -> str:
    return " | ".join(p["message"] if isinstance(p, dict) else p.message for p in problems)


def test_rows_without_coordinates_are_not_reported_as_outside_the_area(tmp_path):
    path = _map(tmp_path, ROWS)
    built = _messages(build_warnings(collect(load_map(path))))
    checked = _messages(check_map(path)["warnings"])
    for said in (built, checked):
        assert "none of its 2 rows has coordinates civicmap can use" in said, said
        assert "inside the map's area" not in said


def test_rows_with_coordinates_elsewhere_are_still_outside_the_area(tmp_path):
    path = _map(tmp_path, "名称,緯度,経度\n金沢駅,36.578,136.648\n")
    built = _messages(build_warnings(collect(load_map(path))))
    assert "none of its 1 place lies inside the map's area" in built
    assert "coordinates civicmap can use" not in built
