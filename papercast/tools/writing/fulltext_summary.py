"""Summaries from a paper's full text: what the model reads, and the offline per-section extraction.

Sections get roles by their headings (introduction, method, results, limitations, conclusion; related
work, acknowledgements and appendices left out). A model reads the abstract and the role sections'
passages within a token budget (each role a share), each block labelled, and names the sections each
field drew on. Offline, each field comes from its own role's sections (the limitations stay empty when
the paper states none); only the TL;DR comes from the abstract. The summary records its ``source`` and
per-field ``sections``; its version holds the document's content hash, so a new version is summarized anew.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from papercast.models import Document, Paper, Passage, Summary
from papercast.tools.llm.parsing import extract_json
from papercast.tools.llm.prompts import UNTRUSTED_RULE, escape_data
from papercast.tools.ranking.lexical import STOPWORDS
from papercast.tools.writing.summary_draft import SummaryDraft, parse_summary
from papercast.tools.writing.summary_prompts import (
    PROMPT_VERSION,
    REPAIR_PROMPT,
    language_of,
    language_rule,
    versioned,
)
from papercast.tools.writing.summary_text import (
    CONTRIB,
    LIMITS,
    METHOD,
    RESULTS,
    TLDR_WORDS,
    split_sentences,
    words_cap,
)

if TYPE_CHECKING:
    from papercast.tools.llm.client import LLMClient

FULLTEXT_PROMPT_VERSION = "summary-fulltext-v1"
OFFLINE_FULLTEXT_VERSION = "extractive-fulltext-v2"  # v2: the abstract's fields picked by role
FIELDS = ("tldr", "contributions", "method", "results", "limitations")
MADE_FROM = {"abstract": "the abstract", "html": "the full text (arXiv HTML)",
             "pdf": "the full text (arXiv PDF)",
             "file": "the full text (a saved file)"}

ROLES: dict[str, re.Pattern[str]] = {
    "skip": re.compile(r"related work|background|prior work|acknowledg|reference|bibliograph|author contrib|"
                       r"funding|appendi|supplement|reproducib|checklist", re.I),
    "limitations": re.compile(r"limitation|ethic|broader impact|societal|risk|threats to validity|failure",
                              re.I),
    "conclusion": re.compile(r"conclu|discussion|future work|summary|closing|outlook", re.I),
    "results": re.compile(r"experiment|evaluat|result|benchmark|ablation|analys|empiric|performance|"
                          r"comparison|findings|case stud|study", re.I),
    "intro": re.compile(r"introduc|motivation", re.I),
    "method": re.compile(r"method|approach|model|architecture|framework|design|propos|algorithm|formulation|"
                         r"technique|pipeline|agent|solution|our ", re.I),
    "setup": re.compile(r"training|system|implementation|data|preliminar|setup|task|problem", re.I),
}
# Shares of the token budget, in the order the model reads them; what a role leaves goes to the next.
SHARES = (("abstract", 0.10), ("intro", 0.15), ("method", 0.22), ("setup", 0.08), ("results", 0.30),
          ("limitations", 0.08), ("conclusion", 0.07))
SUMMARY_KEYS_PROMPT = """Reply with one JSON object and nothing else, with these keys:
  "tldr": one sentence of at most 30 words saying what the paper does and finds,
  "contributions": a list of at most 4 short strings,
  "method": one or two sentences,
  "results": one or two sentences with the key numbers when given,
  "limitations": one sentence, or "not stated" when the text does not say,
  "keywords": a list of 3 to 8 short lowercase phrases,
  "sections": for each of tldr, contributions, method, results and limitations, the list of section labels
  (as written in the [§...] markers) that the field is based on."""
FULLTEXT_SYSTEM = f"""You write structured summaries of research papers for a busy researcher.
{UNTRUSTED_RULE}
You are given the paper's abstract and selected sections of its full text, each block marked with its
section as [§label]. Use only what the text says. {SUMMARY_KEYS_PROMPT}"""


def tokens_of(text: str) -> int:
    """A cheap token estimate (English prose runs ~1.35 tokens a word; TeX and numbers more)."""
    return int(len(text.split()) * 1.35) + text.count("\\") + 1


def top_titles(document: Document) -> dict[str, str]:
    """Top-level section titles by number ("4" -> "Methodology"): a subsection's path starts at its own
    number ("4.2 Crawler"), so its role comes from its parent's title when its own says nothing."""
    return {s.number: s.title for s in document.sections if s.number and "." not in s.number
            and "-" not in s.number}


