"""An abstract highlighted by sentence role: one theme colour per role, and a tag in the margin so the
roles read without colour too (a monochrome terminal, a screen reader, a copied screen)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.markup import escape

from papercast.models import SentenceRole

# Theme variables, so every theme (light or dark) gives each role a readable colour of its own.
ROLE_STYLES = {"background": "$text-secondary", "objective": "bold $text-accent",
               "method": "$text-primary", "result": "bold $text-success", "other": "dim"}
ROLE_TAGS = {"background": "BKG", "objective": "OBJ", "method": "MTH", "result": "RES", "other": "···"}


def legend_markup() -> str:
    """One line naming each tag in its colour."""
    return "  ".join(f"[{ROLE_STYLES[role]}]{tag} {role}[/]" for role, tag in ROLE_TAGS.items())


def roles_markup(roles: Sequence[SentenceRole]) -> str:
    """One sentence a line, its role's tag in the margin and the sentence in the role's colour; paper text
    is escaped (it is data, never markup)."""
    lines = []
    for row in roles:
        style = ROLE_STYLES.get(row.role, "dim")
        tag = ROLE_TAGS.get(row.role, ROLE_TAGS["other"])
        lines.append(f"[dim]{tag} │[/dim] [{style}]{escape(row.text)}[/]")
    return "\n".join(lines)

