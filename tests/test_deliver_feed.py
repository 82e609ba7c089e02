"""The Atom feed (parsed with feedparser, as feed readers do) and the self-contained HTML page."""

from __future__ import annotations

from html.parser import HTMLParser

import feedparser
import pytest

from papercast.cli import main
from papercast.errors import UserError
from papercast.tools.writing.render import entry_id, render_atom, render_html, update_feed


@pytest.fixture
def digest(service):
    return service.digest(n=4, use_llm=False)


def hostile(digest):
    item = digest.items[0]
    paper = item.paper.model_copy(update={"title": "Attack </title><script>alert(1)</script> & <b>bold</b>"})
    item.recommendation = item.recommendation.model_copy(update={"paper": paper})
    return digest


def test_the_feed_is_valid_atom_with_one_entry_per_paper(digest):
    digest = hostile(digest)
    parsed = feedparser.parse(render_atom(digest))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == f"papercast — {digest.profile}"
    assert [e.id for e in parsed.entries] == [entry_id(digest.profile, i.paper.id) for i in digest.items]
    first = parsed.entries[0]
    assert first.title == "Attack </title><script>alert(1)</script> & <b>bold</b>"  # text, not markup
    assert first.link == digest.items[0].paper.url
    assert digest.items[0].summary.tldr in first.summary
    assert [a.name for a in first.authors] == digest.items[0].paper.authors[:20]


def test_rewriting_the_feed_keeps_entries_stable_and_adds_only_new_papers(service):
    first = service.digest(n=3, use_llm=False)
    xml, added = update_feed(first, None)
    assert added == 3
    before = {e.id: e.updated for e in feedparser.parse(xml).entries}
    second = service.digest(n=5, use_llm=False)  # the same top 3 and two more
    xml2, added2 = update_feed(second, xml)
    assert added2 == 2
    parsed = feedparser.parse(xml2)
    ids = [e.id for e in parsed.entries]
    assert len(ids) == len(set(ids)) == 5  # no paper twice: a feed reader shows each once
    assert {i: e.updated for i, e in ((e.id, e) for e in parsed.entries) if i in before} == before
    assert not parsed.bozo
    # A cap keeps the newest entries.
    capped, _ = update_feed(second, xml2, limit=2)
    assert len(feedparser.parse(capped).entries) == 2


def test_a_file_that_is_not_a_feed_is_refused_not_overwritten(digest):
    with pytest.raises(UserError, match="not valid XML"):
        update_feed(digest, "# my notes\n")
    with pytest.raises(UserError, match="not an Atom feed"):
        update_feed(digest, "<rss version='2.0'><channel/></rss>")
    with pytest.raises(UserError):
        update_feed(digest,
                    '<!DOCTYPE x [<!ENTITY a "aaaa">]><feed xmlns="http://www.w3.org/2005/Atom">&a;</feed>')


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_html_page_is_one_self_contained_file(digest):
    page = render_html(hostile(digest))
    collected = _Collect()
    collected.feed(page)
    tags = [t for t, _ in collected.tags]
    # nothing loads from elsewhere
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(tags)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert all(a["href"].startswith("https://") for t, a in collected.tags if t == "a")
    assert ("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}) in collected.tags
    assert "url(" not in page  # no stylesheet fetching either


def test_daily_keeps_a_feed_file_up_to_date(service, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PAPERCAST_SOURCES", "")
    home, feed = str(service.settings.home), tmp_path / "papers.xml"
    assert main(["--home", home, "daily", "-n", "2", "--feed", str(feed)]) == 0
    assert main(["--home", home, "daily", "-n", "2", "--feed", str(feed), "--out",
                 str(tmp_path / "d.html")]) == 0
    assert capsys.readouterr().out == ""  # delivered elsewhere: nothing on stdout
    parsed = feedparser.parse(feed.read_text())
    assert not parsed.bozo and len(parsed.entries) == 4 == len({e.id for e in parsed.entries})
    assert (tmp_path / "d.html").read_text().startswith("<!DOCTYPE html>")
    # The feed setting does the same without the flag.
    monkeypatch.setenv("PAPERCAST_FEED", str(feed))
    assert main(["--home", home, "daily", "-n", "1"]) == 0
    assert len(feedparser.parse(feed.read_text()).entries) == 5


def test_digest_format_atom(service, capsys):
    assert main(["--home", str(service.settings.home), "digest", "-n", "2", "--format", "atom"]) == 0
    parsed = feedparser.parse(capsys.readouterr().out)
    assert not parsed.bozo and len(parsed.entries) == 2
