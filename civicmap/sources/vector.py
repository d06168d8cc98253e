"""Vector files people already have: GeoJSON, Google My Maps KML/KMZ, uMap exports.

Each becomes a table of properties plus geometry and then goes through the
same column detection as CSVs (:func:`civicmap.sources.opendata.finish_frame`),
so GSI shelter GeoJSON gets ``serves_*`` flags just like a 自治体標準 CSV, and
the ``layout``, ``columns``, ``category``, ``join`` and ``filter`` options work
as they do for CSVs (``encoding`` and ``geocode`` do not apply and are reported).

- KML: folders become categories, ``ExtendedData`` becomes columns, and HTML
  descriptions become plain text (tags dropped, ``<br>`` as newlines), which
  renderers then escape: nothing from the file is ever emitted as markup.
- .umap: the current layout (datalayers with ``_umap_options``, a UUID id,
  ``rank`` and ``fields``; per-feature ``_umap_options`` styles) and the legacy
  one (numeric ids, relative ``iconUrl``; pre-1.0 files use ``_storage``). Each
  datalayer's name becomes the category.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from civicmap.errors import SourceError
from civicmap.schema import RowProblem, SourceResult
from civicmap.sources import _crs
from civicmap.sources._table import records_result

log = logging.getLogger(__name__)


def _load_json(path: Path) -> Any:
    raw = path.read_bytes()
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "GeoJSON must be UTF-8 (RFC 7946)"
        ) from None
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None


def _features_of(collection: Any, *, name: str) -> list:
    if isinstance(collection, Mapping) and collection.get("type") == "FeatureCollection":
        return list(collection.get("features") or [])
    if isinstance(collection, Mapping) and collection.get("type") == "Feature":
        return [collection]
    raise SourceError(
        f"{name}: got a JSON {type(collection).__name__} "
        f"(type {collection.get('type') if isinstance(collection, Mapping) else None!r}), "
        "expected a GeoJSON FeatureCollection"
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
                RowProblem(name, i, f"feature has no geometry{f' ({label})' if label else ''}")
            )
            continue
        try:
            g = shape(geom)
        except Exception as exc:  # shapely raises several types for bad geometry
            rejected.append(RowProblem(name, i, f"unreadable geometry ({exc})"))
            continue
        if g.is_empty:
            rejected.append(
                RowProblem(
                    name, i, f"feature has an empty geometry{f' ({label})' if label else ''}"
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


def read_geojson(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a GeoJSON file; name, address and disaster flags are detected as in CSVs."""
    options = dict(options or {})
    path = Path(path)
    data = _load_json(path)
    features = _features_of(data, name=str(path))
    declared = _crs.geojson_crs(data, name=str(path))
    rejected: list[RowProblem] = []
    records, geoms, refs = _feature_rows(features, name=path.name, start=1, rejected=rejected)
    return records_result(
        records,
        geoms,
        refs,
        path=path,
        layer=layer,
        options=options,
        rejected=rejected,
        info={},
        rows=len(features),
        crs=declared,
    )


# KML and uMap moved to their own modules; kept importable from here.
from civicmap.sources.kml import KML_NS, html_to_text, read_kml  # noqa: E402
from civicmap.sources.umap import read_umap  # noqa: E402

__all__ = ["KML_NS", "html_to_text", "read_geojson", "read_kml", "read_umap"]
