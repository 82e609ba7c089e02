"""Chat without a model: retrieval answers and profile commands through the same graph, tools,
guard and thread store as the LLM agent; and ``papercast chat`` on the command line."""

from __future__ import annotations

import asyncio
import json
import re

from papercast.cli import main

from helpers import OTHER, PAPER, copy_sample


def cited_ids(text: str) -> list[str]:
    return re.findall(r"\[(\d{4}\.\d{4,5})\]", text)


def test_search_answer_lists_papers_with_id_and_one_line_extract(service):
    answer = service.chat("find papers about block-sparse prefill attention")
    assert answer.offline and answer.text.startswith("offline answer")
    assert [t.name for t in answer.tools] == ["search_library"]
    entries = re.findall(r"^- \[(\S+)\] (.+)\n  (.+)$", answer.text, flags=re.M)
    assert len(entries) == 5
    assert entries[0][0] == PAPER  # the best match for this query in the sample
    for _pid, _title, extract in entries:
        assert extract and "\n" not in extract and len(extract) <= 220
    assert [pid for pid, _ in answer.papers] == [e[0] for e in entries]
    assert answer.papers[0] == (PAPER, service.get_paper(PAPER).title)


def test_what_should_i_read_today(service):
    answer = service.chat("What should I read today?")
    assert [t.name for t in answer.tools] == ["recommend"]
    ids = cited_ids(answer.text)
    assert len(ids) == 10 and len(set(ids)) == 10
    assert "why:" in answer.text


def test_profile_commands_by_pattern(service):
    answer = service.chat("add 'speculative decoding' to my interests")
    assert "speculative decoding" in service.active_profile().keywords
    assert "added keywords 'speculative decoding'" in answer.text

    service.chat("follow Tri Dao")
    assert service.active_profile().authors == ["Tri Dao"]

    service.chat(f"like {PAPER}")
    assert service.active_profile().liked == [PAPER]
    service.chat(f"unlike {PAPER}")
    assert service.active_profile().liked == []

    service.chat("remove speculative decoding from my interests")
    assert "speculative decoding" not in service.active_profile().keywords


def test_like_then_papers_like_the_one_i_liked(service):
    service.chat(f"like {PAPER}")
    answer = service.chat("papers like the FlashPrefill one I liked")
    assert [t.name for t in answer.tools] == ["get_profile", "similar_papers"]
    assert f"liked FlashPrefill paper [{PAPER}]" in answer.text
    listed = re.findall(r"^- \[(\S+)\]", answer.text, flags=re.M)
    assert len(listed) == 5 and PAPER not in listed


def test_papers_like_the_one_named_finds_it_then_its_neighbours(service):
    answer = service.chat("papers like the FlashPrefill one")
    assert [t.name for t in answer.tools] == ["search_library", "similar_papers"]
    assert f"Taking that to be [{PAPER}] FlashPrefill V2" in answer.text
    listed = re.findall(r"^- \[(\S+)\]", answer.text, flags=re.M)
    assert len(listed) == 5 and PAPER not in listed


def test_summarize_and_compare(service):
    answer = service.chat(f"summarize {PAPER}")
    assert "TL;DR:" in answer.text and "offline extractive summarizer" in answer.text
    assert answer.papers == [(PAPER, service.get_paper(PAPER).title)]
    answer = service.chat(f"compare {PAPER} and {OTHER}")
    assert f"similarity {PAPER} vs {OTHER}:" in answer.text


def test_unknown_paper_is_said_not_crashed(service):
    answer = service.chat("summarize 2101.99999")
    assert "could not summarize paper: unknown paper id: 2101.99999" in answer.text
    assert answer.tools[0].ok is False


def test_offline_turn_streams_events_and_threads_persist(service):
    async def turn(message: str, thread: str | None):
        return [e async for e in service.achat_stream(message, thread)]

    events = asyncio.run(turn("speculative decoding", None))
    assert [e.kind for e in events] == ["tool_start", "tool_end", "token", "final"]
    answer = events[-1].answer
    assert events[2].text == answer.text
    second = asyncio.run(turn(f"like {PAPER}", answer.thread_id))[-1].answer
    assert second.thread_id == answer.thread_id
    [thread] = service.list_threads()
    assert (thread.id, thread.turns, thread.title) == (answer.thread_id, 2, "speculative decoding")
    shown = asyncio.run(service.athread_messages(answer.thread_id))
    assert [m["role"] for m in shown] == ["user", "tool", "assistant", "user", "tool", "assistant"]


def test_cli_chat(settings, sample_home_template, capsys):
    copy_sample(sample_home_template, settings)
    home = str(settings.home)
    assert main(["--home", home, "chat", "--thread", "cli", "what should I read today?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("offline answer") and len(cited_ids(out)) == 10

    assert main(["--home", home, "chat", "--thread", "cli", "--json", f"save {PAPER}"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["thread_id"] == "cli" and result["offline"] is True
    assert result["tools"] == [{"name": "give_feedback", "args": {"id": PAPER, "kind": "save"}, "ok": True}]

    assert main(["--home", home, "chat", "--threads", "--json"]) == 0
    [thread] = json.loads(capsys.readouterr().out)
    assert thread["id"] == "cli" and thread["turns"] == 2

    assert main(["--home", home, "chat", "   "]) == 2
    assert main(["--home", home, "chat", "--thread", "../etc", "hi"]) == 2
    assert "invalid thread id" in capsys.readouterr().err
