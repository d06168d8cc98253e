"""The only module that talks to the network.

Every request names civicmap in its User-Agent, has a timeout, and goes
through a response cache keyed by a hash of the request, so a repeated query
is answered from disk and offline mode can answer from what was fetched before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import requests

from civicmap import settings
from civicmap._files import write_text_atomic
from civicmap.errors import NetworkError, OfflineError

log = logging.getLogger(__name__)


def cache_key(method: str, url: str, params: dict | None = None) -> str:
    """A stable hash of a request (method, URL and sorted parameters)."""
    blob = json.dumps([method.upper(), url, sorted((params or {}).items())], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _cache_path(key: str) -> Path:
    return Path(settings.cache_folder) / "http" / f"{key}.json"


def get_json(url: str, *, params: dict | None = None, refresh: bool = False) -> Any:
    """GET ``url`` and return its JSON body, from the cache when possible.

    Raises
    ------
    OfflineError
        In offline mode when the cache does not hold this request.
    NetworkError
        When the request fails.
    """
    key = cache_key("GET", url, params)
    path = _cache_path(key)
    if settings.use_cache and not refresh and path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    if settings.offline:
        raise OfflineError(
            f"offline mode: no cached response for GET {url} {params or ''}; "
            "run once with the network (or without CIVICMAP_OFFLINE) to fetch it"
        )
    try:
        resp = requests.get(
            url,
            params=params,
            headers={"User-Agent": settings.user_agent},
            timeout=settings.http_timeout,
        )
        resp.raise_for_status()
        data = resp.json()
    except (requests.RequestException, ValueError) as exc:
        raise NetworkError(f"GET {url} failed: {exc}") from None
    if settings.use_cache:
        write_text_atomic(path, json.dumps(data, ensure_ascii=False))
    return data
