"""Web pages: the main content only, as headings, paragraphs, list items and table rows.

A saved web page is mostly not its content: menus ("DATASETS ACERCA MI CUENTA AYUDA SALIR"), site
headers, cookie banners, sidebars and footers ("Desarrollado por Andino con CKAN") repeat on every
page of a site and would otherwise become passages that match every query. trafilatura finds the
main content (its scoring, with readability and jusText as fallbacks) and returns it as XML that
keeps the structure we need: <head rend="h2">, <p>, <list><item>, <table><row><cell role="head">.

Before it runs, the parts a page itself marks as not content are removed (nav, aside, footer, the
site <header>, role=navigation, cookie and consent banners, small forms): on short
pages trafilatura's fallbacks otherwise return the menu with the text. When it finds nothing at all
(a page with one or two sentences), unstructured's HTML partitioner reads the cleaned page.
"""

from __future__ import annotations

import codecs
import copy
import re
from pathlib import Path

from ingest.blocks import Block, Kind, Parsed, ParseStats
from ingest.parsers.elements import clean_inline, strip_bullet, table_blocks, to_blocks
from search.errors import IngestError

# Not <button>: accordions and FAQs put their questions in buttons. Not hidden elements either: tabs
# and accordions hide real content until clicked.
DROP_TAGS = ("script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
             "nav", "aside", "footer", "select", "dialog")
NOT_CONTENT_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "dialog", "alertdialog",
                     "menu", "menubar"}
# Class and id names of cookie banners, consent managers and breadcrumbs. Not a bare "consent": a
# section id like "consentimiento-informado" is content.
# Nor "cmp-": Adobe AEM prefixes every content component with it.
BANNER = re.compile(r"(?<![a-z])(?:cookies?|gdpr|onetrust|cc-(?:banner|window)|"
                    r"consent[-_]?(?:banner|manager|modal|popup|bar|notice)|breadcrumbs?|skip-link)",
                    re.IGNORECASE)
BANNER_MAX_CHARS = 1500  # a class name "cookie…" on a big container is not a banner
FORM_MAX_CHARS = 300  # search and login forms; some CMSs wrap the whole page in one <form>
CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
                     re.IGNORECASE)
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


def decode_html(data: bytes) -> str:
    """The page as text: its BOM, else its declared charset, else the detection used for .txt."""
    from ingest.parsers.text import decode_bytes

    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if data.startswith(bom):
            return decode_bytes(data)
    m = CHARSET.search(data[:4096])
    if m:
        declared = (m.group(1) or m.group(2)).decode("ascii", "ignore").lower()
        if declared in ("iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii"):
            declared = "cp1252"  # what browsers do (WHATWG): these labels mean windows-1252
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown declaration: detect instead
    return decode_bytes(data)


def _tree(text: str):
    from lxml import etree
    from lxml import html as lxml_html

    text = XML_DECLARATION.sub("", text, count=1)
    if not text.strip():
        return None
    try:
        return lxml_html.document_fromstring(text)
    except (ValueError, etree.LxmlError):  # lxml refuses documents with no element at all
        return None


def _inside_content(el) -> bool:
    return any(a.tag in ("article", "main") or a.get("role") == "main" for a in el.iterancestors())


def _not_content(el) -> bool:
    tag = el.tag.lower()
    role = (el.get("role") or "").lower()
    if tag in DROP_TAGS:
        return True
    if role in NOT_CONTENT_ROLES:
        return not (role == "banner" and _inside_content(el))
    if tag == "header":  # the site header, not an article's own
        return not _inside_content(el)
    if tag == "form":
        return len(el.text_content()) < FORM_MAX_CHARS
    marks = f"{el.get('id') or ''} {el.get('class') or ''}"
    return (bool(BANNER.search(marks)) and tag not in ("html", "body", "main", "article")
            and len(el.text_content()) < BANNER_MAX_CHARS)


def remove_boilerplate(root) -> None:
    """Drop, in place, what the page marks as navigation, site chrome or a banner."""
    doomed = [el for el in root.iter() if isinstance(el.tag, str) and _not_content(el)]  # not comments
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the element's tail text, which belongs to its parent


def visible_words(root) -> int:
    """Words a reader sees on the page (body text without scripts and styles)."""
    body = root.find("body")
    if body is None:
        body = root
    body = copy.deepcopy(body)
    for el in list(body.iter("script", "style", "noscript", "template")):
        if el.getparent() is not None:
            el.drop_tree()
    return len(" ".join(body.itertext()).split())


SITE_CHROME = re.compile(r"header|logo|brand|masthead|navbar|site-?title|banner", re.IGNORECASE)


def page_h1(root) -> str:
    """The first <h1> that is not the site's logo or name in a header bar."""
    for h1 in root.iter("h1"):
        chrome = any(SITE_CHROME.search(f"{a.get('id') or ''} {a.get('class') or ''}")
                     for a in [h1, *h1.iterancestors()] if a.tag not in ("html", "body"))
        text = clean_inline(h1.text_content())
        if text and not chrome:
            return text
    return ""


def page_title(root) -> str:
    title = root.find(".//title")
    return clean_inline(title.text_content()) if title is not None else ""


# ------------------------------------------------------------------ trafilatura XML -> blocks

BLOCK_TAGS = {"p", "head", "list", "item", "table", "row", "cell", "quote", "code", "div"}


