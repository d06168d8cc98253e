"""The one-way flow: map file → area → layers → sources → clean → join → render.

:func:`collect` reads and cleans everything a map needs into a
:class:`~civicmap.mapdata.MapData`; :func:`build` renders it to the map's
outputs. Sources, clean/join and renderers never call each other: this module
passes the GeoDataFrames along.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from civicmap import clean, hazard_tiles, hazards, join, progress, settings, shelter_routes
from civicmap._files import output_batch
from civicmap._http import refreshing
from civicmap._outputs import Output, guarded_outputs, is_site_folder
from civicmap.area import Area, map_area
from civicmap.diff import (
    Snapshot,
    changes_since,
    geojson_snapshot,
    layers_snapshot,
    not_a_last_print,
)
from civicmap.errors import CivicMapError, ConfigError, InputError, Problem, SourceError
from civicmap.hazards import HazardResult
from civicmap.i18n import _, ngettext
from civicmap.mapdata import LayerData, LayerReport, MapData, build_time, data_time
from civicmap.render import export, paper, web
from civicmap.render.paper.plan import entries_reused
from civicmap.render.site import write_site
from civicmap.schema import CRS, Credit, SourceResult, empty_frame, osm_credit, serves_column
from civicmap.shelter_routes import shelter_layers
from civicmap.sources import layered, osmsplit, overpass, read_file_source, remote, streets
from civicmap.sources._categories import unify_layer_categories
from civicmap.sources._guard import clean_text_columns
from civicmap.sources._osmschema import to_schema
from civicmap.sources.osmfile import OsmExtract, read_extract
from civicmap.spec.layers import LayerSpec
from civicmap.spec.mapfile import MapSpec, load_map
from civicmap.status import JST, apply_status
from civicmap.tagfilter import TagFilter

if TYPE_CHECKING:
    from civicmap.sources.osmfile import OsmExtract

log = logging.getLogger(__name__)

#: What the paper/web basemap draws, as tag filters (name → filter). The
#: classification into :data:`~civicmap.mapdata.BASEMAP_KINDS` is in
#: :func:`classify_basemap`.
BASEMAP_FILTERS: dict[str, TagFilter] = {
    "_highway": TagFilter.parse({"highway": True, "area": {"not": "yes"}}),
    "_building": TagFilter.parse({"building": True}),
    "_water": TagFilter.parse(
        [{"natural": "water"}, {"waterway": True}, {"landuse": ["reservoir", "basin"]}]
    ),
    "_park": TagFilter.parse(
        [
            {"leisure": ["park", "garden", "playground", "pitch", "sports_centre", "stadium"]},
            {"landuse": ["grass", "recreation_ground", "cemetery", "forest"]},
            {"natural": ["wood", "scrub", "grassland"]},
        ]
    ),
    "_railway": TagFilter.parse({"railway": ["rail", "subway", "light_rail", "tram", "monorail"]}),
    "_station": TagFilter.parse([{"railway": "station"}, {"public_transport": "station"}]),
    "_school": TagFilter.parse({"amenity": ["school", "university", "college"]}),
}
_MAJOR = {"motorway", "trunk", "primary", "secondary", "tertiary", "motorway_link",
          "trunk_link", "primary_link", "secondary_link", "tertiary_link"}  # fmt: skip
_PATH = {"footway", "path", "steps", "pedestrian", "cycleway", "track", "corridor"}


def demo_map_path() -> Path:
    """The bundled demo map file (新宿区 西早稲田)."""
    return Path(str(resources.files("civicmap.data") / "demo" / "demo.yaml"))


def is_underground(tags: dict) -> bool:
    """A way below the ground (tunnel, negative layer, subway): the paper basemap leaves it out.

    Drawn like a surface line it would look like a railway or road a walker can
    see and cross; the 副都心線 runs under 明治通り in a tunnel.
    """
    if tags.get("tunnel", "no") not in ("", "no") or tags.get("location") == "underground":
        return True
    if tags.get("railway") == "subway" and tags.get("tunnel") != "no":
        return True
    try:
        return float(str(tags.get("layer", "0")).split(";")[0]) < 0
    except ValueError:
        return False


def classify_basemap(frames: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """One basemap frame with a ``kind`` column from the raw basemap frames."""
    parts = []
    for key, frame in frames.items():
        if not key.startswith("_") or frame.empty:
            continue
        kind_name = key[1:]
        tags = frame["tags"]
        if kind_name == "highway":
            hw = tags.map(lambda t: t.get("highway", ""))
            kinds = hw.map(
                lambda h: "road_major" if h in _MAJOR else ("path" if h in _PATH else "road_minor")
            )
            frame = frame[frame.geometry.geom_type.isin(["LineString", "MultiLineString"])]
            kinds = kinds.loc[frame.index]
        else:
            kinds = pd.Series(kind_name, index=frame.index)
        parts.append(
            gpd.GeoDataFrame(
                {
                    "kind": kinds.values,
                    "name": frame["tags"].map(lambda t: t.get("name", "")).values,
                    "name_en": frame["tags"].map(lambda t: t.get("name:en", "")).values,
                    "highway": frame["tags"].map(lambda t: t.get("highway", "")).values,
                    "underground": frame["tags"].map(is_underground).values,
                    "osm_ref": [
                        f"{a}/{b}" for a, b in zip(frame["osm_type"], frame["osm_id"], strict=True)
                    ],
                },
                geometry=frame.geometry.values,
                crs=CRS,
            )
        )
    if not parts:
        return gpd.GeoDataFrame(
            {"kind": [], "name": []}, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS
        )
    return pd.concat(parts, ignore_index=True)


def _osm_filters(spec: MapSpec) -> tuple[dict[str, TagFilter], dict[str, set[str]]]:
    filters: dict[str, TagFilter] = {}
    types: dict[str, set[str]] = {}
    for layer in spec.layers:
        for i, src in enumerate(layer.sources):
            if src.kind == "osm" and src.tag_filter is not None:
                key = f"{layer.id}#{i}"
                filters[key] = src.tag_filter
                if src.options.get("types"):
                    types[key] = set(src.options["types"])
    if spec.basemap.draw:
        filters.update(BASEMAP_FILTERS)
    return filters, types


def _osm_file(spec: MapSpec) -> Path | None:
    """The local extract the map reads (:attr:`OsmSource.extract`), or None."""
    return spec.path(spec.osm.extract) if spec.osm.extract else None


def _read_osm(spec: MapSpec, area: Area) -> OsmExtract:
    """Raw OSM frames for every layer filter and the basemap, from a file or Overpass.

    Frames are keyed ``<layer>#<i>`` (tag filters), ``<layer>#ql<i>`` (raw
    ``overpass_ql``) and ``_<kind>`` (basemap). ``bounds`` is set only for a
    local extract, whose data ends at its edge.
    """
    if spec.osm.disabled:  # osm: false (mapfile already dropped the layers' OSM sources)
        return OsmExtract(frames={})
    filters, types = _osm_filters(spec)
    uses_raw_ql = any(
        s.kind == "osm" and s.options.get("overpass_ql")
        for layer in spec.layers
        for s in layer.sources
    )
    if not filters and not uses_raw_ql:
        return OsmExtract(frames={})
    path = _osm_file(spec)
    if path is not None:
        if uses_raw_ql:
            raise SourceError(
                _(
                    "%(file)s: a layer uses overpass_ql, which only Overpass can answer; with osm: {file: ...} use match: tag conditions instead"
                )
                % {"file": spec.file}
            )
        if spec.osm.split:  # a folder civicmap split wrote: only the parts the area needs
            parts = osmsplit.open_split(path).parts_for(area.geometry, what=area.name)
            return osmsplit.read_parts(parts, filters, types=types)
        return read_extract(path, filters, types=types)

    return overpass.fetch_for_map(spec, area, filters, types=types)


def _concat(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    frames = [f for f in frames if not f.empty]
    out = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS)


def _clean_and_conflate(
    osm_parts: list[gpd.GeoDataFrame],
    file_parts: list[gpd.GeoDataFrame],
    area: Area,
    report: LayerReport,
    *,
    has_osm_source: bool = False,
    sites: bool = False,
) -> gpd.GeoDataFrame:
    """Clean each side; when a layer has OSM and file features, conflate them.

    Each place then appears once, keeping both references (``ref_official``,
    ``ref_osm``); the diff goes into ``report.diff`` for ``civicmap diff``.
    A layer with an OSM source whose OSM data holds none of its places is
    conflated too: every official row is then ``only_official`` in the diff
    (a to-do list for mappers), not left out of it. ``sites`` (a ``role:
    shelter`` layer): same-name rows are not dropped as duplicates here but
    merged later into one site keeping every designation and flag
    (:func:`civicmap.shelter_routes.merge_shelter_layers`).
    """

    def clean_layer(frame, area=None):
        if not sites:
            return clean.clean_layer(frame, area=area)
        out, removed = clean.fix_geometries(frame)
        if area is not None:
            out, more = clean.clip_to_area(out, area)
            removed = [*removed, *more]
        return gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs=CRS), removed

    osm_f, file_f = _concat(osm_parts), _concat(file_parts)
    file_f = unify_layer_categories(file_f)  # one legend entry per category across files
    report.mapped = len(osm_f) + len(file_f)
    if file_f.empty or (osm_f.empty and not has_osm_source):
        features, removed = clean_layer(_concat([osm_f, file_f]), area=area.geometry)
        report.removed.extend(removed)
    else:
        osm_f, removed_osm = clean_layer(osm_f, area=area.geometry)
        file_f, removed_file = clean_layer(file_f, area=area.geometry)
        result = join.conflate(file_f, osm_f)
        report.merged = result.matched
        report.diff = result.diff
        features, removed_after = clean_layer(result.merged)
        report.removed.extend([*removed_osm, *removed_file, *removed_after])
    report.clipped = sum(1 for r in report.removed if r.code == "outside_area")
    report.deduplicated = sum(1 for r in report.removed if r.code == "duplicate")
    return clean.with_marker_points(features)


def _layer_data(
    layer: LayerSpec,
    osm: OsmExtract,
    area: Area,
    language: str,
    files: Mapping[tuple[str, int], SourceResult] | None = None,
    *,
    offline: bool | None = None,
    pack: Path | None = None,
) -> LayerData:
    """One layer from its sources: OSM frames (already read for the whole map) and files.

    Every row a source rejected or repaired, and every OSM element the layer's
    filter matched but the reader left out or reshaped, goes into the report.
    ``files`` holds file sources already read (by :func:`read_inputs`), keyed by
    (layer id, source index); the others are read here.
    """
    report = LayerReport()
    parts: list[gpd.GeoDataFrame] = []  # file sources (official lists, KML, uMap ...)
    osm_parts: list[gpd.GeoDataFrame] = []
    credits: list[Credit] = []
    fetched: list[str] = []  # when each remote source's copy was fetched: its data date
    for i, src in enumerate(layer.sources):
        if src.kind == "osm":
            key = f"{layer.id}#{i}" if f"{layer.id}#{i}" in osm.frames else f"{layer.id}#ql{i}"
            raw = osm.frames.get(key)
            if raw is None:
                continue
            frame = to_schema(
                raw,
                layer=layer.id,
                category_rules=src.category_rules,
                default_category=str(src.options.get("category", layer.title_in("ja"))),
                language=language,
            )
            frame, fixed = clean_text_columns(frame, source="osm")  # NUL/ESC never reach outputs
            report.repaired.extend(fixed)
            rejected = osm.rejected.get(key, [])
            report.read += len(frame) + len(rejected)
            report.rejected.extend(rejected)
            report.repaired.extend(osm.repaired.get(key, []))
            credits.append(osm_credit(osm.osm_base[:10]))
            osm_parts.append(frame)
        else:
            result = (files or {}).get((layer.id, i)) or read_file_source(
                src, layer=layer.id, offline=offline, pack=pack
            )
            fetched.extend(map(str, (result.info or {}).get("fetched") or ()))  # remote copies
            source_label = src.label
            result.features, fixed = clean_text_columns(result.features, source=source_label)
            result.repaired.extend(fixed)
            report.read += len(result.features) + len(result.rejected)
            report.rejected.extend(result.rejected)
            report.repaired.extend(result.repaired)
            source_name = src.label
            report.warnings.extend(
                {**w, "source": w.get("source") or source_name} if isinstance(w, dict) else w
                for w in (result.info or {}).get("warnings", [])
            )
            if result.credit:
                credit = result.credit
                if not credit.date and src.options.get("date"):
                    credit = replace(credit, date=str(src.options["date"]))  # the source's date:
                credits.append(credit)
            parts.append(result.features)
    features = _clean_and_conflate(
        osm_parts,
        parts,
        area,
        report,
        has_osm_source=any(s.kind == "osm" for s in layer.sources),
        sites=layer.role == "shelter",
    )
    uniq: list[Credit] = []
    for c in credits:
        if c not in uniq:
            uniq.append(c)
    return LayerData(spec=layer, features=features, credits=uniq, report=report, fetched=fetched)


def _file_layers(
    layer: LayerSpec, files: Mapping | None, *, offline: bool | None, pack: Path | None = None
) -> list[tuple[LayerSpec, dict | None]]:
    """A layer whose one source is a uMap or KML file: one layer per layer of the file.

    See :mod:`civicmap.sources.layered`; any other layer is returned as it is.
    """
    src = layer.layered_source
    if src is None:
        return [(layer, files)]
    result = (files or {}).get((layer.id, 0)) or read_file_source(
        src, layer=layer.id, offline=offline, pack=pack
    )
    return [(spec, {(spec.id, 0): part}) for spec, part in layered.split(layer, result)]


@dataclass
class Inputs:
    """Every source of a map, read once: OSM frames and file sources.

    A batch reads these once for all its areas and hands each area its part
    (:func:`civicmap.batch.partition`), instead of re-reading a prefecture's
    extract and CSVs per area.
    """

    osm: OsmExtract
    files: dict[tuple[str, int], SourceResult] = field(default_factory=dict)


def read_inputs(spec: MapSpec, area: Area, *, osm: bool = True) -> Inputs:
    """Read the OSM data and every file source of ``spec`` for ``area`` (no cleaning).

    ``osm=False`` leaves the OSM data out (a batch over a split folder reads each area's
    parts in its own build instead).
    """
    files = {}
    for layer in spec.layers:
        for i, src in enumerate(layer.sources):
            if src.kind != "osm":
                files[(layer.id, i)] = read_file_source(
                    src, layer=layer.id, offline=spec.offline, pack=overpass.pack_folder(spec)
                )
    return Inputs(osm=_read_osm(spec, area) if osm else OsmExtract(frames={}), files=files)


def collect(
    spec: MapSpec,
    *,
    area: Area | None = None,
    inputs: Inputs | None = None,
    files: Mapping[tuple[str, int], SourceResult] | None = None,
    built: str | None = None,
    offline: bool | None = None,
) -> MapData:
    """Read, clean and join everything the map needs (no output is written).

    ``area`` replaces the map file's area and ``inputs`` its sources (both used
    by batches, which resolve areas and read sources once); ``files`` holds file
    sources already read, keyed by (layer id, source index) as :attr:`Inputs.files`
    (``civicmap check`` reads each for its own checks first, then lays out the paper
    map from the same read); the others are read here. Each is cleaned in place, so
    a caller hands over reads it no longer needs. ``built`` fixes the
    build time printed on the maps. ``offline=True`` uses no network (only
    local files, the offline pack and the cache); ``None`` keeps
    ``spec.offline``, whose default is ``settings.offline``. The choice rides
    on the returned ``data.spec``, so rendering (tiles) obeys it too.
    """
    spec = with_offline(spec, offline)

    with progress.task(_("reading the data"), total=2 + len(spec.layers)) as advance:
        return _collect(spec, advance, area=area, inputs=inputs, files=files, built=built)


def _collect(
    spec: MapSpec,
    advance,
    *,
    area: Area | None,
    inputs: Inputs | None,
    files: Mapping[tuple[str, int], SourceResult] | None = None,
    built: str | None,
) -> MapData:
    advance(_("area"))
    if area is None:
        area = map_area(spec)  # the look-up check shares
    log.info(_("area: %(area_name)s (%(kind)s)"), {"area_name": area.name, "kind": area.kind})
    advance("OpenStreetMap")
    osm = inputs.osm if inputs is not None else _read_osm(spec, area)
    if inputs is not None:
        files = inputs.files
    basemap = None
    if spec.basemap.draw and osm.frames:
        basemap = classify_basemap({k: v for k, v in osm.frames.items() if k.startswith("_")})
    layers = []
    now = build_time()  # the age of each place's check (print_if.max_age) is counted to here
    for layer in spec.layers:
        advance(layer.id)
        log.info(_("layer %(layer_id)s"), {"layer_id": layer.id})
        pack = overpass.pack_folder(spec)
        for part, part_files in _file_layers(layer, files, offline=spec.offline, pack=pack):
            ld = _layer_data(part, osm, area, spec.language, part_files, offline=spec.offline,
                             pack=pack)  # fmt: skip
            ld.features = apply_status(ld.features, ld.spec, now=now)  # status:, print_if:
            layers.append(ld)
    uses_osm = not spec.osm.disabled and any(
        s.kind == "osm" for layer in spec.layers for s in layer.sources
    )
    data = MapData(
        spec=spec,
        area=area,
        layers=layers,
        basemap=basemap,
        data_edge=box(*osm.bounds) if osm.bounds else None,
        osm_base=osm.osm_base,
        uses_osm=uses_osm or basemap is not None,
    )
    data.built = (
        built
        if built is not None
        else data_date(spec, osm, [t for layer in layers for t in layer.fetched])
    )
    if osm.problems:
        n = len(osm.problems)
        log.info(
            ngettext(
                "%(n)d OSM element cut by the extract's edge or left out as broken "
                "(-vv lists it; layers' elements are in --report)",
                "%(n)d OSM elements cut by the extract's edge or left out as broken "
                "(-vv lists them; layers' elements are in --report)",
                n,
            ),
            {"n": n},
        )

    shelter_routes.merge_shelter_layers(layers)
    homes = shelter_routes.map_homes(spec)
    route_layers = layers
    if spec.hazards:
        data.hazards = load_hazards(spec, area, layers, homes)
    if spec.disaster:  # one disaster's view: only the shelter sites suited to it
        data.every_site = list(layers)  # the web page keeps them, hidden at load
        layers[:] = disaster_view(spec, layers, data.hazards)
    # compared as printed: shelter sites merged, one disaster's view (as the export has them)
    data.change_note = _change_note(spec, data)
    route_layers = layers
    if spec.hazards:
        route_layers = hazard_route_layers(spec, layers, data)
    if homes:
        routes = shelter_routes.routes_for_map(spec, area, route_layers, homes=homes)
        data.routes = routes.lines
        data.route_notes = routes.notes
        data.build_messages.extend(routes.builder)
        if data.hazards is not None:  # what each hazard says at each home, with its routes
            data.route_notes.extend(hazards.home_notes(data.hazards, language=spec.language))
        for note in routes.notes:
            log.info(_("routes: %(note)s"), {"note": note})
    return data


def with_pack(spec: MapSpec, folder: str | Path) -> MapSpec:
    """The same map, reading OSM data and remote sources' copies from the pack in ``folder``."""
    area_extract = spec.area.kind == "osm_file" and not spec.osm.overpass
    osm = replace(
        spec.osm,
        file=None,
        extract=str(spec.area.value) if area_extract else None,
        pack=str(Path(folder).resolve()),
    )
    return replace(spec, osm=osm)


