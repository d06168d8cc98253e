"""uMap backups (``.umap``): datalayers → categories of the common schema.

Two layouts are in use: layer options under ``_umap_options`` (uMap before
2.x, and pre-1.0 files under ``_storage``) or in each layer's
``properties`` (current uMap). Each datalayer's name becomes the category;
features of child layers are read too; a remote-data layer (``remoteData.url``)
holds nothing to read and is reported with its URL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from civicmap.errors import SourceError
from civicmap.schema import RowProblem, SourceResult
from civicmap.sources._table import records_result
from civicmap.sources.vector import _feature_rows, _load_json

log = logging.getLogger(__name__)


def read_umap(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a uMap backup (``.umap``): each datalayer's name becomes the category."""
    options = dict(options or {})
    path = Path(path)
    data = _load_json(path)
    if (
        not isinstance(data, Mapping)
        or data.get("type") != "umap"
        or not isinstance(data.get("layers"), list)
    ):
        raise SourceError(
            f"{path}: not a uMap backup; expected JSON with type 'umap' and a layers list "
            "(export it from uMap: Share → Download → full map backup)"
        )
    rejected: list[RowProblem] = []
    records, geoms, refs = [], [], []
    layer_names: list[str] = []
    warnings: list[dict[str, Any]] = []
    start = 1
    legacy = False
    for k, dl in enumerate(data["layers"], start=1):
        opts = dl.get("_umap_options")
        if opts is None and "_storage" in dl:
            opts, legacy = dl["_storage"], True
        opts = opts or {}
        lname = str(opts.get("name") or f"layer {k}")
        layer_names.append(lname)
        remote = (
            (opts.get("remoteData") or {}).get("url")
            if isinstance(opts.get("remoteData"), Mapping)
            else None
        )
        feats = list(dl.get("features") or [])
        if remote and not feats:
            warnings.append(
                {
                    "row": f"layer {lname}",
                    "column": "remoteData",
                    "value": remote,
                    "reason": f"datalayer {lname!r} loads remote data from {remote}; not read "
                    "(download that data and add it as its own source)",
                }
            )
        r, g, f = _feature_rows(
            feats, name=path.name, start=start, rejected=rejected, extra={"category": lname}
        )
        records += r
        geoms += g
        refs += f
        start += len(feats)
    info = {
        "umap_layers": layer_names,
        "umap_layout": "pre-1.0 (_storage)" if legacy else "_umap_options",
        "map_name": str((data.get("properties") or {}).get("name", "")),
        "warnings": warnings,
    }
    return records_result(
        records,
        geoms,
        refs,
        path=path,
        layer=layer,
        options=options,
        rejected=rejected,
        info=info,
        rows=start - 1,
        category_from_container=True,
    )
