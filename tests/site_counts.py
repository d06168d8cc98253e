"""金沢市's shelter sites counted without civicmap: the reference the site tests compare to.

Shared by ``tests/join/test_sites.py`` (merging) and ``tests/test_routes.py`` (the diff).
"""

from __future__ import annotations

import json
import re
import unicodedata

import numpy as np
import pandas as pd
from pyproj import Transformer

from civicmap.schema import CRS

KANAZAWA = "172014"
TO_XY = Transformer.from_crs(CRS, "EPSG:6675", always_xy=True)  # JGD2011 zone VII (石川)


def independent_site_count(data_dir) -> tuple[int, int]:
    """Rows and sites counted from the raw files with plain json/pandas/pyproj.

    One place: within 40 m and the same name once 金沢市/金沢市立/石川県立
    prefixes are dropped (高等学校 = 高校), or one name containing the other
    (4+ characters), or within 10 m whatever the names. Transitive.
    """
    d = data_dir / "shelters"
    rows = []
    for f in ("gsi/evacuation_172014.json", "gsi/emergency_172014.json"):
        for ft in json.loads((d / f).read_text(encoding="utf-8"))["features"]:
            lon, lat = ft["geometry"]["coordinates"][:2]
            rows.append((ft["properties"]["施設・場所名"], lon, lat))
    csv = pd.read_csv(d / "ishikawa/170003_evacuation_space.csv", dtype=str)
    csv = csv[csv["所在地_全国地方公共団体コード"] == KANAZAWA]
    rows += [(r.名称, float(r.経度), float(r.緯度)) for r in csv.itertuples()]

    def key(s: str) -> str:
        s = unicodedata.normalize("NFKC", s).replace(" ", "").replace("\u3000", "")
        s = re.sub(r"^(旧)?(石川県立|金沢市立|金沢市|石川県)", r"\1", s)
        return s.replace("高等学校", "高校")

    x, y = TO_XY.transform([r[1] for r in rows], [r[2] for r in rows])
    xy = np.c_[x, y]
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(rows)):
        d_all = np.hypot(*(xy[i + 1 :] - xy[i]).T)
        for j in np.flatnonzero(d_all <= 40) + i + 1:
            a, b = key(rows[i][0]), key(rows[j][0])
            contains = min(len(a), len(b)) >= 4 and (a in b or b in a)
            if d_all[j - i - 1] <= 10 or a == b or contains:
                ra, rb = find(i), find(int(j))
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    return len(rows), len({find(i) for i in range(len(rows))})
