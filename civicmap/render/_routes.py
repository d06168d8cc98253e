"""The home routes in the order both maps list them (shared by web and paper)."""

from __future__ import annotations

import geopandas as gpd


def ordered_routes(routes: gpd.GeoDataFrame | None, crs) -> gpd.GeoDataFrame | None:
    """The routes in ``crs``, nearest on foot first; None when there are none.

    Walked routes come first by walking distance, then straight-line fallbacks
    (no street route known) by straight distance. Two columns are added:
    ``walked`` (a walked route with a walking distance) and ``nearest`` (the
    first walked route, which both maps draw emphasised).
    """
    if routes is None or routes.empty:
        return None
    frame = routes.to_crs(crs)
    walked = frame["walk_m"].notna() & (frame["route"] == "walk")
    frame = frame.assign(walked=walked).sort_values(
        ["walked", "walk_m", "straight_m"], ascending=[False, True, True], na_position="last"
    )
    first = frame["walked"].to_numpy().copy()
    first[1:] = False
    return frame.assign(nearest=first)
