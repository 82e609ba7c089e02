"""What goes out: digests, their deliveries (never a paper twice to a profile) and exports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from papercast.errors import RuntimeFailure, UserError
from papercast.models import Paper
from papercast.service.core import ServiceCore, normalize_ids, writing_tools
from papercast.tools.writing.export import FORMATS, export

if TYPE_CHECKING:
    from papercast.models import DeliveryChannel, DeliveryRecord
    from papercast.tools.delivery.channels import Channel, Outcome
    from papercast.tools.writing.digest import Digest
    from papercast.tools.writing.export import ExportFormat

ExportSource = Literal["liked", "saved", "list", "digest"]


class DeliveriesMixin(ServiceCore):
    """Digests and deliveries (uses ``recommend``, ``digest_summaries``, ``result_sentences`` and
    ``active_profile``)."""

    def digest(self, profile: str | None = None, n: int = 10, since: date | None = None,
               until: date | None = None, *, use_llm: bool = True, include_seen: bool = True,
               results: bool = False) -> Digest:
        """The reading list of the window with TL;DRs, an overview and this run's LLM usage
        (without the papers already delivered to the profile when ``include_seen`` is False), and each
        pick's result sentence when ``results``."""
        if n < 1:
            raise UserError(f"-n must be at least 1, got {n}")
        target = self.active_profile(profile)
        reading = self.recommend(profile=target.name, n=n, since=since, until=until, use_llm=use_llm,
                                 include_seen=include_seen)
        summaries = self.digest_summaries([r.paper for r in reading.items], use_llm=use_llm)
        count = self._store.window_count(reading.since, reading.until)
        digest = writing_tools().build_digest(target, reading, summaries, client=self.llm_client(use_llm),
                                              window_count=count, language=self.settings.language)
        if results:
            found = self.result_sentences([item.paper for item in digest.items])
            for item in digest.items:
                item.result = found[item.paper.id]
        return digest

    def record_delivery(self, profile: str, channel: DeliveryChannel, target: str, day: date,
                        paper_ids: Sequence[str]) -> DeliveryRecord:
        """One delivery that reached its channel; its papers are not delivered to ``profile`` again."""
        return self._deliveries.record(self.active_profile(profile).name, channel, target, day, paper_ids)

    def deliver_digest(self, digest: Digest, channels: Sequence[Channel], *, text: str | None = None,
                       tls_context: Any = None, http: Any = None) -> list[Outcome]:
        """Send a digest to every channel (one failing never stops the others) and record each delivery
        that arrived, so its papers are never delivered to the profile again. Never raises for a failing
        channel: each outcome carries its one-line error."""
        from papercast.tools.delivery.send import deliver  # lazy: mail, webhooks and renderers

        outcomes = deliver(digest, channels, self.settings, text=text, tls_context=tls_context, http=http)
        day = digest.until or digest.generated.date()
        ids = [item.paper.id for item in digest.items]
        for outcome in outcomes:
            if not (outcome.ok and ids):
                continue
            try:
                self.record_delivery(digest.profile, outcome.channel.kind, outcome.channel.label, day, ids)
            except (RuntimeFailure, OSError) as exc:  # it went out; not remembering it must still be said
                outcome.error = "; ".join(filter(None, [outcome.error, (
                    f"history: delivered to {outcome.channel.name} but not recorded ({exc}); "
                    "the next run may send these papers again")]))
        return outcomes

    def delivery_history(self, profile: str | None = None, limit: int = 20) -> list[DeliveryRecord]:
        """Deliveries, newest first: of one profile, or of every profile when ``profile`` is None."""
        name = self.active_profile(profile).name if profile else None
        return self._deliveries.history(name, limit)

    def seen_ids(self, paper_ids: Iterable[str], profile: str | None = None) -> set[str]:
        """Which of these papers were delivered to the profile already (the TUI marks them)."""
        return self._deliveries.seen_among(self.active_profile(profile).name, paper_ids)

    def forget_seen(self, paper_ids: Sequence[str] | None = None, profile: str | None = None) -> int:
        """Let papers be delivered again (every seen paper of the profile when ``paper_ids`` is None)."""
        ids = normalize_ids(paper_ids) if paper_ids is not None else None
        return self._deliveries.forget(self.active_profile(profile).name, ids)

    def export_papers(self, which: ExportSource, fmt: ExportFormat, *, profile: str | None = None,
                      n: int = 20) -> tuple[str, list[Paper]]:
        """(the export text, the papers in it) of a profile's liked or saved papers, its reading list
        (``list``: what ``recommend`` shows) or its last delivered digest."""
        if fmt not in FORMATS:
            raise UserError(f"unknown export format {fmt!r}: use {', '.join(FORMATS)}")
        target = self.active_profile(profile)
        if which in ("liked", "saved"):
            ids = target.liked if which == "liked" else target.saved
            papers = self._store.get_many(ids)
            order = {pid: i for i, pid in enumerate(ids)}
            papers.sort(key=lambda p: order.get(p.id, len(order)))
        elif which == "list":
            papers = [r.paper for r in self.recommend(profile=target.name, n=n, use_llm=False,
                                                      include_seen=False).items]
        elif which == "digest":
            last = self._deliveries.last(target.name)
            if last is None:
                raise UserError(f"nothing was delivered to profile {target.name} yet; "
                                "--list exports the current reading list")
            found = {p.id: p for p in self._store.get_many(last.papers)}
            papers = [found[i] for i in last.papers if i in found]
        else:
            raise UserError(f"unknown export source {which!r}: use liked, saved, list or digest")
        return export(papers, fmt), papers
