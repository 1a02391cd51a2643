"""Spanish sentence boundaries (passage edges at ingest, short-answer sentences at query time)."""

from __future__ import annotations

from search.sentences import split


def test_abbreviations_do_not_end_sentences():
    text = ("Según el Art. 5 de la Ley Nº 30364, la Sra. Pérez y el Dr. J. Gómez coordinan la red. "
            "El centro atiende 24 horas en EE.UU. y en México.")
    spans = split(text)
    assert [text[s:e] for s, e in spans] == [
        "Según el Art. 5 de la Ley Nº 30364, la Sra. Pérez y el Dr. J. Gómez coordinan la red.",
        "El centro atiende 24 horas en EE.UU. y en México.",
    ]


def test_item_numbers_and_article_numbers_are_not_sentences():
    text = "1. Principio de igualdad. Artículo 5. La ley se aplica en todo el país. Fin del texto."
    assert [text[s:e] for s, e in split(text)] == [
        "1. Principio de igualdad.", "Artículo 5. La ley se aplica en todo el país.", "Fin del texto."]
