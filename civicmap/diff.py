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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import Geod
from shapely.geometry import shape

from civicmap import wording
from civicmap._files import check_writable, output_batch, spreadsheet_cell, write_text_atomic
from civicmap.errors import CivicMapError, InputError
from civicmap.i18n import _
from civicmap.join import DIFF_STATUSES
from civicmap.mapdata import LayerData, MapData
from civicmap.schema import CRS
from civicmap.sources import _guard
from civicmap.status import CLOSED, OPEN, UNKNOWN

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
CHANGE_KINDS = ("opened", "closed", "unknown", "appeared", "moved", "disappeared")
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


@dataclass(frozen=True)
class Snapshot:
    """The places of a print, by (layer title, name), and when its data was last checked.

    ``places`` maps each key to ``{"status": ..., "point": ...}``; ``since`` is ISO text
    (the newest ``as_of``, else the data's date or fetch time), or "".
    """

    places: dict[tuple[str, str], dict]
    since: str = ""


def not_a_last_print(path: Path) -> InputError:
    """The error for a last print that is neither a pack nor a GeoJSON export."""
    return InputError(
        _("%(path)s: neither an offline pack (a folder civicmap fetch wrote) nor a GeoJSON "
          "export of a map; give the last print's pack folder (unpack an archived one first) "
          "or the .geojson civicmap wrote with it (outputs.geojson or civicmap export "
          "--format geojson)") % {"path": path}
    )  # fmt: skip


def geojson_snapshot(path: str | Path) -> Snapshot:
    """The last print's places from the GeoJSON civicmap exported with it.

    Raises
    ------
    SourceError
        When ``path`` is not a GeoJSON export of a map (a CSV, an archive, any other
        file): the message names the path and the two things it may be.
    """
    path = Path(path)
    raw = _guard.read_input_bytes(path, what=_("last print's GeoJSON"))
    try:
        _guard.check_not_binary(raw, name=str(path))
        doc = _guard.load_json(raw, name=str(path))
    except CivicMapError:
        raise not_a_last_print(path) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise not_a_last_print(path)
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
    return Snapshot(places, since)


def layers_snapshot(layers: Sequence[LayerData], language: str, *, since: str = "") -> Snapshot:
    """The places of ``layers`` as a print shows them (title in ``language``, name, status).

    ``since`` is used when no place has a check time (``as_of``); with check times
    it is the newest of them, as for :func:`geojson_snapshot`.
    """
    places: dict[tuple[str, str], dict] = {}
    times: list[str] = []
    for layer in layers:
        title = layer.spec.title_in(language)
        f = layer.features
        for _i, row in f.iterrows():
            name = str(row.get("name") or "").strip()
            if not name or row.geometry is None or row.geometry.is_empty:
                continue
            status = row.get("status") if "status" in f.columns else ""
            places[_key(title, name)] = {"status": str(status or ""),
                                         "point": row.geometry.representative_point()}  # fmt: skip
            as_of = row.get("as_of") if "as_of" in f.columns else ""
            if isinstance(as_of, str) and as_of:
                times.append(as_of)
    return Snapshot(places, max(times) if times else since)


def changes_since(data: MapData, previous: str | Path | Snapshot) -> Changes:
    """What opened, closed, became unknown, appeared, moved or disappeared since the last print.

    ``previous`` is the last print: the GeoJSON civicmap exported with it, or a
    :class:`Snapshot` of it (:func:`civicmap.pipeline.last_print` makes one from the
    print's offline pack). Places are matched by layer title and name (row numbers and
    ids change between downloads of a volunteers' sheet, names do not). ``since`` is
    that print's newest check time (``as_of``), else its data date or fetch time.
    """
    last = previous if isinstance(previous, Snapshot) else geojson_snapshot(previous)
    before, since = last.places, last.since
    now = layers_snapshot(data.layers, data.language).places
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
        elif cur["status"] == UNKNOWN and old["status"] in (OPEN, CLOSED):
            # no longer known to be open: off the paper now, so the list says why it went
            out.append(Change("unknown", key[0], key[1], old["status"], cur["status"]))
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
