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

from search.embedders import Embedder
from search.errors import InvalidInput, NotFound
from search.glossary import Glossary
from search.settings import Settings
from search.sparse import sparse_query
from search.store import PUBLISHED_CHUNKS, PUBLISHED_DOCS, AnyOf, Hit, Range, Store, Where, eq
from search.taxonomy import FACET_LABELS, FACET_VOCABULARIES, Taxonomy
from search.text import WORD_RE, has_letters, highlight, is_stopword, query_stems, sentences, stem

log = logging.getLogger(__name__)

MODES = {"hibrido", "denso", "lexico"}
MODE_ALIASES = {"híbrido": "hibrido", "hybrid": "hibrido", "dense": "denso", "léxico": "lexico", "lexical": "lexico"}
PASSAGES_PER_DOC = 3
EVIDENCE_BADGES = {"ilustrativa": "Ejemplo ilustrativo", "evaluada": "Práctica evaluada",
                   "documentada": "Fuente documentada"}
MUNICIPALITY_TYPES = {
    "fronterizo": "Municipio fronterizo",
    "urbano": "Municipio urbano",
    "rural": "Municipio rural",
}
# Words that mark a document as relevant to a type of municipality (matched on stems).
MUNICIPALITY_CUES = {
    "fronterizo": ["frontera", "fronterizo", "transfronterizo", "tránsito", "paso fronterizo"],
    "urbano": ["ciudad", "urbano", "barrio", "colonia", "metropolitano"],
    "rural": ["rural", "aldea", "comunidad rural", "caserío", "campesina"],
}


# ------------------------------------------------------------------ request / response