def last_print(spec: MapSpec, previous: str | Path, *, area: Area | None = None) -> Snapshot:
    """The places of the last print of ``spec``, from its offline pack or its GeoJSON export.

    A pack is read as an offline rebuild from it reads it (its OSM answers and its
    copies of the remote sources, no network; shelter sites merged, one disaster's
    view), with the same status rules; its time
    is its newest check time (``as_of``), else when its data was fetched
    (:func:`civicmap.sources.remote.pack_time`). ``area`` is the map's area, already resolved.

    Raises
    ------
    InputError
        ``previous`` does not exist, is neither a pack nor a GeoJSON export, or is the
        pack this build reads (the change list would always be empty).
    SourceError
        The pack does not hold this map's data.
    """
    path = Path(previous)
    if not path.exists():
        raise InputError(
            _("%(path)s: no such file or folder; give the last print's pack folder (civicmap "
              "fetch) or its GeoJSON export") % {"path": path}
        )  # fmt: skip
    if not path.is_dir():
        return geojson_snapshot(path)
    if not (path / overpass.MANIFEST).is_file():
        raise not_a_last_print(path)
    own = overpass.pack_folder(spec)
    if own is not None and own.resolve() == path.resolve():
        raise InputError(
            _("%(path)s is the pack this build reads, so nothing would have changed; keep the "
              "last print's pack and fetch the new data into another folder (civicmap fetch "
              "MAP.yaml -o NEW_PACK)") % {"path": path}
        )  # fmt: skip
    local = sorted({s.label for layer in spec.layers for s in layer.sources
                    if s.kind != "osm" and s.remote is None})  # fmt: skip
    if local:  # read as they are today: their changes cannot show
        log.warning(
            _("the last print's pack %(path)s holds OSM data and remote sources (url:) only; "
              "%(files)s are read as they are now, so their changes are not listed. To list "
              "them too, compare with the GeoJSON exported with the last print"),
            {"path": path, "files": ", ".join(local)},
        )  # fmt: skip
    when = remote.pack_time(path)  # no check time in its data: when it was fetched, in JST
    since = when.astimezone(JST).isoformat(timespec="minutes") if when is not None else ""
    # the places as that print showed them; its change list and home routes are not needed
    before = replace(with_pack(spec, path), home=None, homes=(), homes_file=None)
    if before.paper is not None:
        before = replace(before, paper=replace(before.paper, changes_since=None))
    try:
        layers = collect(before, area=area, offline=True).layers
    except CivicMapError as exc:
        raise SourceError(
            _("the last print's pack %(path)s cannot be read as this map (%(error)s); give the "
              "pack of the last print of this map, or its GeoJSON export") % {"path": path,
              "error": exc}
        ) from None  # fmt: skip
    return layers_snapshot(layers, spec.language, since=since)


