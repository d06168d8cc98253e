"""How fast civicmap reads a large municipal CSV, against plain pandas.read_csv.

Generates a 100,000-row 自治体標準-style file (Japanese text, cp932, some
full-width and swapped coordinates) in a temporary folder, then times
civicmap.sources.opendata.read_csv and pandas.read_csv on the same bytes in
the same run. Prints seconds, rows/s and the ratio. Not a test: nothing asserted.

    .venv/bin/python bench/bench_csv.py [ROWS]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from civicmap.sources.opendata import read_csv


def make_file(path: Path, rows: int) -> None:
    rnd = random.Random(1)
    lines = [
        "全国地方公共団体コード,ID,名称,名称_カナ,所在地_連結表記,緯度,経度,電話番号,災害種別_洪水,災害種別_地震,備考"
    ]
    for i in range(rows):
        lat, lon = 35.5 + rnd.random(), 139.0 + rnd.random()
        slat, slon = f"{lat:.6f}", f"{lon:.6f}"
        if i % 97 == 0:
            slat, slon = slon, slat  # swapped
        if i % 89 == 0:
            slat = slat.translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))
        lines.append(
            f"131041,{i:010d},施設{i}号,シセツ{i}ゴウ,東京都新宿区西早稲田{i % 3}-{i % 20}-{i % 7},"
            f"{slat},{slon},03-0000-{i % 10000:04d},{i % 2},1,収容人数:{i % 500}"
        )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        make_file(path, rows)
        size = path.stat().st_size / 1e6
        base = best_of(3, lambda: pd.read_csv(path, encoding="cp932", dtype=str))
        ours = best_of(3, lambda: read_csv(path, layer="bench"))
        result = read_csv(path, layer="bench")
    print(f"file: {rows:,} rows, {size:.1f} MB (cp932)")
    print(f"pandas.read_csv (baseline): {base:.2f} s  {rows / base:,.0f} rows/s")
    print(f"civicmap read_csv:          {ours:.2f} s  {rows / ours:,.0f} rows/s")
    print(f"ratio civicmap / pandas:    {ours / base:.1f}x")
    print(
        f"mapped {len(result.features):,}, repaired {len(result.repaired):,}, rejected {len(result.rejected):,}"
    )


if __name__ == "__main__":
    main()