def role_of(passage: Passage, tops: dict[str, str] | None = None) -> str | None:
    """The role of a passage's section: its top-level section's, else its own heading's (innermost first);
    None when none fits."""
    if passage.kind == "abstract":
        return "abstract"
    if re.fullmatch(r"[A-H](\.\d+)*", passage.section_number):
        return "skip"  # an appendix (A-H: the Roman numerals I and V are IEEE sections)
    parts = passage.section.split(" > ")
    if passage.section_number and parts[0].startswith(passage.section_number + " "):
        parts[0] = parts[0][len(passage.section_number) + 1:]
    names = list(reversed(parts))
    top = re.split(r"[.\-]", passage.section_number)[0] if passage.section_number else ""
    if tops and top in tops and top != passage.section_number:
        names.insert(0, tops[top])  # the top-level section decides ("5 Experiments > 5.2 Algorithm latency")
    for name in names:
        for role, pattern in ROLES.items():
            if pattern.search(name):
                return role
    return None


def _label(passage: Passage) -> str:
    return "Abstract" if passage.kind == "abstract" else passage.section.split(" > ")[0]


def select_passages(document: Document, budget: int) -> list[Passage]:
    """The passages a model reads, in reading order: each role up to its share of ``budget`` tokens,
    then the unassigned sections and whatever roles have left, until the budget is spent."""
    tops = top_titles(document)
    by_role: dict[str | None, list[Passage]] = {}
    for passage in document.passages:
        by_role.setdefault(role_of(passage, tops), []).append(passage)
    chosen: set[int] = set()
    spent = 0
    carry = 0.0
    for role, share in SHARES:
        allowance = budget * share + carry
        used = 0
        for passage in by_role.get(role, []):
            cost = tokens_of(passage.text)
            if used + cost > allowance:
                break
            chosen.add(passage.position)
            used += cost
        carry = max(0.0, allowance - used)
        spent += used
    rest = [p for p in document.passages if p.position not in chosen and role_of(p, tops) != "skip"]
    for passage in sorted(rest, key=lambda p: (role_of(p, tops) is not None, p.position)):
        cost = tokens_of(passage.text)
        if spent + cost > budget:
            continue
        chosen.add(passage.position)
        spent += cost
    return [p for p in document.passages if p.position in chosen]


def fulltext_block(paper: Paper, passages: Sequence[Passage]) -> str:
    """The chosen passages as delimited data, one ``[§label]`` marker per section run, every field escaped."""
    lines = [f'<paper id="{escape_data(paper.id)}">', f"title: {escape_data(paper.title)}"]
    current = None
    for passage in passages:
        label = _label(passage)
        if label != current:
            lines.append(f"[§{escape_data(label)}]")
            current = label
        lines.append(escape_data(passage.text))
    lines.append("</paper>")
    return "\n".join(lines)


def fulltext_messages(paper: Paper, document: Document, budget: int, language_rule: str = ""
                      ) -> tuple[list[dict[str, str]], list[Passage]]:
    chosen = select_passages(document, budget)
    return ([{"role": "system", "content": FULLTEXT_SYSTEM + language_rule},
             {"role": "user",
              "content": "Summarize this paper from its full text.\n\n" + fulltext_block(paper, chosen)}],
            chosen)


def _known_label(name: Any, labels: dict[str, str]) -> str | None:
    """A section name the model gave, as one of the labels it was shown (by number or title), or None."""
    text = " ".join(str(name).split()).strip("[]§ ").lower()
    if not text:
        return None
    if text in labels:
        return labels[text]
    for key, label in labels.items():
        number = key.split(" ", 1)[0]
        if text == number or key.startswith(text) or text.startswith(key):
            return label
    return None


def parse_fulltext_summary(text: str, finish_reason: str | None, chosen: Sequence[Passage],
                           tops: dict[str, str] | None = None
                           ) -> tuple[SummaryDraft, dict[str, list[str]]]:
    """A validated draft (see ``summary_draft.parse_summary``) plus ``sections``: per field, the labels the
    model named that it was shown; a field it named none for gets the sections of its role."""
    draft = parse_summary(text, finish_reason)
    labels = {_label(p).lower(): _label(p) for p in chosen}
    named: dict[str, list[str]] = {}
    try:
        data = extract_json(text)
        given = data.get("sections") if isinstance(data, dict) else None
    except (ValueError, TypeError, ValidationError):
        given = None
    if isinstance(given, dict):
        for key, value in given.items():
            if key in FIELDS:
                items = value if isinstance(value, list) else [value]
                found = [_known_label(item, labels) for item in items]
                named[key] = list(dict.fromkeys(f for f in found if f))
    defaults = _role_sections(chosen, tops)
    sections = {f: named.get(f) or defaults.get(f, []) for f in FIELDS}
    return draft, {f: v for f, v in sections.items() if v}


