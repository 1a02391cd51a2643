from __future__ import annotations

import pytest

from ingest.manifest import load_manifest
from search.errors import KBError
from tests.conftest import manifest_row, write_manifest


def test_labels_and_ids_are_accepted_and_normalised(tmp_path, taxonomy):
    path = write_manifest(tmp_path / "m.csv", [manifest_row(
        "doc-a", "a.pdf", "A", paises="Guatemala | méxico", tipo_documento="Buena práctica",
        areas_intervencion="prevencion|Prevención")])
    m = load_manifest(path, taxonomy)
    assert not m.problems
    doc = m.documents[0]
    assert doc.paises == ("guatemala", "mexico")
    assert doc.tipo_documento == "buena-practica"
    assert doc.areas_intervencion == ("prevencion",)
    assert doc.anio == 2023


def test_every_problem_is_reported_with_row_column_value_and_allowed_values(tmp_path, taxonomy):
    path = write_manifest(tmp_path / "m.csv", [
        manifest_row("bueno", "a.pdf", "Bueno"),
        manifest_row("malo", "../fuera.pdf", "Malo", paises="Narnia", anio="dos mil", nivel_evidencia=""),
        manifest_row("bueno", "b.pdf", "Repetido"),
    ])
    m = load_manifest(path, taxonomy)
    assert [d.id for d in m.documents] == ["bueno"]
    problems = {(p.row, p.column): p for p in m.problems}
    assert set(problems) == {(3, "archivo"), (3, "paises"), (3, "anio"), (3, "nivel_evidencia"), (4, "id")}
    country = problems[(3, "paises")]
    assert country.value == "Narnia"
    assert "guatemala" in country.message and "regional" in country.message
    assert "fila 3" in str(country) and "«paises»" in str(country)
    assert "repetido" in problems[(4, "id")].message
    assert m.listed_ids == {"bueno", "malo"}


def test_missing_columns_are_a_manifest_error(tmp_path, taxonomy):
    (tmp_path / "m.csv").write_text("id,archivo\nx,y.pdf\n", encoding="utf-8")
    with pytest.raises(KBError, match="faltan columnas"):
        load_manifest(tmp_path / "m.csv", taxonomy)


def test_non_utf8_manifest_gets_a_clear_message(tmp_path, taxonomy):
    (tmp_path / "m.csv").write_bytes("id,título\n".encode("latin-1"))
    with pytest.raises(KBError, match="UTF-8"):
        load_manifest(tmp_path / "m.csv", taxonomy)
