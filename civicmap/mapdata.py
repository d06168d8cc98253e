"""What the pipeline hands to the renderers: the area, each layer's features, the basemap.

Renderers (web, paper, export) take a :class:`MapData` and nothing else, so
they never read files or call sources themselves.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from civicmap.area import Area
from civicmap.hazards import HazardResult
from civicmap.i18n import _
from civicmap.schema import Credit, RowProblem, osm_credit
from civicmap.spec.layers import LayerSpec, iso_date
from civicmap.spec.mapfile import MapSpec

log = logging.getLogger(__name__)

#: Basemap feature kinds (the ``kind`` column of :attr:`MapData.basemap`).
BASEMAP_KINDS = (
    "water", "park", "landuse", "building", "railway", "station",
    "road_major", "road_minor", "path", "school",
)  # fmt: skip


def build_time() -> dt.datetime:
    """The clock: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now.

    Never a data date: the maps print the data's own dates (:func:`data_time`).
    https://reproducible-builds.org/specs/source-date-epoch/
    """
    epoch = _source_date_epoch()
    if epoch is not None:
        return epoch
    return dt.datetime.now().astimezone()


def _source_date_epoch() -> dt.datetime | None:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    return None


def _epoch_date() -> str:
    """``SOURCE_DATE_EPOCH`` as ``YYYY-MM-DD``, or ``""`` (a MapData made by hand has no date)."""
    epoch = _source_date_epoch()
    return f"{epoch:%Y-%m-%d}" if epoch is not None else ""


def _parse_time(text: str) -> dt.datetime | None:
    """An ISO time such as ``osm_base`` (``Z`` or an offset), in UTC; None if not one."""
    text = str(text or "").strip()
    if not text:
        return None
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _date_key(date: str) -> tuple[int, int, int]:
    """Sort key of an ISO date, partial or whole (``2018`` < ``2018-05`` < ``2018-05-02``)."""
    parts = [int(p) for p in date.split("-")[:3]]
    return tuple(parts + [0] * (3 - len(parts)))  # type: ignore[return-value]


def source_dates(spec: MapSpec) -> list[str]:
    """The publication dates the map file gives its sources (ISO text, partial allowed).

    A source's ``date:``, else its credit's ``date`` when that is an ISO date
    (``credit: {date: "2018"}``). A file's modification time is never used: a
    clone or a copy changes it, and it says nothing of when the data was made.
    """
    out: list[str] = []
    for layer in spec.layers:
        for src in layer.sources:
            date = iso_date(src.options.get("date")) if "date" in src.options else None
            credit = src.options.get("credit")
            if date is None and isinstance(credit, dict) and "date" in credit:
                date = iso_date(credit["date"])
            if date:
                out.append(date)
    return out


def data_time(spec: MapSpec, *, osm_base: str = "", fetched: Sequence[str] = ()) -> str:
    """The date a map prints as データ時点 / "data as of": the newest KNOWN date of its data.

    Taken from the data, never the clock or a file's modification time: the OSM data's
    ``osm_base`` (the newest element of an extract, or Overpass's own timestamp,
    kept in a pack) and the publication dates the map file gives its sources
    (:func:`source_dates`), and when each remote source's copy was fetched (``fetched``,
    ISO times: a copy fetched at T is dated T, also the last good copy a failed refresh
    kept). ``""`` when none is known: the maps then print no such
    date (each credit says 「日付不明」). The background tiles are dated in their own
    credit, not here, so a tile map built online and from its pack print the same.
    ``SOURCE_DATE_EPOCH`` still overrides (reproducible builds pin the date).
    ISO text, ``YYYY-MM-DD`` (or ``YYYY``/``YYYY-MM`` when that is all a source says).
    """
    epoch = _epoch_date()
    if epoch:
        return epoch
    dates = source_dates(spec)
    for text in (osm_base, *fetched):
        t = _parse_time(text)
        if t:
            dates.append(f"{t:%Y-%m-%d}")
    if not dates:
        log.info(_("no dated data (OSM or a source's date:): the maps print no data date"))
        return ""
    return max(dates, key=_date_key)


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
    #: When the copy of each remote source (``url:``) was fetched, ISO times in UTC.
    fetched: list[str] = field(default_factory=list)

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
    built : str
        The newest known date of the data, ISO text (printed as データ時点 / "data as
        of"); ``""`` when no date is known (nothing printed): see :func:`data_time`.
    routes : GeoDataFrame or None
        Lines from the map's ``home`` point to its nearest shelters.
    """

    spec: MapSpec
    area: Area
    layers: list[LayerData]
    basemap: gpd.GeoDataFrame | None = None
    data_edge: BaseGeometry | None = None
    osm_base: str = ""
    built: str = field(default_factory=_epoch_date)
    uses_osm: bool = True
    #: Nearest shelters of the map's ``home`` point, one row per shelter with a
    #: LineString (walking route, or straight line when ``route == "straight"``)
    #: and shelter_name, category, straight_m, walk_m, walk_min, rank_straight,
    #: rank_walk (see :func:`civicmap.join.nearest_shelters`); None without ``home``.
    routes: gpd.GeoDataFrame | None = None
    #: What the maps print with the routes, for the public: which layers (by title)
    #: counted as shelters, sites without information on the asked disaster, and any
    #: straight-line fallback in plain words (see :mod:`civicmap.shelter_routes`).
    route_notes: list[str] = field(default_factory=list)
    #: What the builder is told and never the public: why a route fell back and how to
    #: fix it (file names, errors, options). Logged, and rows of the ``--report``;
    #: no renderer reads it.
    build_messages: list[str] = field(default_factory=list)
    #: The map's ``hazards:`` loaded and classed, with what each says at every shelter
    #: site and home (see :mod:`civicmap.hazards`); None when the map has none.
    hazards: HazardResult | None = None
    #: With ``disaster:``, the layers before that view left sites out (every site): the
    #: web page keeps them all and hides the unsuited ones at load, so its
    #: 「すべての避難先」 choice can show them again; paper and exports draw :attr:`layers`.
    every_site: list[LayerData] | None = None
    #: What changed since the last print, one line in the map's language for the sheet
    #: (``outputs.paper.changes_since``, :func:`civicmap.diff.changes_since`); "" if none.
    change_note: str = ""

    @property
    def language(self) -> str:
        return self.spec.language

    @property
    def paper_language(self) -> str:
        """The paper map's language: :attr:`language`, or ``ja+vi`` for a bilingual sheet."""
        return self.spec.paper_language

    def credits(self, *, background: Sequence[Credit] = ()) -> list[Credit]:
        """Every credit to print: OpenStreetMap first, then each layer's, without repeats.

        Parameters
        ----------
        background : sequence of Credit
            The credits of what lies under the map (its tiles with the date the run
            learnt from them, the 承認番号, N03 outlines), printed after OpenStreetMap.
            Only the renderer that drew the map knows them, so it passes them in
            (:func:`civicmap.render.background.map_credits`); this module reads
            nothing from the renderers.
        """
        out: list[Credit] = []
        if self.uses_osm or self.basemap is not None:
            out.append(osm_credit(self.osm_base[:10]))
        out.extend(background)
        for layer in self.layers:
            for c in layer.credits:
                if c.source == "OpenStreetMap":
                    continue
                if c not in out:
                    out.append(c)
        if self.hazards is not None:  # 国土数値情報 hazard files, with their year
            out.extend(c for c in self.hazards.credits() if c not in out)
        return out

    def layer(self, layer_id: str) -> LayerData:
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise KeyError(layer_id)
