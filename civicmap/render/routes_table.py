"""The paper map's route table: one section per home, and the notes routes rest on.

Kept apart from the page drawing (``render/paper``) so the table's content —
which home, which shelters in which order, what fell back to straight lines
and why — is plain data a test can read, and the paper package only draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from civicmap import wording
from civicmap.schema import serves_column

#: Label of a straight-line fallback on paper (the web map says the same).
STRAIGHT_LABEL = wording.Names("route.straight")


@dataclass
class RouteSection:
    """The routes of one home, in the order both maps list them."""

    home: str
    legs: list[Any] = field(default_factory=list)


def route_sections(legs: list[Any]) -> list[RouteSection]:
    """Legs grouped by their ``home`` (attribute), in first-seen order.

    One home (the usual ``home:``) gives one section with an empty heading;
    several (``homes:``) give one section per home, each numbered from 1.
    """
    sections: list[RouteSection] = []
    for leg in legs:
        home = str(getattr(leg, "home", "") or "")
        if not sections or sections[-1].home != home:
            sections.append(RouteSection(home=home))
        sections[-1].legs.append(leg)
    return sections


def route_notes(data: Any, language: str) -> list[str]:
    """What the map must print under the route table (``MapData.route_notes``)."""
    return [str(n) for n in getattr(data, "route_notes", []) or []]


def route_hazard(data: Any, shelter_ref: str) -> str:
    """The hazard line(s) of a route's shelter for the routes' disaster (``""`` without hazards).

    「洪水：想定区域外」 beside the route, as the index says it: a reader choosing
    between the nearest shelters sees what the water does at each.
    """
    hz = getattr(data, "hazards", None)
    if hz is None or not shelter_ref:
        return ""
    spec = data.spec
    disaster = (
        serves_column(spec.home_disaster).removeprefix("serves_") if spec.home_disaster else None
    )
    return hz.route_line(shelter_ref, disaster=disaster, language=spec.language)
