"""The seeded personal-data evaluation, run for real over evals/pii_seed.yaml."""

from __future__ import annotations

import yaml

from evals import pii as pii_eval
from ingest import pii


def test_seed_file_is_what_the_generator_produces():
    # The YAML is generated (IDs need correct check digits): a hand edit or a generator change
    # without `python -m evals.pii --write-seed` would make the two disagree.
    on_disk = yaml.safe_load(pii_eval.SEED_SET.read_text(encoding="utf-8"))
    assert on_disk == pii_eval.generate_seed(on_disk["semilla"])


def test_seed_set_size_and_coverage():
    cases = pii_eval.load_seed()
    spans = [s for c in cases for s in c.spans]
    assert len(spans) >= 150
    assert sum(1 for c in cases if not c.spans) >= 80
    assert {s.kind for s in spans} == set(pii.KINDS)
    for s in spans:
        assert s.text and s.start < s.end


def test_seeded_ids_carry_valid_check_digits():
    validators = {"curp": pii.curp_is_valid, "dpi": pii.dpi_is_valid, "dui": pii.dui_is_valid,
                  "cedula_cr": pii.cedula_cr_is_plausible, "cedula_pa": pii.cedula_pa_is_plausible,
                  "dni_hn": pii.dni_hn_is_plausible}
    for case in pii_eval.load_seed():
        for s in case.spans:
            if s.kind in validators:
                assert validators[s.kind](s.text), (case.id, s.text)


def test_seeded_evaluation_meets_recall_and_precision_targets():
    result = pii_eval.evaluate(pii_eval.load_seed())
    table = pii_eval.format_table(result)
    for group in ("documentos", "telefonos", "correos"):
        assert result["por_grupo"][group]["recall"] >= 0.95, table
    for kind in pii_eval.ID_KINDS:
        assert result["por_tipo"][kind]["recall"] >= 0.9, table
    assert result["global"]["precision"] >= 0.9, table
    # Names are cue-based; their figures are reported, with a floor that catches a broken recognizer.
    assert result["por_tipo"]["nombre"]["recall"] >= 0.8, table
    assert "GLOBAL" in table and "Nombre de persona" in table
