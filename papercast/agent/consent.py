"""What ``chat --yes`` approves: only the changes whose object the user's message names (issue 26).

"--yes" answers the turn's proposals before the user sees them, so it must not approve what the
model made up: asked "what should I read today?", a model (or a paper's text) may propose new
interests. A change is approved when the message names its object: the paper id it rates, the
author it follows or drops, the interest or keyword text it adds or removes, the day or query it
fetches, the change it undoes ("undo c2"; "undo that": the message asks for an undo). Every other
change is shown as a proposal, with the command that applies it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from papercast.tools.writing.citations import paper_ids_in

if TYPE_CHECKING:  # types only: the command line imports this module, and --help stays off pydantic
    from papercast.models import Profile, Proposal

_CHANGE_ID = re.compile(r"\bc\d+\b", re.IGNORECASE)
_PHRASES = re.compile(r"[;,\n]+")


def _flat(text: str) -> str:
    return " ".join(str(text).lower().split())


def _says(message: str, value: str) -> bool:
    """The message contains ``value`` (case and spacing aside; quotes around it are fine)."""
    value = _flat(value).strip(" '\"")
    return bool(value) and value in _flat(message)


def _phrases(text: str) -> set[str]:
    return {p for p in (_flat(x).strip(" .'\"") for x in _PHRASES.split(text or "")) if p}


def named(message: str, proposal: Proposal, profile: Profile | None = None) -> bool:
    """Whether the message names the object of ``proposal`` (``profile``: the profile it edits, as it
    is now, to tell the interest text a change adds or removes from the text already there)."""
    args: dict[str, Any] = proposal.args
    if proposal.tool == "give_feedback":
        return args.get("id") in paper_ids_in(message)
    if proposal.tool == "undo_change":
        wanted = {c.lower() for c in _CHANGE_ID.findall(message)}
        return str(args.get("change", "")).lower() in wanted if wanted else "undo" in _flat(message)
    if proposal.tool == "fetch_papers":
        parts = [v for v in (args.get("date"), args.get("query")) if v]
        return all(_says(message, v) for v in parts) if parts else "fetch" in _flat(message)
    if proposal.tool == "update_profile":
        values = [v for key in ("add_keywords", "remove_keywords", "add_authors", "remove_authors")
                  for v in args.get(key) or []]
        if "interests" in args:
            old, new = _phrases(profile.interests if profile else ""), _phrases(args["interests"])
            values += sorted(new - old or old - new)  # the text it adds; else the text it takes out
        return bool(values) and all(_says(message, v) for v in values)
    return False


def scoped(message: str, proposals: Sequence[Proposal],
           profile_of: Callable[[str | None], Profile]) -> dict[str, bool]:
    """``{proposal id: approved}`` for ``--yes``: yes to what the message names, no to the rest."""
    out = {}
    for p in proposals:
        profile = profile_of(p.args.get("profile")) if p.tool == "update_profile" else None
        out[p.id] = named(message, p, profile)
    return out
