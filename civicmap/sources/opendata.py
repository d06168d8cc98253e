"""Japanese open-data CSV files: detect the encoding, the columns and the layout.

Municipal files come in UTF-8 with or without BOM, Shift_JIS/cp932, with
緯度/経度, Y/X or lat/lon headers and values with stray spaces. This reader
finds those without being told, reports every row it cannot place (with the
row number a user sees in a spreadsheet) and keeps every other column.
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from civicmap.errors import SourceError
from civicmap.schema import CRS, Credit, RowProblem, SourceResult, conform

log = logging.getLogger(__name__)

LAT_NAMES = ("緯度", "北緯", "lat", "latitude", "y", "y座標", "lat(緯度)")
LON_NAMES = ("経度", "東経", "lon", "lng", "long", "longitude", "x", "x座標")
NAME_NAMES = ("名称", "施設名", "施設名称", "保育園名", "園名", "名前", "name", "label", "施設・場所名")
KANA_NAMES = ("名称_カナ", "名称カナ", "施設名カナ", "ふりがな", "フリガナ", "name_kana", "よみがな")
ADDRESS_NAMES = ("住所", "所在地", "所在地_連結表記", "address", "住所１")


def _norm_header(h: str) -> str:
    return unicodedata.normalize("NFKC", str(h)).strip().replace(" ", "").lower()


def detect_encoding(data: bytes) -> str:
    """Guess the encoding of a CSV file's bytes: BOMs first, then UTF-8, then cp932."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("cp932")
        return "cp932"
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"cannot tell the text encoding (not UTF-8, not Shift_JIS: {exc.reason} at byte "
            f"{exc.start}); give encoding: in the layer file"
        ) from None


def _find(headers: list[str], names: tuple[str, ...]) -> str | None:
    normed = {_norm_header(h): h for h in headers}
    for n in names:
        if _norm_header(n) in normed:
            return normed[_norm_header(n)]
    return None


def _to_float(value: Any) -> float | None:
    if value is None:
        return None
    s = unicodedata.normalize("NFKC", str(value)).strip()
    if not s:
        return None
    try:
        return float(s)
    except ValueError:
        return None


def read_csv(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a CSV of places into the common schema.

    Rows without usable coordinates go into ``rejected`` with their row
    number (1 = the first data row) and the reason; nothing is dropped silently.
    """
    options = options or {}
    data = Path(path).read_bytes()
    encoding = options.get("encoding") or detect_encoding(data)
    text = data.decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise SourceError(f"{path}: the file is empty")
    headers = [h.strip() for h in rows[0]]
    body = rows[1:]
    cols = dict(options.get("columns") or {})
    lat_col = cols.get("lat") or _find(headers, LAT_NAMES)
    lon_col = cols.get("lon") or _find(headers, LON_NAMES)
    if not lat_col or not lon_col:
        raise SourceError(
            f"{path}: no coordinate columns found in {headers[:12]}...; expected headers like "
            "緯度/経度, Y/X or lat/lon, or give columns: {lat: ..., lon: ...} in the layer file"
        )
    name_col = cols.get("name") or _find(headers, NAME_NAMES)
    kana_col = cols.get("name_kana") or _find(headers, KANA_NAMES)
    addr_col = cols.get("address") or _find(headers, ADDRESS_NAMES)
    df = pd.DataFrame([r + [""] * (len(headers) - len(r)) for r in body], columns=headers, dtype=object)
    rejected: list[RowProblem] = []
    keep, xs, ys = [], [], []
    for i, (lat_raw, lon_raw) in enumerate(zip(df[lat_col], df[lon_col], strict=True), start=1):
        lat, lon = _to_float(lat_raw), _to_float(lon_raw)
        if lat is None or lon is None:
            rejected.append(
                RowProblem(path.name, i, f"no coordinates ({lat_col}={lat_raw!r}, {lon_col}={lon_raw!r})")
            )
            continue
        keep.append(i - 1)
        xs.append(lon)
        ys.append(lat)
    df = df.iloc[keep].reset_index(drop=True)
    df["source_ref"] = [f"{path.name}:{i + 1}" for i in keep]
    df["name"] = df[name_col].fillna("").map(lambda s: unicodedata.normalize("NFKC", str(s)).strip()) if name_col else ""
    df["name_kana"] = df[kana_col] if kana_col else ""
    if isinstance(addr_col, list):
        df["address"] = df[addr_col].fillna("").astype(str).agg("".join, axis=1).str.strip()
    else:
        df["address"] = df[addr_col] if addr_col else ""
    cat = options.get("category")
    category_default = None
    if isinstance(cat, dict) and cat.get("column") in df.columns:
        df["category"] = df[cat["column"]]
    elif isinstance(cat, str):
        category_default = cat
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(xs, ys), crs=CRS)
    out = conform(gdf, layer=layer, source=path.name, category=category_default)
    credit = options.get("credit")
    return SourceResult(
        features=out,
        credit=_credit(credit, path),
        rejected=rejected,
        info={
            "encoding": encoding,
            "columns": {"lat": lat_col, "lon": lon_col, "name": name_col, "address": addr_col},
            "rows": len(body),
        },
    )


def _credit(credit: Any, path: Path) -> Credit:
    if isinstance(credit, dict):
        return Credit(
            source=str(credit.get("source", path.name)),
            credit=str(credit.get("credit", credit.get("source", path.name))),
            licence=str(credit.get("licence", "")),
            date=str(credit.get("date", "")),
            url=str(credit.get("url", "")),
        )
    if isinstance(credit, str):
        return Credit(source=path.name, credit=credit)
    return Credit(source=path.name, credit=path.name)
