"""Grounded chat (issue 13) and answers that cite only what exists (issue 12, section 5; issue 11).

Every turn first retrieves from the library and hands the model the results with their ids; an
answer to a library question that cites nothing is followed by the library's matches; every cited
id and ``[id §section]`` is checked against the library and its stored full texts; models without
tool calling are grounded the same way. The model is the scripted loopback server; the store, the
full texts (read from tests/fixtures/fulltext) and litellm are real.
"""

from __future__ import annotations

import asyncio
import re
import shutil

import pytest

from papercast.config import load_settings
from papercast.service import Papercast

from helpers import FIXTURES, PAPER, copy_sample
from llm_server import PaperModel, Reply, paper_blocks, point_settings

FT = "2508.08468"  # "Audio-Visual Speech Enhancement: ...": its arXiv HTML page is a test fixture
FT_PAGE = FIXTURES / "fulltext" / "arxiv_html_2508.08468v6.html"


@pytest.fixture
def agent(llm_server, settings, sample_home_template, monkeypatch):
    cfg = point_settings(llm_server, settings, monkeypatch, chat_max_steps=4, llm_retries=0)
    return copy_sample(sample_home_template, cfg)


@pytest.fixture(scope="module")
def fulltext_template(sample_home_template, tmp_path_factory):
    """The sample home with one paper read in full (reading and embedding it takes seconds: once)."""
    home = tmp_path_factory.mktemp("fulltext") / "home"
    shutil.copytree(sample_home_template, home)
    Papercast(load_settings(home=home)).read_file(FT_PAGE)
    return home


def with_fulltext(settings, template):
    """A service for ``settings`` whose library holds the sample and the full text of FT."""
    if settings.chroma_url is None:
        shutil.copytree(template, settings.home)
        return Papercast(settings)
    service = copy_sample(template, settings)  # a Chroma server: read it into the server's store
    service.read_file(FT_PAGE)
    return service


def sent_user_message(request: dict) -> str:
    return [m["content"] for m in request["messages"] if m["role"] == "user"][-1]


