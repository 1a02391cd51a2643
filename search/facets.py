"""Facet counts that equal what ticking them returns.

The result set of a query is the documents its one retrieval reaches (without the facet filters);
a filter narrows that set. So the count next to a value is computed on the same set that a search
with that value ticked would show: the documents that match the query and every other filter and
carry the value. A field that is already filtered is counted without its own filter, so its other
values stay visible. Years are counted the same way, one value per year.
"""

from __future__ import annotations

from dataclasses import dataclass

from search.store import Hit
from search.taxonomy import FACET_VOCABULARIES, Taxonomy


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


class Facets:
    def __init__(self, taxonomy: Taxonomy):
        self.taxonomy = taxonomy

    @staticmethod
    def matches(payload: dict, req, skip: str | None = None) -> bool:
        """Whether a document's metadata passes the request's filters (all but `skip`)."""
        for field_name, wanted in req.filters.items():
            if field_name == skip:
                continue
            have = payload.get(field_name)
            have = set(have) if isinstance(have, list) else {have}
            if not have & set(wanted):
                return False
        if skip != "anio" and (req.year_min is not None or req.year_max is not None):
            year = payload.get("anio")
            if year is None or (req.year_min is not None and year < req.year_min) or (
                    req.year_max is not None and year > req.year_max):
                return False
        return True

    def for_results(self, req, pool: dict[str, list[Hit]]) -> tuple[dict[str, list[FacetValue]], list[FacetValue]]:
        docs = [hits[0].payload for hits in pool.values()]
        facets = {}
        for f in FACET_VOCABULARIES:
            counts: dict[str, int] = {}
            for d in docs:
                if not self.matches(d, req, skip=f):
                    continue
                values = d.get(f)
                for v in (values if isinstance(values, list) else [values]):
                    if v:
                        counts[v] = counts.get(v, 0) + 1
            facets[f] = self.values(f, counts, req)
        years: dict[int, int] = {}
        for d in docs:
            if d.get("anio") and self.matches(d, req, skip="anio"):
                years[d["anio"]] = years.get(d["anio"], 0) + 1
        return facets, self.year_values(years, req)

    def values(self, field_name: str, counts: dict, req) -> list[FacetValue]:
        selected = set(req.filters.get(field_name, ()))
        vocab_order = {v: i for i, v in enumerate(self.taxonomy.for_field(field_name).ids)}
        values = [FacetValue(str(v), self.taxonomy.label(field_name, str(v)), int(c), str(v) in selected)
                  for v, c in counts.items()]
        return sorted(values, key=lambda fv: (-fv.count, vocab_order.get(fv.value, 999)))

    @staticmethod
    def year_values(counts: dict, req=None) -> list[FacetValue]:
        lo, hi = (req.year_min, req.year_max) if req is not None else (None, None)
        return [FacetValue(str(y), str(y), int(c), lo == hi == int(y)) for y, c in
                sorted(((int(y), c) for y, c in counts.items() if y), reverse=True)]
