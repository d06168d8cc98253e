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

from civicmap.hazards import DISASTER_NAMES, designated, honest_notes, texts
from civicmap.mapdata import MapData
from civicmap.schema import CRS, DISASTER_TYPES

log = logging.getLogger(__name__)

#: Decimal places kept for zone coordinates (about 1 m), as for the layers' shapes.
_DIGITS = 5


def hazards_payload(data: MapData) -> dict[str, Any] | None:
    """``{"layers": [{id, title, classes, zones}], "notes": [...]}``, or None without hazards."""
    hz = data.hazards
    if hz is None or not hz.layers:
        return None
    lang = data.language
    shown = hz.shown()
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
                # disaster: 洪水 — only that disaster's hazards are on at load
                "on": any(layer is s for s in shown),
                "disaster": layer.spec.disaster,
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


#: The disaster view's words on the web map, per map language (never the console's).
VIEW_TEXTS: dict[str, dict[str, str]] = {
    "ja": {"label": "災害で絞り込む", "all": "すべての避難先"},
    "en": {"label": "Shelters for", "all": "every shelter"},
}


def suited(data: MapData, layer: Any, label: Any) -> list[str] | None:
    """The disasters a shelter site suits (designated, not ruled out by its hazard); None: not a shelter.

    What the web map's disaster choice filters on: the same rule as the map
    file's ``disaster:`` (:func:`civicmap.pipeline.disaster_view`).
    """
    if getattr(layer.spec, "role", None) != "shelter":
        return None
    row = layer.features.loc[label]
    site = data.hazards.sites.get((layer.id, label)) if data.hazards is not None else None
    ruled_out = site.unusable if site is not None else []
    return [
        key
        for key in DISASTER_TYPES
        if designated(row.get(f"serves_{key}")) and key not in ruled_out
    ]


def mark_suited(data: MapData, layer: Any, label: Any, item: dict[str, Any]) -> None:
    """Put the disasters a shelter site suits into its web payload item (``d``), in place."""
    keys = suited(data, layer, label)
    if keys is not None:
        item["d"] = keys


def add_suited(data: MapData, layer_payloads: list[dict[str, Any]]) -> None:
    """:func:`mark_suited` for every shelter site drawn as its own marker (in place)."""
    for payload in layer_payloads:
        layer = data.layer(payload["id"])
        index = layer.features.index
        for item in payload["features"]:
            mark_suited(data, layer, index[item["i"]], item)


def disaster_view_payload(data: MapData, layer_payloads: list[dict[str, Any]]) -> dict | None:
    """The web map's disaster choice: ``{label, all, choices: [{key, label}], selected}``, or None.

    Offered when the map has shelter sites designated for some disaster. Choosing
    one shows only the sites suited to it and turns on that disaster's hazard
    layers (the others off); 「すべての避難先」 shows every site again. A map with
    ``disaster:`` opens with it chosen (its other sites are not in the page).
    """
    found: set[str] = set()
    for payload in layer_payloads:
        for item in payload["features"]:
            found.update(item.get("d") or [])
            for other in item.get("m") or []:
                found.update(other.get("d") or [])
    if not found:
        return None
    lang = data.language if data.language in VIEW_TEXTS else "en"
    names = DISASTER_NAMES[lang]
    return {
        **VIEW_TEXTS[lang],
        "choices": [{"key": k, "label": names[k]} for k in DISASTER_TYPES if k in found],
        "selected": data.spec.disaster or "",
    }


__all__ = [
    "add_popup_lines",
    "add_suited",
    "disaster_view_payload",
    "hazards_payload",
    "mark_suited",
    "suited",
]
