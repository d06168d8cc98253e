"""What a map says to its readers, one glossary per language (``<language>.yaml`` here).

Every fixed text a map prints or shows (legend and index headings, notes, the route
box, disaster and category names, credits' fixed words, the web page's controls and
banners) is an entry of these tables, looked up by key; render code writes none in
place (``tests/test_wording.py`` checks both). The console's messages are another
matter: they go through gettext (:mod:`civicmap.i18n`).

Each file is a glossary a speaker can review: per entry the Japanese source term, the
translation, who reviewed it (empty: a draft) and when. ``civicmap check`` lists the
drafts of a map's languages, so nobody hands out a machine-made translation unknowingly.

やさしい日本語 (``ja-easy``) marks the reading of each kanji word the way 青空文庫 does,
``｜避難所《ひなんじょ》`` (the ``｜`` may be left out before an all-kanji word):
:func:`plain` drops the readings, :func:`ruby` gives (base, reading) pieces for
``<ruby>`` on the web and for the furigana the paper map sets above its text.

A bilingual paper map (``outputs.paper.languages: bilingual``) speaks a *pair* of
languages, written ``ja+vi`` (:func:`pair`): every lookup here takes a pair too, and gives
the texts a sheet prints on their own (legend, headings, category and disaster names,
notes: :func:`in_both`) as 「避難所 / Nơi lánh nạn」, the pieces of a longer line (brackets,
separators, 「（続き）」) in Japanese alone; a line made of several entries is made once per
language and joined by :func:`both`.

Loaded once per language and checked at load: a missing file, a missing key, a
placeholder the source does not have (``{m}``) or a kanji of ``ja-easy`` without
its reading is a :class:`~civicmap.errors.ConfigError` naming the file and the key.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from civicmap._validate import Checker
from civicmap._yaml import load_yaml
from civicmap.i18n import _

log = logging.getLogger(__name__)

#: The map languages civicmap has a glossary for; ``ja`` is the source of every entry.
LANGUAGES: tuple[str, ...] = (
    "ja", "ja-easy", "en", "zh-Hans", "zh-Hant", "ko", "vi", "pt", "tl", "ne",
)  # fmt: skip
SOURCE = "ja"
#: Languages written in Latin letters: place names get a romanised reading (Hepburn).
LATIN: frozenset[str] = frozenset({"en", "vi", "pt", "tl"})
#: Languages whose texts are Japanese (punctuation, 五十音 headings, names as written).
JAPANESE: frozenset[str] = frozenset({"ja", "ja-easy"})

#: The language tag a web page states (``lang=``): やさしい日本語 is Japanese (BCP 47 has no
#: tag for it; ``x-easy`` is a private-use subtag, so screen readers still read Japanese).
BCP47 = {"ja-easy": "ja-x-easy"}

#: Between a text and its translation on a bilingual sheet: 「避難所 / Nơi lánh nạn」.
PAIR_SEP = " / "
#: The glossary sections a bilingual sheet prints in both languages: texts that stand on
#: their own (the paper's headings and notes, layer, category and disaster names, hazard
#: classes). The others (route, hazard and left-off sentences made of several entries) are
#: made once per language where they are put together (:func:`both`).
BOTH_SECTIONS = ("paper.", "layer.", "category.", "disaster.", "hazard_class.", "inset.title")
#: Entries of those sections that are pieces of a longer line (「（続き）」 after a title,
#: 「ページ」 after a number, the north arrow's 「北」, an index detail's label): in the
#: first language alone, so a line never reads 「避難所 / Nơi lánh nạn（続き） / (tiếp)」.
PIECES = frozenset({
    "paper.cont", "paper.approx_short", "paper.page", "paper.page_of", "paper.north",
    "paper.phone", "paper.capacity", "paper.serves", "paper.latin", "paper.other",
})  # fmt: skip

FOLDER = Path(__file__).parent
_ENTRY_KEYS = {"source", "text", "reviewed_by", "date"}
_HEAD_KEYS = {"language", "name", "guide", "entries"}

#: ``｜base《reading》`` or ``漢字《reading》`` (青空文庫's ruby notation).
RUBY = re.compile(r"(?:｜([^｜《》]+)|([\u3400-\u9fff\uf900-\ufaff々〆ヵヶ]+))《([^《》]+)》")
KANJI = re.compile(r"[\u3400-\u9fff\uf900-\ufaff々〆]")


@dataclass(frozen=True)
class Entry:
    """One glossary entry: the Japanese source term and its translation."""

    key: str
    source: str
    text: str
    reviewed_by: str = ""
    date: str = ""

    @property
    def draft(self) -> bool:
        """Not yet reviewed by a speaker of the language."""
        return not self.reviewed_by


@dataclass(frozen=True)
class Glossary:
    """The glossary of one language, as loaded and checked."""

    language: str
    name: str
    entries: Mapping[str, Entry]
    guide: str = ""
    file: str = ""

    def drafts(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.draft]


def ruby(text: str) -> list[tuple[str, str]]:
    """``text`` as (base, reading) pieces; reading "" where none is marked."""
    out: list[tuple[str, str]] = []
    pos = 0
    for m in RUBY.finditer(text):
        if m.start() > pos:
            out.append((text[pos : m.start()], ""))
        out.append((m.group(1) or m.group(2), m.group(3)))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], ""))
    return out


@lru_cache(maxsize=4096)
def plain(text: str) -> str:
    """``text`` without its reading marks (what the eye reads on the base line).

    Remembered: the renderers ask for the same glossary texts for every place they draw.
    """
    return "".join(base for base, _reading in ruby(text))


def bare_kanji(text: str) -> list[str]:
    """Kanji of ``text`` that carry no reading (every one must, in ``ja-easy``)."""
    return [ch for base, reading in ruby(text) if not reading for ch in KANJI.findall(base)]


def pair(first: str, second: str) -> str:
    """The language of a bilingual sheet: ``ja+vi`` (Japanese first, then the other)."""
    return f"{first}+{second}"


def parts(language: str) -> tuple[str, ...]:
    """The languages of ``language``: ``("ja", "vi")`` for ``ja+vi``, else ``(language,)``."""
    return tuple(language.split("+"))


def is_pair(language: str) -> bool:
    return "+" in language


def base(language: str) -> str:
    """The first language of ``language``: the one the sheet's data and order follow."""
    return parts(language)[0]


