"""Pure joins: conflate official lists with OSM, merge designations into sites, rank shelters.

No I/O: GeoDataFrames (and a street graph) in, frames out. The pipeline
passes data here; :mod:`civicmap.diff` writes the conflation diff to files.

- :mod:`civicmap.join.conflate`: one official list × OSM, one-to-one, with a diff.
- :mod:`civicmap.join.sites`: rows of several lists that stand for one place
  become one site carrying every designation.
- :mod:`civicmap.join.nearest`: nearest shelters by straight line and on foot.
- :mod:`civicmap.join._graph`: the street graph as routing needs it.
"""

from civicmap.join.conflate import (
    DIFF_STATUSES,
    MATCH_COLUMNS,
    Conflation,
    conflate,
    name_similarity,
)
from civicmap.join.nearest import NearestShelters, nearest_shelters

__all__ = [
    "DIFF_STATUSES",
    "MATCH_COLUMNS",
    "Conflation",
    "NearestShelters",
    "conflate",
    "name_similarity",
    "nearest_shelters",
]
