"""The search core: Spanish query -> documents, each with the passages that answer it, cited.

Every citation is built from the chunk's provenance payload (document, section, pages,
chunk index), never re-derived from the text.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Iterable

from search.abstain import Abstainer, Evidence
from search.answer import AnswerSentence, ShortAnswer
from search.context import MUNICIPALITY_CUES, MUNICIPALITY_TYPES, Context, ContextBoost  # noqa: F401 (re-exported)
from search.embedders import Embedder
from search.errors import InvalidInput, NotFound
from search.facets import Facets, FacetValue
from search.glossary import Glossary
from search.passages import PassageChooser, ScoredPassage
from search.settings import Settings
from search.sparse import sparse_query
from search.store import PUBLISHED_CHUNKS, PUBLISHED_DOCS, AnyOf, Hit, Range, Store, Where, eq
from search.taxonomy import FACET_LABELS, FACET_VOCABULARIES, Taxonomy
from search.text import has_letters, highlight, query_stems

log = logging.getLogger(__name__)

MODES = {"hibrido", "denso", "lexico"}
MODE_ALIASES = {"híbrido": "hibrido", "hybrid": "hibrido", "dense": "denso", "léxico": "lexico", "lexical": "lexico"}
PASSAGES_PER_DOC = 3
LOOSELY_RELATED = 3  # documents shown under «relacionados de forma indirecta» when the collection has no answer
EVIDENCE_BADGES = {"ilustrativa": "Ejemplo ilustrativo", "evaluada": "Práctica evaluada",
                   "documentada": "Fuente documentada"}


# ------------------------------------------------------------------ request / response


@dataclass(frozen=True)
class SearchRequest:
    query: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    year_min: int | None = None
    year_max: int | None = None
    mode: str = "hibrido"
    page: int = 1
    per_page: int = 10
    context: Context = Context()
    glossary: bool | None = None  # None = settings default


@dataclass
class Citation:
    doc_id: str
    title: str
    section: str
    page_start: int | None
    page_end: int | None
    organization: str
    countries: list[str]
    year: int | None
    doc_type: str
    chunk_index: int
    url: str
    file_url: str | None

    @property
    def pages(self) -> str:
        if self.page_start is None:
            return ""
        if self.page_end in (None, self.page_start):
            return f"p. {self.page_start}"
        return f"pp. {self.page_start}–{self.page_end}"

    @property
    def text(self) -> str:
        parts = [self.title]
        if self.section and self.section != self.title:
            parts.append(f"sección «{self.section}»")
        if self.pages:
            parts.append(self.pages)
        parts.append(", ".join(p for p in [self.organization, ", ".join(self.countries),
                                           str(self.year or "")] if p))
        parts.append(self.doc_type)
        return " · ".join(p for p in parts if p)


@dataclass
class Passage:
    marker: int
    chunk_id: str
    chunk_index: int
    text: str
    html: str
    score: float
    citation: Citation


@dataclass
class DocumentResult:
    doc_id: str
    title: str
    doc_type: str
    doc_type_label: str
    countries: list[str]
    country_labels: list[str]
    municipality: str
    organization: str
    year: int | None
    evidence: str
    evidence_label: str
    file_type: str
    score: float
    passages: list[Passage] = field(default_factory=list)


@dataclass
class SearchResponse:
    query: str
    mode: str
    total: int
    page: int
    pages: int
    results: list[DocumentResult]
    facets: dict[str, list[FacetValue]]
    answer: list[AnswerSentence]
    message: str = ""
    years: list[FacetValue] = field(default_factory=list)  # documents per year, for the current query and filters
    took_ms: float = 0.0
    # False when the collection holds nothing that answers the query: no short answer, and the few
    # results shown are only loosely related (see search/abstain.py for the calibrated rule).
    answered: bool = True
    evidence: Evidence | None = None  # what the abstention rule saw (for calibration and the JSON API)

    def to_dict(self) -> dict:
        data = asdict(self)
        for r_dict, r in zip(data["results"], self.results):
            for p_dict, p in zip(r_dict["passages"], r.passages):
                p_dict["citation"]["text"] = p.citation.text
                p_dict["citation"]["pages"] = p.citation.pages
        return data


# ------------------------------------------------------------------ the service


class SearchService:
    def __init__(self, settings: Settings, store: Store, embedder: Embedder, taxonomy: Taxonomy,
                 glossary: Glossary | None = None):
        self.settings = settings
        self._store = store
        self.embedder = embedder
        self.taxonomy = taxonomy
        self.glossary = glossary or Glossary()
        # The query path, one component a job (composed in _search):
        self.passages = PassageChooser(store, per_doc=PASSAGES_PER_DOC)
        self.abstainer = Abstainer(embedder=embedder.name)
        self.short_answer = ShortAnswer()
        self.context_boost = ContextBoost()
        self.facets = Facets(taxonomy)

    @property
    def store(self) -> Store:
        return self._store

    @store.setter
    def store(self, store: Store) -> None:
        """A rebuilt index replaces the store (web curation); the components that read it follow."""
        self._store = store
        self.passages.store = store

    # validation ------------------------------------------------------------
    def normalise(self, req: SearchRequest) -> SearchRequest:
        query = " ".join((req.query or "").split())
        if len(query) > self.settings.max_query_chars:
            raise InvalidInput(f"La consulta es demasiado larga ({len(query)} caracteres). "
                               f"Escriba como máximo {self.settings.max_query_chars} caracteres.")
        if query and not has_letters(query):
            raise InvalidInput("La consulta no contiene palabras. Escriba lo que busca, por ejemplo "
                               "«ruta de atención para mujeres migrantes».")
        mode = MODE_ALIASES.get(req.mode, req.mode or "hibrido")
        if mode not in MODES:
            raise InvalidInput(f"Modo de búsqueda desconocido «{req.mode}». Use híbrido, denso o léxico.")
        filters: dict[str, tuple[str, ...]] = {}
        for field_name, values in (req.filters or {}).items():
            if field_name not in FACET_VOCABULARIES:
                raise InvalidInput(f"Filtro desconocido «{field_name}». Filtros disponibles: "
                                   f"{', '.join(FACET_VOCABULARIES)}.")
            vocab = self.taxonomy.for_field(field_name)
            resolved = []
            for v in values:
                if not v:
                    continue
                term = vocab.resolve(v)
                if term is None:
                    raise InvalidInput(f"Valor «{v}» no válido para el filtro «{FACET_LABELS[field_name]}». "
                                       f"Valores permitidos: {', '.join(vocab.ids)}.")
                resolved.append(term)
            if resolved:
                filters[field_name] = tuple(dict.fromkeys(resolved))
        for year in (req.year_min, req.year_max):
            if year is not None and not 1900 <= year <= 2100:
                raise InvalidInput("El año debe tener cuatro cifras (por ejemplo, 2020).")
        ctx = req.context
        if ctx.pais and self.taxonomy.for_field("paises").resolve(ctx.pais) is None:
            raise InvalidInput(f"País de contexto «{ctx.pais}» no válido.")
        if ctx.tipo_municipio and ctx.tipo_municipio not in MUNICIPALITY_TYPES:
            raise InvalidInput(f"Tipo de municipio «{ctx.tipo_municipio}» no válido. "
                               f"Use: {', '.join(MUNICIPALITY_TYPES)}.")
        pops = tuple(p for p in (self.taxonomy.for_field("poblaciones").resolve(x) for x in ctx.poblaciones) if p)
        ctx = Context(self.taxonomy.for_field("paises").resolve(ctx.pais) or "" if ctx.pais else "",
                      ctx.tipo_municipio, pops)
        return SearchRequest(query=query, filters=filters, year_min=req.year_min, year_max=req.year_max, mode=mode,
                             page=max(1, int(req.page)), per_page=min(max(1, int(req.per_page)), 50),
                             context=ctx, glossary=req.glossary)

    def _where(self, req: SearchRequest, base: Where, skip: str | None = None) -> Where:
        conds: list[AnyOf | Range] = [AnyOf(f, v) for f, v in req.filters.items() if f != skip]
        if (req.year_min is not None or req.year_max is not None) and skip != "anio":
            conds.append(Range("anio", gte=req.year_min, lte=req.year_max))
        return base.and_(*conds)

    # retrieval -------------------------------------------------------------
    def _vectors(self, req: SearchRequest):
        dense = sparse = None
        if req.mode in ("hibrido", "denso"):
            dense = self.embedder.embed_queries([req.query])[0].tolist()
        if req.mode in ("hibrido", "lexico"):
            # The glossary is on by default in hybrid mode only: `kb eval` measured it raising
            # hybrid nDCG@10 and slightly lowering lexical-only ranking.
            use_glossary = (self.settings.use_glossary and req.mode == "hibrido") if req.glossary is None else req.glossary
            text = self.glossary.expand(req.query) if use_glossary else req.query
            sparse = sparse_query(text)
        return dense, sparse

    def _retrieve(self, req: SearchRequest, vectors, where: Where) -> list[Hit]:
        dense, sparse = vectors
        s = self.settings
        return self.store.query(dense=dense, sparse=sparse, where=where, limit=s.prefetch_limit,
                                prefetch_limit=s.prefetch_limit, fusion_k=s.fusion_k,
                                weights=(s.dense_weight, s.sparse_weight))

    @staticmethod
    def _group(hits: Iterable[Hit]) -> dict[str, list[Hit]]:
        """Hits by document, best first; a document met in two generations keeps the newest."""
        newest: dict[str, int] = {}
        hits = list(hits)
        for h in hits:
            newest[h.payload["doc_id"]] = max(newest.get(h.payload["doc_id"], 0), h.payload.get("gen", 0))
        groups: dict[str, list[Hit]] = {}
        for h in hits:
            if h.payload.get("gen", 0) == newest[h.payload["doc_id"]]:
                groups.setdefault(h.payload["doc_id"], []).append(h)
        return groups

    # public API ------------------------------------------------------------
    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        req = self.normalise(request)
        if not req.query:
            resp = self._browse(req)
        else:
            resp = self._search(req)
        resp.took_ms = (time.perf_counter() - started) * 1000
        if self.settings.log_queries:
            log.info("query=%r mode=%s filters=%s total=%d", req.query, req.mode, req.filters, resp.total)
        else:
            log.info("search mode=%s filters=%d total=%d took_ms=%.1f", req.mode, len(req.filters), resp.total,
                     resp.took_ms)
        return resp

    def _search(self, req: SearchRequest) -> SearchResponse:
        vectors = self._vectors(req)
        # One retrieval without the facet filters: the documents it reaches are the query's result set;
        # a filter narrows that set, so the number next to a facet value is exactly what ticking it shows.
        pool = self._group(self._retrieve(req, vectors, PUBLISHED_CHUNKS))
        groups = {d: hits for d, hits in pool.items() if self.facets.matches(hits[0].payload, req)}
        boost = {d: self.context_boost.run(req.context, hits) for d, hits in groups.items()}
        ranked = sorted(groups.items(), key=lambda kv: -kv[1][0].score * boost[kv[0]])
        stems = query_stems(req.query)
        # Whether the collection answers is decided on the query's own best documents, before the
        # filters and the context reorder them: a filter narrows what is shown, not what exists.
        best = dict(sorted(pool.items(), key=lambda kv: -kv[1][0].score)[:LOOSELY_RELATED])
        chosen = self.passages.run(vectors[0], stems, best, vectors[1])
        evidence = self._evidence(chosen, vectors[0] is not None)
        answered = bool(pool) and self.abstainer.run(evidence)
        if not answered and ranked:
            # Loosely related documents are worth showing only if they share a word with the query;
            # gibberish or a query about nothing in the collection gets the message alone.
            ranked = ranked[:LOOSELY_RELATED] if evidence.best_coverage > 0 else []
        total = len(ranked)
        pages = max(1, math.ceil(total / req.per_page)) if answered else 1
        page = req.page if answered else 1
        page_items = ranked[(page - 1) * req.per_page: page * req.per_page]
        chosen = {d: ps for d, ps in chosen.items() if d in groups}
        missing = {d: hits for d, hits in page_items if d not in chosen}
        chosen |= self.passages.run(vectors[0], stems, missing, vectors[1])
        marker = (page - 1) * req.per_page * PASSAGES_PER_DOC
        results, cited = [], []
        for doc_id, doc_hits in page_items:
            result = self._document_result(doc_hits[0].payload, doc_hits[0].score * boost[doc_id])
            pairs = []
            for sp in chosen[doc_id]:
                marker += 1
                result.passages.append(self._passage(sp.hit, marker, stems, sp.score))
                pairs.append((marker, sp))
            cited.append(pairs)
            results.append(result)
        answer = self.short_answer.run(stems, cited) if answered and page == 1 else []
        facets, years = (self.facets.for_results(req, pool) if answered else ({}, []))
        message = ""
        if not answered and results:
            message = (f"La colección no tiene documentos que respondan a «{req.query}». Estos documentos solo se "
                       "relacionan con la consulta de forma indirecta.")
        elif not answered and pool and not (req.filters or req.year_min or req.year_max):
            message = (f"La colección no tiene documentos que respondan a «{req.query}»: no encontramos documentos "
                       "relacionados. Revise la ortografía o describa "
                       "la situación con otras palabras (por ejemplo, «casa de acogida para mujeres migrantes»).")
        elif not results:
            message = (f"No se encontraron documentos para «{req.query}»"
                       + (" con los filtros elegidos. Pruebe a quitar algún filtro." if req.filters or req.year_min
                          or req.year_max else ". Pruebe con otras palabras."))
        return SearchResponse(req.query, req.mode, total, page, pages, results, facets, answer, message,
                              years=years, answered=answered, evidence=evidence)

    @staticmethod
    def _evidence(chosen: dict[str, list[ScoredPassage]], has_dense: bool) -> Evidence:
        passages = [p for ps in chosen.values() for p in ps]
        if not passages:
            return Evidence(0.0 if has_dense else None, 0.0)
        return Evidence(max(p.dense for p in passages) if has_dense else None, max(p.coverage for p in passages))

    def _browse(self, req: SearchRequest) -> SearchResponse:
        """No query: the documents that match the filters, newest first."""
        docs = self.store.documents(self._where(req, Where()))
        docs.sort(key=lambda d: (-(d.get("anio") or 0), d.get("titulo", "")))
        total = len(docs)
        pages = max(1, math.ceil(total / req.per_page))
        page_docs = docs[(req.page - 1) * req.per_page: req.page * req.per_page]
        results = [self._document_result(d, 0.0) for d in page_docs]
        facets = {f: self.facets.values(f, self.store.facet(f, self._where(req, PUBLISHED_DOCS, skip=f)), req)
                  for f in FACET_VOCABULARIES}
        years = self.facets.year_values(self.store.facet("anio", self._where(req, PUBLISHED_DOCS, skip="anio")), req)
        message = "" if results else "No hay documentos con esos filtros. Pruebe a quitar algún filtro."
        return SearchResponse("", req.mode, total, req.page, pages, results, facets, [], message, years=years)

    def _document_result(self, p: dict, score: float) -> DocumentResult:
        t = self.taxonomy
        return DocumentResult(
            doc_id=p["doc_id"], title=p.get("titulo", ""), doc_type=p.get("tipo_documento", ""),
            doc_type_label=t.label("tipo_documento", p.get("tipo_documento", "")),
            countries=list(p.get("paises", [])), country_labels=[t.label("paises", c) for c in p.get("paises", [])],
            municipality=p.get("municipio", ""), organization=p.get("organizacion", ""), year=p.get("anio"),
            evidence=p.get("nivel_evidencia", ""),
            evidence_label=EVIDENCE_BADGES.get(p.get("nivel_evidencia", ""), p.get("nivel_evidencia", "")),
            file_type=p.get("file_type", ""), score=score)

    def citation(self, p: dict) -> Citation:
        t = self.taxonomy
        doc_id = p["doc_id"]
        file_url = None
        if p.get("file_type") == "pdf":
            file_url = f"/documentos/{doc_id}/archivo" + (f"#page={p['page_start']}" if p.get("page_start") else "")
        return Citation(
            doc_id=doc_id, title=p.get("titulo", ""), section=p.get("section", ""),
            page_start=p.get("page_start"), page_end=p.get("page_end"), organization=p.get("organizacion", ""),
            countries=[t.label("paises", c) for c in p.get("paises", [])], year=p.get("anio"),
            doc_type=t.label("tipo_documento", p.get("tipo_documento", "")), chunk_index=p.get("chunk_index", 0),
            url=f"/documentos/{doc_id}#p{p.get('chunk_index', 0)}", file_url=file_url)

    def _passage(self, h: Hit, marker: int, stems: set[str], score: float) -> Passage:
        text = h.payload.get("text", "")
        return Passage(marker, h.id, h.payload.get("chunk_index", 0), text, highlight(text, stems), score,
                       self.citation(h.payload))

    # documents ---------------------------------------------------------------
    def document(self, doc_id: str) -> tuple[DocumentResult, list[Passage], dict]:
        doc = self.store.document(doc_id)
        if doc is None:
            raise NotFound(f"No existe el documento «{doc_id}».")
        chunks = self.store.chunks(doc_id)
        passages = [Passage(i + 1, c["point_id"], c["chunk_index"], c["text"], highlight(c["text"], set()), 0.0,
                            self.citation(c)) for i, c in enumerate(chunks)]
        return self._document_result(doc.payload, 0.0), passages, doc.payload

    def similar(self, doc_id: str, k: int = 5) -> list[DocumentResult]:
        """Documents closest to this one by their mean passage vector, excluding itself."""
        doc = self.store.document(doc_id, with_vector=True)
        if doc is None:
            raise NotFound(f"No existe el documento «{doc_id}».")
        if not doc.dense:
            return []
        hits = self.store.query(dense=doc.dense, sparse=None, limit=k + 1,
                                where=PUBLISHED_DOCS.excluding(eq("doc_id", doc_id)))
        return [self._document_result(h.payload, h.score) for h in hits if h.payload["doc_id"] != doc_id][:k]

    def facet_counts(self) -> dict[str, list[FacetValue]]:
        return {f: self.facets.values(f, self.store.facet(f, PUBLISHED_DOCS), SearchRequest())
                for f in FACET_VOCABULARIES}


def build_service(settings: Settings, *, store: Store | None = None, embedder: Embedder | None = None,
                  taxonomy: Taxonomy | None = None) -> SearchService:
    """Wire the service from settings; the embedder recorded in the index must match."""
    from search.embedders import make_embedder
    from search.glossary import load_glossary
    from search.store import open_store
    from search.taxonomy import load_taxonomy

    embedder = embedder or make_embedder(settings.embedder)
    embedder.warm_up()
    if store is None:
        store = open_store(settings, embedder.dim)
    info = store.embedder_info()
    if info is not None:
        store.check_embedder(embedder.name, embedder.dim)
    return SearchService(settings, store, embedder, taxonomy or load_taxonomy(settings.taxonomy_path),
                         load_glossary(settings.glossary_path))