def _change_note(spec: MapSpec, data: MapData) -> str:
    """The sheet's line of what changed since the last print (``outputs.paper.changes_since``).

    The last print is its offline pack or its GeoJSON export (:func:`last_print`). The
    first print has no last print: a missing path is said once and leaves no line.
    """
    since = spec.paper.changes_since if spec.paper is not None else None
    if not since:
        return ""
    path = spec.path(since)
    if not path.exists():
        log.warning(
            _("outputs.paper.changes_since: %(path)s does not exist (the first print?); the "
              "sheet carries no change list"),
            {"path": path},
        )  # fmt: skip
        return ""
    try:
        previous = last_print(spec, path, area=data.area)
    except SourceError as exc:  # named by the key the map file gives it
        raise SourceError(
            _("%(file)s: outputs.paper.changes_since: %(error)s")
            % {"file": spec.file, "error": exc}
        ) from None
    return changes_since(data, previous).summary(spec.language)


def load_hazards(spec: MapSpec, area: Area, layers: list[LayerData], homes) -> HazardResult:
    """Read the map's ``hazards:`` and check every shelter site and home against them.

    A site that may not serve its disaster is listed in its layer's quality
    report (``--report``), naming the site, the hazard and why.
    """
    loaded = [
        hazard_tiles.load_tile_hazard(h, spec, language=spec.language)
        if h.tiles
        else hazards.load_hazard(h, area=area.geometry, language=spec.language)
        for h in spec.hazards
    ]
    result = HazardResult(layers=loaded, disaster=spec.disaster)
    for layer in shelter_layers(layers):
        hazards.check_sites(result, layer.id, layer.features, language=spec.language)
        for label, site in result.sites.items():
            if label[0] != layer.id or not site.unusable:
                continue
            row = layer.features.loc[label[1]]
            layer.report.warnings.append(
                {
                    "source": str(row.get("source_ref", "")),
                    "row": str(row.get("name", "")),
                    "reason": _(
                        "%(name)s: designated for %(disasters)s but its hazards say %(lines)s; "
                        "it may not be usable in this disaster (routes for it skip this site)"
                    )
                    % {
                        "name": row.get("name", ""),
                        "disasters": ", ".join(site.unusable),
                        "lines": " / ".join(site.lines[: len(loaded)]),
                    },
                }
            )
    hazards.check_homes(result, [(h.name, h.lat, h.lon) for h in homes], language=spec.language)
    return result


