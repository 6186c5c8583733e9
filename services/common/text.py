"""What counts as safe text in names, addresses and titles, for the gateway and the services."""

from __future__ import annotations

import re
import unicodedata

# Lone surrogates (not Unicode scalar values: no encoder can write them), C0 and C1
# controls and DEL, and the bidi embedding, override and isolate controls that make
# text display in an order other than the one it is stored in ("Trojan Source").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_UNSAFE_MULTILINE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]"
)
# The same rule as a JSON-schema pattern (ECMA 262), for clients and test generators.
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"
MULTILINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"


def unsafe_character(text: str, *, multiline: bool = False, formats: bool = True) -> str | None:
    """The first character text must not hold, or None.

    Refused: lone surrogates, controls (tab and newlines too unless ``multiline``) and bidi
    controls; with ``formats=False`` every format character as well (zero-width, soft
    hyphen, BOM...), for identifiers such as e-mail addresses that must look like what they are.
    """
    found = (_UNSAFE_MULTILINE if multiline else _UNSAFE).search(text)
    if found:
        return found.group()
    if not formats:
        return next((c for c in text if unicodedata.category(c) == "Cf"), None)
    return None


def describe(character: str) -> str:
    """U+202E, the way a message names a character that cannot be shown."""
    return f"U+{ord(character):04X}"