def in_both(key: str) -> bool:
    """Whether a bilingual sheet prints the entry ``key`` in both of its languages."""
    return key.startswith(BOTH_SECTIONS) and key not in PIECES


def both(language: str, make: Callable[[str], str]) -> str:
    """``make(language)``; for a pair, ``make`` of each language joined by :data:`PAIR_SEP`.

    A translation the same as the text before it (a layer file's title with no ``vi``,
    a place name) is printed once.
    """
    texts: list[str] = []
    for lang in parts(language):
        made = make(lang)
        if made and made not in texts:
            texts.append(made)
    return PAIR_SEP.join(texts)


@lru_cache(maxsize=256)
def _known(language: str) -> str:
    """``language``, a pair of known languages, or the source for anything else.

    Remembered (asked for every label of every place an export writes).
    """
    return language if all(lang in LANGUAGES for lang in parts(language)) else SOURCE


def _fields(text: str) -> set[str]:
    """The ``{name}`` placeholders of a template (format specs dropped)."""
    try:
        return {f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None}
    except ValueError:
        return {"<unbalanced braces>"}


def _path(language: str) -> Path:
    return FOLDER / f"{language}.yaml"


def _read(language: str) -> tuple[dict, Checker]:
    path = _path(language)
    raw = load_yaml(path)
    ck = Checker(str(path))
    if not isinstance(raw, Mapping):
        ck.add("", _("expected a mapping with language, name and entries"))
        ck.raise_if_any()
    ck.unknown_keys("", raw, _HEAD_KEYS)
    if raw.get("language") != language:
        ck.add(
            "language",
            _("got %(got)r, expected %(want)r (the file's name)")
            % {"got": raw.get("language"), "want": language},
        )
    if not isinstance(raw.get("entries"), Mapping):
        ck.add("entries", _("missing; give a mapping of key: {source, text, reviewed_by, date}"))
        ck.raise_if_any()
    return raw, ck


@cache
def glossary(language: str) -> Glossary:
    """The checked glossary of ``language`` (one of :data:`LANGUAGES`).

    Raises
    ------
    ConfigError
        The file is missing or broken, an entry lacks ``text``, a key of the Japanese
        source is missing, a placeholder is not one of the source's, or (``ja-easy``)
        a kanji has no reading.
    """
    if language not in LANGUAGES:
        raise KeyError(language)
    raw, ck = _read(language)
    source = glossary(SOURCE).entries if language != SOURCE else None
    entries: dict[str, Entry] = {}
    for key, value in raw["entries"].items():
        where = f"entries.{key}"
        if not isinstance(value, Mapping) or not isinstance(value.get("text"), str):
            ck.add(where, _("expected {source, text, reviewed_by, date} with text as text"))
            continue
        ck.unknown_keys(where, value, _ENTRY_KEYS)
        entry = Entry(
            key=str(key),
            source=str(value.get("source") or ""),
            text=value["text"],
            reviewed_by=str(value.get("reviewed_by") or ""),
            date=str(value.get("date") or ""),
        )
        if source is not None:
            if key not in source:
                ck.add(where, _("not a key of the Japanese glossary (ja.yaml); remove it"))
            elif not _fields(plain(entry.text)) <= _fields(source[key].text):
                # a translation may leave a value out (en: " (upper floors)"), never add one
                ck.add(
                    where,
                    _(
                        "placeholders %(got)s are not all in the source's %(want)s; use those of ja.yaml"
                    )
                    % {
                        "got": sorted(_fields(plain(entry.text))),
                        "want": sorted(_fields(source[key].text)),
                    },
                )
        if language == "ja-easy" and (bare := bare_kanji(entry.text)):
            ck.add(
                where,
                _("kanji without reading: %(kanji)s; write ｜漢字《かんじ》")
                % {"kanji": "".join(bare)},
            )
        entries[str(key)] = entry
    if source is not None:
        for key in source:
            if key not in entries:
                ck.add(
                    f"entries.{key}",
                    _("missing; copy it from ja.yaml and translate it (reviewed_by empty: draft)"),
                )
    ck.raise_if_any()
    return Glossary(
        language=language,
        name=str(raw.get("name") or language),
        entries=entries,
        guide=str(raw.get("guide") or ""),
        file=str(_path(language)),
    )


