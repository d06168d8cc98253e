"""civicmap: neighbourhood maps from OpenStreetMap and Japanese open data.

The flow runs one way: a map file names an area and layers; each layer reads
its sources into the common schema (:mod:`civicmap.schema`); the data is
cleaned and joined; the result is rendered as a web map, a paper map and
exports. The public API is what the CLI and the workshop notebooks use, and
only that (``__all__``); everything else may change between releases:

>>> import civicmap
>>> civicmap.set_language("ja")                    # messages in Japanese (default: English)
'ja'
>>> spec = civicmap.load_map("map.yaml")          # doctest: +SKIP
>>> data = civicmap.collect(spec)                  # doctest: +SKIP
>>> civicmap.build(spec, overwrite=True)           # doctest: +SKIP

Names whose module pulls in heavy libraries (osmium, osmnx) are imported on
first use, so ``import civicmap`` and the CLI start quickly.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# ``civicmap.batch`` is the function (one map per area on Dask); the module of the same
# name stays importable as ``from civicmap.batch import ...``.
from civicmap.batch import batch
from civicmap.errors import CivicMapError, ConfigError, OutputExistsError, SourceError
from civicmap.i18n import current_language, set_language, use_language
from civicmap.pipeline import build, collect, demo_map_path, with_output_dir
from civicmap.samples import sample_path
from civicmap.spec.layers import builtin_layer_ids, load_layer
from civicmap.spec.mapfile import load_map

#: Public names imported on first use: name → module.
_LAZY = {
    "check_file": "civicmap.check",
    "check_map": "civicmap.check",
    "read_path": "civicmap.sources",
    "read_extract": "civicmap.sources.osmfile",
    "TagFilter": "civicmap.tagfilter",
    "nearest_shelters": "civicmap.join",
    "walking_graph_from_extract": "civicmap.sources.streets",
    "write_export": "civicmap.render.export",
    "quality_rows": "civicmap.report",
    "summary_lines": "civicmap.report",
}

#: The public API (each name is documented in :data:`API_DOCS`).
__all__ = [
    "CivicMapError",
    "ConfigError",
    "OutputExistsError",
    "SourceError",
    "TagFilter",
    "__version__",
    "batch",
    "build",
    "builtin_layer_ids",
    "check_file",
    "check_map",
    "collect",
    "current_language",
    "demo_map_path",
    "load_layer",
    "load_map",
    "nearest_shelters",
    "quality_rows",
    "read_extract",
    "read_path",
    "sample_path",
    "set_language",
    "summary_lines",
    "use_language",
    "walking_graph_from_extract",
    "with_output_dir",
    "write_export",
]

#: One line per public name, for ``help(civicmap)`` readers and the API test.
API_DOCS = {
    "CivicMapError": "base of every error civicmap raises on purpose; str() is the message",
    "ConfigError": "a map or layer file is invalid; .problems lists every problem (file, key, message)",
    "OutputExistsError": "an output exists and overwrite was not given; .path names it",
    "SourceError": "a data source cannot be read at all (missing file, unknown format)",
    "__version__": "the installed version",
    "current_language": "the language messages are given in now: 'ja' or 'en'",
    "set_language": "give later messages in 'ja' or 'en' (notebooks ask for Japanese)",
    "use_language": "a with-block giving messages in one language, the previous one after",
    "builtin_layer_ids": "ids of the built-in layers (childcare, shelters, water, ...)",
    "demo_map_path": "the bundled 新宿区 demo map file",
    "load_layer": "load and validate a layer by built-in id or file path",
    "load_map": "load and validate a map file (every problem at once)",
    "sample_path": "the path of a bundled sample file (demo extract, workshop CSV)",
    "with_output_dir": "the same map with its outputs written into another folder",
    "build": "collect the data and write the map's outputs; returns the written paths",
    "batch": "one map per area (町丁目, 学区, municipality) on Dask; returns the manifest rows",
    "collect": "read, clean and join everything a map needs (MapData), writing nothing",
    "check_file": "what civicmap sees in a data file: encoding, columns, rejected rows",
    "check_map": "every validation a build would do, without building (problems, warnings)",
    "quality_rows": "one row per rejected, repaired, removed or warned row of collected data",
    "summary_lines": "one line of counts per layer of collected data",
    "read_extract": "read tag-filtered features from a local .osm/.osm.bz2/.osm.pbf extract",
    "read_path": "read any supported data file (CSV, GeoJSON, KML, .umap) into the common schema",
    "TagFilter": "OSM tag conditions with AND / OR / NOT, as in a layer's match:",
    "nearest_shelters": "the nearest shelters of each place, on foot and in a straight line",
    "walking_graph_from_extract": "the walking street network of a local OSM extract",
    "write_export": "write collected data as .umap, GeoJSON or KML",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'civicmap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
