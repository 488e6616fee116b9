"""The collector's languages: German first, English second.

Every text a person reads (the pages, the tickets, the notes on them) is written in English in the code
and marked for translation; the catalogues in ``locale/<language>/LC_MESSAGES/campuswatch.po`` hold
each language's text, compiled to ``.mo`` beside them (``make messages`` extracts, updates and
compiles; ``tests/collector/test_language.py`` fails when a message has no German text or a ``.mo``
is older than its ``.po``). English has a catalogue too, so that an English text can be worded
better without changing the code's message ids.

Times are shown in the school's timezone the way its readers write them: ``5.12.2026, 14:05`` in
German (Babel, locale ``de_DE``), ``5 Dec 2026, 14:05`` in English.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from importlib.resources import files
from typing import Literal, get_args

from babel import Locale
from babel.dates import format_date, format_datetime

Language = Literal["de", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
#: The gettext domain of every catalogue.
DOMAIN = "campuswatch"
#: Babel's locale for each language: the region whose ways of writing a date we follow. Parsed and its
#: data read now (at import, off the event loop): Babel reads a locale's file when first asked.
LOCALES: dict[Language, Locale] = {"de": Locale.parse("de_DE"), "en": Locale.parse("en_GB")}
for _locale in LOCALES.values():
    _locale.datetime_formats  # noqa: B018 (the property reads the locale's data file once)
#: How a date and time is written: 5.12.2026, 14:05 (de); 5 Dec 2026, 14:05 (en).
_TIME_PATTERNS: dict[Language, str] = {"de": "d.M.yyyy, HH:mm", "en": "d MMM yyyy, HH:mm"}
#: The same with the weekday, for a time to come (a visit): Di., 8.12.2026, 08:00; Tue 8 Dec 2026, 08:00.
_DAY_TIME_PATTERNS: dict[Language, str] = {"de": "EEE, d.M.yyyy, HH:mm", "en": "EEE d MMM yyyy, HH:mm"}
#: A day people plan by (a visit's): Di., 09.06.2026; Tue 9 Jun 2026.
_DAY_PATTERNS: dict[Language, str] = {"de": "EEE, dd.MM.yyyy", "en": "EEE d MMM yyyy"}


def locale_dir() -> str:
    """The folder that holds ``<language>/LC_MESSAGES/campuswatch.mo``."""
    return str(files(__package__) / "locale")


@cache
def translations(language: Language) -> gettext.GNUTranslations:
    """The compiled catalogue of ``language``, read once (a missing one is an installation error)."""
    with open(f"{locale_dir()}/{language}/LC_MESSAGES/{DOMAIN}.mo", "rb") as mo:
        return gettext.GNUTranslations(mo)


def format_time(at: float, zone: tzinfo, language: Language, *, weekday: bool = False) -> str:
    """A time as the pages and tickets show it: in ``zone`` (the school's), written the ``language``'s way;
    with the ``weekday`` for a time people plan by (when the campus manager comes)."""
    pattern = (_DAY_TIME_PATTERNS if weekday else _TIME_PATTERNS)[language]
    try:
        return format_datetime(
            datetime.fromtimestamp(at, UTC), pattern, tzinfo=zone, locale=LOCALES[language]
        )
    except (OverflowError, ValueError, OSError):
        # A stored time no date can show (the store bounds them; a zone can still push one past year 9999).
        return translations(language).gettext("(no readable time)")


def format_day(day: date, language: Language) -> str:
    """A calendar day (already the school's: a visit's) with its weekday, written the ``language``'s way."""
    return format_date(day, _DAY_PATTERNS[language], locale=LOCALES[language])


# Every catalogue read now, at import (off the event loop), so that no page or ticket reads a file.
for _language in LANGUAGES:
    translations(_language)


@dataclass(frozen=True)
class Wording:
    """How texts are written for one reader: in ``language``, with times in ``zone`` (the school's)."""

    language: Language = "en"
    zone: tzinfo = UTC

    def _(self, message: str) -> str:
        """``message`` in this language."""
        return translations(self.language).gettext(message)

    def when(self, at: float, *, weekday: bool = False) -> str:
        """A time in the school's timezone, written this language's way (with the ``weekday``)."""
        return format_time(at, self.zone, self.language, weekday=weekday)
