"""The site output's options: one frozen, validated dataclass built once from ``outputs.site``.

``outputs.site`` writes a static folder (page, data, the pack's storable tiles, Leaflet,
a web app manifest, a service worker, icons) that any static host serves as is, and that
a phone keeps offline after one visit. Its options are checked when the map file loads, so
``check`` reports a bad ``url:`` or ``stale_after:`` with every other problem, before
anything is read or drawn.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from civicmap._yaml import Short
from civicmap.errors import ConfigError, Problem
from civicmap.i18n import _
from civicmap.spec.paper import QR_MAX_BYTES

log = logging.getLogger(__name__)

#: The keys of ``outputs.site``.
SITE_KEYS = ("folder", "url", "stale_after")

#: Default age (days) past which the page says its data is old.
STALE_AFTER_DAYS = 90
#: Longest ``stale_after`` accepted (100 years: "never" in practice).
STALE_MAX_DAYS = 36_500

_AGE = re.compile(r"\s*(\d{1,6})\s*(d|days?|日)?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class SiteOptions:
    """Validated site options.

    Attributes
    ----------
    folder
        The folder the site is written to, as the map file gives it (relative to the map).
    url
        Where the site will be published (``https://…/``): the QR code on the paper map and
        in the page's share box opens it. None: no QR code.
    stale_after_days
        Past this age of the data (its データ時点), the page shows a banner saying how old
        its data is: an offline copy on a phone may outlive the map it was taken from.
    """

    folder: str
    url: str | None = None
    stale_after_days: int = STALE_AFTER_DAYS

    @classmethod
    def from_dict(
        cls, options: dict[str, Any] | SiteOptions, *, file: Path | str = "<map>"
    ) -> SiteOptions:
        """Check ``outputs.site`` of the map ``file``; raise one ConfigError listing every problem.

        Unknown keys are refused by the map file's own check (:data:`SITE_KEYS`).
        """
        if isinstance(options, SiteOptions):
            return options
        problems: list[Problem] = []

        def bad(key: str, message: str) -> None:
            problems.append(Problem(str(file), f"outputs.site.{key}", message))

        folder = options.get("folder")
        if not isinstance(folder, str) or not folder.strip():
            bad(
                "folder",
                _("got %(value)r, expected the folder to write the site into (e.g. out/site)")
                % {"value": Short(folder)},
            )
            folder = ""
        url = options.get("url")
        if url is not None:
            url = _check_url(url, bad)
        days = _check_age(options.get("stale_after", STALE_AFTER_DAYS), bad)
        if problems:
            raise ConfigError(problems)
        return cls(folder=folder.strip().rstrip("/\\") or folder, url=url, stale_after_days=days)


def _check_url(url: Any, bad) -> str | None:
    """``url:``: an ``https://`` address (``http://`` only for this computer), short enough to scan."""
    if not isinstance(url, str) or not url.strip():
        bad("url", _("got %(value)r, expected the address the site is published at (https://…)")
            % {"value": Short(url)})  # fmt: skip
        return None
    url = url.strip()
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1")
    if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        bad(
            "url",
            _(
                "got %(value)r, expected an https:// address (a phone keeps a site offline only "
                "when it is served over https)"
            )
            % {"value": Short(url)},
        )
        return None
    if len(url.encode("utf-8")) > QR_MAX_BYTES:
        bad(
            "url",
            _(
                "the address is %(size)s bytes; a printed QR code scans up to %(max)d: use a shorter one"
            )
            % {"size": f"{len(url.encode('utf-8')):,}", "max": QR_MAX_BYTES},
        )
        return None
    return url


def _check_age(value: Any, bad) -> int:
    """``stale_after:``: days, as ``90d``, ``90`` or ``90日``."""
    m = None
    if isinstance(value, int) and not isinstance(value, bool):
        days = value
    elif isinstance(value, str) and (m := _AGE.fullmatch(value)):
        days = int(m.group(1))
    else:
        days = -1
    if not 1 <= days <= STALE_MAX_DAYS:
        bad(
            "stale_after",
            _("got %(value)r, expected an age in days from 1 to %(max)d, e.g. 90d")
            % {"value": Short(value), "max": STALE_MAX_DAYS},
        )
        return STALE_AFTER_DAYS
    return days


__all__ = ["SITE_KEYS", "STALE_AFTER_DAYS", "SiteOptions"]
