"""A paper's full text from arXiv: its HTML (LaTeXML), else its PDF, else why neither could be read.

Fetching follows arXiv's etiquette through the shared HTTP policy (paced requests to arxiv.org,
retries with backoff, Retry-After honoured), and the caps on size and time hold whatever a
response claims. What arXiv answers for good (no such rendering, too big) is final; a network
failure is not, so the caller can try again later.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Literal

import httpx

from papercast.tools.sources.fulltext.document import Parsed, UnreadableDocument
from papercast.tools.sources.fulltext.files import MAX_BYTES
from papercast.tools.sources.fulltext.html import parse_html
from papercast.tools.sources.fulltext.pdf import MAX_PAGES, PARSE_SECONDS, is_pdf, parse_pdf
from papercast.tools.sources.http import (
    DEFAULT_POLICY,
    RetryPolicy,
    SourceError,
    TooLarge,
    Unreachable,
    make_client,
    megabytes,
    request,
)

log = logging.getLogger(__name__)

SOURCE = "arxiv full text"
HTML_URL = "https://arxiv.org/html/{id}"
PDF_URL = "https://arxiv.org/pdf/{id}"


@dataclass
class Fetched:
    """What arXiv gave for a paper: a parse and its kind, or None with the reason (``final``: arXiv
    answered that there is nothing, so asking again later will not help; else a network failure)."""

    parsed: Parsed | None = None
    kind: Literal["html", "pdf"] | None = None
    note: str | None = None
    final: bool = True
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None  # the host the run's breaker skipped: nothing was sent


def _missing(exc: SourceError) -> bool:
    """arXiv answered 404/410: there is no such rendering (the policy does not retry those)."""
    return bool(re.search(r"\bHTTP 40[04]\b|\bHTTP 410\b", exc.message))


async def fetch_fulltext(paper_id: str, *, client: httpx.AsyncClient | None = None,
                         min_interval: float = 3.0, policy: RetryPolicy = DEFAULT_POLICY,
                         max_bytes: int = MAX_BYTES, max_pages: int = MAX_PAGES,
                         timeout: float = 120.0) -> Fetched:
    """arXiv's HTML of a paper, else its PDF; what went wrong in one line when neither could be read.

    Never raises for what the network or arXiv does: a 404 of both is a final "no full text", a
    timeout or repeated 429/5xx a non-final one (the caller does not cache it).

    ``max_bytes`` is enforced while downloading (a bigger HTML falls back to the PDF). An oversized
    rendering counts as final, like a 404: arXiv serves the same file tomorrow, so asking again would
    only spend arXiv's bandwidth (and its 3 s pacing) to be refused again.
    """
    own = client is None
    http = client or make_client()
    started = policy.clock()  # the policy's clock: tests' fake one moves with the waits they record
    problems: list[str] = []
    final = True
    try:
        for kind, url in (("html", HTML_URL), ("pdf", PDF_URL)):
            left = timeout - (policy.clock() - started)
            if left <= 1:
                problems.append(f"no time left for the {kind.upper()}")
                final = False
                break
            try:
                response = await request(http, "GET", url.format(id=paper_id), source=SOURCE,
                                         min_interval=min_interval, policy=policy, max_total_seconds=left,
                                         max_bytes=max_bytes)
            except TooLarge as exc:  # final: see above
                limit = megabytes(exc.limit)
                problems.append(f"the {kind.upper()} is {megabytes(exc.size)} (over the {limit} limit)"
                                if exc.size is not None else f"the {kind.upper()} is over the {limit} limit")
                continue
            except Unreachable as exc:  # the PDF is on the same host: no use asking
                problems.append(f"{exc.host} unreachable ({exc.why})" if exc.skipped else exc.message)
                return Fetched(note="; ".join(problems) + ": the abstract only", final=False,
                               skipped=exc.host if exc.skipped else None)
            except SourceError as exc:
                if _missing(exc):
                    problems.append(f"no {kind.upper()} on arXiv")
                else:
                    problems.append(f"{kind.upper()}: {exc.message}")
                    final = False
                continue
            raw = response.content
            if kind == "pdf" and not raw.strip():
                problems.append("the PDF is empty (0 bytes)")
                continue
            if kind == "pdf" and not is_pdf(raw):
                withdrawn = b"withdrawn" in raw[:200_000].lower()
                problems.append("the paper was withdrawn" if withdrawn else "arXiv's PDF link gave no PDF")
                continue
            try:
                if kind == "html":
                    parsed = parse_html(raw)
                else:
                    left = timeout - (policy.clock() - started)
                    parsed = parse_pdf(raw, max_pages=max_pages, seconds=max(5.0, min(PARSE_SECONDS, left)))
            except UnreadableDocument as exc:
                problems.append(f"the {kind.upper()} is unreadable: {exc}")
                log.warning("full text of %s: the %s is unreadable: %s", paper_id, kind, exc)
                continue
            return Fetched(parsed=parsed, kind=kind, notes=problems)
    finally:
        if own:
            await http.aclose()
    note = "; ".join(problems) + ": the abstract only"
    log.info("full text of %s: %s", paper_id, note)
    return Fetched(note=note, final=final)
