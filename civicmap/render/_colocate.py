"""Places at the same spot, across layers: one marker, one number, one entry.

A school is often both a 指定避難所 and a 指定緊急避難場所, listed by two official files
and drawn by two layers a few metres apart. Drawn separately they print as one visible
symbol with two numbers (paper) or two overprinted labels (web). Renderers ask this
module which points stand together and draw each group once, with every symbol and
designation it stands for.

Pure: reads MapData, returns groups; draws nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Point

from civicmap.mapdata import MapData
from civicmap.schema import metric_crs

#: Points closer than this (metres) are one place. A few metres covers the same building
#: geocoded by two publishers; 40 m would already merge neighbouring buildings.
DEFAULT_TOLERANCE_M = 10.0


@dataclass(frozen=True)
class Member:
    """One feature of a group: which layer, and the row label in its features frame."""

    layer_id: str
    row: object


@dataclass(frozen=True)
class Group:
    """Features of several rows (usually of several layers) that stand at one spot.

    ``lon``/``lat`` is the mean position of the members, where the one marker goes.
    Members are in map-file layer order, then row order.
    """

    members: tuple[Member, ...]
    lon: float
    lat: float

    @property
    def layer_ids(self) -> tuple[str, ...]:
        """The distinct layers of the group, in map-file order."""
        return tuple(dict.fromkeys(m.layer_id for m in self.members))


def colocated(
    data: MapData, *, tolerance_m: float = DEFAULT_TOLERANCE_M, across_layers_only: bool = True
) -> list[Group]:
    """Groups of two or more point features within ``tolerance_m`` of each other.

    Parameters
    ----------
    data : MapData
        The map; only Point features count (areas and routes are never merged).
    tolerance_m : float
        Single-link distance in metres, measured in the local UTM zone.
    across_layers_only : bool
        When true (the default), a group must hold features of at least two layers:
        two rows of one layer at one spot are the layer's own business (clean dedupes
        them, or they are truly two places, e.g. two nurseries in one building).

    Returns
    -------
    list of Group
        Ordered by the first member's layer order and row order, so numbering is stable.
    """
    rows: list[Member] = []
    points: list[Point] = []
    order: list[tuple[int, int]] = []
    for li, layer in enumerate(data.layers):
        feats = layer.features
        if feats is None or feats.empty:
            continue
        # the layer's points as arrays (not a GeoSeries item per row: renderers ask this
        # several times per build), ``pos`` counting the layer's points as before
        geoms = np.asarray(feats.geometry.values, dtype=object)
        picked = np.flatnonzero(shapely.get_type_id(geoms) == 0)  # 0: Point (None: -1)
        labels = list(feats.index)  # as Series.items gives them
        for pos, i in enumerate(picked.tolist()):
            geom = geoms[i]
            if geom.is_empty:
                continue
            rows.append(Member(layer.id, labels[i]))
            points.append(geom)
            order.append((li, pos))
    if len(points) < 2:
        return []
    import geopandas as gpd

    frame = gpd.GeoDataFrame(geometry=points, crs="EPSG:4326")
    metric = frame.to_crs(metric_crs(frame)).geometry.values
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="dwithin", distance=tolerance_m)
    parent = np.arange(len(points))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a < b:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    clusters: dict[int, list[int]] = {}
    for i in range(len(points)):
        clusters.setdefault(find(i), []).append(i)
    groups: list[tuple[tuple[int, int], Group]] = []
    for idx in clusters.values():
        if len(idx) < 2:
            continue
        idx.sort(key=lambda i: order[i])
        members = tuple(rows[i] for i in idx)
        if across_layers_only and len({m.layer_id for m in members}) < 2:
            continue
        group = Group(
            members=members,
            lon=float(np.mean([points[i].x for i in idx])),
            lat=float(np.mean([points[i].y for i in idx])),
        )
        groups.append((order[idx[0]], group))
    groups.sort(key=lambda pair: pair[0])
    return [g for _, g in groups]
