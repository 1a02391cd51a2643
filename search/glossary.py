"""Domain glossary (corpus/glosario.yaml): expands the lexical side of a query with acronyms'
expansions and regional synonyms. The dense side is left alone: e5 already handles paraphrase."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from search.text import WORD_RE, fold, stem


@lru_cache(maxsize=4096)  # the glossary's own phrases, looked up on every query
def _stems(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in WORD_RE.findall(text))


@dataclass(frozen=True)
class Glossary:
    acronyms: dict[str, str] = field(default_factory=dict)  # folded acronym -> expansion
    groups: tuple[tuple[str, ...], ...] = ()  # folded synonym groups

    def expand(self, query: str) -> str:
        """The query plus the expansions it triggers (each added once)."""
        words = _stems(query)
        added: list[str] = []

        def contains(phrase: str) -> bool:
            # Matched on stems, so plurals and accents do not matter ("víctimas" ~ "victima").
            target = _stems(phrase)
            n = len(target)
            return n > 0 and any(words[i:i + n] == target for i in range(len(words) - n + 1))

        for acronym, expansion in self.acronyms.items():
            if contains(acronym):
                added.append(expansion)
            elif contains(fold(expansion)):
                added.append(acronym)
        for group in self.groups:
            if any(contains(term) for term in group):
                added.extend(t for t in group if not contains(t))
        seen: set[str] = set()
        extra = [a for a in added if not (a in seen or seen.add(a))]
        return query if not extra else query + " " + " ".join(extra)


def load_glossary(path: Path) -> Glossary:
    if not Path(path).is_file():
        return Glossary()
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    acronyms = {fold(k): str(v) for k, v in (raw.get("siglas") or {}).items()}
    groups = tuple(tuple(fold(t) for t in g) for g in (raw.get("sinonimos") or []))
    return Glossary(acronyms, groups)
