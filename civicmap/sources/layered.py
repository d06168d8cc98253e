"""A layered file (uMap datalayers, KML folders) → one map layer per file layer, as it looks there.

The readers (:mod:`civicmap.sources.umap`, :mod:`civicmap.sources.kml`) describe each
of the file's layers as a :class:`~civicmap.spec.layers.SourceLayer` and mark every
feature with its ``source_layer``. :func:`split` turns the map file's layer into one
layer per file layer, in the file's order, with the file's names and styles
(:func:`~civicmap.spec.layers.layer_from_source`); with ``layers: categories`` it
stays one layer whose categories are the file's layers, in their colours.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pandas as pd

from civicmap.i18n import _
from civicmap.schema import SourceResult
from civicmap.spec.layers import LayerSpec, SourceLayer, layer_from_source

log = logging.getLogger(__name__)

#: The feature column naming its file layer (an index into ``info["source_layers"]``).
SOURCE_LAYER = "source_layer"


def split(layer: LayerSpec, result: SourceResult) -> list[tuple[LayerSpec, SourceResult]]:
    """The map layers of a layered source: ``[(layer spec, its part of the result), ...]``.

    File layers without a feature (a uMap remote-data layer: reported by the reader)
    are left out. The first layer carries the source's rejected and repaired rows and
    its warnings, so the quality report lists each once.
    """
    sources: list[SourceLayer] = list((result.info or {}).get("source_layers") or [])
    feats = result.features
    src = layer.layered_source
    mode = src.options.get("layers", "layers") if src is not None else "layers"
    if not sources or SOURCE_LAYER not in feats.columns:
        return [(layer, result)]
    index = pd.to_numeric(feats[SOURCE_LAYER], errors="coerce")
    if mode == "categories":
        return [(_as_categories(layer, sources), _without_index(result, feats))]
    present = [i for i in range(len(sources)) if (index == i).any()]
    out: list[tuple[LayerSpec, SourceResult]] = []
    for pos, i in enumerate(present):
        spec = layer_from_source(layer, sources[i], position=pos, count=len(present))
        part = feats[(index == i).to_numpy()].copy()
        part["layer"] = spec.id
        first = pos == 0
        out.append(
            (
                spec,
                SourceResult(
                    features=part.drop(columns=[SOURCE_LAYER]),
                    credit=result.credit,
                    rejected=list(result.rejected) if first else [],
                    repaired=list(result.repaired) if first else [],
                    info={
                        **result.info,
                        "warnings": result.info.get("warnings", []) if first else [],
                    },
                ),
            )
        )
    if not out:
        return [(layer, _without_index(result, feats))]
    log.info(
        _("layer %(layer)s: one map layer per layer of the file: %(layers)s"),
        {"layer": layer.id, "layers": ", ".join(s.title_in("ja") for s, _r in out)},
    )
    return out


def _without_index(result: SourceResult, feats) -> SourceResult:
    return replace(result, features=feats.drop(columns=[SOURCE_LAYER]))


def _as_categories(layer: LayerSpec, sources: list[SourceLayer]) -> LayerSpec:
    """One layer whose categories are the file's layers (and their coloured values), in order."""
    given = {n for n, _c, _s in layer.style.category_overrides}
    overrides = list(layer.style.category_overrides)
    names = [c["name"] for c in layer.categories]
    for s in sources:
        for name, colour in [(s.name, s.color), *s.categories]:
            if name not in names:
                names.append(name)
            if colour and name not in given:
                overrides.append((name, colour, ""))
                given.add(name)
    declared = {c["name"]: c for c in layer.categories}
    return replace(
        layer,
        style=replace(layer.style, category_overrides=tuple(overrides)),
        categories=tuple(declared.get(n, {"name": n}) for n in names),
    )