_FIELD_ROLES = {"tldr": ("abstract",), "contributions": ("intro",), "method": ("method", "setup"),
                "results": ("results",),
                "limitations": ("limitations", "conclusion")}


def _role_sections(passages: Sequence[Passage], tops: dict[str, str] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for field, roles in _FIELD_ROLES.items():
        labels = [_label(p) for p in passages if role_of(p, tops) in roles]
        out[field] = list(dict.fromkeys(labels))[:4]
    return out


# -- offline ------------------------------------------------------------------------------------------------
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]{2,}")
_NUMBERS = re.compile(r"\d+(\.\d+)?\s?(%|x|×|points?|pp)|\b\d+\.\d+\b")
_LIST_ITEM = re.compile(r"(?m)^- (.+)$")
_FUTURE = re.compile(r"\b(future work|in the future|we plan to|remains? (an )?open|left for future)\b", re.I)


def _sentences_of(passages: Sequence[Passage]) -> list[tuple[str, Passage]]:
    out: list[tuple[str, Passage]] = []
    for passage in passages:
        if passage.kind != "paragraph":
            continue
        for line in passage.text.split("\n"):
            for sentence in split_sentences(line.removeprefix("- ")):
                if 6 <= len(sentence.split()) <= 70:
                    out.append((sentence, passage))
    return out


def _topic(paper: Paper, document: Document) -> Counter[str]:
    counts: Counter[str] = Counter()
    for weight, text in ((3, paper.title or document.title), (1, paper.abstract or document.abstract)):
        for word in _WORD.findall(text):
            low = word.lower()
            if low not in STOPWORDS:
                counts[low] += weight
    return counts


_CONNECTIVE = re.compile(r"^(first|second|third|finally|moreover|furthermore|additionally|also|however|"
                         r"besides|then|next|lastly|in addition|in particular|specifically|notably|to this "
                         r"end|thus|therefore|hence|similarly|in contrast)\b", re.I)


def _pick(candidates: Sequence[tuple[str, Passage]], topic: Counter[str], pattern: re.Pattern[str] | None,
          used: set[str], *, numbers: bool = False) -> tuple[str, Passage] | None:
    """The best sentence: one that matches the field's pattern, shares words with the title and abstract,
    comes early in its sections and (for results) gives numbers; never one already used."""
    best, best_score = None, float("-inf")
    total = max(1, len(candidates))
    for index, (sentence, passage) in enumerate(candidates):
        if sentence in used:
            continue
        terms = {w.lower() for w in _WORD.findall(sentence)}
        overlap = sum(min(topic[t], 3) for t in terms) / (3 + len(terms))
        score = overlap - 0.3 * index / total
        if pattern is not None and pattern.search(sentence):
            # in its own sections most sentences are on topic: words shared with the abstract weigh more
            score += 0.35
        if numbers and _NUMBERS.search(sentence):
            score += 0.3
        opening = " ".join(sentence.lower().split()[:5])
        if _CONNECTIVE.match(sentence) or re.search(r"\b(this|these|that|it|they|such)\b", opening):
            score -= 0.25  # it leans on the sentence before it
        if score > best_score:
            best, best_score = (sentence, passage), score
    return best


def _from_abstract(name: str, abstract_summary: Summary, sections: dict[str, list[str]]) -> str:
    """The abstract summary's field (picked by sentence role) when no section gives one."""
    text = str(getattr(abstract_summary, name))
    if text:
        sections[name] = ["Abstract"]
    return text


