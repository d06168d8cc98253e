"""Messages in Japanese and English, with the standard gettext catalogs.

The catalogs live in ``civicmap/locale/<lang>/LC_MESSAGES/civicmap.po`` and are
compiled to ``.mo`` with Babel (``make messages``); both are committed, so a
fresh clone needs no build step, and a test fails when a ``.mo`` is older than
its ``.po`` or when a message lacks its Japanese translation.

Why a module-wide language and not a parameter on every function: the words a
user reads are made deep inside validation (a key in a layer file, a row of a
CSV), far from the command that knows which language the user wants. The CLI
sets the language once per run (:func:`use_language`); library code marks its
messages with :func:`_` and stays in English when used from Python unless the
caller asks (``civicmap.set_language("ja")``, as the workshop notebooks do).

A map's ``language:`` key governs the map's own texts (legend, index, credits),
never these messages.

Message templates with placeholders use named ``%(name)s`` fields in OUR
msgid; data is passed as the mapping on the right of ``%`` and is never used
as a template.
"""

from __future__ import annotations

import contextlib
import gettext
import logging
import os
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

#: The gettext domain (``civicmap.po`` / ``civicmap.mo``).
DOMAIN = "civicmap"

#: Folder of the compiled catalogs.
LOCALE_DIR = Path(__file__).parent / "locale"

#: The languages with a catalog; the first is the CLI's default.
LANGUAGES = ("ja", "en")

_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def _(message: str) -> str:
    """``message`` in the current language (English when no language was chosen)."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current language."""
    return _translations.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it yet (module constants)."""
    return message


def current_language() -> str:
    """The language messages are given in now: ``"ja"`` or ``"en"``."""
    return _language


def set_language(language: str) -> str:
    """Give every later message in ``language`` (``"ja"`` or ``"en"``).

    Returns the language now in use. An unknown language falls back to English
    with a warning rather than failing: a message in the wrong language is
    better than no message.
    """
    global _translations, _language
    lang = _normalise(language)
    if lang is None:
        log.warning(
            _("no messages in %(lang)r; using English (available: ja, en)"), {"lang": language}
        )
        lang = "en"
    _translations = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)
    _language = lang
    return lang


@contextlib.contextmanager
def use_language(language: str) -> Iterator[str]:
    """Messages in ``language`` inside the block, the previous language after it."""
    before = _language
    try:
        yield set_language(language)
    finally:
        set_language(before)


def _normalise(value: str | None) -> str | None:
    """``ja_JP.UTF-8`` → ``ja``; ``None`` for anything without a catalog."""
    if not value:
        return None
    head = value.split(":")[0].split(".")[0].split("@")[0].replace("-", "_").lower()
    lang = head.split("_")[0]
    return lang if lang in LANGUAGES else None


def pick_language(cli: str | None = None, environ: dict[str, str] | None = None) -> str:
    """The CLI's language: ``--lang``, else ``CIVICMAP_LANG``, else the locale, else Japanese.

    The locale is read from ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` and
    ``LANG`` in the order gettext uses; a locale without a catalog (``C``,
    ``de_DE``) does not count, so the people civicmap is made for get Japanese.
    """
    env = os.environ if environ is None else environ
    for value in (cli, env.get("CIVICMAP_LANG")):
        lang = _normalise(value)
        if lang is not None:
            return lang
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if value:
            lang = _normalise(value)
            if lang is not None:
                return lang
            if var != "LANGUAGE":
                break  # the first locale variable set decides, as in gettext
    return LANGUAGES[0]
