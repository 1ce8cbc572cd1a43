"""Message catalogs (Babel .po files, compiled in memory at start-up) and the request's locale."""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from app.config import SUPPORTED_LOCALES

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
LOCALE_LABELS = {"zh_CN": "中文", "en": "English"}

current_locale: ContextVar[str] = ContextVar("current_locale", default="zh_CN")


@lru_cache
def translations_for(locale: str) -> NullTranslations:
    """Compile the locale's .po catalog to an in-memory .mo; msgids are English."""
    po_path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale not in SUPPORTED_LOCALES or not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(message: str) -> str:
    return translations_for(current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations_for(current_locale.get()).ngettext(singular, plural, n)


def negotiate(requested: str | None, default: str) -> str:
    if requested:
        normalized = requested.replace("-", "_")
        if normalized in SUPPORTED_LOCALES:
            return normalized
        if normalized.lower().startswith("zh"):
            return "zh_CN"
        if normalized.lower().startswith("en"):
            return "en"
    return default


def N_(message: str) -> str:  # noqa: N802 - the conventional name for "mark for extraction"
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message
