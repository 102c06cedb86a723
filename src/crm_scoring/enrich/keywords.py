"""Keyword lists (seed keyword_lists.csv, section 7.11) compiled into one matcher per (list, language).

English keywords match on word boundaries, case-insensitively; Chinese has no word boundaries, so its
keywords match as substrings. One alternation regex per list keeps matching cheap for batches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def base_language(language: str) -> str:
    return "zh-CN" if language.lower().startswith("zh") else "en"


@dataclass
class KeywordMatcher:
    patterns: dict[tuple[str, str], re.Pattern[str]]

    @classmethod
    def build(cls, keywords: dict[tuple[str, str], list[str]]) -> KeywordMatcher:
        patterns = {}
        for (name, lang), words in keywords.items():
            alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            if not alts:
                continue
            rx = rf"(?<!\w)(?:{alts})" if base_language(lang) == "en" else f"(?:{alts})"
            patterns[(name, base_language(lang))] = re.compile(rx, re.IGNORECASE)
        return cls(patterns)

    def has(self, list_name: str, language: str, text: str) -> bool:
        rx = self.patterns.get((list_name, base_language(language)))
        return bool(rx and rx.search(text))

    def count(self, list_name: str, language: str, text: str) -> int:
        rx = self.patterns.get((list_name, base_language(language)))
        return len(rx.findall(text)) if rx else 0