def tool_outputs(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


async def collect(service, message, thread=None):
    events = [e async for e in service.achat_stream(message, thread)]
    return events, events[-1].answer


def test_every_turn_hands_the_model_the_librarys_matches(agent, llm_server):
    title = agent.get_paper(PAPER).title
    llm_server.queue(Reply.text(f"Start with [{PAPER}] {title}."))
    events, answer = asyncio.run(collect(agent, "block-sparse prefill attention for long context serving"))
    sent = sent_user_message(llm_server.requests[0])
    assert sent.startswith("block-sparse prefill attention for long context serving\n\n<library_results>")
    retrieved = re.findall(r"^- \[(\d{4}\.\d{4,5})\] ", sent, flags=re.M)
    assert PAPER in retrieved and 1 < len(retrieved) <= 6
    assert "Cite only ids you were shown" in llm_server.requests[0]["messages"][0]["content"]
    # It cited the library: nothing appended, the streamed text is the answer.
    assert answer.text == f"Start with [{PAPER}] {title}." and not answer.library_fallback
    assert answer.papers == [(PAPER, title)] and answer.unverified == []
    assert "".join(e.text for e in events if e.kind == "token") == answer.text


def test_an_answer_that_cites_nothing_is_followed_by_the_library(agent, llm_server):
    """Issue 13: a small model called no tool and answered with invented prose, no paper, no warning."""
    prose = "KV cache compression was first introduced by a team at Berkeley in 2013."
    llm_server.queue(Reply.text(prose))
    events, answer = asyncio.run(collect(agent, "find papers about KV cache compression"))
    assert answer.library_fallback
    head, listed = answer.text.split("\n\nFrom your library:\n")
    assert head == prose
    ids = re.findall(r"^- \[(\d{4}\.\d{4,5})\] ", listed, flags=re.M)
    assert ids and all(pid in sent_user_message(llm_server.requests[0]) for pid in ids)
    assert "did not cite any of these" in listed
    for pid in ids:  # each listed paper is in the library and is about the question
        paper = agent.get_paper(pid)
        assert re.search(r"cach|compress", f"{paper.title} {paper.abstract}", re.I), paper.title
    assert "".join(e.text for e in events if e.kind == "token") == answer.text


def test_small_talk_gets_no_library_list(agent, llm_server):
    llm_server.queue(Reply.text("You're welcome."))
    answer = agent.chat("thanks, that's all!")
    assert answer.text == "You're welcome." and not answer.library_fallback


def test_invented_ids_are_flagged_and_only_library_papers_are_cited(agent, llm_server):
    title = agent.get_paper(PAPER).title
    llm_server.queue(Reply.text(f"Read [{PAPER}] {title} and [9999.99999] Attention Is All You Need Again."))
    answer = agent.chat("what should I read on prefill attention?")
    assert answer.papers == [(PAPER, title)]
    assert answer.unverified == ["9999.99999"]
    assert answer.text.endswith("⚠ Not found in your library, so not verified (the model may have made them "
                                "up): 9999.99999")
    assert not answer.library_fallback  # it did cite a library paper
    assert answer.to_json()["unverified"] == ["9999.99999"]


def test_a_title_named_without_its_id_counts_as_citing_it(agent, llm_server):
    llm_server.queue(Reply.text(f"My pick: [{PAPER}] FlashPrefill V2."))
    agent.chat("what should I read about prefill?", "titles")
    llm_server.queue(Reply.text("It was FlashPrefill V2, the block-sparse one."))
    answer = agent.chat("which one was it again? the sparse attention paper", "titles")
    assert not answer.library_fallback and answer.papers == [(PAPER, agent.get_paper(PAPER).title)]


def test_section_citations_are_checked_against_the_stored_full_text(llm_server, settings, fulltext_template,
                                                                    monkeypatch):
    service = with_fulltext(point_settings(llm_server, settings, monkeypatch, llm_retries=0),
                            fulltext_template)
    llm_server.queue(Reply.text(f"It was tested on a 5G network [{FT} §V-A] with a latency study "
                                f"[{FT} §V-B] (see [{FT} §Acknowledgements]); the ablation is in [{FT} §9.9] "
                                f"and [{PAPER} §3.2] says the same."))
    answer = service.chat(f"how was {FT} evaluated?")
    assert [pid for pid, _ in answer.papers] == [FT, PAPER]
    # A section that paper does not have, and a section of a paper whose full text is not stored.
    assert answer.unverified == [f"[{FT} §9.9]", f"[{PAPER} §3.2]"]
    assert answer.text.endswith(f"up): [{FT} §9.9], [{PAPER} §3.2]")
    # The message named the paper: the model got its best passages with their citations.
    sent = sent_user_message(llm_server.requests[0])
    assert "passages of stored full texts:" in sent and f"[{FT} §" in sent


def test_the_tools_read_a_paper_by_section_and_search_its_passages(llm_server, settings, fulltext_template,
                                                                   monkeypatch):
    service = with_fulltext(point_settings(llm_server, settings, monkeypatch, llm_retries=0,
                                           chat_max_steps=4),
                            fulltext_template)
    llm_server.queue(
        Reply.tool_calls(("read_paper", {"id": FT}), ("read_paper", {"id": FT, "section": "V-A"}),
                         ("search_passages", {"query": "processing latency of the model", "ids": [FT]}),
                         ("read_paper", {"id": FT, "section": "42"}),
                         ("search_passages", {"query": "latency", "ids": ["9999.99999"]})),
        Reply.text(f"See [{FT} §V-B]."))
    answer = service.chat(f"what does {FT} say about latency?")
    outline, section, passages, no_section, unknown = tool_outputs(llm_server.requests[1])
    assert "full text from a saved file" in outline and "§IV Proposed Solution" in outline
    assert f"[{FT}] (Abstract): " in outline  # the abstract, citable by id
    assert section.count(f"[{FT} §V-A]") >= 2 and "§V-B" not in section
    assert "passages matching 'processing latency of the model'" in passages
    cites = re.findall(r"^- (\[\S+ §[^\]]+\])", passages, flags=re.M)
    assert cites and all(c.startswith(f"[{FT} §") for c in cites)
    assert 'status="error"' in no_section and "no section '42'" in no_section
    assert 'status="error"' in unknown and "unknown paper id: 9999.99999" in unknown
    assert [t.ok for t in answer.tools] == [True, True, True, False, False]
    assert answer.unverified == [] and answer.papers == [(FT, service.get_paper(FT).title)]


def test_offline_chat_answers_a_paper_question_from_its_passages(settings, fulltext_template):
    service = with_fulltext(settings, fulltext_template)
    answer = service.chat(f"what is the processing latency in {FT}?")
    assert answer.offline and [t.name for t in answer.tools] == ["search_passages"]
    quoted = re.findall(rf"^- \[{FT} §([^\]]+)\] .+ — (.+) \(match [\d.]+\):\n  (.+)$", answer.text,
                        flags=re.M)
    assert quoted, answer.text
    assert any("latency" in text.lower() for _, _, text in quoted)
    assert answer.papers == [(FT, service.get_paper(FT).title)] and answer.unverified == []


def test_a_model_without_tool_calling_is_grounded_and_still_gets_commands_done(
        llm_server, settings, sample_home_template, monkeypatch):
    cfg = point_settings(llm_server, settings, monkeypatch, llm_retries=0, chat_tools="off")
    service = copy_sample(sample_home_template, cfg)
    llm_server.queue(Reply.text("Speculative decoding uses a draft model."))
    answer = service.chat("find papers about speculative decoding", "plain")
    first = llm_server.requests[0]
    assert "tools" not in first and "You cannot call tools" in first["messages"][0]["content"]
    assert "<library_results>" in sent_user_message(first)
    assert answer.library_fallback and "\n\nFrom your library:\n- [" in answer.text

    # "like ID": the offline planner's patterns propose it; the model then answers without tools.
    llm_server.queue(Reply.text("Done, it is liked."))
    answer = service.chat(f"like {PAPER}", "plain", approve=True)
    assert [(p.tool, p.status) for p in answer.proposals] == [("give_feedback", "applied")]
    assert service.active_profile().liked == [PAPER]
    last = llm_server.requests[-1]
    assert "tools" not in last and all(m["role"] != "tool" and "tool_calls" not in m
                                       for m in last["messages"])
    assert any(m["role"] == "user" and m["content"].startswith("(tool result)") for m in last["messages"])


def test_which_models_get_tools(litellm_loaded):
    from papercast.agent.llm_node import choose_tools

    assert choose_tools("off", "openai/gpt-4o-mini") == (False, "chat_tools = off")
    assert choose_tools("on", "babbage-002")[0] is True
    assert choose_tools("auto", "openai/gpt-4o-mini")[0] is True
    assert choose_tools("auto", "babbage-002") == (False,
                                                   "litellm: the model does not support function calling")
    # A model litellm does not know (a local server's): offered, since the answer is grounded anyway.
    assert choose_tools("auto", "openai/test-model") == (True, "the model is not in litellm's model map: "
                                                               "tools offered")


def test_the_digest_overview_keeps_only_ids_of_its_picks(make_service, llm_server, llm_settings):
    model = PaperModel()

    def overview_with_an_invented_id(body: dict) -> Reply | None:
        user = "\n".join(str(m.get("content")) for m in body["messages"] if m["role"] == "user")
        if "Today's picks" in user:
            first = paper_blocks(user)[0][0]
            return Reply.text(f"Start with [{first}], a strong pick, then [9999.99999] for background; "
                              "the rest share a common theme.")
        return model(body)

    llm_server.responder = overview_with_an_invented_id
    digest = make_service(llm_settings).digest(n=5)
    first = digest.items[0].paper.id
    assert digest.overview_by == "openai/test-model"
    assert f"[{first}]" in digest.overview and "9999.99999" not in digest.overview
    assert any("9999.99999" in n and "removed" in n for n in digest.notices)
