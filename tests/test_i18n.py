"""Every message in code and templates is extracted and translated into zh-CN."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "DomainError": None,
    "InvalidInput": None,
    "NotAuthenticated": None,
    "Forbidden": None,
    "NotFound": None,
    "Conflict": None,
    "PayloadTooLarge": None,
    "RateLimited": None,
    "Unavailable": None,
}


def extracted_messages() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "app"), method_map=method_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_has_a_zh_cn_translation():
    with (ROOT / "app/translations/zh_CN/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string}
    missing = sorted(extracted_messages() - translated)
    assert not missing, f"run ./scripts/i18n.sh and translate: {missing}"


def test_placeholders_survive_translation():
    import re

    with (ROOT / "app/translations/zh_CN/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    for message in catalog:
        if message.id and isinstance(message.id, str) and message.string:
            assert set(re.findall(r"\{\w+\}", message.id)) == set(re.findall(r"\{\w+\}", message.string)), (
                message.id
            )
