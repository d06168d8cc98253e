"""Writes the HAND-MADE hazard files of this folder (see tests/data/README.md).

Zones are drawn by hand as simple polygons in 金沢市 (浅野川・犀川 lowlands, 卯辰山 slopes);
they are NOT the real 浸水想定区域 or 土砂災害警戒区域. The attributes follow the
国土数値情報 A31a (洪水浸水想定区域, 想定最大規模) and A33 (土砂災害警戒区域) layouts.
Run from the repository root: python tests/data/hazards/make_handmade.py
"""

import json
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Polygon, box

HERE = Path(__file__).parent


def ring(west, south, east, north):
    return box(west, south, east, north)


def a31a() -> None:
    # (rank, polygon): 1 0.5 m未満, 2 0.5-3 m, 3 3-5 m, 4 5-10 m (浸水深ランクコード)
    zones = [
        (1, Polygon([(136.600, 36.590), (136.650, 36.560), (136.700, 36.590), (136.650, 36.620)])),
        (2, Polygon([(136.610, 36.575), (136.690, 36.585), (136.690, 36.610), (136.610, 36.600)])),
        (3, ring(136.630, 36.585, 136.665, 36.600)),
        (4, ring(136.640, 36.590, 136.650, 36.596)),
    ]
    feats = []
    for i, (rank, poly) in enumerate(zones, start=1):
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "A31a_201": f"170001{i:04d}",  # 河川ID (made up)
                    "A31a_202": "浅野川",  # 河川名
                    "A31a_203": "17",  # 都道府県コード
                    "A31a_204": "石川県",  # 都道府県名
                    "A31a_205": rank,  # 浸水深ランクコード
                },
                "geometry": poly.__geo_interface__,
            }
        )
    doc = {"type": "FeatureCollection", "name": "A31a-23_17_20_HANDMADE", "features": feats}
    text = json.dumps(doc, ensure_ascii=False, indent=0)
    (HERE / "A31a-23_17_20_HANDMADE.geojson").write_text(text, encoding="utf-8")
    # the same file saved as Shift_JIS, as QGIS on Japanese Windows writes it
    (HERE / "A31a-23_17_20_HANDMADE_sjis.geojson").write_bytes(text.encode("cp932"))


def a33() -> None:
    rows = [
        # 現象の種類 1 急傾斜地の崩壊, 区域区分 1 警戒区域 / 2 特別警戒区域
        (1, 1, "卯辰山一丁目", ring(136.668, 36.572, 136.676, 36.580)),
        (1, 2, "卯辰山一丁目", ring(136.670, 36.574, 136.673, 36.577)),
        (2, 1, "東荒屋町", ring(136.690, 36.550, 136.700, 36.558)),
    ]
    frame = gpd.GeoDataFrame(
        {
            "A33_001": [r[0] for r in rows],
            "A33_002": [r[1] for r in rows],
            "A33_003": ["17"] * len(rows),
            "A33_004": [f"17201-{i:04d}" for i in range(1, len(rows) + 1)],
            "A33_005": [r[2] for r in rows],
            "A33_006": ["石川県金沢市" + r[2] for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs="EPSG:6668",
    ).to_crs("EPSG:6675")  # 平面直角座標系 VII (石川県)
    out = HERE / "A33-23_17_HANDMADE.shp"
    frame.to_file(out, encoding="cp932")
    out.with_suffix(".cpg").unlink(missing_ok=True)  # 国土数値情報 ships no .cpg


if __name__ == "__main__":
    a31a()
    a33()
