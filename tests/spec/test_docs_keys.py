"""docs/reference.md and spec/ name the same map-file keys (issue 23).

Read mechanically, as far as the reference is a table: in each section below, the
first column of the tables holds the keys (`key`, or `parent.key`); spec/ holds them
in its key tables. A key added to spec/ without a row, or a row for a key spec/
does not accept, fails here. Keys documented only in prose (``home``'s ``point``,
``homes``' ``points``, a layer entry's ``use``) are not compared.
"""

from __future__ import annotations

import re

import pytest
from paths import ROOT

from civicmap.spec.area import AREA_KINDS, AREA_OPTIONS
from civicmap.spec.basemap import BASEMAP_KEYS
from civicmap.spec.layers import FILTER_KEYS, LAYER_KEYS, STYLE_KEYS
from civicmap.spec.mapfile import MAP_KEYS, OUTPUT_KEYS
from civicmap.spec.osm import OSM_KEYS
from civicmap.spec.paper import ATLAS_KEYS

REFERENCE = ROOT / "docs" / "reference.md"


def spec_keys() -> dict[str, set[str]]:
    """By reference section: the keys spec/ accepts there."""
    return {
        "## Map file": {
            *(k for k in MAP_KEYS if k != "basemap"),
            *(f"basemap.{k}" for k in BASEMAP_KEYS),
        },
        "### Area": {*AREA_KINDS, *AREA_OPTIONS},
        "### The `osm:` key of a map file": set(OSM_KEYS),
        "## Paper map": set(OUTPUT_KEYS["paper"]),
        "### Area atlas": set(ATLAS_KEYS),
        "## Web map and exports": set(OUTPUT_KEYS["web"]),
        "## Site (phones, offline, `civicmap serve`)": set(OUTPUT_KEYS["site"]),
        "## Layer file": {
            *(k for k in LAYER_KEYS if k != "style"),
            *(f"style.{k}" for k in STYLE_KEYS),
            *(f"filters.{k}" for k in FILTER_KEYS),
        },
    }


def documented_keys(text: str, heading: str) -> set[str]:
    """The keys in the first column of the tables under ``heading`` (up to the next heading).

    A cell may hold several keys (`point` + `radius`); a bare key next to a dotted one
    takes its parent (`basemap.approval` (or `承認番号`) gives ``basemap.承認番号``).
    """
    lines = text.splitlines()
    start = lines.index(heading) + 1
    keys: set[str] = set()
    for line in lines[start:]:
        if line.startswith("#"):
            break
        cells = line.split("|")
        if not line.startswith("|") or len(cells) < 3 or set(cells[1].strip()) <= {"-"}:
            continue
        names = re.findall(r"`([^`]+)`", cells[1])
        parent = next((n.rsplit(".", 1)[0] for n in names if "." in n), "")
        for name in names:
            keys.add(name if "." in name or not parent else f"{parent}.{name}")
    return keys


@pytest.mark.parametrize("heading", list(spec_keys()))
def test_every_key_spec_accepts_has_a_row_and_every_row_is_a_key(heading):
    text = REFERENCE.read_text(encoding="utf-8")
    documented = documented_keys(text, heading)
    accepted = spec_keys()[heading]
    assert accepted - documented == set(), f"in spec/, not in {heading} of docs/reference.md"
    assert documented - accepted == set(), f"in {heading} of docs/reference.md, not in spec/"


def test_the_reader_sees_a_missing_row_and_a_stale_one():
    text = REFERENCE.read_text(encoding="utf-8")
    without = "\n".join(line for line in text.splitlines() if not line.startswith("| `overlap` |"))
    stale = text.replace("| `fit` | `area` |", "| `fit` | `area` |\n| `zoom` | `1` | no such key |")
    assert "overlap" not in documented_keys(without, "## Paper map")
    assert "zoom" in documented_keys(stale, "## Paper map")
