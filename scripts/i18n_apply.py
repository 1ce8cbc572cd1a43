"""Merge translations from a Python dict file ({msgid: msgstr}) into a locale's catalog.

Usage: .venv/bin/python scripts/i18n_apply.py zh_CN path/to/dict.py
Handy for translating a batch of new messages after ./scripts/i18n.sh; editing the .po by hand
works just as well.
"""

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

locale, source = sys.argv[1], sys.argv[2]
po_path = (
    Path(__file__).resolve().parent.parent / "app" / "translations" / locale / "LC_MESSAGES" / "messages.po"
)
translations = next(
    v for k, v in runpy.run_path(source).items() if isinstance(v, dict) and not k.startswith("_")
)
with po_path.open("rb") as f:
    catalog = read_po(f, locale=locale)
unknown = [m for m in translations if m not in catalog]
for message in catalog:
    if message.id and message.id in translations:
        message.string = translations[message.id]
        message.flags.discard("fuzzy")
with po_path.open("wb") as f:
    write_po(f, catalog, width=0, omit_header=False)
missing = [m.id for m in catalog if m.id and not m.string]
print(f"{locale}: {len(catalog) - len(missing)} translated, {len(missing)} missing")
for m in missing:
    print("  missing:", m)
for m in unknown:
    print("  not in catalog:", m)
