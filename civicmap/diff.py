"""Write the conflation diff (official list × OSM) as CSV and GeoJSON.

The diff is computed by :func:`civicmap.join.conflate` during
:func:`civicmap.pipeline.collect` and kept in each layer's report; this module
only gathers it and writes it (join.py stays free of I/O). The CSV opens in
Excel with Japanese intact (UTF-8 with BOM); the GeoJSON opens in uMap, QGIS
or JOSM so mappers can walk the "only in the official list" points.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

from civicmap._files import check_writable, output_batch, spreadsheet_cell, write_text_atomic
from civicmap.errors import CivicMapError
from civicmap.i18n import _
from civicmap.join import DIFF_STATUSES
from civicmap.mapdata import MapData
from civicmap.schema import CRS

log = logging.getLogger(__name__)


def collect_diff(data: MapData) -> gpd.GeoDataFrame:
    """All layers' diffs in one frame (``layer`` column first).

    Raises
    ------
    CivicMapError
        When no layer has both an OSM source and a file source, so there is
        nothing to compare.
    """
    parts = [lyr.report.diff for lyr in data.layers if lyr.report.diff is not None]
    if not parts:
        ids = ", ".join(lyr.id for lyr in data.layers) or "none"
        raise CivicMapError(
            _(
                "%(file)s: no layer has both an OSM source and a file source (layers: "
                "%(ids)s); add the official list to a layer with extra_sources: [{csv: {path: "
                "...}}] to compare it with OSM"
            )
            % {"file": data.spec.file, "ids": ids}
        )
    frames = [p for p in parts if len(p)]
    if not frames:
        return gpd.GeoDataFrame(parts[0], geometry="geometry", crs=CRS)
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS)


def summarise(data: MapData) -> dict[str, dict[str, int]]:
    """Per layer: matched pairs and the count of each diff status."""
    out: dict[str, dict[str, int]] = {}
    for lyr in data.layers:
        diff = lyr.report.diff
        if diff is None:
            continue
        counts = {"matched": lyr.report.merged}
        for status in DIFF_STATUSES:
            counts[status] = int((diff["status"] == status).sum()) if len(diff) else 0
        out[lyr.id] = counts
    return out


def _geojson(diff: gpd.GeoDataFrame) -> str:
    features = []
    for row in diff.itertuples(index=False):
        props = {}
        for col in diff.columns:
            if col == "geometry":
                continue
            v = getattr(row, col) if col.isidentifier() else row[diff.columns.get_loc(col)]
            if isinstance(v, float) and v != v:
                v = None
            props[col] = v
        geom = row.geometry
        features.append(
            {
                "type": "Feature",
                "geometry": geom.__geo_interface__ if geom is not None else None,
                "properties": props,
            }
        )
    return json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1
    )


def write_diff(
    data: MapData, out_dir: str | Path, *, overwrite: bool = False
) -> tuple[list[Path], dict[str, dict[str, int]]]:
    """Write ``<map>_diff.csv`` and ``<map>_diff.geojson`` into ``out_dir``.

    Text cells of the CSV that start with ``= + - @``, a tab or CR get a
    leading ``'`` so a spreadsheet never runs them as formulas; the GeoJSON
    keeps the text unchanged. Both files are refused before anything is written if either exists and
    ``overwrite`` is False; each is written atomically.

    Returns
    -------
    paths, summary
        The written files and :func:`summarise`'s counts.
    """
    out_dir = Path(out_dir)
    stem = Path(str(data.spec.file)).stem or "map"
    csv_path = out_dir / f"{stem}_diff.csv"
    json_path = out_dir / f"{stem}_diff.geojson"
    for p in (csv_path, json_path):
        check_writable(p, overwrite=overwrite)
    diff = collect_diff(data)
    table = pd.DataFrame(diff.drop(columns="geometry"))
    pts = [g.representative_point() if g is not None else None for g in diff.geometry]
    table["lat"] = [p.y if p is not None else None for p in pts]
    table["lon"] = [p.x if p is not None else None for p in pts]
    # The CSV is for Excel: cells that start like a formula get a leading ' (OWASP).
    table = table.map(spreadsheet_cell)
    table.columns = [spreadsheet_cell(str(c)) for c in table.columns]
    with output_batch([csv_path, json_path]):  # both files replaced together, or neither
        write_text_atomic(csv_path, "\ufeff" + table.to_csv(index=False), overwrite=overwrite)
        write_text_atomic(json_path, _geojson(diff), overwrite=overwrite)
    log.info(_("diff: %(n)d rows written to %(out_dir)s"), {"n": len(diff), "out_dir": out_dir})
    return [csv_path, json_path], summarise(data)
