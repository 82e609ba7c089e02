"""What "never resend" and the delivery channels cost, on the bundled sample (printed numbers only).

* ``recommend`` with 0, 1,000 and 20,000 papers already delivered to the profile (the seen papers
  are handed to the ranker as dismissals: a year of daily digests is a few thousand);
* recording one delivery, and reading the seen set back;
* updating an Atom feed file that already holds 100 and 5,000 entries (parse, merge, write);
* rendering each format (Markdown, HTML, JSON, Atom, Slack, Discord) of a 10-paper digest.

Median of 5 warm runs each, after one run that loads the store. Run: .venv/bin/python bench/deliveries.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from service_parts import delivery_store

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def median_ms(fn: Callable[[], object], runs: int = 5) -> float:
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    from papercast.config import load_settings
    from papercast.service import Papercast
    from papercast.tools.delivery.payloads import webhook_payload
    from papercast.tools.writing.render import (
        render_atom,
        render_html,
        render_json,
        render_markdown,
        update_feed,
    )

    home = Path(tempfile.mkdtemp(prefix="papercast-bench-deliveries-"))
    try:
        service = Papercast(load_settings(home=home / "home"))
        service.ensure_sample()
        profile = service.active_profile().name
        ids = [p.id for p in service.list_papers(1000)]
        print(f"store: {service.count()} papers")
        for seen in (0, 1000, 20000):
            delivery_store(service).forget(profile)
            fake = [f"2999.{i:05d}" for i in range(max(0, seen - len(ids)))]
            if seen:
                service.record_delivery(profile, "email", "bench@example.org", date(2026, 8, 20),
                                        (ids + fake)[:seen])
            ms = median_ms(lambda: service.recommend(n=10, use_llm=False, include_seen=False))
            print(f"recommend n=10 with {seen:>6} seen papers: {ms:7.1f} ms")
        record_ms = median_ms(
            lambda: service.record_delivery(profile, "file", "x.md", date(2026, 8, 20), ids[:10]))
        seen_ms = median_ms(lambda: delivery_store(service).seen(profile))
        print(f"record one 10-paper delivery: {record_ms:.2f} ms; read "
              f"{len(delivery_store(service).seen(profile))} seen ids: {seen_ms:.2f} ms")

        digest = service.digest(n=10, use_llm=False, include_seen=True)
        for entries in (100, 5000):
            big = digest
            xml, _ = update_feed(big, None, limit=entries)
            # Grow the feed to `entries` by renaming the profile of copies (new entry ids each time).
            rounds = 0
            while xml.count("<entry>") < entries and rounds < entries:
                big.profile = f"bench{rounds}"
                xml, _ = update_feed(big, xml, limit=entries)
                rounds += 1
            digest.profile = profile
            ms = median_ms(lambda xml=xml, entries=entries: update_feed(digest, xml, limit=entries))
            print(f"update a feed of {xml.count('<entry>'):>5} entries ({len(xml) / 1e6:.1f} MB): {ms:7.1f} "
                  "ms")
        for name, fn in (("markdown", lambda: render_markdown(digest)), ("html", lambda: render_html(digest)),
                         ("json", lambda: render_json(digest)), ("atom", lambda: render_atom(digest)),
                         ("slack", lambda: webhook_payload(digest, "slack")),
                         ("discord", lambda: webhook_payload(digest, "discord"))):
            print(f"render {name:<8} (10 papers): {median_ms(fn):6.2f} ms")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