def disaster_view(
    spec: MapSpec, layers: list[LayerData], result: HazardResult | None
) -> list[LayerData]:
    """``disaster:``: each shelter layer keeps only the sites suited to that disaster.

    A site is suited when it is designated for the disaster (``serves_<key>``
    true) and its hazard does not rule it out (see :func:`hazards.unusable`);
    the other layers are kept whole. How many sites each layer leaves out is
    logged (the maps show what is suited, not what is not).
    """
    key = spec.disaster
    assert key is not None
    col = f"serves_{key}"
    out = []
    for layer in layers:
        if getattr(layer.spec, "role", None) != "shelter":
            out.append(layer)
            continue
        frame = layer.features
        serves = frame[col] if col in frame.columns else pd.Series(None, index=frame.index)
        keep = serves.map(hazards.designated).astype(bool)
        if result is not None:
            ruled_out = {label for (lid, label), site in result.sites.items()
                         if lid == layer.id and key in site.unusable}  # fmt: skip
            keep &= ~frame.index.isin(list(ruled_out))
        log.info(
            _("disaster view (%(disaster)s): %(layer)s shows %(kept)d of %(n)d sites"),
            {"disaster": key, "layer": layer.id, "kept": int(keep.sum()), "n": len(frame)},
        )
        out.append(replace(layer, features=frame[keep.to_numpy(dtype=bool)]))
    return out


