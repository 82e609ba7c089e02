"""Grounded chat: every turn starts from the library and every answer is checked against it.

Before the model speaks (``retrieve``), the message is searched in the library (``Library.search``
and the stored full texts' ``search_passages``) and the papers it names by id are looked up; the model
gets them with their ids, tools or not, so even a small local model answers from the library. After
its last word (``review``), every cited id must be in the library and every ``[id §section]`` name a
section of that paper's stored full text (the rest is flagged); an answer to a library question that
cites nothing gets "From your library:" and the retrieved papers; every change of the turn is stated.
The additions are appended (and streamed), never spliced in: what the user read as it streamed stays.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from papercast.agent.port import Library
from papercast.agent.state import Retrieved
from papercast.agent.toolbox import extract, hits_of, paper_line, terms
from papercast.models import Paper, Passage, Proposal
from papercast.tools.writing.citations import cited_ids, section_citations, section_matches

log = logging.getLogger(__name__)

RETRIEVE_PAPERS = 6
RETRIEVE_PASSAGES = 4
MAX_NAMED = 5  # papers named by id in a message, looked up whole
PASSAGE_CHARS = 320
# Words that say nothing about a topic: small talk, confirmations and the asking itself. A message
# left with no other word is not a library question (no "From your library:" under its answer).
_GENERIC = frozenset({"hi", "hello", "hey", "thanks", "thank", "you", "ok", "okay", "bye", "yes", "no",
                      "good", "great", "cool", "sure", "please", "morning", "evening", "find", "search",
                      "look", "papers", "paper", "articles", "article", "works", "work", "about", "any",
                      "some", "want", "read", "tell", "give", "list", "know", "library", "there", "have",
                      "does", "explain", "me", "the", "this", "that", "these", "those", "one", "ones", "new",
                      "latest", "recent", "all", "just", "much", "very", "really", "again", "also", "more",
                      "would", "could", "should", "can", "will", "was", "were", "got", "get", "let", "see",
                      "now", "then", "it's", "that's", "what's", "fine", "nice", "awesome", "perfect",
                      "right", "bad", "help"})
_ID_TEXT = re.compile(r"(?:arxiv:)?\d{4}\.\d{4,5}(?:v\d+)?", re.IGNORECASE)


def content_terms(message: str) -> set[str]:
    """The words of a message that name a topic (not ids, not the asking, not small talk)."""
    return {t for t in terms(_ID_TEXT.sub(" ", message)) if t not in _GENERIC and not t.isdigit()}


def _same_word(a: str, b: str) -> bool:
    """Equal, or sharing a 5-letter start (plural, -ing, -ion: "compression" meets "compressing")."""
    return a == b or (len(a) >= 5 and len(b) >= 5 and a[:5] == b[:5])


def relevant(paper: Paper, words: set[str]) -> bool:
    """Whether the paper's title or abstract holds one of the message's topic words."""
    text = set(terms(f"{paper.title} {paper.abstract}"))
    return any(w in text or any(_same_word(w, t) for t in text) for w in words)


# -- before the model -----------------------------------------------------------------------------
def retrieve(library: Library, message: str) -> Retrieved:
    """The library's matches for ``message``: ``{"papers": [[id, title]], "passages": [cite], "text"}``.

    Never raises: a failed retrieval (an empty query, a store error) leaves the turn without it.
    """
    papers: dict[str, Paper] = {}
    lines: list[str] = []
    named = cited_ids(message)[:MAX_NAMED]
    words = content_terms(message)
    try:
        for paper in library.papers_found(named) if named else []:
            papers[paper.id] = paper
            lines.append(f"- {paper_line(paper)} (named in the message)\n  abstract: {paper.abstract}")
        hits = hits_of(library.search(message, RETRIEVE_PAPERS)) if terms(message) else []
    except Exception as exc:  # the model still answers, only without the library's help
        log.warning("chat retrieval failed: %s: %s", type(exc).__name__, exc)
        hits = []
    for paper, _score, reasons in hits:
        if paper.id in papers:
            continue
        papers[paper.id] = paper
        why = f" ({'; '.join(reasons[:2])})" if reasons else ""
        lines.append(f"- {paper_line(paper)}{why}\n  {extract(paper, message)}")
    passages = _passages(library, message, [p for p in named if p in papers])
    blocks = [("papers:\n" + "\n".join(lines))] if lines else []
    if passages:
        shown = []
        for passage, _score in passages:
            text = " ".join(passage.text.split())
            text = text if len(text) <= PASSAGE_CHARS else text[:PASSAGE_CHARS - 1].rsplit(" ", 1)[0] + "…"
            shown.append(f"- {passage.cite} ({passage.section or 'abstract'}): {text}")
        blocks.append("passages of stored full texts:\n" + "\n".join(shown))
    matching = [pid for pid, p in papers.items() if pid in named or (words and relevant(p, words))]
    return {"papers": [[p.id, p.title] for p in papers.values()], "relevant": matching,
            "passages": [passage.cite for passage, _ in passages], "text": "\n".join(blocks)}


def _passages(library: Library, message: str, ids: list[str]) -> list[tuple[Passage, float]]:
    """The best stored passages for the message (of the named papers when it names some)."""
    if not terms(message):
        return []
    try:
        return library.search_passages(message, ids=ids or None, n=RETRIEVE_PASSAGES)
    except Exception as exc:
        log.warning("chat passage retrieval failed: %s: %s", type(exc).__name__, exc)
        return []


# -- after the model --------------------------------------------------------------------------------
@dataclass
class Review:
    """What ``review`` found: the verified citations, the flagged ones, and the text to append."""

    cited: list[tuple[str, str]] = field(default_factory=list)  # (id, title) in the library
    unverified: list[str] = field(default_factory=list)  # "9999.99999", "[2608.19758 §9.9]"
    library_fallback: bool = False
    addition: str = ""


def is_library_question(message: str) -> bool:
    """A message with a topic word or a paper id (not "thanks", "ok", "which one did you pick?")."""
    return bool(content_terms(message) or cited_ids(message))


def titles_named(text: str, known: dict[str, str]) -> list[tuple[str, str]]:
    """Known papers the text names by their short title ("FlashPrefill V2" for "FlashPrefill V2: ...").

    A model that writes a title without its id still answered from the library; only titles of
    papers this thread has seen count, and only short titles long enough not to be a common word.
    """
    lowered = text.lower()
    found = []
    for pid, title in known.items():
        short = title.split(":")[0].strip()
        if len(short) >= 8 and short.lower() in lowered:
            found.append((pid, title))
    return found


def _sections(library: Library, paper_id: str) -> list[tuple[str, str]] | None:
    """``(number, path)`` of the stored full text's sections; None when no full text is stored."""
    try:
        if not library.has_fulltext(paper_id):
            return None
        doc = library.read_paper(paper_id, fetch=False)
    except Exception as exc:
        log.info("could not read the stored full text of %s to check a citation: %s", paper_id, exc)
        return None
    pairs = [(s.number, s.path) for s in doc.sections]
    pairs += [(p.section_number, p.section) for p in doc.passages]
    return pairs


