"""GeoJSON features → property records and shapely geometries (shared by GeoJSON and uMap)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import RowProblem
from civicmap.sources import _guard


def _load_json(path: Path) -> Any:
    # bounded read, nesting limit, one-line errors: see sources/_guard.py
    raw = _guard.read_input_bytes(path)
    _guard.check_not_binary(raw, name=str(path))
    return _guard.load_json(raw, name=str(path))


def _features_of(collection: Any, *, name: str) -> list:
    if isinstance(collection, Mapping) and collection.get("type") == "FeatureCollection":
        return list(collection.get("features") or [])
    if isinstance(collection, Mapping) and collection.get("type") == "Feature":
        return [collection]
    raise SourceError(
        _("%(name)s: got a JSON %(kind)s (type %(value)r), expected a GeoJSON FeatureCollection")
        % {
            "name": name,
            "kind": type(collection).__name__,
            "value": collection.get("type") if isinstance(collection, Mapping) else None,
        }
    )


def _feature_rows(
    features: list,
    *,
    name: str,
    start: int,
    rejected: list[RowProblem],
    extra: Mapping[str, Any] | None = None,
) -> tuple[list[dict], list, list[int]]:
    records, geoms, refs = [], [], []
    for i, feat in enumerate(features, start=start):
        props = dict((feat or {}).get("properties") or {})
        geom = (feat or {}).get("geometry")
        label = props.get("name") or props.get("施設・場所名") or props.get("名称") or ""
        if not geom:
            rejected.append(
                RowProblem(
                    name,
                    i,
                    _("feature has no geometry%(label)s")
                    % {"label": f" ({label})" if label else ""},
                    code="no_geometry",
                )
            )
            continue
        try:
            g = shape(geom)
        except Exception as exc:  # shapely raises several types for bad geometry
            rejected.append(
                RowProblem(name, i, _("unreadable geometry (%(error)s)") % {"error": exc})
            )
            continue
        if not _guard.finite_xy(g):
            rejected.append(
                RowProblem(name, i, _("coordinates are not finite numbers (NaN or infinity)"))
            )
            continue
        if g.is_empty:
            rejected.append(
                RowProblem(
                    name,
                    i,
                    _("feature has an empty geometry%(label)s")
                    % {"label": f" ({label})" if label else ""},
                    code="no_geometry",
                )
            )
            continue
        rec = {k: v for k, v in props.items() if not str(k).startswith("_")}
        for k, v in list(rec.items()):
            if isinstance(v, dict | list):
                rec[k] = json.dumps(v, ensure_ascii=False)
        if extra:
            # a feature's own category (e.g. in a file civicmap exported) wins
            # over the one its folder or datalayer gives it
            for k, v in extra.items():
                if not rec.get(k):
                    rec[k] = v
        records.append(rec)
        geoms.append(g)
        refs.append(i)
    return records, geoms, refs