def hazard_route_layers(spec: MapSpec, layers: list[LayerData], data: MapData) -> list[LayerData]:
    """The layers the routes of ``home.disaster`` rank: without sites its hazard rules out."""
    disaster = spec.home_disaster
    if not disaster or data.hazards is None:
        return layers

    key = serves_column(disaster).removeprefix("serves_")
    out = []
    for layer in layers:
        drop = [
            label
            for (layer_id, label), site in data.hazards.sites.items()
            if layer_id == layer.id and key in site.unusable and label in layer.features.index
        ]  # (a disaster: view has left them out already)
        if not drop:
            out.append(layer)
            continue
        for label in drop:
            message = _(
                "home routes (%(disaster)s): skipped %(name)s: it lies in a hazard zone where "
                "it may not be usable (%(lines)s)"
            ) % {
                "disaster": disaster,
                "name": layer.features.loc[label].get("name", label),
                "lines": " / ".join(data.hazards.sites[(layer.id, label)].lines),
            }
            log.warning(message)
            data.build_messages.append(message)
        out.append(replace(layer, features=layer.features.drop(index=drop)))
    return out


def data_date(spec: MapSpec, osm: OsmExtract, fetched: Sequence[str] = ()) -> str:
    """The date the maps print: the newest known date of the data read, or ``""``.

    See :func:`mapdata.data_time`: the OSM data's ``osm_base`` (from the extract, the
    Overpass answer or the pack that stored it), the sources' ``date:`` and when the
    copies of remote sources were fetched (``fetched``, :attr:`LayerData.fetched`).
    """
    return data_time(spec, osm_base=osm.osm_base, fetched=fetched)


