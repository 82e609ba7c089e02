"""The state-changing tools: profile edits, feedback, fetching into the library, and undo.

None of them changes anything when the model calls it: ``propose_*`` checks the arguments against
the user's data (no empty interests, no unknown paper ids, nothing already so) and describes the
exact change, before -> after, and the graph pauses (``interrupt``) until the user answers. Only a
"yes" runs ``apply_*``, against the data as it is *then*; each returns the operations that take it
back, kept in the thread (``state.ChangeRecord``), so an undo works in a later turn or process and is
itself a change. No wording test tells permission from a question (an abstract or a loose question
can make a model call any tool); a "yes" does, and ``--yes``, given unseen, only to what the message
names (``consent.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from papercast.agent.tool_args import FeedbackArgs, FetchArgs, UndoArgs, UpdateProfileArgs
from papercast.agent.tool_types import Applied, Tool, ToolContext, call, cite
from papercast.errors import UserError
from papercast.models import OPPOSITE_FEEDBACK, Profile, Proposal, parse_date

log = logging.getLogger(__name__)

MAX_VALUE_CHARS = 200  # one keyword or author
MAX_INTERESTS_CHARS = 2000
_PAST = {"like": "liked", "dislike": "disliked", "save": "saved", "dismiss": "dismissed"}
_SOURCES = {"hf": "Hugging Face Daily Papers", "arxiv": "arXiv", "all": "Hugging Face Daily Papers and arXiv"}


# -- profile fields ---------------------------------------------------------------------------------
def _clean(values: list[str], what: str) -> list[str]:
    """Stripped, non-empty, case-insensitively unique values (the profile store's own rule)."""
    out: dict[str, str] = {}
    for value in values:
        text = " ".join(str(value).split())
        if len(text) > MAX_VALUE_CHARS:
            raise UserError(f"{what} {text[:40]!r}… is too long (at most {MAX_VALUE_CHARS} characters)")
        if text and text.lower() not in out:
            out[text.lower()] = text
    return list(out.values())


def edited(current: list[str], add: list[str], remove: list[str]) -> list[str]:
    """A list field after ``ProfileStore.update``'s add/remove (so the preview is what will be stored)."""
    values = _clean([*current, *add], "value")
    drop = {r.lower() for r in remove}
    return [v for v in values if v.lower() not in drop]


def _fields_after(profile: Profile, changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "keywords": edited(profile.keywords, changes.get("add_keywords", []),
                           changes.get("remove_keywords", [])),
        "authors": edited(profile.authors, changes.get("add_authors", []), changes.get("remove_authors", [])),
        "interests": changes["interests"] if changes.get("interests") is not None else profile.interests,
    }


def _show(value: Any) -> str:
    text = ", ".join(value) if isinstance(value, list) else str(value)
    text = text or "(none)"
    return text if len(text) <= 300 else text[:299] + "…"


def _before_after(profile: Profile, changes: dict[str, Any]) -> tuple[str, str]:
    """The touched fields of ``profile`` now and after ``changes``, one line per field."""
    after = _fields_after(profile, changes)
    fields = [f for f in ("keywords", "authors", "interests") if getattr(profile, f) != after[f]]
    return ("\n".join(f"{f}: {_show(getattr(profile, f))}" for f in fields),
            "\n".join(f"{f}: {_show(after[f])}" for f in fields))


def _inverse(profile: Profile, changes: dict[str, Any]) -> dict[str, Any]:
    """The profile edit that takes ``changes`` back, from the profile as it was just before them."""
    after = _fields_after(profile, changes)
    out: dict[str, Any] = {}
    for field, add_key, remove_key in (("keywords", "add_keywords", "remove_keywords"),
                                       ("authors", "add_authors", "remove_authors")):
        old = {v.lower() for v in getattr(profile, field)}
        new = {v.lower() for v in after[field]}
        added = [v for v in after[field] if v.lower() not in old]
        removed = [v for v in getattr(profile, field) if v.lower() not in new]
        if added:
            out[remove_key] = added
        if removed:
            out[add_key] = removed
    if after["interests"] != profile.interests:
        out["interests"] = profile.interests
    return out


def _describe(changes: dict[str, Any]) -> str:
    labels = {"add_keywords": "add keywords", "remove_keywords": "remove keywords", "add_authors": "follow",
              "remove_authors": "unfollow", "interests": "set interests to"}
    parts = []
    for key, label in labels.items():
        value = changes.get(key)
        if value is None or value == []:
            continue
        shown = ", ".join(f"'{v}'" for v in value) if isinstance(value, list) else repr(_show(value))
        parts.append(f"{label} {shown}")
    return "; ".join(parts)


# -- update_profile -----------------------------------------------------------------------------------
async def propose_update_profile(ctx: ToolContext, a: UpdateProfileArgs, call_id: str) -> Proposal:
    profile: Profile = await call(ctx.library.active_profile, a.profile or ctx.profile)
    changes: dict[str, Any] = {}
    lowered = {"keywords": {k.lower() for k in profile.keywords},
               "authors": {x.lower() for x in profile.authors}}
    for field, add, remove in (("keywords", a.add_keywords, a.remove_keywords),
                               ("authors", a.add_authors, a.remove_authors)):
        adding = [v for v in _clean(add, field[:-1]) if v.lower() not in lowered[field]]
        removing = _clean(remove, field[:-1])
        missing = [v for v in removing if v.lower() not in lowered[field]]
        if missing:
            have = ", ".join(getattr(profile, field)) or "none"
            raise UserError(f"not among profile {profile.name!r}'s {field}: {', '.join(missing)} "
                            f"(its {field}: {have})")
        if adding:
            changes[f"add_{field}"] = adding
        if removing:
            changes[f"remove_{field}"] = removing
    if a.interests is not None:
        text = " ".join(a.interests.split())
        if not text:
            raise UserError("the interests cannot be set to nothing: give the new interests in words "
                            "(an empty profile would rank nothing)")
        changes["interests"] = text
    elif a.add_interests is not None:
        extra = " ".join(a.add_interests.split())
        if not extra:
            raise UserError("add_interests is empty: give the text to add")
        changes["interests"] = "; ".join(x for x in (profile.interests, extra) if x)
    if len(changes.get("interests") or "") > MAX_INTERESTS_CHARS:
        raise UserError(f"the interests would be too long (at most {MAX_INTERESTS_CHARS} characters)")
    before, after = _before_after(profile, changes)
    if not before:
        raise UserError(f"nothing to change: profile {profile.name!r} already is that way")
    return Proposal(id=call_id, tool="update_profile", args={"profile": profile.name, **changes},
                    summary=f"profile {profile.name!r}: {_describe(changes)}", before=before, after=after)


async def apply_update_profile(ctx: ToolContext, p: Proposal) -> Applied:
    name = p.args["profile"]
    changes = {k: v for k, v in p.args.items() if k != "profile"}
    undo = await _edit_profile(ctx, name, changes)
    updated: Profile = await call(ctx.library.active_profile, name)
    return Applied(text=(f"profile {updated.name!r} updated: {_describe(changes)}\n"
                         f"keywords now: {_show(updated.keywords)}\nauthors now: {_show(updated.authors)}\n"
                         f"interests now: {_show(updated.interests)}"),
                   undo=undo)


async def _edit_profile(ctx: ToolContext, name: str, changes: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply a profile edit; the operations that take it back."""
    before: Profile = await call(ctx.library.active_profile, name)
    inverse = _inverse(before, changes)
    await call(ctx.library.profile_update, before.name, **changes)
    return [{"op": "profile", "profile": before.name, "changes": inverse}] if inverse else []


# -- give_feedback --------------------------------------------------------------------------------------
def _kinds(profile: Profile, paper_id: str) -> list[str]:
    return sorted({f.kind for f in profile.feedback if f.paper_id == paper_id})


def _show_kinds(kinds: list[str] | set[str]) -> str:
    return ", ".join(_PAST[k] for k in sorted(kinds)) or "no feedback"


async def propose_feedback(ctx: ToolContext, a: FeedbackArgs, call_id: str) -> Proposal:
    paper = await call(ctx.library.get_paper, a.id)  # an unknown id is a UserError
    profile: Profile = await call(ctx.library.active_profile, ctx.profile)
    before = set(_kinds(profile, paper.id))
    if a.undo:
        if a.kind not in before:
            raise UserError(f"[{paper.id}] is not {_PAST[a.kind]} in profile {profile.name!r}: nothing to "
                            "take back")
        after = before - {a.kind}
        summary = f"take back the {a.kind} of {cite(paper)}"
    else:
        after = (before - {OPPOSITE_FEEDBACK.get(a.kind, "")}) | {a.kind}
        if after == before:
            raise UserError(f"[{paper.id}] is already {_PAST[a.kind]} in profile {profile.name!r}: nothing "
                            "to change")
        summary = f"{a.kind} {cite(paper)}"
    return Proposal(id=call_id, tool="give_feedback",
                    args={"id": paper.id, "kind": a.kind, "undo": a.undo, "profile": profile.name},
                    summary=f"{summary} (profile {profile.name!r})",
                    before=f"[{paper.id}]: {_show_kinds(before)}",
                    after=f"[{paper.id}]: {_show_kinds(after)}")


async def apply_feedback(ctx: ToolContext, p: Proposal) -> Applied:
    pid, kind, undo, name = p.args["id"], p.args["kind"], bool(p.args.get("undo")), p.args["profile"]
    paper = await call(ctx.library.get_paper, pid)
    before: Profile = await call(ctx.library.active_profile, name)
    kinds = _kinds(before, pid)
    after: Profile = await call(ctx.library.feedback, [pid], kind, profile=name, undo=undo)
    verb = f"took back the {kind} of" if undo else _PAST[kind]
    return Applied(text=f"{verb} {cite(paper)} (profile {after.name!r}; now: "
                   f"{_show_kinds(_kinds(after, pid))})",
                   undo=[{"op": "feedback", "profile": name, "paper": pid, "kinds": kinds}],
                   papers=[(paper.id, paper.title)])


# -- fetch_papers ---------------------------------------------------------------------------------------
def _fetch_label(args: dict[str, Any]) -> str:
    label = _SOURCES[args["source"]]
    if args.get("date"):
        label += f" for {args['date']}"
    if args.get("query"):
        label += f" matching {args['query']!r}"
    return label


async def propose_fetch(ctx: ToolContext, a: FetchArgs, call_id: str) -> Proposal:
    day = parse_date(a.date, "date")
    query = " ".join((a.query or "").split()) or None
    args = {"source": a.source, "date": day.isoformat() if day else None, "query": query}
    count = await call(ctx.library.count)
    return Proposal(id=call_id, tool="fetch_papers", args=args,
                    summary=f"fetch papers from {_fetch_label(args)} into the library",
                    before=f"library: {count} papers",
                    after="library: the same, plus the new papers fetched (known ones are refreshed)")


async def apply_fetch(ctx: ToolContext, p: Proposal) -> Applied:
    day = parse_date(p.args.get("date"), "date")
    report = await ctx.library.afetch(p.args["source"], day=day, query=p.args.get("query"))
    r = report.result
    stored = (f"{r.added} new, {r.updated + r.reembedded} updated, {r.unchanged} unchanged" if r
              else "nothing new")
    lines = [f"fetched {len(report.papers)} papers from {_fetch_label(p.args)} ({stored})"]
    lines += [f"error: {e}" for e in report.errors] + [f"note: {n}" for n in report.notes]
    top = sorted(report.papers, key=lambda x: (x.upvotes or 0, x.published or 0), reverse=True)[:10]
    if top:
        lines.append("among them:")
        lines += [f"- {cite(x)}" for x in top]
    new_ids = list(getattr(report, "new_ids", []) or [])
    undo = [{"op": "delete_papers", "ids": new_ids}] if new_ids else []
    return Applied(text="\n".join(lines), undo=undo, papers=[(x.id, x.title) for x in top])


# -- undo_change ------------------------------------------------------------------------------------------
def _pick(changes: list[dict[str, Any]], wanted: str | None) -> dict[str, Any]:
    if not changes:
        raise UserError("there is no change to undo in this conversation")
    if wanted:
        key = wanted.strip().lower()
        found = [c for c in changes if c["id"].lower() == key]
        if not found:
            raise UserError(f"no change {wanted!r} in this conversation (its changes: "
                            f"{', '.join(c['id'] for c in changes)})")
        record = found[0]
        if record["undone"]:
            raise UserError(f"{record['id']} was already undone")
        return record
    open_ = [c for c in changes if not c["undone"]]
    if not open_:
        raise UserError("every change in this conversation was already undone")
    return open_[-1]


async def _op_before_after(ctx: ToolContext, op: dict[str, Any]) -> tuple[str, str]:
    if op["op"] == "profile":
        profile: Profile = await call(ctx.library.active_profile, op["profile"])
        return _before_after(profile, op["changes"])
    if op["op"] == "feedback":
        profile = await call(ctx.library.active_profile, op["profile"])
        now = _kinds(profile, op["paper"])
        return f"[{op['paper']}]: {_show_kinds(now)}", f"[{op['paper']}]: {_show_kinds(op['kinds'])}"
    if op["op"] == "delete_papers":
        ids = op["ids"]
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        return f"library: holds {len(ids)} papers that fetch added ({shown})", "library: without them"
    raise UserError(f"unknown undo operation {op['op']!r}")


async def propose_undo(ctx: ToolContext, a: UndoArgs, call_id: str) -> Proposal:
    record = _pick(ctx.changes, a.change)
    if not record["undo"]:
        raise UserError(f"{record['id']} ({record['summary']}) changed nothing that can be taken back")
    sides = [await _op_before_after(ctx, op) for op in record["undo"]]
    return Proposal(id=call_id, tool="undo_change", args={"change": record["id"]},
                    summary=f"undo {record['id']}: {record['summary']}",
                    before="\n".join(b for b, _ in sides if b), after="\n".join(x for _, x in sides if x))


async def apply_undo(ctx: ToolContext, p: Proposal) -> Applied:
    record = _pick(ctx.changes, p.args["change"])
    inverse = await run_ops(ctx, record["undo"])
    return Applied(text=f"undid {record['id']} ({record['summary']})", undo=inverse, undoes=record["id"])


async def run_ops(ctx: ToolContext, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run undo operations; the operations that take *them* back (so an undo can be undone too)."""
    inverse: list[dict[str, Any]] = []
    for op in ops:
        if op["op"] == "profile":
            inverse += await _edit_profile(ctx, op["profile"], op["changes"])
        elif op["op"] == "feedback":
            profile: Profile = await call(ctx.library.active_profile, op["profile"])
            now = set(_kinds(profile, op["paper"]))
            wanted = set(op["kinds"])
            for kind in sorted(now - wanted):
                await call(ctx.library.feedback, [op["paper"]], kind, profile=profile.name, undo=True)
            for kind in sorted(wanted - now):
                await call(ctx.library.feedback, [op["paper"]], kind, profile=profile.name)
            inverse.append({"op": "feedback", "profile": profile.name, "paper": op["paper"],
                            "kinds": sorted(now)})
        elif op["op"] == "delete_papers":
            # Papers removed again are not kept anywhere: fetching them once more brings them back.
            await call(ctx.library.delete_papers, op["ids"])
        else:
            raise UserError(f"unknown undo operation {op['op']!r}")
    return inverse


CHANGE_TOOLS: list[Tool] = [
    Tool("fetch_papers", "Fetch new papers from Hugging Face Daily Papers and/or arXiv into the library. "
         "The user is asked to confirm first.", FetchArgs, propose=propose_fetch, apply=apply_fetch),
    Tool("update_profile", "Change the user's profile: keywords, followed authors, interests. Only what the "
         "user asked for, in their words; the user is asked to confirm first.", UpdateProfileArgs,
         propose=propose_update_profile, apply=apply_update_profile),
    Tool("give_feedback",
         "Record like/dislike/save/dismiss for a paper, only when the user asked for it; the user is asked "
         "to confirm first.", FeedbackArgs, propose=propose_feedback, apply=apply_feedback),
    Tool("undo_change", "Take back a change applied earlier in this conversation (by its id, e.g. c2; "
         "default: the latest). The user is asked to confirm first.", UndoArgs, propose=propose_undo,
         apply=apply_undo),
]
