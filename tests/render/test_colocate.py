"""Places at the same spot across layers, on the real 金沢市 GSI lists."""

from __future__ import annotations

import json
import math

from paths import TESTS

from civicmap.pipeline import collect
from civicmap.render._colocate import colocated
from civicmap.spec.mapfile import parse_map

GSI = TESTS / "data" / "shelters" / "gsi"


def _points(name: str) -> list[tuple[float, float]]:
    doc = json.loads((GSI / name).read_text(encoding="utf-8"))
    return [tuple(f["geometry"]["coordinates"][:2]) for f in doc["features"]]


def _metres(a, b) -> float:
    lat = math.radians((a[1] + b[1]) / 2)
    dx = (a[0] - b[0]) * 111_320 * math.cos(lat)
    dy = (a[1] - b[1]) * 110_574
    return math.hypot(dx, dy)


def test_kanazawa_evacuation_and_emergency_sites_at_one_spot_form_groups(tmp_path):
    raw = {
        "title": "金沢市",
        "area": {"bbox": [136.4, 36.4, 136.95, 36.75]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [
            {"id": "hinanjo", "title": {"ja": "指定避難所", "en": "Shelters"},
             "sources": [{"geojson": {"path": str(GSI / "evacuation_172014.json")}}]},
            {"id": "basho", "title": {"ja": "指定緊急避難場所", "en": "Evacuation sites"},
             "sources": [{"geojson": {"path": str(GSI / "emergency_172014.json")}}]},
        ],
    }  # fmt: skip
    data = collect(parse_map(raw, file="t.yaml", base_dir=tmp_path))
    groups = colocated(data, tolerance_m=5)
    # Independently: evacuation points with an emergency point within 5 m.
    ev, em = _points("evacuation_172014.json"), _points("emergency_172014.json")
    near = [p for p in ev if any(_metres(p, q) <= 4.9 for q in em)]
    assert len(near) > 100
    grouped_ev = {m.row for g in groups for m in g.members if m.layer_id == "hinanjo"}
    assert len(grouped_ev) >= len(near)
    for g in groups:
        assert set(g.layer_ids) == {"hinanjo", "basho"}
        assert g.layer_ids[0] == "hinanjo"