def walking_graph(spec: MapSpec, area: Area):
    """The walking street network for the map, from the same OSM source as its layers."""
    path = _osm_file(spec)
    if path is not None and spec.osm.split:
        with osmsplit.area_extract(path, area) as part:
            return streets.walking_graph_from_extract(part, area)
    if path is not None:
        return streets.walking_graph_from_extract(path, area)

    return streets.walking_graph_from_overpass(
        area,
        url=spec.osm.overpass_url,
        pack=overpass.pack_folder(spec),
        offline=spec.offline,
    )


def home_routes(
    home: tuple[float, float], layers: list[LayerData], *, graph=None, disaster: str | None = None
) -> gpd.GeoDataFrame | None:
    """Lines from a home point ``[lat, lon]`` to its nearest shelters (``role: shelter`` layers).

    Without a street ``graph`` the lines are straight (``route == "straight"``).
    A map build uses :func:`civicmap.shelter_routes.routes_for_map`, which
    also says on the map what counted and what fell back.
    """
    from shapely.geometry import Point

    shelters = [lyr.features for lyr in shelter_layers(layers)]
    if not shelters:
        log.warning(_("home is set but the map has no shelters layer; no nearest-shelter lines"))
        return None
    place = gpd.GeoDataFrame(
        {"name": ["home"], "source_ref": ["home"]}, geometry=[Point(home[1], home[0])], crs=CRS
    )
    result = join.nearest_shelters(
        place,
        _concat(shelters),
        graph=graph,
        disaster=disaster,
        walking_speed_m_per_min=settings.walking_speed_m_per_min,
    )
    for note in result.notes:
        log.info(_("nearest shelters: %(note)s"), {"note": note})
    return result.lines


