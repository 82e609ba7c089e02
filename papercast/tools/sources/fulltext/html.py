"""arXiv's HTML (LaTeXML) read as a paper: title, abstract, sections, paragraphs, captions, references.

lxml's HTML parser reads LaTeXML output of any year, ar5iv pages, attributes in any order, and
truncated or malformed pages. Sections are found by their LaTeXML classes (``ltx_section``, ...)
whatever the element (``<section>`` or ``<div>``), numbers come from the heading's ``ltx_tag``,
math becomes its ``alttext`` (readable TeX) instead of MathML noise, and footnotes and equation
numbers are left out.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from papercast.errors import one_line
from papercast.models import Section
from papercast.tools.sources.fulltext.document import Block, Parsed, UnreadableDocument, new_section, sanitize

if TYPE_CHECKING:
    from lxml.html import HtmlElement

TABLE_WORDS = 120  # a table's caption passage carries this many words of its cells (numbers answer questions)
MAX_MATH_CHARS = 160  # longer TeX reads as noise: it becomes "[equation]"
_LEVELS = {"ltx_part": 0, "ltx_chapter": 0, "ltx_section": 1, "ltx_appendix": 1, "ltx_subsection": 2,
           "ltx_subsubsection": 3, "ltx_paragraph": 4, "ltx_subparagraph": 5}
_SKIP = {"ltx_TOC", "ltx_authors", "ltx_pagination", "ltx_page_footer", "ltx_page_header", "ltx_dates",
         "ltx_keywords", "ltx_classification", "ltx_acknowledgements_title", "ltx_rdf", "ltx_note_outer",
         "ltx_tag_equation", "ltx_tag_equationgroup", "ltx_role_footnote_mark", "ltx_ERROR",
         "ltx_page_navbar", "ltx_role_affiliationtext", "ltx_personname", "ltx_contact", "ltx_tag_item"}
_FLOATS = {"ltx_figure", "ltx_table", "ltx_float", "ltx_listing", "ltx_algorithm"}
_DROP_TAGS = {"script", "style", "noscript", "button", "svg", "nav", "header", "footer", "img", "annotation",
              "annotation-xml", "template", "iframe", "object"}
_BLOCK_TAGS = {"p", "div", "li", "tr", "table", "ul", "ol", "br", "figcaption", "section", "blockquote", "dd",
               "dt", "h1", "h2", "h3", "h4", "h5", "h6"}


def _classes(el: HtmlElement) -> set[str]:
    return set((el.get("class") or "").split())


def _tag(el: Any) -> str:
    """The local name of an element ("math" for ``{http://www.w3.org/1998/Math/MathML}math``)."""
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.rsplit("}", 1)[-1].lower()


def _math_text(el: HtmlElement) -> str:
    alt = " ".join((el.get("alttext") or "").split())
    if not alt:
        tex = el.xpath(".//*[local-name()='annotation'][contains(@encoding,'tex')]")
        alt = " ".join((tex[0].text or "").split()) if tex else " ".join(el.itertext()).strip()
    return alt if len(alt) <= MAX_MATH_CHARS else "[equation]"


def _text(el: HtmlElement, *, skip_floats: bool = True) -> str:
    """The readable text of an element: math as TeX, lists one item a line, footnotes, equation
    numbers, scripts and (unless asked) figures and tables left out."""
    out: list[str] = []

    def add(text: str | None) -> None:
        if text:
            out.append(text.replace("\n", " ").replace("\r", " "))  # the source's line breaks are spaces

    def walk(node: HtmlElement) -> None:
        tag = _tag(node)
        classes = _classes(node)
        if tag == "math":
            out.append(f" {_math_text(node)} ")
        elif not tag or tag in _DROP_TAGS or classes & _SKIP or (skip_floats and _is_float(node)):
            pass
        else:
            if tag == "li":
                out.append("\n- ")  # list items keep a line each
            elif tag in _BLOCK_TAGS:
                out.append(" ")
            add(node.text)
            for child in node:
                walk(child)
            if tag in _BLOCK_TAGS or tag in ("td", "th"):
                out.append(" ")
        add(node.tail)

    if _tag(el) not in _DROP_TAGS:
        add(el.text)
    for child in el:
        walk(child)
    text = sanitize("".join(out), keep_newlines=True)
    return re.sub(r"\s+([,.;:)])", r"\1", text).replace("( ", "(")


def _heading(el: HtmlElement) -> tuple[str, str]:
    """(number, title) of a section element from its ``ltx_title`` heading."""
    for child in el:
        if "ltx_title" in _classes(child):
            tags = child.xpath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' ltx_tag ')]")
            number = sanitize(tags[0].text_content()) if tags else ""
            for tag in tags:
                tag.drop_tree()
            title = _text(child)
            number = re.sub(r"^(appendix|section|chapter|part)\s+", "", number, flags=re.I)
            return number, " ".join(title.split())
    return "", ""


