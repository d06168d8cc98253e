"""What the pipeline hands to the renderers: the area, each layer's features, the basemap.

Renderers (web, paper, export) take a :class:`MapData` and nothing else, so
they never read files or call sources themselves.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from civicmap.area import Area
from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.layers import LayerSpec
from civicmap.mapfile import MapSpec
from civicmap.schema import Credit, RowProblem, osm_credit
from civicmap.sources._guard import PACK_MANIFEST_MAX_BYTES, read_pack_entry

log = logging.getLogger(__name__)

#: Basemap feature kinds (the ``kind`` column of :attr:`MapData.basemap`).
BASEMAP_KINDS = (
    "water", "park", "landuse", "building", "railway", "station",
    "road_major", "road_minor", "path", "school",
)  # fmt: skip


def build_time() -> dt.datetime:
    """The clock: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now.

    Only a map with no dated data at all prints this (see :func:`data_time`); a batch
    and a MapData made by hand in Python start from it.
    https://reproducible-builds.org/specs/source-date-epoch/
    """
    epoch = _source_date_epoch()
    if epoch is not None:
        return epoch
    return dt.datetime.now().astimezone()


def _source_date_epoch() -> dt.datetime | None:
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    return None


def _parse_time(text: str) -> dt.datetime | None:
    """An ISO date or time from a manifest or ``osm_base`` (``Z`` or an offset), in UTC."""
    text = str(text or "").strip()
    if not text:
        return None
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def data_files(spec: MapSpec) -> list[Path]:
    """The local data files a map reads besides OSM: its layers' files, joined tables, homes.

    Their modification times date the data (a CSV carries no date of its own).
    """
    out: list[Path] = []
    for layer in spec.layers:
        for src in layer.sources:
            if src.kind == "osm":
                continue
            if src.path is not None:
                out.append(src.path)
            join = src.options.get("join")
            if isinstance(join, dict) and join.get("path"):
                out.append(src.base_dir / str(join["path"]))
    if spec.homes_file:
        out.append(spec.path(spec.homes_file))
    return out


def data_time(spec: MapSpec, *, osm_base: str = "", osm_pack: Path | None = None) -> dt.datetime:
    """The date a map prints as データ時点 / "data as of": the newest of its data's own dates.

    Taken from the data, never the clock, so the same data rebuilt on another day
    gives the same bytes (issue #14): the OSM data's ``osm_base``, the creation time
    of the offline pack it was read from (``osm_pack``), the fetch time of the pack's
    background tiles, and the modification time of each local data file
    (:func:`data_files`). ``SOURCE_DATE_EPOCH`` still overrides; a map with none of
    these (only online tiles, say) falls back to the clock. In UTC, like ``osm_base``.
    """
    epoch = _source_date_epoch()
    if epoch is not None:
        return epoch
    times: list[dt.datetime] = []
    t = _parse_time(osm_base)
    if t:
        times.append(t)
    if osm_pack is not None and (Path(osm_pack) / "manifest.json").is_file():
        import json

        try:  # untrusted: never a link, a FIFO or a device (read_pack_entry)
            raw = read_pack_entry(osm_pack, "manifest.json", max_bytes=PACK_MANIFEST_MAX_BYTES)
            manifest = json.loads(raw or b"{}")
        except (ValueError, SourceError):
            manifest = {}  # a damaged pack is refused by the OSM reader with its own message
        t = _parse_time(manifest.get("created", "")) if isinstance(manifest, dict) else None
        if t:
            times.append(t)
    from civicmap.render.tiles import pack_for, read_pack_manifest, source_for

    source = source_for(spec.basemap)
    if source is not None and source.offline:
        t = _parse_time((read_pack_manifest(pack_for(spec), source) or {}).get("fetched", ""))
        if t:
            times.append(t)
    for path in data_files(spec):
        try:
            times.append(dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC))
        except OSError:
            continue  # not there: the source reader names it
    if not times:
        log.info(_("no dated data (OSM, pack or local file): the map prints today's date"))
        return build_time()
    return max(times).replace(microsecond=0)


@dataclass
class LayerReport:
    """Counts and reasons for one layer, from read to render (the quality report).

    ``read`` counts every row and OSM element the sources gave (rejected ones
    too); ``mapped`` the features that reached cleaning (OSM and files
    together); ``merged`` the official-list × OSM pairs drawn as one.
    """

    read: int = 0
    mapped: int = 0
    merged: int = 0
    deduplicated: int = 0
    clipped: int = 0
    rejected: list[RowProblem] = field(default_factory=list)
    repaired: list[RowProblem] = field(default_factory=list)
    removed: list[RowProblem] = field(default_factory=list)
    #: Source warnings kept as they came (``SourceResult.info["warnings"]``):
    #: dicts with ``source``, ``row``, ``reason`` (and ``column``, ``value``),
    #: e.g. a 法人番号 a spreadsheet turned into 5.22001E+12. The row is kept
    #: on the map; the warning tells the user to fix the source file.
    warnings: list[dict] = field(default_factory=list)
    #: When a layer has OSM and file sources: what the conflation found
    #: (see :func:`civicmap.join.conflate`); ``civicmap diff`` writes it.
    diff: gpd.GeoDataFrame | None = None
    #: Rows of this layer merged into a shelter site (one place, several official
    #: designations; see :func:`civicmap.join.sites.merge_sites`): dicts with
    #: ``source``, ``row`` and ``reason`` (which site, how far, why).
    site_merges: list[dict] = field(default_factory=list)

    @property
    def shown(self) -> int:
        """Features left to draw: every mapped row, less merged pairs and removed rows.

        Counts every removal (empty geometry too, not only ``clipped`` and
        ``deduplicated``) and every row merged into a shelter site, so it
        equals ``len(LayerData.features)``.
        """
        return self.mapped - self.merged - len(self.removed) - len(self.site_merges)


@dataclass
class LayerData:
    """One layer ready to draw: its spec, features (common schema) and credits."""

    spec: LayerSpec
    features: gpd.GeoDataFrame
    credits: list[Credit] = field(default_factory=list)
    report: LayerReport = field(default_factory=LayerReport)

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass
class MapData:
    """Everything a renderer needs.

    Attributes
    ----------
    spec : MapSpec
        The validated map file (title, language, outputs and their options).
    area : Area
        The map's area.
    layers : list of LayerData
        In the order of the map file.
    basemap : GeoDataFrame or None
        OSM features to draw under the layers, with a ``kind`` column (one of
        :data:`BASEMAP_KINDS`), ``name`` and ``geometry``.
    data_edge : geometry or None
        Where the OSM data is complete (an extract's bounds); outside it the
        basemap thins out and maps say so.
    osm_base : str
        The OSM data timestamp, printed as "OSM data as of ...".
    built : datetime
        The date of the data (printed as データ時点 / "data as of"): see :func:`data_time`.
    routes : GeoDataFrame or None
        Lines from the map's ``home`` point to its nearest shelters.
    """

    spec: MapSpec
    area: Area
    layers: list[LayerData]
    basemap: gpd.GeoDataFrame | None = None
    data_edge: BaseGeometry | None = None
    osm_base: str = ""
    built: dt.datetime = field(default_factory=lambda: build_time())
    uses_osm: bool = True
    #: Nearest shelters of the map's ``home`` point, one row per shelter with a
    #: LineString (walking route, or straight line when ``route == "straight"``)
    #: and shelter_name, category, straight_m, walk_m, walk_min, rank_straight,
    #: rank_walk (see :func:`civicmap.join.nearest_shelters`); None without ``home``.
    routes: gpd.GeoDataFrame | None = None
    #: What the maps print with the routes: which layers counted as shelters,
    #: sites without information on the asked disaster, and any straight-line
    #: fallback with its reason (see :mod:`civicmap.shelter_routes`).
    route_notes: list[str] = field(default_factory=list)

    @property
    def language(self) -> str:
        return self.spec.language

    def credits(self) -> list[Credit]:
        """Every credit to print: OpenStreetMap first, then each layer's, without repeats."""
        out: list[Credit] = []
        if self.uses_osm or self.basemap is not None:
            out.append(osm_credit(self.osm_base[:10]))
        from civicmap.render.background import background_credits  # tiles, 承認番号, N03

        out.extend(background_credits(self))
        for layer in self.layers:
            for c in layer.credits:
                if c.source == "OpenStreetMap":
                    continue
                if c not in out:
                    out.append(c)
        return out

    def layer(self, layer_id: str) -> LayerData:
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise KeyError(layer_id)
