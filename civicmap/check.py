"""``civicmap check`` / ``civicmap convert`` for data files: what a file holds and what was done to it.

The library returns data (a report dict, a written path); the CLI prints it.
A report says which encoding and layout were detected, which columns were
used, how many rows were read and mapped, which rows were repaired (and how)
and which were rejected (row number and reason), so a volunteer can fix the
source file instead of guessing why a place is missing from the map.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from civicmap._files import check_writable, write_text_atomic
from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import SourceResult
from civicmap.sources import kind_for_path, read_path

log = logging.getLogger(__name__)


def _result(path: Path, options: dict | None) -> tuple[SourceResult, str]:
    kind = kind_for_path(path)
    opts = dict(options or {})
    if kind == "csv":
        opts.setdefault("_require_coordinates", False)
    return read_path(path, layer=path.stem, options=opts), kind


def report_of(path: Path, result: SourceResult, kind: str) -> dict[str, Any]:
    """The check report for an already-read source (see :func:`check_file`)."""
    info = dict(result.info)
    cols = info.get("columns") or {}
    notes = []
    if kind == "csv" and not (cols.get("lat") and cols.get("lon")):
        notes.append(
            "no coordinate columns: rows are placed only by geocoding their address "
            "(geocode: true) or the table can be attached to a located one (join:)"
        )
    report: dict[str, Any] = {
        "file": str(path),
        "kind": kind,
        "encoding": info.get("encoding", ""),
        "file_repairs": info.get("file_repairs", []),
        "layout": info.get("layout", ""),
        "columns": cols,
        "rows": int(info.get("rows", len(result.features) + len(result.rejected))),
        "mapped": len(result.features),
        "repaired": [{"row": p.row, "how": p.reason} for p in result.repaired],
        "rejected": [
            {"row": p.row, "reason": p.reason, "source": p.source} for p in result.rejected
        ],
        "warnings": info.get("warnings", []),
        "notes": notes,
    }
    for key in (
        "header_row",
        "preamble",
        "renamed_columns",
        "disaster_flags",
        "capacity_from",
        "category",
        "join",
        "folders",
        "umap_layers",
        "umap_layout",
        "filtered_out",
    ):
        if info.get(key):
            report[key] = info[key]
    return report


def check_file(path: str | Path, *, options: dict | None = None) -> dict[str, Any]:
    """Read any supported data file and report on it.

    Returns
    -------
    dict
        ``encoding``, ``layout``, ``columns``, ``rows`` (data rows read),
        ``mapped`` (rows with a place), ``repaired`` (``row``, ``how``),
        ``rejected`` (``row``, ``reason``, ``source``: the file the row is in),
        ``warnings`` and more. Plain JSON types.
    """
    path = Path(path)
    result, kind = _result(path, options)
    return report_of(path, result, kind)


def write_rejected_csv(report: dict[str, Any], out: str | Path, *, overwrite: bool = False) -> Path:
    """Write the rejected rows (file, row, reason) as a UTF-8 CSV with BOM (opens in Excel)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["file", "row", "reason"])
    for r in report["rejected"]:
        w.writerow([r.get("source", Path(report["file"]).name), r["row"], r["reason"]])
    return write_text_atomic(out, buf.getvalue(), overwrite=overwrite, encoding="utf-8-sig")


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def to_geojson_text(frame: gpd.GeoDataFrame) -> str:
    """The frame as a GeoJSON FeatureCollection (UTF-8, Japanese kept readable)."""
    features = []
    props_cols = [c for c in frame.columns if c != frame.geometry.name]
    for row, geom in zip(
        frame[props_cols].itertuples(index=False, name=None), frame.geometry, strict=True
    ):
        features.append(
            {
                "type": "Feature",
                "properties": {c: _jsonable(v) for c, v in zip(props_cols, row, strict=True)},
                "geometry": None if geom is None else geom.__geo_interface__,
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def convert_file(
    path: str | Path, out: str | Path, *, overwrite: bool = False, options: dict | None = None
) -> dict[str, Any]:
    """Read ``path`` and write its mapped rows in the common schema as GeoJSON.

    Refuses to replace ``out`` unless ``overwrite``; writes atomically.
    Returns the check report of the input.
    """
    path, out = Path(path), Path(out)
    if out.suffix.lower() not in (".geojson", ".json"):
        raise SourceError(
            _("%(out)s: got a %(value)s output, expected .geojson")
            % {"out": out, "value": out.suffix or _("file without suffix")}
        )
    check_writable(out, overwrite=overwrite)
    result, kind = _result(path, options)
    write_text_atomic(out, to_geojson_text(result.features), overwrite=overwrite)
    report = report_of(path, result, kind)
    report["written"] = str(out)
    return report