def with_offline(spec: MapSpec, offline: bool | None) -> MapSpec:
    """``spec`` with the run's offline choice on it (unchanged when ``offline`` is ``None``).

    Why on the spec: every step that may use the network (area lookup,
    Overpass, the street network, map tiles) already receives the spec, so
    the choice reaches each request as a value, not as a global setting a
    caller must remember to undo.
    """
    if offline is None or spec.offline == bool(offline):
        return spec
    return replace(spec, offline=bool(offline))


def build(
    spec: MapSpec | str | Path,
    *,
    overwrite: bool = False,
    formats: tuple[str, ...] | None = None,
    offline: bool | None = None,
) -> dict[str, list[Path]]:
    """Build every output the map file names; return kind → written paths.

    Existing outputs are refused before any work starts unless ``overwrite``;
    each file is written to a temporary name and renamed, so a failed run
    leaves no half-written file. ``offline=True`` builds without the network
    (``None``: ``settings.offline``, from ``CIVICMAP_OFFLINE``).
    """
    return build_with_data(spec, overwrite=overwrite, formats=formats, offline=offline)[1]


def build_with_data(
    spec: MapSpec | str | Path,
    *,
    overwrite: bool = False,
    formats: tuple[str, ...] | None = None,
    also_writes: tuple[Path, ...] = (),
    refresh: bool = False,
    offline: bool | None = None,
) -> tuple[MapData, dict[str, list[Path]]]:
    """:func:`build`, also returning the collected data (for the quality report).

    ``also_writes`` names further files the caller will write afterwards (a
    report); they are checked for overwriting together with the outputs,
    before any work starts. ``refresh`` asks every server again instead of
    answering from the response cache (``civicmap build --refresh``).
    """
    if not isinstance(spec, MapSpec):
        spec = load_map(spec)
    kinds = [k for k in spec.outputs if formats is None or k in formats]
    if not kinds:
        message = _(
            "no outputs to write; add outputs: {web: {file: out/map.html}, paper: {file: out/map.pdf}}"
        )
        raise ConfigError([Problem(str(spec.file), "outputs", message)])  # invalid input: exit 2

    outputs = [
        Output(p, root=output_root(spec, p), **_folder_output(spec, p))
        for p in output_targets(spec, kinds)
    ]
    # every output checked (never an input, never a device ...) and its folder locked first
    with guarded_outputs(
        [*outputs, *(Output(Path(p)) for p in also_writes)],
        inputs=map_inputs(spec),
        overwrite=overwrite,
    ):
        with refreshing(refresh):
            data = collect(spec, offline=offline)
        return data, render(data, kinds=kinds, overwrite=overwrite)


def _folder_output(spec: MapSpec, path: Path) -> dict:
    """The site output is a folder: only one civicmap wrote as a site is ever replaced."""
    if path == spec.output_path("site"):
        return {"folder": True, "ours": is_site_folder}
    return {}


def data_files(spec: MapSpec) -> list[Path]:
    """The local data files a map reads besides OSM: its layers' files, joined tables, homes."""
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
    out.extend(h.file for h in spec.hazards if h.file is not None)  # 国土数値情報 hazard files
    if spec.paper is not None and spec.paper.changes_since:  # the last print's GeoJSON
        out.append(spec.path(spec.paper.changes_since))
    return out


