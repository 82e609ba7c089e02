"""Chat without a model: the offline "planner" that stands in for the LLM node.

With ``PAPERCAST_MODEL`` unset, chat still answers: this node reads the message with simple patterns,
asks for the tools the model would (so the same tool nodes, proposals, events and threads apply) and
writes the answer from their outputs, labelled "offline answer"; a change ("like ID") is a proposal
like any other. Recognised: "add X to / remove X from my interests", "follow / unfollow AUTHOR",
"like/dislike/save/dismiss ID...", "undo [cN]", "summarize ID", "compare ID ID", "similar to ID", a
question about a paper ("which datasets does ID use?"), "papers like the X one I liked", "what should
I read (today)?", "fetch today's HF papers", a bare paper id; anything else is a library search.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from papercast.agent.prompts import OFFLINE_LABEL, unwrap_tool_output
from papercast.agent.toolbox import terms
from papercast.tools.ranking.search import QUERY_FILTER
from papercast.tools.writing.citations import paper_ids_in

Call = tuple[str, dict[str, Any]]

_Q = r"""['"“”‘’]?"""
_ADD = re.compile(rf"\b(?:add|include|track)\s+{_Q}(?P<x>.+?){_Q}\s+(?:to|in|into)\s+(?:my\s+)?"
                  r"(?:interests?|keywords?|profile|topics?)\b", re.I)
_REMOVE = re.compile(rf"\b(?:remove|drop|delete)\s+{_Q}(?P<x>.+?){_Q}\s+from\s+(?:my\s+)?"
                     r"(?:interests?|keywords?|profile|topics?)\b", re.I)
_INTERESTED = re.compile(rf"\bi(?:'m| am)\s+(?:also\s+)?interested\s+in\s+{_Q}(?P<x>[^.?!]+?){_Q}\s*[.?!]*$",
                         re.I)
_FOLLOW = re.compile(
    rf"^\s*(?:please\s+)?follow\s+(?:the\s+)?(?:author\s+)?{_Q}(?P<x>[^.?!]+?){_Q}\s*[.?!]*$", re.I)
_UNFOLLOW = re.compile(
    rf"^\s*(?:please\s+)?unfollow\s+(?:the\s+)?(?:author\s+)?{_Q}(?P<x>[^.?!]+?){_Q}\s*[.?!]*$", re.I)
_SET_INTERESTS = re.compile(
    rf"\b(?:set|change|replace)\s+my\s+interests\s+(?:to|with)\s+{_Q}(?P<x>.+?){_Q}\s*[.?!]*$", re.I)
_FEEDBACK = re.compile(r"\b(?P<undo>un|undo\s+)?(?P<kind>dislike|like|save|bookmark|dismiss|hide)\b", re.I)
_SUMMARIZE = re.compile(r"\b(summari[sz]e|summary|tl;?dr)\b", re.I)
_COMPARE = re.compile(r"\b(compare|comparison|versus|vs\.?|difference)\b", re.I)
_SIMILAR = re.compile(r"\b(similar|related|more like|papers like)\b", re.I)
_LIKED_ONE = re.compile(r"\blike\s+the\s+(?P<x>.+?)\s+(?:one|paper)s?\s+i\s+(?:liked|saved|loved)\b", re.I)
# "papers like the FlashPrefill one": find that paper in the library, then its neighbours.
_LIKE_THE = re.compile(r"\b(?:like|similar\s+to)\s+the\s+(?P<x>.+?)\s+(?:one|paper)\b", re.I)
_RECOMMEND = re.compile(r"\b(what should i read|recommend|reading list|for me today|what'?s new for me|"
                        r"anything (?:good|new|interesting))\b", re.I)
_FETCH = re.compile(r"\b(fetch|download|pull|refresh)\b", re.I)
_FILLER = re.compile(r"\b(find|search|show|me|look|for|papers?|about|on|any|some|please|the|are|there|"
                     r"what|which|is|do|you|have|i|want|to|read|articles?|works?)\b", re.I)
_UNDO = re.compile(r"^\s*(?:please\s+)?undo\b(?:\s+(?:change\s+)?(?P<c>c\d+)\b)?", re.I)
_QUESTION = re.compile(r"\?|\b(which|what|how|does|do|did|where|when|why|who|is|are|explain)\b", re.I)
_KIND = {"like": "like", "dislike": "dislike", "save": "save", "bookmark": "save", "dismiss": "dismiss",
         "hide": "dismiss"}


def _new_id() -> str:
    return f"offline_{uuid.uuid4().hex[:12]}"


def _search_query(message: str) -> str:
    """The message's words without the filler ("find papers about"); its search filters (cat:cs.CL,
    au:"Yann LeCun") kept as written."""
    filters = [m.group(0) for m in QUERY_FILTER.finditer(message)]
    words = QUERY_FILTER.sub(" ", message)
    cleaned = " ".join([*_FILLER.sub(" ", re.sub(r"[?!.,;:]", " ", words)).split(), *filters])
    return cleaned or message.strip()


def plan(message: str) -> list[Call]:
    """The tool calls that answer ``message`` (first step of a turn)."""
    text = message.strip()
    ids = sorted(paper_ids_in(text), key=text.find)
    undo_change = _UNDO.match(text)
    if undo_change:
        return [("undo_change", {"change": undo_change.group("c")} if undo_change.group("c") else {})]
    for pattern, build in (
        (_SET_INTERESTS, lambda x: {"interests": x}),
        (_ADD, lambda x: {"add_keywords": [x]}),
        (_REMOVE, lambda x: {"remove_keywords": [x]}),
        (_INTERESTED, lambda x: {"add_keywords": [x]}),
        (_UNFOLLOW, lambda x: {"remove_authors": [x]}),
        (_FOLLOW, lambda x: {"add_authors": [x]}),
    ):
        m = pattern.search(text)
        if m:
            return [("update_profile", build(" ".join(m.group("x").split())))]
    if _FETCH.search(text):
        lowered = text.lower()
        source = "hf" if re.search(r"\b(hf|hugging\s*face)\b", lowered) else (
            "arxiv" if "arxiv" in lowered else "all")
        day = re.search(r"\b\d{4}-\d{2}-\d{2}\b", text)
        return [("fetch_papers", {"source": source, **({"date": day.group(0)} if day else {})})]
    if ids:
        fb = _FEEDBACK.search(text)
        if fb and not _LIKED_ONE.search(text) and not _SIMILAR.search(text):
            kind = _KIND[fb.group("kind").lower()]
            undo = bool(fb.group("undo"))
            return [("give_feedback", {"id": i, "kind": kind, **({"undo": True} if undo else {})})
                    for i in ids]
        if len(ids) >= 2 and (_COMPARE.search(text) or " and " in text.lower()):
            return [("compare_papers", {"ids": ids[:5]})]
        if _SUMMARIZE.search(text):
            return [("summarize_paper", {"id": i}) for i in ids[:3]]
        if _SIMILAR.search(text):
            return [("similar_papers", {"id": ids[0]})]
        question = _question_terms(text)
        if question and _QUESTION.search(text):  # about the paper's content: its best passages
            return [("search_passages", {"query": question, "ids": ids[:3], "n": 5})]
        return [("get_paper", {"id": i}) for i in ids[:3]]
    if _LIKED_ONE.search(text):
        return [("get_profile", {})]
    like_the = _LIKE_THE.search(text)
    if like_the:
        return [("search_library", {"query": like_the.group("x"), "n": 1})]
    if _RECOMMEND.search(text):
        return [("recommend", {"n": 10})]
    return [("search_library", {"query": _search_query(text), "n": 5})]


def _question_terms(text: str) -> str:
    """A question's words without the paper ids and the asking ("which", "does", "paper")."""
    without = re.sub(r"(?:arxiv:)?\d{4}\.\d{4,5}(?:v\d+)?", " ", text, flags=re.I)
    cleaned = " ".join(_FILLER.sub(" ", re.sub(r"[?!.,;:]", " ", _QUESTION.sub(" ", without))).split())
    return cleaned if terms(cleaned) else ""


def follow_up(message: str, done: list[Any]) -> list[Call]:
    """Second step of "papers like the X one (I liked)": the paper found first, then its neighbours."""
    if len(done) != 1:
        return []
    like_the = _LIKE_THE.search(message)
    if like_the and not _LIKED_ONE.search(message) and done[0].name == "search_library":
        found = (done[0].artifact or {}).get("papers") or []
        return [("similar_papers", {"id": found[0][0], "n": 5})] if found else []
    m = _LIKED_ONE.search(message)
    if not m or done[0].name != "get_profile":
        return []
    liked = [tuple(p) for p in (done[0].artifact or {}).get("papers", [])]
    wanted = set(terms(m.group("x"))) or {m.group("x").lower()}
    best = max(liked, key=lambda p: len(wanted & set(terms(p[1]))), default=None)
    if best is not None and wanted & set(terms(best[1])):
        return [("similar_papers", {"id": best[0], "n": 5})]
    return [("search_library", {"query": m.group("x"), "n": 5})]


@dataclass
class OfflineStep:
    """What the offline node decided: more tool calls, or the final text."""

    calls: list[Call]
    text: str = ""


def step(messages: list[Any], failed: bool = False) -> OfflineStep:
    """Plan the next calls of the current turn, or compose its answer from the tool outputs (``failed``:
    a model is configured but failed this turn, and the answer must not say there is none)."""
    start = max((i for i, m in enumerate(messages) if m.type == "human"), default=-1)
    message = messages[start].content if start >= 0 else ""
    done = [m for m in messages[start + 1:] if m.type == "tool"]
    if not done:
        return OfflineStep(plan(str(message)))
    more = follow_up(str(message), done)
    if more and len([m for m in messages[start + 1:] if m.type == "ai"]) < 2:
        return OfflineStep(more)
    if _LIKED_ONE.search(str(message)) and len(done) > 1:
        return OfflineStep([], compose(done[1:], _liked_intro(str(message), done[1]), failed))
    if _LIKE_THE.search(str(message)) and len(done) > 1 and done[1].name == "similar_papers":
        pid, title = ((done[0].artifact or {}).get("papers") or [("?", "?")])[0]
        return OfflineStep([], compose(done[1:], f"Taking that to be [{pid}] {title}:", failed))
    return OfflineStep([], compose(done, failed=failed))


def _liked_intro(message: str, found: Any) -> str:
    m = _LIKED_ONE.search(message)
    what = m.group("x") if m else "that"
    if found.name == "similar_papers":
        return f"Papers similar to the liked {what} paper [{_start_id(found)}]:"
    return f"None of your liked papers matches {what!r}; library search instead:"


def _start_id(found: Any) -> str:
    """The paper a ``similar_papers`` output started from (its first line names it)."""
    text = (found.artifact or {}).get("text") or ""
    ids = paper_ids_in(text.split("\n", 1)[0])
    return next(iter(ids), "?")


def compose(done: list[Any], intro: str = "", failed: bool = False) -> str:
    """The answer from the tool outputs, saying why it has no model (none set, or it failed)."""
    why = "from the library: the configured model failed" if failed \
        else "no LLM configured; set PAPERCAST_MODEL for written answers"
    parts = [f"{OFFLINE_LABEL} ({why}):", ""]
    if intro:
        parts += [intro, ""]
    for message in done:
        if (message.artifact or {}).get("proposal"):
            continue  # a change: the graph's finish node states it (applied, declined or failed)
        text = (message.artifact or {}).get("text") or unwrap_tool_output(str(message.content))
        if message.status == "error":
            text = f"could not {message.name.replace('_', ' ')}: {text.removeprefix('error: ')}"
        parts.append(text)
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def as_ai_message(result: OfflineStep) -> Any:
    from langchain_core.messages import AIMessage

    calls = [{"name": name, "args": args, "id": _new_id(), "type": "tool_call"}
             for name, args in result.calls]
    return AIMessage(content=result.text, tool_calls=calls, response_metadata={"model": "offline"})
