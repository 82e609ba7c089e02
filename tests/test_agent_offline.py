"""Chat without a model: retrieval answers and profile commands through the same graph, tools,
proposals and thread store as the LLM agent; and ``papercast chat`` on the command line."""

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


def test_search_filters_in_a_message_are_kept(service):
    answer = service.chat("find papers about galaxy mergers in cat:astro-ph.GA?")
    [tool] = answer.tools
    assert tool.name == "search_library" and tool.args["query"] == "galaxy mergers in cat:astro-ph.GA?"
    ids = cited_ids(answer.text)
    assert ids and all("astro-ph.GA" in service.get_paper(pid).categories for pid in ids)


def test_what_should_i_read_today(service):
    answer = service.chat("What should I read today?")
    assert [t.name for t in answer.tools] == ["recommend"]
    ids = cited_ids(answer.text)
    assert len(ids) == 10 and len(set(ids)) == 10
    assert "why:" in answer.text


def test_profile_commands_by_pattern(service):
    # Asked without a yes, a command is a proposal: shown, not applied, and the answer says so.
    answer = service.chat("add 'speculative decoding' to my interests")
    assert service.active_profile().keywords == []
    [proposal] = answer.proposals
    assert (proposal.status, proposal.after) == ("declined", "keywords: speculative decoding")
    assert "not applied: profile 'default': add keywords 'speculative decoding'" in answer.text

    answer = service.chat("add 'speculative decoding' to my interests", approve=True)
    assert "speculative decoding" in service.active_profile().keywords
    assert "applied as change c1: profile 'default': add keywords 'speculative decoding'" in answer.text

    service.chat("follow Tri Dao", approve=True)
    assert service.active_profile().authors == ["Tri Dao"]

    service.chat(f"like {PAPER}", approve=True)
    assert service.active_profile().liked == [PAPER]
    service.chat(f"unlike {PAPER}", approve=True)
    assert service.active_profile().liked == []

    service.chat("remove speculative decoding from my interests", approve=True)
    assert "speculative decoding" not in service.active_profile().keywords


def test_like_then_papers_like_the_one_i_liked(service):
    service.chat(f"like {PAPER}", approve=True)
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

    async def resume(thread: str):
        return [e async for e in service.aresume_stream(thread, True)]

    events = asyncio.run(turn("speculative decoding", None))
    assert [e.kind for e in events] == ["tool_start", "tool_end", "token", "final"]
    answer = events[-1].answer
    assert events[2].text == answer.text
    # A change pauses the turn: a proposal event, then final with the proposal pending.
    paused = asyncio.run(turn(f"like {PAPER}", answer.thread_id))
    assert [e.kind for e in paused] == ["tool_start", "proposal", "final"]
    assert paused[1].proposal.summary.startswith(f"like [{PAPER}]")
    [pending] = paused[-1].answer.pending
    assert service.active_profile().liked == []
    resumed = asyncio.run(resume(answer.thread_id))
    # The offline answer, then the statement of the change (appended by the check of the answer).
    assert [e.kind for e in resumed] == ["tool_end", "token", "token", "final"]
    second = resumed[-1].answer
    assert "".join(e.text for e in resumed if e.kind == "token") == second.text
    assert resumed[2].text.startswith("\nChanges to your data:\n- applied as change c1: like")
    assert second.thread_id == answer.thread_id and not second.pending
    assert [p.status for p in second.proposals] == ["applied"] and service.active_profile().liked == [PAPER]
    [thread] = service.list_threads()
    assert (thread.id, thread.turns, thread.title) == (answer.thread_id, 2, "speculative decoding")
    shown = asyncio.run(service.athread_messages(answer.thread_id))
    assert [m["role"] for m in shown] == ["user", "tool", "assistant", "user", "tool", "assistant"]


def test_a_thread_left_waiting_is_answered_no_by_the_next_message(service):
    async def turn(message: str, thread: str | None):
        return [e async for e in service.achat_stream(message, thread)][-1].answer

    paused = asyncio.run(turn(f"dislike {PAPER}", "waiting"))
    assert paused.pending and paused.text == ""
    answer = asyncio.run(turn("speculative decoding", "waiting"))  # the user moved on
    assert not answer.pending and answer.papers
    assert service.active_profile().disliked == []
    shown = asyncio.run(service.athread_messages("waiting"))
    assert [m["role"] for m in shown] == ["user", "tool", "assistant", "user", "tool", "assistant"]
    assert shown[2]["text"].startswith("(The proposed change was not confirmed")


def test_offline_answers_a_paper_question_from_its_abstract_without_full_text(service):
    answer = service.chat(f"which datasets does {PAPER} evaluate on?")
    assert [t.name for t in answer.tools] == ["search_passages"]
    assert f"[{PAPER}]" in answer.text and "no stored full text" in answer.text
    assert answer.papers == [(PAPER, service.get_paper(PAPER).title)]


def test_cli_chat(settings, sample_home_template, capsys):
    copy_sample(sample_home_template, settings)
    home = str(settings.home)
    assert main(["--home", home, "chat", "--thread", "cli", "what should I read today?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("offline answer") and len(cited_ids(out)) == 10

    # Without --yes a change is printed (before -> after) and not applied; the answer says so.
    assert main(["--home", home, "chat", "--thread", "cli", f"save {PAPER}"]) == 0
    captured = capsys.readouterr()
    assert "The agent proposes a change to your data:" in captured.out
    assert f"[{PAPER}]: no feedback -> saved" in captured.out
    assert "not applied (run the same command with --yes to apply)" in captured.out
    assert "not applied: save" in captured.out and "--yes" in captured.err
    assert service_profile(settings).saved == []

    assert main(["--home", home, "chat", "--thread", "cli", "--json", "--yes", f"save {PAPER}"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["thread_id"] == "cli" and result["offline"] is True
    assert result["tools"] == [{"name": "give_feedback", "args": {"id": PAPER, "kind": "save"}, "ok": True}]
    [proposal] = result["proposals"]
    assert (proposal["status"], proposal["change"], proposal["before"], proposal["after"]) == (
        "applied", "c1", f"[{PAPER}]: no feedback", f"[{PAPER}]: saved")
    assert 'papercast chat --thread cli --yes "undo c1"' in captured.err
    assert service_profile(settings).saved == [PAPER]

    assert main(["--home", home, "chat", "--thread", "cli", "--yes", "undo c1"]) == 0
    assert "applied as change c2: undo c1: save" in capsys.readouterr().out
    assert service_profile(settings).saved == []

    assert main(["--home", home, "chat", "--threads", "--json"]) == 0
    [thread] = json.loads(capsys.readouterr().out)
    assert thread["id"] == "cli" and thread["turns"] == 4

    assert main(["--home", home, "chat", "   "]) == 2
    assert main(["--home", home, "chat", "--thread", "../etc", "hi"]) == 2
    assert "invalid thread id" in capsys.readouterr().err


def service_profile(settings):
    from papercast.service import Papercast

    return Papercast(settings).active_profile()