def map_inputs(spec: MapSpec, *, pack: bool = True) -> list[Path]:
    """Every local file or folder a build of ``spec`` reads: no output may be, hold or lie in one.

    The map file, its layer files, every data file (sources, joined tables, homes),
    the area's boundary file or extract, the OSM extract and (``pack``) the offline
    pack (``civicmap fetch`` leaves it out: it writes that folder).
    """
    paths: list[Path] = []
    for name in (spec.file, *(layer.file for layer in spec.layers)):
        if name and Path(name).is_file():
            paths.append(Path(name))
    paths += data_files(spec)
    if spec.area.path:
        paths.append(spec.path(spec.area.path))
    extract = _osm_file(spec)
    if extract is not None:
        paths.append(extract)
    if pack:
        folder = spec.pack_dir()
        if spec.osm.pack or folder.exists():  # the default pack only when it is there
            paths.append(folder)
    return paths


def output_root(spec: MapSpec, path: Path) -> Path:
    """The folder an output of ``spec`` may not leave through a symbolic link.

    The map's folder for an output named inside it (``out/map.html``): a link planted
    in a shared project (``out`` → elsewhere) is refused; otherwise the output's own
    folder (an absolute path or ``--out`` is the user's choice).
    """
    base = Path(spec.base_dir)
    try:
        Path(path).relative_to(base)
    except ValueError:
        return Path(path).parent
    return base


def render(
    data: MapData, *, kinds: list[str] | None = None, overwrite: bool = False
) -> dict[str, list[Path]]:
    """Render collected data to the map's outputs, all together or none.

    Every output is written to a temporary file first; only when all are
    written are they renamed over the old ones (see
    :func:`civicmap._files.output_batch`), so a failure, a full disk or a kill
    never leaves a mix of old and new outputs. Temporary files left by a killed
    earlier run are removed first. The places of the paper index are made once for
    all the outputs that number them (:func:`~civicmap.render.paper.plan.entries_reused`).
    """
    spec = data.spec
    kinds = kinds or list(spec.outputs)
    with (
        progress.task(_("drawing the maps"), total=len(kinds)) as advance,
        output_batch(output_targets(spec, kinds)),
        entries_reused(),  # the web page's numbers and the paper index: one making of the places
    ):
        return _render_each(data, kinds=kinds, overwrite=overwrite, advance=advance)


def output_targets(spec: MapSpec, kinds: list[str]) -> list[Path]:
    """Every file the outputs ``kinds`` write (the paper PNG included)."""
    return [target for kind in kinds for target in spec.output_targets(kind)]


def _render_each(
    data: MapData, *, kinds: list[str], overwrite: bool, advance=lambda _step: None
) -> dict[str, list[Path]]:
    spec = data.spec
    written: dict[str, list[Path]] = {}
    others: dict[str, MapData] = {}

    def in_language(lang: str) -> MapData:
        # collected again: names, hazard lines and route notes are made in the language
        if lang not in others:
            others[lang] = collect(spec.in_language(lang))
        return others[lang]

    for kind in kinds:
        advance(kind)
        path = spec.output_path(kind)
        if kind == "paper" and spec.one_paper_file and spec.paper.languages == "sections":
            sections = [data, *(in_language(lang) for lang in spec.languages[1:])]
            written[kind] = list(
                paper.write_paper_sections(sections, path, options=spec.paper, overwrite=overwrite)
            )
        elif kind == "web":
            written[kind] = [web.write_web(data, path, options=spec.web, overwrite=overwrite)]
        elif kind == "site":
            written[kind] = [write_site(data, path, options=spec.site, overwrite=overwrite)]
        elif kind == "paper":
            written[kind] = list(
                paper.write_paper(data, path, options=spec.paper, overwrite=overwrite)
            )
        else:
            written[kind] = [export.write_export(data, path, fmt=kind, overwrite=overwrite)]
        log.debug("wrote %s", ", ".join(map(str, written[kind])))
    for lang in spec.languages[1:]:  # language: [ja, en, …]: a paper map and a page each
        kinds_here = [k for k in kinds if spec.language_outputs(k)]
        if kinds_here:
            other = _render_each(in_language(lang), kinds=kinds_here, overwrite=overwrite)
            for kind, paths in other.items():
                written[kind] += paths
    return written


def with_output_dir(spec: MapSpec, out_dir: Path) -> MapSpec:
    """The same map with every output file moved into ``out_dir`` (names kept).

    Only the folder is resolved: a symbolic link standing at an output's name is
    checked by the output rule, never followed here.
    """
    folder = Path(out_dir).resolve()
    outputs = {kind: str(folder / Path(file).name) for kind, file in spec.outputs.items()}
    return replace(spec, outputs=outputs)
