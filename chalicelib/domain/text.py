"""Free text that officials write into the record (purposes, justifications, reasons, descriptions).

It ends up in the audit trail, in exports a court reads and on screens: a control character can forge a
line in a log or a terminal, a bidirectional override can make "erase" read as something else, and a
purpose of "." or of a lone zero-width space is no purpose on record (GDPR Art. 5(1)(b), 5(2)).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

# Embeddings, overrides, isolates and marks: they reorder what a reader sees without showing themselves.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Line breaks and tabs are how people write longer text; every other control character is refused.
_ALLOWED_CONTROLS = frozenset("\n\t")
# At least this many letters or digits: enough to say something, whatever the script.
MIN_MEANINGFUL = 3
# The refused characters as a JSON-schema pattern, so that clients and API fuzzers know them too.
_BIDI_CLASS = "".join(f"\\u{ord(character):04x}" for character in sorted(BIDI_CONTROLS))
PATTERN = f"^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f{_BIDI_CLASS}]*$"


def check_characters(text: str) -> str:
    """The text if no character in it hides or forges anything; a ValueError naming the first that does."""
    for position, character in enumerate(text):
        if character in BIDI_CONTROLS:
            raise ValueError(f"a bidirectional control character (U+{ord(character):04X}) at position {position}")
        if unicodedata.category(character) == "Cc" and character not in _ALLOWED_CONTROLS:
            raise ValueError(f"a control character (U+{ord(character):04X}) at position {position}")
    return text


def check_says_something(text: str) -> str:
    """Empty (where a field allows it), or at least MIN_MEANINGFUL letters or digits."""
    if text and sum(1 for character in text if unicodedata.category(character)[0] in "LN") < MIN_MEANINGFUL:
        raise ValueError(f"must say something: at least {MIN_MEANINGFUL} letters or digits")
    return text


# Names, places, references: trimmed, and nothing in them that hides or forges text.
# Use as `name: PlainText = Field(min_length=1, max_length=120)`.
PlainText = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    AfterValidator(check_characters),
    # In the schema only: the check above names the character, where a failed pattern would not.
    Field(json_schema_extra={"pattern": PATTERN}),
]
# Purposes, justifications, reasons, descriptions: plain text that also says something.
Statement = Annotated[PlainText, AfterValidator(check_says_something)]