def offline_fulltext_summary(paper: Paper, document: Document, abstract_summary: Summary) -> Summary:
    """The extractive summary from the sections: each field from its own role's sections."""
    tops = top_titles(document)
    by_role: dict[str | None, list[Passage]] = {}
    for passage in document.passages:
        by_role.setdefault(role_of(passage, tops), []).append(passage)
    topic = _topic(paper, document)
    used: set[str] = set()
    sections: dict[str, list[str]] = {"tldr": ["Abstract"]}

    def field(name: str, roles: Sequence[str], pattern: re.Pattern[str] | None, *, numbers: bool = False,
              required: bool = False) -> str:
        for role in roles:
            candidates = _sentences_of(by_role.get(role, []))
            if required and pattern is not None:
                candidates = [c for c in candidates if pattern.search(c[0])]
            found = _pick(candidates, topic, pattern, used, numbers=numbers)
            if found is not None:
                used.add(found[0])
                sections[name] = [_label(found[1])]
                return words_cap(found[0], 60)
        return ""

    method = (field("method", ("method", "setup"), METHOD)
              or _from_abstract("method", abstract_summary, sections))
    results = (field("results", ("results",), RESULTS, numbers=True)
               or _from_abstract("results", abstract_summary, sections))
    limitations = field("limitations", ("limitations",), None) or field(
        "limitations", ("conclusion",), re.compile(f"{LIMITS.pattern}|{_FUTURE.pattern}",
                                                   re.I), required=True)
    contributions: list[str] = []
    intro = by_role.get("intro", [])
    for passage in intro:
        for item in _LIST_ITEM.findall(passage.text):
            if len(contributions) < 4 and len(item.split()) >= 5:
                contributions.append(words_cap(item, 40))
                sections["contributions"] = [_label(passage)]
    if not contributions:
        for sentence, passage in _sentences_of(intro):
            if CONTRIB.search(sentence) and sentence not in used and len(contributions) < 3:
                contributions.append(words_cap(sentence, 40))
                used.add(sentence)
                sections["contributions"] = [_label(passage)]
    if not contributions:
        contributions = abstract_summary.contributions
        sections["contributions"] = ["Abstract"]
    return Summary(paper_id=paper.id, tldr=words_cap(abstract_summary.tldr, TLDR_WORDS),
                   contributions=contributions, method=method, results=results, limitations=limitations,
                   keywords=abstract_summary.keywords, model=abstract_summary.model,
                   prompt_version=fulltext_version(OFFLINE_FULLTEXT_VERSION, document),
                   created=datetime.now(UTC), source=document.source, sections=sections)


def fulltext_version(base: str, document: Document) -> str:
    """The version a full-text summary is stored under: the prompt's, what it read and the text's hash."""
    return f"{base}@{document.source}:{document.content_hash}"


def made_from(summary: Summary) -> str:
    """What a summary was made from, for people: "the abstract", "the full text (arXiv HTML)", ..."""
    return MADE_FROM.get(summary.source, summary.source)


# -- with the model -----------------------------------------------------------------------------------------
def llm_version(client: LLMClient, document: Document | None) -> str:
    """The stored version of ``client``'s summary of a paper: the abstract prompt's, or the full-text
    prompt's with what was read and its content hash (and the summary language, like every version)."""
    if document is None or not document.is_fulltext:
        return versioned(PROMPT_VERSION, language_of(client))
    return versioned(fulltext_version(FULLTEXT_PROMPT_VERSION, document), language_of(client))


async def llm_fulltext_summary(client: LLMClient, paper: Paper,
                               document: Document) -> tuple[Summary | None, str | None]:
    """(summary, None) written from the chosen sections, or (None, why the answers were unusable)."""
    budget = int(getattr(client.settings, "fulltext_summary_tokens", 6000))
    rule = language_rule(language_of(client))
    chosen: list[Passage] = []

    def build(scale: float) -> list[dict[str, str]]:
        messages, picked = fulltext_messages(paper, document, max(400, int(budget * scale)), rule)
        chosen[:] = picked
        return messages

    messages = client.fit_prompt(build, 800)
    shown = list(chosen)
    tops = top_titles(document)
    try:
        draft, sections = await client.complete_json(
            messages, lambda text, finish: parse_fulltext_summary(text, finish, shown, tops),
                                                     purpose="summary",
            prompt_version=llm_version(client, document), max_tokens=800, repair_max_tokens=1000,
            repair_prompt=REPAIR_PROMPT)
    except ValueError as again:
        return None, f"the model's answer was unusable twice: {again}"
    return Summary(paper_id=paper.id, **draft.model_dump(), model=client.model,
                   prompt_version=llm_version(client, document), created=datetime.now(UTC),
                   source=document.source, sections=sections), None
