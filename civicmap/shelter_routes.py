"""The way to the shelter for a map: shelter layers by role, sites, network, routes, notes.

The pipeline calls :func:`merge_shelter_layers` once every layer is read, and
:func:`routes_for_map` when the map has homes. This module does the map-level
bookkeeping the pure joins leave out: which layers count as shelters (``role:
shelter``, said out loud), where the walking network comes from and whether it
covers the homes, and what the map must print when it falls back to straight
lines or finds nothing to rank. It reads only what the map file names (the
extract, the pack, a homes CSV); the ranking itself is
:func:`civicmap.join.nearest_shelters`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from civicmap import join, settings, wording
from civicmap.errors import CivicMapError, SourceError
from civicmap.i18n import _
from civicmap.join import sites as join_sites
from civicmap.join.sites import disaster_flags
from civicmap.schema import CRS, DISASTER_TYPES, empty_frame, serves_column
from civicmap.sources import osmsplit, overpass, read_path, streets

if TYPE_CHECKING:
    from civicmap.area import Area
    from civicmap.mapdata import LayerData
    from civicmap.spec.mapfile import MapSpec

log = logging.getLogger(__name__)

#: The label every straight-line fallback carries, on both maps.
STRAIGHT_LABEL = wording.Names("route.straight")

#: What the map itself says about its routes, for the public who reads the handout: plain
#: words only. Nothing here may carry a file name, a URL, an error, a flag or a layer id
#: (why a route fell back, and how to fix it, is a builder message: see :class:`MapRoutes`).
PUBLIC_TEXTS = wording.Table("route")


def shelter_layers(layers: list[LayerData]) -> list[LayerData]:
    """The layers whose places are shelters: ``role: shelter`` in their layer file.

    A layer that looks like shelters (id or title says shelter/避難) but has no
    role is not used; a warning says how to include it, so it is never
    silently used or ignored.
    """
    chosen = [lyr for lyr in layers if getattr(lyr.spec, "role", None) == "shelter"]
    for lyr in layers:
        if lyr in chosen:
            continue
        title = " ".join(lyr.spec.title.values())
        f = lyr.features
        if "drawn_as" in f.columns and len(f) and f["drawn_as"].isin(["line", "area"]).all():
            continue  # routes or zones drawn from a uMap/KML file (避難経路), not places
        if "shelter" in lyr.id or "避難" in title or "evacuation" in lyr.id:
            log.warning(
                _(
                    "layer %(lyr_id)s looks like shelters but has no 'role: shelter'; home routes "
                    "do not use it (add role: shelter to its layer file to rank its places)"
                ),
                {"lyr_id": lyr.id},
            )
    return chosen


def merge_shelter_layers(layers: list[LayerData], *, max_distance_m: float = 40.0) -> None:
    """Merge co-located designations across every shelter layer into one site each.

    Each site stays in the layer of its representative row; rows merged into
    it leave their layer's features and are listed in its report's
    ``site_merges`` naming the site and why (the quality report). The
    conflation diff was made before, so every official row stays in it.
    """
    chosen = shelter_layers(layers)
    frames = [lyr.features for lyr in chosen if not lyr.features.empty]
    if not frames:
        return
    rows = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=CRS)
    result = join_sites.merge_sites(rows, max_distance_m=max_distance_m)
    sites = result.sites
    for lyr in chosen:
        mine = sites[sites["layer"] == lyr.id]
        lyr.features = gpd.GeoDataFrame(mine.reset_index(drop=True), geometry="geometry", crs=CRS)
        merged = result.merges[result.merges["layer"] == lyr.id]
        for m in merged.itertuples(index=False):
            lyr.report.site_merges.append(
                {
                    "source": str(m.ref).rsplit(":", 1)[0],
                    "row": m.ref,
                    "reason": _(
                        "merged into site %(site_name)s (%(site_ref)s), %(distance_m)s m away: "
                        "%(reason)s; designation %(designation)s kept"
                    )
                    % {
                        "site_name": m.site_name,
                        "site_ref": m.site_ref,
                        "distance_m": f"{m.distance_m:g}",
                        "reason": m.reason,
                        "designation": m.designation,
                    },
                }
            )
    log.info(
        _("shelter sites: %(n)d rows of layers %(value)s -> %(n2)d sites"),
        {"n": len(rows), "value": ", ".join(lyr.id for lyr in chosen), "n2": len(sites)},
    )


@dataclass
class Home:
    """One starting point: a home, a 町内会's meeting point, a 要配慮者's address."""

    name: str
    lat: float
    lon: float


@dataclass
class MapRoutes:
    """Routes for the map's homes, what the map says about them, and what the builder is told.

    Two kinds of text, kept apart so the build's internals never reach a handout:
    ``notes`` are printed on the maps for the public (plain words from
    :data:`PUBLIC_TEXTS`, layers named by title); ``builder`` are for whoever made the
    map (which extract or server gave no streets, the error, the fix), logged and
    written to the ``--report``, never drawn.
    """

    lines: gpd.GeoDataFrame | None
    notes: list[str] = field(default_factory=list)
    builder: list[str] = field(default_factory=list)
    network: str = ""  # where the walking network came from, or "" (straight lines)


def read_homes_csv(
    path: Path, *, geocode: bool = False, offline: bool | None = None, language: str = "ja"
) -> list[Home]:
    """Homes from a CSV of points (名称/name, 緯度/lat, 経度/lon columns) or addresses.

    With ``geocode``, rows with an address (住所) but no coordinates are placed
    by the geocoder (online; cached): such homes are approximate, and their
    name says so ("（住所から推定）"), since a route from a guessed door is a guess.

    Raises
    ------
    CivicMapError
        Naming the file, the row and the fix, for a missing file, missing
        columns or a row without usable coordinates.
    """
    if not path.exists():
        raise CivicMapError(
            _("homes: %(path)s: file not found; give a CSV of 名称, 緯度, 経度") % {"path": path}
        )
    result = read_path(
        path, layer="homes", options={"geocode": True} if geocode else None, offline=offline
    )
    if result.rejected:
        first = result.rejected[0]
        raise CivicMapError(
            _(
                "homes: %(path_name)s row %(row)s: %(reason)s; every home needs 緯度 and "
                "経度%(extra)s (%(n)s rows affected)"
            )
            % {
                "path_name": path.name,
                "row": first.row,
                "reason": first.reason,
                "extra": "" if geocode else _(" (or an address and homes: {geocode: true})"),
                "n": len(result.rejected),
            }
        )
    feats = result.features
    approx = (
        feats["approximate"].fillna(False).astype(bool).to_numpy()
        if "approximate" in feats.columns
        else [False] * len(feats)
    )
    out = []
    for i, (name, geom, guess) in enumerate(
        zip(feats["name"], feats.geometry, approx, strict=True), start=1
    ):
        note = wording.text(language, "route.from_address") if guess else ""
        label = str(name or f"{path.stem} {i}") + note
        out.append(Home(name=label, lat=geom.y, lon=geom.x))
    return out


def map_homes(spec: MapSpec) -> list[Home]:
    """Every home of the map: ``home``, ``homes`` points and a ``homes`` CSV."""
    homes: list[Home] = []
    if spec.home is not None:
        homes.append(Home(name=wording.text(spec.language, "route.home"), lat=spec.home[0],
                          lon=spec.home[1]))  # fmt: skip
    for name, lat, lon in getattr(spec, "homes", ()) or ():
        homes.append(Home(name=name, lat=lat, lon=lon))
    homes_file = getattr(spec, "homes_file", None)
    if homes_file:
        homes.extend(
            read_homes_csv(
                spec.path(homes_file),
                geocode=getattr(spec, "homes_geocode", False),
                offline=getattr(spec, "offline", None),
                language=spec.language,
            )
        )
    return homes


def walking_network(spec: MapSpec, area: Area):
    """The walking street network and where it came from, or ``(None, why)``.

    Extract, then pack/Overpass. When none answers (offline without a pack,
    an Overpass error) or the network is empty, the reason (in the map's
    language) is returned instead of raised: routes fall back to straight
    lines, labelled as such on both maps. The reason is a builder message (console
    language, may name files and errors): it never reaches the map itself.
    """
    if spec.osm.disabled:  # osm: false reaches the street network too: nothing is asked
        return None, _("this map uses no OSM data (osm: false), so it has no street network")
    path = spec.path(spec.osm.extract) if spec.osm.extract else None
    if path is not None:
        if spec.osm.split:  # a folder civicmap split wrote: the parts the area needs
            with osmsplit.area_extract(path, area) as part:
                graph = streets.walking_graph_from_extract(part, area)
        else:
            graph = streets.walking_graph_from_extract(path, area)
        if graph.number_of_nodes() == 0:
            return None, _(
                "the extract %(name)s has no walkable street in the map's area; use an extract "
                "that covers the area"
            ) % {"name": path.name}
        return graph, _("extract %(name)s") % {"name": path.name}
    try:
        graph = streets.walking_graph_from_overpass(
            area,
            url=spec.osm.overpass_url,
            pack=overpass.pack_folder(spec),
            offline=spec.offline,
        )
    except (SourceError, CivicMapError) as exc:
        return None, _(
            "no extract, and Overpass gave no street network (%(exc)s); give an extract "
            "(osm: {file: ...}) or build from a pack made by civicmap fetch"
        ) % {"exc": exc}
    if graph.number_of_nodes() == 0:
        return None, _("Overpass returned no walkable street in the map's area")
    return graph, "Overpass"


def _texts(language: str) -> dict[str, str]:
    return PUBLIC_TEXTS[language]


def routes_for_map(
    spec: MapSpec,
    area: Area,
    layers: list[LayerData],
    *,
    homes: list[Home] | None = None,
    network=None,
    k: int = 3,
) -> MapRoutes:
    """Rank the shelter sites for every home; say what counted and what fell back.

    Parameters
    ----------
    network : tuple, optional
        ``(graph or None, source or reason)`` as :func:`walking_network`
        returns it (computed here when not given).

    Raises
    ------
    CivicMapError
        When the map has homes but nothing to rank: no layer with ``role:
        shelter``, or no site designated for the asked disaster. A map
        without routes is never printed silently.
    """
    t = _texts(spec.language)
    homes = map_homes(spec) if homes is None else homes
    if not homes:
        return MapRoutes(lines=None)
    chosen = shelter_layers(layers)
    if not chosen:
        ids = ", ".join(lyr.id for lyr in layers) or "none"
        raise CivicMapError(
            _(
                "%(spec_file)s: home is set but no layer has 'role: shelter' (layers: "
                "%(ids)s); add the built-in shelters layer, or role: shelter to your shelter "
                "layer's file"
            )
            % {"spec_file": spec.file, "ids": ids}
        )
    ids = ", ".join(lyr.id for lyr in chosen)
    titles = wording.words(spec.language)["punct.enum"]
    notes = [
        t["layers"].format(titles=titles.join(lyr.spec.title_in(spec.language) for lyr in chosen))
    ]
    builder: list[str] = []
    frames = [lyr.features for lyr in chosen if not lyr.features.empty]
    sites = (
        gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=CRS)
        if frames
        else empty_frame()
    )
    disaster = spec.home_disaster
    if sites.empty:
        raise CivicMapError(
            _(
                "%(spec_file)s: home is set but the shelter layers (%(ids)s) have no places in "
                "the map's area; check the area and the layers' sources"
            )
            % {"spec_file": spec.file, "ids": ids}
        )
    if disaster:
        notes.extend(_disaster_notes(sites, disaster, t))
    graph, source = network if network is not None else walking_network(spec, area)
    places = gpd.GeoDataFrame(
        {"name": [h.name for h in homes], "source_ref": [f"home:{i + 1}" for i in range(len(homes))]},
        geometry=[Point(h.lon, h.lat) for h in homes],
        crs=CRS,
    )  # fmt: skip
    result = join.nearest_shelters(
        places,
        sites,
        disaster=disaster,
        k=k,
        graph=graph,
        walking_speed_m_per_min=settings.walking_speed_m_per_min,
    )
    if result.table.empty:
        ja = DISASTER_TYPES[serves_column(disaster).removeprefix("serves_")] if disaster else ""
        raise CivicMapError(
            _(
                "%(spec_file)s: home.disaster: %(disaster)s: none of the %(n)s sites of layers "
                "%(ids)s is designated for %(ja)s. %(items)s Add the 指定緊急避難場所 list (its 災害種別 "
                "columns say which disasters each site serves) to a layer with role: shelter, "
                "or remove disaster: to rank every site"
            )
            % {
                "spec_file": spec.file,
                "disaster": disaster,
                "n": len(sites),
                "ids": ids,
                "ja": ja,
                "items": " ".join(notes[1:]),
            }
        )
    if graph is None:
        notes.append(t["fallback"])
        builder.append(_("home routes: straight lines only: %(source)s") % {"source": source})
    else:
        for name, dist in result.outside_network:
            notes.append(t["outside"].format(home=name, m=f"{dist:,.0f}"))
            builder.append(
                _(
                    "home routes: %(name)s is %(m)s m from the nearest street of the walking "
                    "network (%(source)s): straight lines; use OSM data that covers the home"
                )
                % {"name": name, "m": f"{dist:,.0f}", "source": source}
            )
        if result.shelters_outside:
            notes.append(t["shelters_outside"].format(n=result.shelters_outside))
            builder.append(
                _(
                    "home routes: %(n)d shelters lie outside the walking network (%(source)s): "
                    "straight lines to them"
                )
                % {"n": result.shelters_outside, "source": source}
            )
    for message in builder:
        log.warning(message)  # already in the console language
    for note in result.notes:
        log.info(_("nearest shelters: %(note)s"), {"note": note})
    return MapRoutes(
        lines=result.lines,
        notes=notes,
        builder=builder,
        network=source if graph is not None else "",
    )


def _disaster_notes(sites: gpd.GeoDataFrame, disaster: str, t: dict[str, str]) -> list[str]:
    """How many sites have no information on ``disaster`` (and how many only shelter)."""
    try:
        col = serves_column(disaster)
    except ValueError as exc:
        raise CivicMapError(str(exc)) from None
    ja = DISASTER_TYPES[col.removeprefix("serves_")]
    flags = disaster_flags(sites)[col]
    unknown = flags.isna()
    after = (
        sites["after_emergency_only"].fillna(False).astype(bool)
        if "after_emergency_only" in sites.columns
        else pd.Series(False, index=sites.index)
    )
    notes = []
    if unknown.any():
        notes.append(
            t["no_info"].format(
                n=len(sites), unknown=int(unknown.sum()), ja=ja, after=int((unknown & after).sum())
            )
        )
    no = int((flags == False).sum())  # noqa: E712 - object column of True/False/None
    if no:
        notes.append(t["not_serving"].format(n=no, ja=ja))
    return notes
