"""civicmap: neighbourhood maps from OpenStreetMap and Japanese open data.

The flow runs one way: a map file names an area and layers; each layer reads
its sources into the common schema (:mod:`civicmap.schema`); the data is
cleaned and joined; the result is rendered as a web map, a paper map and
exports. The public API is what the CLI uses:

>>> import civicmap
>>> spec = civicmap.load_map("map.yaml")          # doctest: +SKIP
>>> data = civicmap.collect(spec)                  # doctest: +SKIP
>>> civicmap.build(spec, overwrite=True)           # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from civicmap.errors import CivicMapError
from civicmap.layers import builtin_layer_ids, load_layer
from civicmap.mapfile import load_map
from civicmap.pipeline import build, collect, demo_map_path

__all__ = [
    "CivicMapError",
    "__version__",
    "build",
    "builtin_layer_ids",
    "collect",
    "demo_map_path",
    "load_layer",
    "load_map",
]
