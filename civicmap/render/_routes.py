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
    # several homes (``homes:``): each home's routes together, in the homes' order
    home_order = {ref: i for i, ref in enumerate(dict.fromkeys(frame.get("place_ref", [])))}
    home = frame["place_ref"].map(home_order) if "place_ref" in frame.columns else 0
    frame = frame.assign(walked=walked, _home=home).sort_values(
        ["_home", "walked", "walk_m", "straight_m"],
        ascending=[True, False, True, True],
        na_position="last",
        kind="stable",
    )
    first = frame["walked"].to_numpy() & ~frame["_home"].duplicated().to_numpy()
    return frame.drop(columns="_home").assign(nearest=first)
