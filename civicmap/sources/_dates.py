"""和暦 (Japanese era) dates in date columns → ISO dates.

Municipal lists write 開設日 or 更新日 as 令和5年4月1日, R5.4.1, 平2.10.17, 平15,6,27 or
平成元年 4月 (a real 北海道 list mixes all of these in one column); a
map's popup and a sort by date need 2023-04-01. Only cells that are such a
date, in a column whose header says it holds dates, are converted; anything
else is left exactly as published.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from civicmap.sources._csvtext import norm_header

#: Era → the Gregorian year of its first year (元年).
ERAS = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}
_LETTERS = {
    "M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和",
    "明": "明治", "大": "大正", "昭": "昭和", "平": "平成", "令": "令和",
}  # fmt: skip
_WAREKI = re.compile(
    r"^(明治|大正|昭和|平成|令和|[明大昭平令]|[MTSHRmtshr])\s*(元|[0-9]{1,2})\s*[年.,\-/]\s*"
    r"([0-9]{1,2})\s*(?:[月.,\-/]\s*(?:([0-9]{1,2})\s*日?)?)?$"
)


def is_date_header(header: str) -> bool:
    """True for headers such as 開設日, 更新年月日, 日付, 設立年月, date."""
    h = norm_header(header)
    return (
        h.endswith(("日", "年月", "日付", "時点"))
        or "年月日" in h
        or "date" in h
        or h.startswith("日付")
    )


def wareki_to_iso(text: str) -> str | None:
    """``令和5年4月1日`` → ``2023-04-01`` (``R5.4`` → ``2023-04``); None when not a 和暦 date."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    m = _WAREKI.match(s)
    if not m:
        return None
    era = _LETTERS.get(m.group(1).upper(), m.group(1))
    year = ERAS[era] + (1 if m.group(2) == "元" else int(m.group(2))) - 1
    month = int(m.group(3))
    if not 1 <= month <= 12:
        return None
    if m.group(4) is None:
        return f"{year:04d}-{month:02d}"
    day = int(m.group(4))
    if not 1 <= day <= 31:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def convert_date_columns(
    df: pd.DataFrame, headers: list[str]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Convert the 和暦 cells of date columns; returns the frame and header → cells converted."""
    done: dict[str, int] = {}
    out = df
    for h in headers:
        if h not in df.columns or not is_date_header(h):
            continue
        values = df[h].tolist()
        new = [wareki_to_iso(v) if isinstance(v, str) and v else None for v in values]
        n = sum(1 for v in new if v is not None)
        if n:
            if out is df:
                out = df.copy()
            out[h] = [v if c is None else c for v, c in zip(values, new, strict=True)]
            done[h] = n
    return out, done
