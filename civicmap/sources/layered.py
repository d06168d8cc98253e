"""A layered file (uMap datalayers, KML folders) → one map layer per file layer, as it looks there.

The readers (:mod:`civicmap.sources.umap`, :mod:`civicmap.sources.kml`) describe each
of the file's layers as a :class:`~civicmap.spec.layers.SourceLayer` and mark every
feature with its ``source_layer``. :func:`split` turns the map file's layer into one
layer per file layer, in the file's order, with the file's names and styles
(:func:`~civicmap.spec.layers.layer_from_source`); with ``layers: categories`` it
stays one layer whose categories are the file's layers, in their colours.

A file with more non-empty layers than :data:`civicmap.settings.max_file_layers`
(a hostile or generated file with thousands of datalayers or folders) keeps its
first layers as they are and folds the rest into one last layer whose categories
are their names (:func:`split` says why), with one warning naming the file.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pandas as pd

from civicmap import settings, wording
from civicmap.i18n import _, current_language
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

    At most ``settings.max_file_layers`` map layers come from one file: past that,
    the first ``max_file_layers - 1`` stay layers and the others become one last
    layer whose categories are their names. Why this and not ``layers: categories``
    for the whole file: the file's first layers (the ones its author put first) still
    look and switch as in uMap or My Maps, a file one layer over the limit changes
    by one layer instead of all at once, and no place is lost; the warning names
    ``layers: categories`` for whoever wants one layer instead.
    """
    sources: list[SourceLayer] = list((result.info or {}).get("source_layers") or [])
    feats = result.features
    src = layer.layered_source
    mode = src.options.get("layers", "layers") if src is not None else "layers"
    if not sources or SOURCE_LAYER not in feats.columns:
        return [(layer, result)]
    if mode == "categories":
        return [(_as_categories(layer, sources), _without_index(result, feats))]
    index = pd.to_numeric(feats[SOURCE_LAYER], errors="coerce").to_numpy(dtype=float)
    # rows of each file layer, found once (a per-layer mask is layers × rows: minutes
    # for a file of 5,000 one-place layers)
    rows: dict[int, list[int]] = {}
    for pos, value in enumerate(index):
        if value == value and 0 <= value < len(sources):  # not NaN, a known layer
            rows.setdefault(int(value), []).append(pos)
    present = sorted(rows)
    limit = max(2, int(settings.max_file_layers))
    kept, folded = (
        (present, []) if len(present) <= limit else (present[: limit - 1], present[limit - 1 :])
    )
    count = len(kept) + (1 if folded else 0)
    out: list[tuple[LayerSpec, SourceResult]] = []
    for pos, i in enumerate(kept):
        spec = layer_from_source(layer, sources[i], position=pos, count=count)
        out.append((spec, _part(result, feats, rows[i], spec, first=pos == 0)))
    if folded:
        spec = _folded(layer, [sources[i] for i in folded], position=len(kept), count=count)
        positions = sorted(p for i in folded for p in rows[i])
        out.append((spec, _part(result, feats, positions, spec, first=False)))
        _warn_folded(layer, src, out[0][1], total=len(present), kept=len(kept), spec=spec)
    if not out:
        return [(layer, _without_index(result, feats))]
    log.info(
        _("layer %(layer)s: one map layer per layer of the file: %(layers)s"),
        {"layer": layer.id, "layers": ", ".join(s.title_in("ja") for s, _r in out)},
    )
    return out


def _part(result: SourceResult, feats, positions, spec: LayerSpec, *, first: bool) -> SourceResult:
    """The rows at ``positions`` as the result of map layer ``spec``.

    The ``first`` part carries the source's rejected and repaired rows and its warnings.
    """
    part = feats.iloc[list(positions)].copy()
    part["layer"] = spec.id
    return SourceResult(
        features=part.drop(columns=[SOURCE_LAYER]),
        credit=result.credit,
        rejected=list(result.rejected) if first else [],
        repaired=list(result.repaired) if first else [],
        info={**result.info, "warnings": list(result.info.get("warnings", [])) if first else []},
    )


def _folded(
    layer: LayerSpec, sources: list[SourceLayer], *, position: int, count: int
) -> LayerSpec:
    """The one layer of a file's layers past the limit: their names (and colours) as categories."""
    # a map text: from the glossaries, in every map language (the legend's words are too)
    title = {
        lang: wording.text(lang, "layer.folded").format(count=len(sources))
        for lang in wording.LANGUAGES
    }
    base = layer_from_source(layer, SourceLayer(name=title["ja"]), position=position, count=count)
    return _as_categories(replace(base, title=title), sources)


def _warn_folded(
    layer: LayerSpec, src, first: SourceResult, *, total: int, kept: int, spec: LayerSpec
) -> None:
    """One warning, on the console and in the quality report: the file, the count, the fix."""
    values = {
        "file": src.label if src is not None else layer.id,
        "count": total,
        "kept": kept,
        "folded": total - kept,
        "title": spec.title_in(current_language()),
        "limit": int(settings.max_file_layers),
    }
    message = (
        _(
            "%(file)s has %(count)d layers with places; a map shows at most %(limit)d layers of one "
            "file, so the first %(kept)d are layers and the other %(folded)d are one layer "
            "%(title)r with their names as categories. To keep the file one layer with every "
            "layer a category, add layers: categories to the source; to keep more layers, split "
            "the file or raise settings.max_file_layers"
        )
        % values
    )
    log.warning(message)
    first.info["warnings"] = [
        *first.info.get("warnings", []),
        {"row": f"{total} layers", "column": "layers", "value": str(total), "reason": message},
    ]


def _without_index(result: SourceResult, feats) -> SourceResult:
    return replace(result, features=feats.drop(columns=[SOURCE_LAYER]))


def _as_categories(layer: LayerSpec, sources: list[SourceLayer]) -> LayerSpec:
    """One layer whose categories are the file's layers (and their coloured values), in order."""
    given = {n for n, _c, _s in layer.style.category_overrides}
    overrides = list(layer.style.category_overrides)
    names = [c["name"] for c in layer.categories]
    seen = set(names)  # a set beside the list: thousands of file layers stay linear
    for s in sources:
        for name, colour in [(s.name, s.color), *s.categories]:
            if name not in seen:
                names.append(name)
                seen.add(name)
            if colour and name not in given:
                overrides.append((name, colour, ""))
                given.add(name)
    declared = {c["name"]: c for c in layer.categories}
    # each file layer's popup (its fields or its template) for its places, as in uMap
    popups: dict[str, tuple[str, ...] | str] = {}
    for s in sources:
        if s.popup:
            for name in (s.name, *(n for n, _c in s.categories)):
                popups.setdefault(name, s.popup)
    return replace(
        layer,
        style=replace(layer.style, category_overrides=tuple(overrides)),
        categories=tuple(declared.get(n, {"name": n}) for n in names),
        category_popups=tuple(popups.items()),
    )
