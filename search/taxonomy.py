"""Controlled vocabularies (corpus/taxonomy.yaml) and the metadata fields that use them."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from search.errors import KBError

# Payload field -> vocabulary name. The manifest columns and the search filters use the
# same names, so a facet value in a URL is the id written in the manifest.
FACET_VOCABULARIES: dict[str, str] = {
    "paises": "paises",
    "tipo_documento": "tipos_documento",
    "nivel_gobierno": "niveles_gobierno",
    "areas_intervencion": "areas_intervencion",
    "poblaciones": "poblaciones",
    "formas_violencia": "formas_violencia",
    "estandares": "estandares",
    "nivel_evidencia": "niveles_evidencia",
    "idioma": "idiomas",
}

FACET_LABELS: dict[str, str] = {
    "paises": "País",
    "tipo_documento": "Tipo de documento",
    "nivel_gobierno": "Nivel de gobierno",
    "areas_intervencion": "Área de intervención",
    "poblaciones": "Población",
    "formas_violencia": "Forma de violencia",
    "estandares": "Estándar relacionado",
    "nivel_evidencia": "Nivel de evidencia",
    "idioma": "Idioma",
}


def fold(text: str) -> str:
    """Lower-case and strip accents, for matching what people type against labels."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class Term:
    id: str
    label: str
    definition: str = ""
    group: str = ""


@dataclass(frozen=True)
class Vocabulary:
    name: str
    label: str
    terms: tuple[Term, ...]

    @cached_property
    def _lookup(self) -> dict[str, str]:
        table: dict[str, str] = {}
        for term in self.terms:
            table[fold(term.id)] = term.id
            table[fold(term.label)] = term.id
        return table

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.terms]

    def resolve(self, value: str) -> str | None:
        """The term id for an id or a label (case and accents ignored), or None."""
        return self._lookup.get(fold(value))

    def label_of(self, term_id: str) -> str:
        for term in self.terms:
            if term.id == term_id:
                return term.label
        return term_id


@dataclass(frozen=True)
class Taxonomy:
    vocabularies: dict[str, Vocabulary] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Vocabulary:
        return self.vocabularies[name]

    def for_field(self, field_name: str) -> Vocabulary:
        return self.vocabularies[FACET_VOCABULARIES[field_name]]

    def label(self, field_name: str, term_id: str) -> str:
        vocab_name = FACET_VOCABULARIES.get(field_name)
        if vocab_name is None or vocab_name not in self.vocabularies:
            return term_id
        return self.vocabularies[vocab_name].label_of(term_id)


def load_taxonomy(path: Path) -> Taxonomy:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KBError(f"No se pudo leer la taxonomía {path}: {exc}") from exc
    vocabularies: dict[str, Vocabulary] = {}
    for name, body in (raw.get("vocabularios") or {}).items():
        terms = tuple(
            Term(
                id=str(v["id"]),
                label=str(v.get("etiqueta", v["id"])),
                definition=str(v.get("definicion", "")),
                group=str(v.get("grupo", "")),
            )
            for v in body.get("valores", [])
        )
        vocabularies[name] = Vocabulary(name=name, label=str(body.get("etiqueta", name)), terms=terms)
    missing = set(FACET_VOCABULARIES.values()) - set(vocabularies)
    if missing:
        raise KBError(f"La taxonomía {path} no define los vocabularios: {', '.join(sorted(missing))}")
    return Taxonomy(vocabularies)
