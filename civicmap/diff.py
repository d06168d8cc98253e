"""Write the conflation diff (official list × OSM) as CSV and GeoJSON; list what changed
since the last print (:func:`changes_since`).

The diff is computed by :func:`civicmap.join.conflate` during
:func:`civicmap.pipeline.collect` and kept in each layer's report; this module
only gathers it and writes it (join.py stays free of I/O). The CSV opens in
Excel with Japanese intact (UTF-8 with BOM); the GeoJSON opens in uMap, QGIS
or JOSM so mappers can walk the "only in the official list" points.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import Geod
from shapely.geometry import shape

from civicmap import wording
from civicmap._files import check_writable, output_batch, spreadsheet_cell, write_text_atomic
from civicmap.errors import CivicMapError
from civicmap.i18n import _
from civicmap.join import DIFF_STATUSES
from civicmap.mapdata import MapData
from civicmap.schema import CRS
from civicmap.sources import _guard
from civicmap.status import CLOSED, OPEN

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


# ---- what changed since the last print (issue 27) --------------------------------------

#: Kinds of change, in the order the lists show them.
CHANGE_KINDS = ("opened", "closed", "appeared", "moved", "disappeared")
#: A place counts as moved when it is further than this from where it was (metres).
MOVED_M = 50.0
#: The words of the change list, in the map's language (the sheet prints them).
CHANGE_WORDS = wording.Table("change")
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Change:
    """One change since the last print: its kind, layer title, name, and what it was/is."""

    kind: str
    layer: str
    name: str
    before: str = ""
    after: str = ""
    distance_m: float | None = None


@dataclass(frozen=True)
class Changes:
    """The change list and when the last print's data was last checked (``since``, ISO or "")."""

    changes: tuple[Change, ...]
    since: str = ""

    def counts(self) -> dict[str, int]:
        return {k: sum(1 for c in self.changes if c.kind == k) for k in CHANGE_KINDS}

    def summary(self, language: str) -> str:
        """The short line a sheet carries: 「前回（7/12 20:00）から：開設 3、閉鎖 2」."""
        w = CHANGE_WORDS[language]
        parts = [f"{w[k]} {n}" for k, n in self.counts().items() if n]
        head = w["since"].format(when=_short_time(self.since)) if self.since else ""
        return head + (w["sep"].join(parts) if parts else w["none"])


def _short_time(iso: str) -> str:
    try:
        t = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{t.month}/{t.day} {t:%H:%M}" if "T" in iso else f"{t.month}/{t.day}"


def _key(layer: str, name: str) -> tuple[str, str]:
    return (
        unicodedata.normalize("NFKC", layer).strip(),
        unicodedata.normalize("NFKC", name).strip(),
    )


def _previous(path: Path) -> tuple[dict[tuple[str, str], dict], str]:
    """The last print's places by (layer title, name), and its newest check or data time."""
    raw = _guard.read_input_bytes(path, what=_("last print's GeoJSON"))
    _guard.check_not_binary(raw, name=str(path))
    doc = _guard.load_json(raw, name=str(path))
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise CivicMapError(
            _("%(path)s: not a GeoJSON export of a map; give the .geojson civicmap wrote for the "
              "last print (outputs.geojson or civicmap export --format geojson)") % {"path": path}
        )  # fmt: skip
    places: dict[tuple[str, str], dict] = {}
    times: list[str] = []
    for feat in doc.get("features") or []:
        props = feat.get("properties") if isinstance(feat, dict) else None
        if not isinstance(props, dict) or not str(props.get("name") or "").strip():
            continue
        layer = str(props.get("layer_title") or props.get("layer") or "")
        try:
            point = shape(feat.get("geometry")).representative_point()
        except Exception:  # a broken geometry in the old file: compared by status only
            point = None
        places[_key(layer, str(props["name"]))] = {"status": str(props.get("status") or ""),
                                                    "point": point}  # fmt: skip
        if props.get("as_of"):
            times.append(str(props["as_of"]))
    meta = doc.get("civicmap") if isinstance(doc.get("civicmap"), dict) else {}
    since = max(times) if times else str(meta.get("built") or "")
    return places, since


def changes_since(data: MapData, previous: str | Path) -> Changes:
    """What opened, closed, appeared, moved or disappeared since the last print.

    ``previous`` is the GeoJSON civicmap exported with the last print; places are
    matched by layer title and name (row numbers and ids change between downloads of a
    volunteers' sheet, names do not). ``since`` is that print's newest check time
    (``as_of``), else its data date.
    """
    before, since = _previous(Path(previous))
    now: dict[tuple[str, str], dict] = {}
    for layer in data.layers:
        title = layer.spec.title_in(data.language)
        f = layer.features
        for _i, row in f.iterrows():
            name = str(row.get("name") or "").strip()
            if not name or row.geometry is None or row.geometry.is_empty:
                continue
            status = row.get("status") if "status" in f.columns else ""
            now[_key(title, name)] = {"status": str(status or ""),
                                      "point": row.geometry.representative_point()}  # fmt: skip
    out: list[Change] = []
    for key, cur in now.items():
        old = before.get(key)
        if old is None:
            out.append(Change("appeared", key[0], key[1], after=cur["status"]))
            continue
        if cur["status"] == OPEN and old["status"] and old["status"] != OPEN:
            out.append(Change("opened", key[0], key[1], old["status"], cur["status"]))
        elif cur["status"] == CLOSED and old["status"] and old["status"] != CLOSED:
            out.append(Change("closed", key[0], key[1], old["status"], cur["status"]))
        if old["point"] is not None:
            p, q = old["point"], cur["point"]
            _a, _b, metres = _GEOD.inv(p.x, p.y, q.x, q.y)
            if metres > MOVED_M:
                out.append(Change("moved", key[0], key[1], distance_m=round(metres)))
    for key, old in before.items():
        if key not in now:
            out.append(Change("disappeared", key[0], key[1], before=old["status"]))
    out.sort(key=lambda c: (CHANGE_KINDS.index(c.kind), c.layer, c.name))
    return Changes(tuple(out), since)


def write_changes(changes: Changes, path: str | Path, *, overwrite: bool = False) -> Path:
    """The change list as CSV for a spreadsheet (UTF-8 with BOM, no formulas), atomically."""
    path = Path(path)
    check_writable(path, overwrite=overwrite)
    table = pd.DataFrame(
        [
            {
                "change": c.kind,
                "layer": c.layer,
                "name": c.name,
                "before": c.before,
                "after": c.after,
                "moved_m": c.distance_m,
            }
            for c in changes.changes
        ],
        columns=["change", "layer", "name", "before", "after", "moved_m"],
    ).map(spreadsheet_cell)
    write_text_atomic(path, "\ufeff" + table.to_csv(index=False), overwrite=overwrite)
    return path