@dataclass(frozen=True)
class Context:
    """The official's setting: boosts matching documents, never hides the others."""

    pais: str = ""
    tipo_municipio: str = ""
    poblaciones: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.pais or self.tipo_municipio or self.poblaciones)


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
class AnswerSentence:
    html: str
    text: str
    marker: int


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


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
    took_ms: float = 0.0

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
        self.store = store
        self.embedder = embedder
        self.taxonomy = taxonomy
        self.glossary = glossary or Glossary()

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

    def _context_boost(self, ctx: Context, hits: list[Hit]) -> float:
        if not ctx.active:
            return 1.0
        p = hits[0].payload
        boost = 1.0
        if ctx.pais and (ctx.pais in p.get("paises", []) or "regional" in p.get("paises", [])):
            boost += 0.25 if ctx.pais in p.get("paises", []) else 0.1
        if ctx.poblaciones and set(ctx.poblaciones) & set(p.get("poblaciones", [])):
            boost += 0.15 * min(2, len(set(ctx.poblaciones) & set(p.get("poblaciones", []))))
        if ctx.tipo_municipio:
            cues = {stem(w) for phrase in MUNICIPALITY_CUES[ctx.tipo_municipio] for w in WORD_RE.findall(phrase)}
            words = {stem(w) for h in hits for w in WORD_RE.findall(h.payload.get("text", "") + " " + p.get("titulo", ""))}
            if cues & words:
                boost += 0.15
        return boost

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

    def _unrelated(self, req: SearchRequest, vectors, hits: list[Hit]) -> bool:
        """True when nothing in the collection relates to the query (see Settings.min_dense_score)."""
        dense, sparse = vectors
        if dense is None or self.settings.min_dense_score <= 0 or not hits:
            return False
        lexical = sparse if sparse is not None else sparse_query(req.query)
        if lexical[0] and self.store.query(dense=None, sparse=lexical, where=PUBLISHED_CHUNKS, limit=1):
            return False
        best = self.store.query(dense=dense, sparse=None, where=PUBLISHED_CHUNKS, limit=1)
        return not best or best[0].score < self.settings.min_dense_score

    def _search(self, req: SearchRequest) -> SearchResponse:
        vectors = self._vectors(req)
        hits = self._retrieve(req, vectors, self._where(req, PUBLISHED_CHUNKS))
        if self._unrelated(req, vectors, hits):
            return SearchResponse(req.query, req.mode, 0, 1, 1, [], {}, [],
                                  f"No encontramos documentos relacionados con «{req.query}». Revise la ortografía "
                                  "o describa la situación con otras palabras (por ejemplo, «casa de acogida "
                                  "para mujeres migrantes»).")
        groups = self._group(hits)
        ranked = sorted(groups.items(),
                        key=lambda kv: -kv[1][0].score * self._context_boost(req.context, kv[1]))
        total = len(ranked)
        pages = max(1, math.ceil(total / req.per_page))
        page_items = ranked[(req.page - 1) * req.per_page: req.page * req.per_page]
        stems = query_stems(req.query)
        marker = (req.page - 1) * req.per_page * PASSAGES_PER_DOC
        results = []
        for doc_id, doc_hits in page_items:
            result = self._document_result(doc_hits[0].payload, doc_hits[0].score * self._context_boost(req.context, doc_hits))
            for h in doc_hits[:PASSAGES_PER_DOC]:
                marker += 1
                result.passages.append(self._passage(h, marker, stems))
            results.append(result)
        facets = self._facets_for_query(req, vectors, groups)
        answer = self._answer(req.query, stems, results) if req.page == 1 else []
        message = ""
        if not results:
            message = (f"No se encontraron documentos para «{req.query}»"
                       + (" con los filtros elegidos. Pruebe a quitar algún filtro." if req.filters or req.year_min
                          or req.year_max else ". Pruebe con otras palabras."))
        return SearchResponse(req.query, req.mode, total, req.page, pages, results, facets, answer, message)

    def _browse(self, req: SearchRequest) -> SearchResponse:
        """No query: the documents that match the filters, newest first."""
        docs = self.store.documents(self._where(req, Where()))
        docs.sort(key=lambda d: (-(d.get("anio") or 0), d.get("titulo", "")))
        total = len(docs)
        pages = max(1, math.ceil(total / req.per_page))
        page_docs = docs[(req.page - 1) * req.per_page: req.page * req.per_page]
        results = [self._document_result(d, 0.0) for d in page_docs]
        facets = {}
        for f in FACET_VOCABULARIES:
            counts = self.store.facet(f, self._where(req, PUBLISHED_DOCS, skip=f))
            facets[f] = self._facet_values(f, counts, req)
        message = "" if results else "No hay documentos con esos filtros. Pruebe a quitar algún filtro."
        return SearchResponse("", req.mode, total, req.page, pages, results, facets, [], message)

    def _facets_for_query(self, req: SearchRequest, vectors, groups: dict[str, list[Hit]]) -> dict[str, list[FacetValue]]:
        """Counts of documents in the current result set; a filtered field is counted without its
        own filter so the other values stay visible (and its selected value equals the total)."""
        facets: dict[str, list[FacetValue]] = {}
        docs = [hits[0].payload for hits in groups.values()]
        for f in FACET_VOCABULARIES:
            pool = docs
            if f in req.filters:
                pool = [h[0].payload for h in self._group(self._retrieve(req, vectors, self._where(req, PUBLISHED_CHUNKS, skip=f))).values()]
            counts: dict[str, int] = {}
            for d in pool:
                values = d.get(f)
                for v in (values if isinstance(values, list) else [values]):
                    if v:
                        counts[v] = counts.get(v, 0) + 1
            facets[f] = self._facet_values(f, counts, req)
        return facets

    def _facet_values(self, field_name: str, counts: dict, req: SearchRequest) -> list[FacetValue]:
        selected = set(req.filters.get(field_name, ()))
        vocab_order = {v: i for i, v in enumerate(self.taxonomy.for_field(field_name).ids)}
        values = [FacetValue(str(v), self.taxonomy.label(field_name, str(v)), int(c), str(v) in selected)
                  for v, c in counts.items()]
        return sorted(values, key=lambda fv: (-fv.count, vocab_order.get(fv.value, 999)))

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

    def _passage(self, h: Hit, marker: int, stems: set[str]) -> Passage:
        text = h.payload.get("text", "")
        return Passage(marker, h.id, h.payload.get("chunk_index", 0), text, highlight(text, stems), h.score,
                       self.citation(h.payload))

    def _answer(self, query: str, stems: set[str], results: list[DocumentResult]) -> list[AnswerSentence]:
        """Extractive short answer: 2–4 sentences from the top passages that best cover the query."""
        if not stems:
            return []
        candidates = []
        for rank, r in enumerate(results[:5]):
            for p in r.passages[:2]:
                for sent in sentences(p.text):
                    if len(sent) < 40 or len(sent) > 500:
                        continue
                    words = {stem(w) for w in WORD_RE.findall(sent) if not is_stopword(w)}
                    covered = stems & words
                    if not covered:
                        continue
                    score = len(covered) / len(stems) + 0.25 / (rank + 1) + (0.1 if p.marker == results[0].passages[0].marker else 0)
                    candidates.append((score, covered, sent, p.marker))
        candidates.sort(key=lambda c: -c[0])
        chosen: list[AnswerSentence] = []
        covered_so_far: set[str] = set()
        for score, covered, sent, marker in candidates:
            if len(chosen) == 4:
                break
            if len(chosen) >= 2 and not (covered - covered_so_far):
                continue  # beyond two sentences, only add ones that cover something new
            if any(sent == c.text for c in chosen):
                continue
            chosen.append(AnswerSentence(highlight(sent, stems), sent, marker))
            covered_so_far |= covered
        return chosen

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
        return {f: self._facet_values(f, self.store.facet(f, PUBLISHED_DOCS), SearchRequest())
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