def check_citations(library: Library, text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The (id, title) of cited library papers, and the citations the library cannot back."""
    ids = cited_ids(text)
    found = {p.id: p for p in library.papers_found(ids)} if ids else {}
    cited = [(pid, found[pid].title) for pid in ids if pid in found]
    unverified = [pid for pid in ids if pid not in found]
    sections: dict[str, list[tuple[str, str]] | None] = {}
    for pid, section in section_citations(text):
        if pid not in found:
            continue  # already flagged as an unknown id
        if pid not in sections:
            sections[pid] = _sections(library, pid)
        known = sections[pid]
        if known is None or not section_matches(section, known):
            unverified.append(f"[{pid} §{section}]")
    return cited, unverified


def changes_statement(proposals: list[Proposal]) -> str:
    """One line per change of the turn: applied (and how to undo it), not applied, or failed."""
    lines = []
    for p in proposals:
        if p.status == "applied":
            lines.append(f"- applied as change {p.change}: {p.summary} (to take it back, say \"undo "
                         f"{p.change}\")")
        elif p.status == "declined":
            lines.append(f"- not applied: {p.summary} ({p.detail or 'not confirmed'})")
        elif p.status == "failed":
            lines.append(f"- failed: {p.summary}: {p.detail}")
    return ("Changes to your data:\n" + "\n".join(lines)) if lines else ""


def review(library: Library, *, message: str, text: str, retrieved: Retrieved | None,
           proposals: list[Proposal], offline: bool, known: dict[str, str] | None = None) -> Review:
    """Check an answer; ``addition`` is what to append to it (empty when nothing needs saying).

    ``known`` are the ``id -> title`` of papers the thread has shown (tools, earlier answers).
    """
    result = Review()
    try:
        result.cited, result.unverified = check_citations(library, text)
    except Exception as exc:  # never lose the answer over a failed check; say it could not be checked
        log.warning("could not check the answer's citations: %s: %s", type(exc).__name__, exc)
        result.unverified = cited_ids(text)
    retrieved = retrieved or {}
    titles = {**(known or {}), **{pid: title for pid, title in retrieved.get("papers") or []}}
    by_title = [c for c in titles_named(text, titles) if c[0] not in {pid for pid, _ in result.cited}]
    result.cited += by_title
    parts = []
    if result.unverified:
        parts.append("⚠ Not found in your library, so not verified (the model may have made them up): "
                     + ", ".join(result.unverified))
    matching = set(retrieved.get("relevant") or [])
    papers = [tuple(p) for p in retrieved.get("papers") or [] if p[0] in matching]
    if (not offline and not result.cited and not proposals and papers and is_library_question(message)):
        result.library_fallback = True
        listed = "\n".join(f"- [{pid}] {title}" for pid, title in papers)
        parts.append(f"From your library:\n{listed}\n(The model's answer above did not cite any of these; "
                     "they are your library's best matches for the message.)")
    statement = changes_statement(proposals)
    if statement:
        parts.append(statement)
    if parts:
        result.addition = "\n\n" + "\n\n".join(parts)
    return result
