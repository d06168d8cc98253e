"""The web map's options: one frozen, validated dataclass built once from ``outputs.web``.

Built once when the map file loads (:func:`civicmap.spec.mapfile.parse_map`), so ``check``
reports a bad value with the others, before anything is read or drawn, and the
renderer reads attributes instead of looking keys up in a dict: a typo is an
AttributeError in our code, not a silently ignored option in a user's map file.
Messages go through gettext (Japanese first) and name the key and the fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicmap._yaml import Short
from civicmap.errors import ConfigError, Problem
from civicmap.i18n import _

log = logging.getLogger(__name__)

#: ``outputs.web.tiles``: the page's first background (``gsi`` is 地理院タイル 淡色地図).
TILE_CHOICES = ("gsi", "osm", "none")

#: ``outputs.web.offline_tiles``: how an offline page carries the pack's tiles.
#: ``auto`` inlines them up to :data:`civicmap.render.tiles.WEB_INLINE_LIMIT` and
#: writes a tile folder beside the page when they are more; ``inline`` never writes
#: a folder; ``folder`` always does.
OFFLINE_TILES = ("auto", "inline", "folder")


@dataclass(frozen=True)
class WebOptions:
    """Validated web options with their defaults.

    Attributes
    ----------
    self_contained
        One self-contained page that works from ``file://`` with no network
        (``outputs.web.self_contained``; the older key ``offline`` still loads,
        with a warning: ``offline`` means "no network this run" only).
    tiles
        The first background: ``gsi``, ``osm`` or ``none`` (default ``gsi`` on
        Japanese maps, ``osm`` on English ones).
    tiles_given
        Whether the map file named ``tiles`` (it then wins over ``basemap.tiles``).
    cluster, labels
        ``True``/``False`` override every layer's own setting; None keeps it.
    offline_tiles
        One of :data:`OFFLINE_TILES`.
    """

    self_contained: bool = False
    tiles: str = "gsi"
    tiles_given: bool = False
    cluster: bool | None = None
    labels: bool | None = None
    offline_tiles: str = "auto"

    @classmethod
    def defaults(cls, *, language: str = "ja") -> WebOptions:
        """The options of a map file that says nothing under ``outputs.web``."""
        return cls(tiles="gsi" if language == "ja" else "osm")

    @classmethod
    def from_dict(
        cls,
        options: dict[str, Any] | WebOptions | None,
        *,
        file: Path | str = "<map>",
        language: str = "ja",
    ) -> WebOptions:
        """Check ``outputs.web`` of the map ``file``; raise one ConfigError listing every problem.

        ``file`` and other keys the outputs share (``file:``) are not web options
        and are ignored here; unknown keys are refused by the map file's own check.
        """
        if isinstance(options, WebOptions):
            return options
        opts = dict(options or {})
        problems: list[Problem] = []

        def bad(key: str, message: str) -> None:
            problems.append(Problem(str(file), f"outputs.web.{key}", message))

        key = "self_contained"
        if "offline" in opts:
            # the older name of this key: "offline" now means only "no network this run"
            log.warning(
                _(
                    "%(file)s: outputs.web.offline is now called outputs.web.self_contained; "
                    "rename the key"
                )
                % {"file": file}
            )
            if "self_contained" not in opts:
                key = "offline"
        self_contained = opts.get(key, False)
        if not isinstance(self_contained, bool):
            bad(
                key,
                _("got %(value)r, expected true (one file that works with no network) or false")
                % {"value": Short(self_contained)},
            )
        tiles = opts.get("tiles")
        given = "tiles" in opts
        if tiles is None or tiles is False:
            tiles = "none" if given else ("gsi" if language == "ja" else "osm")
        if tiles not in TILE_CHOICES:
            bad(
                "tiles",
                _(
                    "got %(value)r, expected gsi (地理院タイル), osm (OpenStreetMap) or none; "
                    "other tile sources go in basemap.tiles"
                )
                % {"value": Short(tiles)},
            )
        flags: dict[str, bool | None] = {}
        for key in ("cluster", "labels"):
            v = opts.get(key)
            if v is not None and not isinstance(v, bool):
                bad(
                    key,
                    _("got %(value)r, expected true or false (or leave it out)")
                    % {"value": Short(v)},
                )
                v = None
            flags[key] = v
        mode = opts.get("offline_tiles", "auto")
        if mode not in OFFLINE_TILES:
            bad(
                "offline_tiles",
                _(
                    "got %(value)r, expected auto (inline up to 8 MB, else a tile folder beside "
                    "the page), inline or folder"
                )
                % {"value": Short(mode)},
            )
        if problems:
            raise ConfigError(problems)
        return cls(
            self_contained=self_contained,
            tiles=tiles,
            tiles_given=given,
            cluster=flags["cluster"],
            labels=flags["labels"],
            offline_tiles=mode,
        )
