"""Display-name rules: which characters a name may hold, and the key that compares names.

Two names are the same name when their keys are equal. The key is the name after Unicode
NFKC (so "Café" typed as é or as e + U+0301, and "Dup" typed with a full-width D, U+FF24,
become one spelling),
without default-ignorable code points (zero-width space, joiners, variation selectors, …),
case-folded (then NFKC again, so the key is itself normalised). The stored name stays as typed.

The Unicode property Default_Ignorable_Code_Point comes from the `regex` package, which
follows current Unicode data (the standard library does not expose the property).
"""

from __future__ import annotations

import unicodedata

import regex

# Most characters a key may have: a name of at most 120 characters whose characters expand
# beyond this under NFKC (U+FDFA alone becomes 18) is refused as too long.
MAX_KEY_LENGTH = 400

_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}+")
# Lone surrogates (never text), noncharacters, and U+FFFD (what a decoder puts for bytes that
# were not text).
_NOT_TEXT = regex.compile(r"[\p{Cs}\p{Noncharacter_Code_Point}\uFFFD]")
# Controls, format characters, default-ignorables, line and paragraph separators.
_INVISIBLE = regex.compile(r"[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}]")
_SURROGATE = regex.compile(r"\p{Cs}")

NOT_TEXT = "contains characters that are not valid text"


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a lone surrogate (from a JSON "\\udc00" escape, say): such a
    string cannot be encoded as UTF-8, so it cannot be stored, logged or sent anywhere."""
    return _SURROGATE.search(text) is not None


def name_key(name: str) -> str:
    """The comparison key of a display name: NFKC, default-ignorables removed, case-folded."""
    text = _IGNORABLE.sub("", unicodedata.normalize("NFKC", name.strip()))
    return unicodedata.normalize("NFKC", text.casefold()).strip()


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a display name (a sentence for the field error), or None."""
    if _NOT_TEXT.search(name):
        return f"Display name {NOT_TEXT}"
    found = _INVISIBLE.search(name)
    if found:
        return (
            f"Display name must not contain control or invisible characters "
            f"(found U+{ord(found.group()):04X})"
        )
    key = name_key(name)
    if not key:
        return "Display name is required"
    if len(key) > MAX_KEY_LENGTH:
        return "Display name is too long: some of its characters stand for several letters"
    return None


def text_problem(text: str, label: str) -> str | None:
    """Why free text (a description) cannot be stored: only lone surrogates are refused."""
    return f"{label} {NOT_TEXT}" if has_surrogate(text) else None