def _text(el, skip: tuple[str, ...] = ()) -> str:
    """An element's text: inline children concatenated, line breaks and block children spaced."""
    parts = [el.text or ""]
    for child in el:
        if child.tag in skip:
            pass
        elif child.tag == "lb":
            parts.append(" ")
        elif child.tag in BLOCK_TAGS:
            parts.append(f" {_text(child, skip)} ")
        else:
            parts.append(_text(child, skip))
        parts.append(child.tail or "")
    return "".join(parts)


def _xml_table(table) -> list[Block]:
    rows: list[list[str]] = []
    header_rows = 0
    counting = True
    for row in table.iter("row"):
        if row.getparent() is not table and any(a.tag == "cell" for a in row.iterancestors()):
            continue  # a table nested in a cell is read as that cell's text
        cells = []
        heads = []
        for cell in row.findall("cell"):
            cells.append(clean_inline(_text(cell)))
            try:
                span = max(1, min(50, int(cell.get("span") or cell.get("colspan") or 1)))
            except ValueError:
                span = 1
            cells.extend([""] * (span - 1))
            heads.append(cell.get("role") == "head")
        if not any(cells):
            continue
        if counting and heads and all(heads):
            header_rows += 1
        else:
            counting = False
        rows.append(cells)
    return table_blocks(rows, header_rows)


def xml_blocks(el) -> list[Block]:
    blocks: list[Block] = []

    def add(kind: Kind, text: str) -> None:
        text = clean_inline(text)
        if text:
            blocks.append(Block(strip_bullet(text) if kind == Kind.LIST else text, kind))

    for child in el:
        tag = child.tag
        if tag == "head":
            add(Kind.HEADING, _text(child))
        elif tag == "list":
            for item in child.iterchildren("item"):
                add(Kind.LIST, _text(item, skip=("list",)))
                for sub in item.iterchildren("list"):
                    blocks.extend(xml_blocks(_wrap(sub)))
        elif tag == "table":
            blocks.extend(_xml_table(child))
        elif tag in ("graphic", "comments"):
            pass
        elif any(c.tag in BLOCK_TAGS for c in child):  # quote, div… holding paragraphs or lists
            if (child.text or "").strip():
                add(Kind.TEXT, child.text)
            blocks.extend(xml_blocks(child))
        else:
            add(Kind.TEXT, _text(child))
        if (child.tail or "").strip():
            add(Kind.TEXT, child.tail)
    return blocks


def _wrap(list_el):
    """A nested list as a one-child container, so xml_blocks reads its items as list items."""
    from lxml import etree

    holder = etree.Element("div")
    holder.append(copy.deepcopy(list_el))
    return holder


class Main:
    """What was kept of a page: its blocks, their word count, whether it has an <h1>, its tables."""

    def __init__(self, blocks: list[Block], words: int, has_h1: bool, tables: int):
        self.blocks, self.words, self.has_h1, self.tables = blocks, words, has_h1, tables


def extract_main(root) -> Main | None:
    """The main content by trafilatura; None when it finds nothing."""
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(copy.deepcopy(root), output_format="xml", include_tables=True,
                              include_links=False, include_images=False, include_comments=False,
                              favor_recall=True, no_fallback=False, with_metadata=False)
    if not xml:
        return None
    doc = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    main = doc.find("main")
    if main is None:
        main = doc
    blocks = xml_blocks(main)
    if not blocks:
        return None
    has_h1 = any(h.get("rend") == "h1" for h in main.iter("head"))
    tables = sum(1 for t in main.iter("table") if not any(a.tag == "table" for a in t.iterancestors()))
    return Main(blocks, len(" ".join(main.itertext()).split()), has_h1, tables)


def fallback_main(root) -> Main:
    """unstructured's HTML partitioner over the cleaned page (trafilatura found no main content)."""
    from lxml import html as lxml_html

    from ingest.partition import LANGUAGES, warm_up

    warm_up()
    from unstructured.partition.html import partition_html

    root = copy.deepcopy(root)
    for el in list(root.iter("title")):  # the <title> is added by the caller when there is no <h1>
        el.drop_tree()
    elements = partition_html(text=lxml_html.tostring(root, encoding="unicode"), languages=list(LANGUAGES))
    return Main(to_blocks(elements), sum(len((e.text or "").split()) for e in elements),
                bool(root.xpath("//h1")), sum(1 for e in elements if e.category == "Table"))


def parse(path: Path, ocr_languages: str = "spa") -> Parsed:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise IngestError(f"No se pudo leer el archivo «{Path(path).name}».", f"cannot read {path}: {exc}") from exc
    root = _tree(decode_html(data))
    if root is None:
        raise IngestError("La página HTML está vacía o no es válida.", f"no HTML document in {path}")
    try:
        words_on_page = visible_words(root)
        title = page_title(root)
        remove_boilerplate(root)
        main = extract_main(root) or fallback_main(root)
    except IngestError:
        raise
    except Exception as exc:  # lxml, trafilatura or unstructured internals on a malformed page
        raise IngestError("No se pudo leer la página HTML: está dañada o no es válida.",
                          f"HTML parsing failed on {path}: {type(exc).__name__}: {exc}") from exc
    blocks = main.blocks
    if not main.has_h1:
        # trafilatura drops an <h1> that stands outside the container it picks as the article; the
        # page's own <h1> names the document better than its <title> ("Inicio | Portal…").
        heading = page_h1(root) or title
        if heading and heading not in {b.text for b in blocks[:3]}:
            blocks.insert(0, Block(heading, Kind.HEADING))
    if not blocks:
        raise IngestError("La página no contiene texto legible fuera de menús y pies de página.",
                          f"no main content in {path}")
    return Parsed(blocks, ParseStats(tables=main.tables, boilerplate_dropped=max(0, words_on_page - main.words)))
