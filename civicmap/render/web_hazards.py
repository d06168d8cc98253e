"""Hazard zones on the web map: one toggled overlay per hazard layer, its legend, popup lines.

The zones go into the page's payload as GeoJSON with a class number per
feature; ``civicmap.js`` draws each hazard as its own overlay (in the layer
control, on at load), under the markers, and lists its classes in the legend
with the two honest sentences. Every text is ours (class labels, titles) or
passes through ``textContent`` in the page; colours come from the code lists
in :mod:`civicmap.hazards`, never from a file.
"""

from __future__ import annotations

import logging
from typing import Any

import shapely

from civicmap.hazards import honest_notes, texts
from civicmap.mapdata import MapData
from civicmap.schema import CRS

log = logging.getLogger(__name__)

#: Decimal places kept for zone coordinates (about 1 m), as for the layers' shapes.
_DIGITS = 5


def hazards_payload(data: MapData) -> dict[str, Any] | None:
    """``{"layers": [{id, title, classes, zones}], "notes": [...]}``, or None without hazards."""
    hz = data.hazards
    if hz is None or not hz.layers:
        return None
    lang = data.language
    layers = []
    for i, layer in enumerate(hz.layers):
        zones = layer.zones.to_crs(CRS)
        geoms = shapely.set_precision(zones.geometry.to_numpy(), 10**-_DIGITS)
        features = [
            {"type": "Feature", "properties": {"c": int(c)}, "geometry": g.__geo_interface__}
            for c, g in zip(zones["cls"], geoms, strict=True)
            if g is not None and not g.is_empty
        ]
        layers.append(
            {
                "id": f"hazard{i + 1}",
                "title": layer.title(lang),
                "classes": [{"label": c.label(lang), "color": c.color} for c in layer.classes],
                "zones": {"type": "FeatureCollection", "features": features},
                # portal tile sets: URL templates from our registry (never from a file)
                "tiles": list(getattr(getattr(layer, "tiles", None), "urls", ())),
            }
        )
    return {"layers": layers, "notes": honest_notes(lang)}


def add_popup_lines(data: MapData, layer_payloads: list[dict[str, Any]]) -> None:
    """Append what each hazard says at a shelter site to its popup rows (in place)."""
    hz = data.hazards
    if hz is None:
        return
    label = texts(data.language)["hazard"]
    for payload in layer_payloads:
        layer = data.layer(payload["id"])
        index = layer.features.index
        for item in payload["features"]:
            if not isinstance(item.get("p"), list):
                continue  # a popup template: the layer file decides what it shows
            for line in hz.lines_for(layer.id, index[item["i"]]):
                item["p"].append([label, line])


__all__ = ["add_popup_lines", "hazards_payload"]
