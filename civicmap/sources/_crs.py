"""Coordinate reference systems of the files municipalities publish → EPSG:4326.

Japanese open data is mostly longitude/latitude in JGD2011 (equal to WGS84
within centimetres), but three other habits are common and each puts places in
the wrong spot when ignored:

- 平面直角座標系 (plane-rectangular, 19 zones, metres; JGD2011 EPSG:6669–6687),
  written by surveying and GIS departments. Metres read as degrees land
  nowhere near Japan, so such a file is recognised and either converted (the
  zone is named in the file's ``crs`` member or the layer's ``crs:``) or
  refused with an error naming the zone its addresses suggest.
- JGD2000 (EPSG:4612), the datum of older 国土数値情報 files: within a metre or so of
  WGS84, converted anyway so nothing needs to be known about it.
- 日本測地系 / Tokyo datum (EPSG:4301): about 400 m off WGS84 in Tokyo, converted.

The conversion itself is pyproj's (PROJ), not our own arithmetic.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from pyproj import CRS as ProjCRS  # noqa: N811
from pyproj import Transformer
from pyproj.exceptions import CRSError

from civicmap.errors import SourceError
from civicmap.i18n import _

log = logging.getLogger(__name__)

#: JGD2011 平面直角座標系 zone number → EPSG code (系 I = EPSG:6669 … 系 XIX = EPSG:6687).
ZONE_EPSG = {n: 6668 + n for n in range(1, 20)}
_ROMAN = {
    "I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10,
    "XI": 11, "XII": 12, "XIII": 13, "XIV": 14, "XV": 15, "XVI": 16, "XVII": 17, "XVIII": 18,
    "XIX": 19,
}  # fmt: skip

#: The zone that covers most of each prefecture (国土地理院 告示; islands and the
#: west of 鹿児島/北海道 use others). Used only to name the *likely* zone in an error.
PREFECTURE_ZONE = {
    "長崎県": 1, "福岡県": 2, "佐賀県": 2, "熊本県": 2, "大分県": 2, "宮崎県": 2, "鹿児島県": 2,
    "山口県": 3, "島根県": 3, "広島県": 3, "香川県": 4, "愛媛県": 4, "徳島県": 4, "高知県": 4,
    "兵庫県": 5, "鳥取県": 5, "岡山県": 5, "京都府": 6, "大阪府": 6, "福井県": 6, "滋賀県": 6,
    "三重県": 6, "奈良県": 6, "和歌山県": 6, "石川県": 7, "富山県": 7, "岐阜県": 7, "愛知県": 7,
    "新潟県": 8, "長野県": 8, "山梨県": 8, "静岡県": 8, "東京都": 9, "福島県": 9, "栃木県": 9,
    "茨城県": 9, "埼玉県": 9, "千葉県": 9, "群馬県": 9, "神奈川県": 9, "青森県": 10,
    "秋田県": 10, "山形県": 10, "岩手県": 10, "宮城県": 10, "北海道": 12, "沖縄県": 15,
}  # fmt: skip

WGS84 = ProjCRS.from_epsg(4326)


def parse_crs(value: Any, *, name: str) -> ProjCRS:
    """The CRS a layer's ``crs:`` option names.

    Accepted: a 平面直角座標系 zone number 1–19 (``9``, ``"9系"``, ``"IX"``),
    an EPSG code (``6677``, ``"EPSG:6677"``, ``4612``, ``4301``) or any other
    text PROJ understands (``"urn:ogc:def:crs:EPSG::6677"``).

    Raises
    ------
    SourceError
        Naming the value and what is expected.
    """
    text = unicodedata.normalize("NFKC", str(value)).strip()
    zone = re.fullmatch(r"(?:第)?([0-9]{1,2})(?:系)?", text)
    if zone and 1 <= int(zone.group(1)) <= 19:
        return ProjCRS.from_epsg(ZONE_EPSG[int(zone.group(1))])
    roman = re.fullmatch(r"(?:第)?([IVX]+)(?:系)?", text.upper())
    if roman and roman.group(1) in _ROMAN:
        return ProjCRS.from_epsg(ZONE_EPSG[_ROMAN[roman.group(1)]])
    if re.fullmatch(r"[0-9]{4,6}", text):
        text = f"EPSG:{text}"
    try:
        return ProjCRS.from_user_input(text)
    except CRSError:
        raise SourceError(
            _(
                "%(name)s: crs: got %(value)r; expected a 平面直角座標系 zone number 1–19 (e.g. 9 for "
                "東京都), or an EPSG code such as 6677, 4612 (JGD2000) or 4301 (Tokyo datum)"
            )
            % {"name": name, "value": value}
        ) from None


def geojson_crs(data: Any, *, name: str) -> ProjCRS | None:
    """The CRS named by a GeoJSON ``crs`` member (GeoJSON 2008; RFC 7946 dropped it), or None."""
    member = data.get("crs") if isinstance(data, Mapping) else None
    if not member:
        return None
    props = member.get("properties") if isinstance(member, Mapping) else None
    label = props.get("name") if isinstance(props, Mapping) else None
    if not label:
        raise SourceError(
            _(
                '%(name)s: crs member %(member)r is not understood; expected {"type": "name", '
                '"properties": {"name": "urn:ogc:def:crs:EPSG::6677"}}'
            )
            % {"name": name, "member": member}
        )
    try:
        return ProjCRS.from_user_input(str(label))
    except CRSError:
        raise SourceError(
            _(
                "%(name)s: crs member names %(label)r, which PROJ does not know; give crs: (an "
                "EPSG code or 平面直角座標系 zone number) in the layer file"
            )
            % {"name": name, "label": label}
        ) from None


def is_wgs84_like(crs: ProjCRS) -> bool:
    """True for CRSs whose coordinates are already longitude/latitude within centimetres."""
    epsg = crs.to_epsg()
    return epsg in (4326, 6668, 4019) or crs.name in ("WGS 84", "WGS 84 (CRS84)", "JGD2011")


def label(crs: ProjCRS) -> str:
    """A short name for reports: ``EPSG:6677 (JGD2011 / Japan Plane Rectangular CS IX)``."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def transformer(crs: ProjCRS) -> Transformer:
    """A transformer from ``crs`` to EPSG:4326 taking and giving (x/east/lon, y/north/lat)."""
    return Transformer.from_crs(crs, WGS84, always_xy=True)


