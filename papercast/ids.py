"""Paper ids and dates as the user types them: the canonical arXiv id and ``YYYY-MM-DD``.

Plain Python (no pydantic), so the command line checks them before anything heavy is imported;
``papercast.models`` re-exports them next to the shapes that use them."""

from __future__ import annotations

import re
from datetime import date

from papercast.errors import UserError

# New-style ids: 2401.01234 (4+4 since 2007-04, 4+5 since 2015). Old-style: astro-ph/0601001,
# math.GT/0309136.
_NEW_ID = re.compile(r"(\d{4}\.\d{4,5})(v\d+)?")
_OLD_ID = re.compile(r"([a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?", re.IGNORECASE)


class InvalidPaperId(UserError):
    """Raised when a string does not contain a recognisable arXiv id."""


def normalize_arxiv_id(raw: str) -> str:
    """Return the canonical arXiv id without version.

    Accepts ``2401.01234v2``, ``arXiv:2401.01234``, abs/pdf/HF URLs, ``oai:arXiv.org:...``
    and old-style ids like ``astro-ph/0601001v1``.
    """
    text = str(raw).strip()
    if not text:
        raise InvalidPaperId("empty paper id")
    # Strip URL and prefix noise but keep the tail that carries the id.
    tail = re.sub(r"^(?:https?://[^/]+/(?:abs|pdf|papers|html)/|oai:arxiv\.org:|arxiv:)", "", text,
                  flags=re.IGNORECASE)
    tail = re.sub(r"\.pdf$", "", tail, flags=re.IGNORECASE).strip("/ ")
    m = _NEW_ID.fullmatch(tail)
    if m:
        return m.group(1)
    m = _OLD_ID.fullmatch(tail)
    if m:
        archive, number = m.group(1).split("/")
        # ``math.GT/0309136`` is ``math/0309136``: the subject class is not part of the id.
        return f"{archive.split('.')[0].lower()}/{number}"
    raise InvalidPaperId(f"not an arXiv id: {raw!r}")


def shift_day(day: date, days: int) -> date:
    """``day`` moved by ``days``, clamped to the calendar's ends: a window of ``--until 0001-01-03`` or
    ``--since 9999-12-31`` starts or ends at the first or last date instead of overflowing."""
    ordinal = min(max(day.toordinal() + days, date.min.toordinal()), date.max.toordinal())
    return date.fromordinal(ordinal)


def parse_date(text: str | date | None, what: str = "date") -> date | None:
    """A ``YYYY-MM-DD`` date (also ``today`` / ``yesterday``), or a UserError naming the bad value."""
    if text is None or isinstance(text, date):
        return text
    value = text.strip().lower()
    if value == "today":
        return date.today()
    if value == "yesterday":
        return date.fromordinal(date.today().toordinal() - 1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"invalid {what} {text!r}: use YYYY-MM-DD") from None