def marked(language: str, key: str) -> str:
    """The text of ``key`` in ``language`` with its reading marks (``ja-easy``)."""
    return glossary(base(language)).entries[key].text


def text(language: str, key: str) -> str:
    """The text of ``key`` in ``language``, as it reads on the line (no reading marks).

    For a pair (``ja+vi``): both texts when the sheet prints the entry in both
    (:func:`in_both`), else the first language's.
    """
    if is_pair(language):
        if in_both(key):
            return both(language, lambda lang: text(lang, key))
        return text(base(language), key)
    return plain(marked(language, key))


def has(key: str) -> bool:
    return key in glossary(SOURCE).entries


@cache
def section(language: str, prefix: str, *, marks: bool = False) -> dict[str, str]:
    """Every entry under ``prefix.`` as {rest of key: text} (``marks``: ruby kept)."""
    head = prefix + "."
    if is_pair(language):  # a bilingual sheet has no readings (ja-easy is never in a pair)
        return {
            key[len(head) :]: text(language, key)
            for key in glossary(SOURCE).entries
            if key.startswith(head)
        }
    return {
        key[len(head) :]: (e.text if marks else plain(e.text))
        for key, e in glossary(language).entries.items()
        if key.startswith(head)
    }


class Table(Mapping[str, dict[str, str]]):
    """``TABLE[language][key]``: one section of every glossary, read on first use.

    What the renderers held as ``{"ja": {...}, "en": {...}}`` dicts, now from the
    glossaries; a language without a glossary reads the Japanese one.
    """

    def __init__(self, prefix: str, *, marks: bool = False) -> None:
        self.prefix = prefix
        self.marks = marks

    def __getitem__(self, language: str) -> dict[str, str]:
        return section(_known(language), self.prefix, marks=self.marks)

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)

    def __contains__(self, language: object) -> bool:
        return isinstance(language, str) and _known(language) == language


def words(language: str) -> Mapping[str, str]:
    """Every text of ``language`` by its full key (no reading marks; a pair's as :func:`text`)."""
    return _all(_known(language))


@cache
def _all(language: str) -> dict[str, str]:
    if is_pair(language):
        return {k: text(language, k) for k in glossary(SOURCE).entries}
    return {k: plain(e.text) for k, e in glossary(language).entries.items()}


def drafts(languages: tuple[str, ...] | list[str]) -> dict[str, list[Entry]]:
    """The entries not yet reviewed by a speaker, per language (the source has none)."""
    return {
        lang: glossary(lang).drafts()
        for lang in languages
        if lang != SOURCE and lang in LANGUAGES and glossary(lang).drafts()
    }


class Names(Mapping[str, str]):
    """One key in every language, ``{"ja": …, "en": …, …}`` (read on first use).

    For the objects that carried a ``{"ja": …, "en": …}`` name (tile sources, hazard
    tile sets): ``names.get(language, names["ja"])`` keeps working for every language.
    """

    def __init__(self, key: str) -> None:
        self.key = key

    def __getitem__(self, language: str) -> str:
        if _known(language) != language:
            raise KeyError(language)
        return text(language, self.key)

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)

    def __repr__(self) -> str:
        return f"Names({self.key!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Names) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)


def translate(language: str, prefix: str, source: str) -> str:
    """The ``prefix.*`` entry whose Japanese source is ``source``, in ``language``.

    For names that are data as well as fixed words (category names such as 指定避難所,
    hazard classes such as 3–5 m): ``source`` itself when the glossary has no entry.
    """
    key = _by_source(prefix).get(source)
    return text(_known(language), key) if key else source


@cache
def _by_source(prefix: str) -> dict[str, str]:
    head = prefix + "."
    return {e.text: k for k, e in glossary(SOURCE).entries.items() if k.startswith(head)}


def paren(language: str, inner: str) -> str:
    """``inner`` in brackets as the language writes them (（…） or `` (…)``)."""
    return words(language)["punct.paren"].replace("{text}", inner)


def list_sep(language: str) -> str:
    """The separator of a short list of names (・ or ``, ``)."""
    return words(language)["punct.list"]


def translate_list(language: str, prefix: str, text: str, *, sep: str = "・") -> str:
    """A ``・``-joined list of glossary terms (designations 指定避難所・指定緊急避難場所) in ``language``.

    Each item is translated by its Japanese source (:func:`translate`), the rest kept.
    """
    if language == SOURCE or not text:
        return text
    if is_pair(language):
        return both(language, lambda lang: translate_list(lang, prefix, text, sep=sep))
    items = [translate(language, prefix, item) for item in text.split(sep)]
    return list_sep(language).join(items)