def looks_metric(xs: np.ndarray, ys: np.ndarray) -> bool:
    """True when most finite values are far outside any longitude/latitude: metres."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    finite = np.isfinite(xs) & np.isfinite(ys)
    if not finite.any():
        return False
    big = (np.abs(xs[finite]) > 360) | (np.abs(ys[finite]) > 360)
    return bool(big.mean() > 0.5)


def likely_zone(addresses: Iterable[str]) -> tuple[int, str] | None:
    """The zone most addresses' prefectures use, with that prefecture; None when unknown."""
    counts: dict[str, int] = {}
    for a in addresses:
        text = unicodedata.normalize("NFKC", str(a or ""))
        for pref in PREFECTURE_ZONE:
            if text.startswith(pref):
                counts[pref] = counts.get(pref, 0) + 1
                break
    if not counts:
        return None
    pref = max(counts, key=lambda p: counts[p])
    return PREFECTURE_ZONE[pref], pref


_ZONE_IN_TEXT = re.compile(r"(?:第)?([0-9]{1,2}|[IVX]{1,5})系")


def zone_in_text(texts: Iterable[str]) -> tuple[int, str] | None:
    """A 平面直角座標系 zone named in headers or title lines (``X座標(第9系)``, ``Ⅸ系``)."""
    for t in texts:
        text = unicodedata.normalize("NFKC", str(t or ""))
        m = _ZONE_IN_TEXT.search(text.upper())
        if not m:
            continue
        z = m.group(1)
        n = int(z) if z.isdigit() else _ROMAN.get(z, 0)
        if 1 <= n <= 19:
            return n, str(t)
    return None


def metres_error(name: str, addresses: Iterable[str]) -> SourceError:
    """The error for plane-rectangular metres with no CRS given, naming the likely zone."""
    hint = likely_zone(addresses)
    if hint:
        zone, pref = hint
        likely = (
            f"the addresses are in {pref}, so it is most likely 第{zone}系 (EPSG:{ZONE_EPSG[zone]}): "
            f"add crs: {zone} to the layer's source"
        )
    else:
        likely = (
            "add crs: ZONE (1–19; e.g. 9 for 東京都, 7 for 石川県・富山県) or crs: EPSG:CODE to "
            "the layer's source"
        )
    return SourceError(
        f"{name}: the coordinates are metres (平面直角座標系?), not longitude/latitude; {likely}"
    )
