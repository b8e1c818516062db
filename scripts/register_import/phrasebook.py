"""Hand-written translations of entity names and states, looked up by their English text.

One file per language (``register_ledgers/i18n/<lang>.json``) maps English
names and state texts to the language; a phrase shared by many registers
("Serial", "Battery voltage") is translated once. A name ending in a phase
(" L1") or in a qualifier in parentheses (" (16-bit)", " (register 3730)") is
looked up without it, the qualifier on its own; numbers may stand as ``{0}``,
``{1}``: "MPP operation mode tracker {0}" translates every tracker.
"""

from __future__ import annotations

import re

_PHASE = re.compile(r"^(.*) (L[123])$")
_QUALIFIER = re.compile(r"^(.*) \(([^()]+)\)$")
_NUMBER = re.compile(r"\d+")


class Phrasebook:
    """English -> one language, remembering which phrases were used."""

    def __init__(self, phrases: dict[str, str]) -> None:
        """Wrap a mapping of English phrases (or templates) to translations."""
        self._phrases = phrases
        self.used: set[str] = set()

    def _lookup(self, text: str) -> str | None:
        if text in self._phrases:
            self.used.add(text)
            return self._phrases[text]
        numbers = _NUMBER.findall(text)
        places = iter(range(len(numbers)))
        template = _NUMBER.sub(lambda _: f"{{{next(places)}}}", text)
        if numbers and template in self._phrases:
            self.used.add(template)
            return self._phrases[template].format(*numbers)
        return None

    def translate(self, text: str) -> str | None:
        """The translation of a text, or None when the book lacks it."""
        found = self._lookup(text)
        if found is not None:
            return found
        if match := _QUALIFIER.match(text):
            base, qualifier = self.translate(match.group(1)), self._lookup(match.group(2))
            return None if base is None or qualifier is None else f"{base} ({qualifier})"
        if match := _PHASE.match(text):
            base = self._lookup(match.group(1))
            return None if base is None else f"{base} {match.group(2)}"
        return None

    def unused(self) -> list[str]:
        """Phrases no lookup has needed (stale entries)."""
        return sorted(set(self._phrases) - self.used)