def _caption(el: HtmlElement) -> str:
    """A float's own caption (not those of its sub-figures), plus some of a table's cells."""
    caption = None
    for child in el:
        if _tag(child) == "figcaption" or "ltx_caption" in _classes(child):
            caption = child
    if caption is None:
        found = el.xpath(".//figcaption"
                         "|.//*[contains(concat(' ', normalize-space(@class), ' '), ' ltx_caption ')]")
        caption = found[-1] if found else None
    text = _text(caption) if caption is not None else ""
    classes = _classes(el)
    if "ltx_table" in classes or el.get("id", "").split(".")[-1].startswith("T"):
        tables = el.xpath(".//table[not(contains(@class,'ltx_equation'))]")
        if tables:
            cells = " ".join(_text(tables[0], skip_floats=False).split()[:TABLE_WORDS])
            text = f"{text}\n{cells}" if text else cells
    return sanitize(text, keep_newlines=True)


def _is_float(el: HtmlElement) -> bool:
    return _tag(el) == "figure" or bool(_classes(el) & _FLOATS)


def _outer_floats(el: HtmlElement) -> list[HtmlElement]:
    """The figures and tables inside a paragraph, without the sub-figures inside them."""
    found: list[HtmlElement] = []
    for child in el:
        if not _tag(child):
            continue
        if _is_float(child):
            found.append(child)
        else:
            found.extend(_outer_floats(child))
    return found


def _content_root(root: HtmlElement) -> HtmlElement:
    for xpath in ("//article[contains(@class,'ltx_document')]", "//*[contains(@class,'ltx_document')]",
                  "//article", "//*[contains(@class,'ltx_page_content')]", "//body"):
        found = root.xpath(xpath)
        if found:
            return found[0]
    return root


def parse_html(raw: bytes | str) -> Parsed:
    """A LaTeXML page (arxiv.org/html, ar5iv, older XHTML) as title, abstract, sections, paragraphs,
    captions and references. Raises ``UnreadableDocument`` when there is no paper text in it."""
    import lxml.etree  # lazy: only an HTML page needs lxml
    import lxml.html  # lazy: only an HTML page needs lxml

    if isinstance(raw, bytes):
        raw = raw.lstrip(b"\xef\xbb\xbf")
        if not raw.strip():
            raise UnreadableDocument("the HTML is empty")
    elif not raw.strip():
        raise UnreadableDocument("the HTML is empty")
    encoding = None
    if isinstance(raw, bytes):
        # LaTeXML writes UTF-8; an XHTML file says so only in its XML declaration, which HTML parsers skip.
        try:
            raw.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = None  # let the parser look for a <meta charset>
    parser = lxml.html.HTMLParser(recover=True, remove_comments=True, remove_pis=True, huge_tree=False,
                                  encoding=encoding)
    try:
        root = lxml.html.fromstring(raw, parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise UnreadableDocument(f"not readable HTML ({one_line(exc, 80)})") from None
    parsed = Parsed()
    titles = root.xpath("//*[contains(@class,'ltx_title_document')]")
    if titles:
        parsed.title = " ".join(_text(titles[0]).split())
    else:
        head = root.xpath("//title")
        parsed.title = sanitize(head[0].text_content()) if head else ""
    abstracts = root.xpath("//*[contains(concat(' ', normalize-space(@class), ' '), ' ltx_abstract ')]")
    if abstracts:
        paras = [_text(p) for p in abstracts[0] if "ltx_title" not in _classes(p)]
        parsed.abstract = " ".join(" ".join(p.split()) for p in paras if p)
    stack: list[Section] = []

    def walk(el: HtmlElement) -> None:
        for child in el:
            tag = _tag(child)
            classes = _classes(child)
            if not tag or tag in _DROP_TAGS or classes & _SKIP or "ltx_abstract" in classes \
                    or "ltx_title" in classes:
                continue
            if "ltx_bibliography" in classes:
                items = child.xpath(".//li") or child.xpath(".//*[contains(@class,'ltx_bibitem')]")
                parsed.references.extend(r for r in (" ".join(_text(i).split()) for i in items) if r)
                continue
            level = next((_LEVELS[c] for c in classes if c in _LEVELS), None)
            if level is not None:
                number, title = _heading(child)
                saved = list(stack)
                while stack and stack[-1].level >= level:
                    stack.pop()
                stack.append(new_section(parsed, stack, number, title, level))
                walk(child)
                stack[:] = saved
                continue
            current = stack[-1] if stack else None
            if tag == "figure" or classes & _FLOATS:
                text = _caption(child)
                if text and current is not None:
                    parsed.blocks.append(Block(current, "caption", text))
                continue
            if "ltx_para" in classes or (tag == "p" and current is not None):
                text = _text(child)
                if text and current is not None:
                    parsed.blocks.append(Block(current, "paragraph", text))
                for float_el in _outer_floats(child):
                    caption = _caption(float_el)
                    if caption and current is not None:
                        parsed.blocks.append(Block(current, "caption", caption))
                continue
            walk(child)

    walk(_content_root(root))
    if not parsed.blocks:
        raise UnreadableDocument("no paper text in the HTML (not a LaTeXML page, or cut off before the first "
                                 "section)")
    return parsed
