# ruff: noqa: F811  (pytest fixtures imported from helper modules are redefined as arguments)
"""The chat screen: a streamed answer with tool lines (offline and with the scripted loopback LLM),
threads listed and resumed, paper ids in answers opening the paper screen, and a dialog for every
change the agent proposes (applied only on yes)."""

from __future__ import annotations

from textual.widgets import Static

from papercast.tui.messages import ChatEventReceived
from papercast.tui.screens.chat import ChatScreen
from papercast.tui.screens.paper import PaperScreen
from papercast.tui.widgets.chat import AgentMessage, ToolLine, UserMessage

from helpers import OTHER, PAPER
from llm_server import Reply, llm_server, llm_settings  # noqa: F401
from tui_helpers import make_tui, tui, wait_for, wait_loaded  # noqa: F401


async def _ask(pilot, text: str) -> ChatScreen:
    chat = pilot.app.screen
    assert isinstance(chat, ChatScreen)
    await pilot.press(*text, "enter")
    await wait_for(pilot, lambda: chat.turn >= 1 and not chat.streaming, timeout=60, what="the answer")
    await pilot.pause()
    return chat


async def test_offline_chat_streams_an_answer_with_tool_lines_and_paper_links(tui):
    async with tui.run_test(size=(100, 32)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("3")
        chat = await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChatScreen) and pilot.app.screen)
        await _ask(pilot, "speculative decoding")
        answers = list(chat.query(AgentMessage))
        assert len(answers) == 1 and answers[0].text.strip()
        tools = list(chat.query(ToolLine))
        assert tools and all(str(t.render()).startswith(("✓", "✗")) for t in tools), "tool lines finished"
        shown = [answers[0].text] + [str(s.render()) for s in chat.query(".tool-line")]
        assert any("offline answer" in text for text in shown), "the offline mode is said plainly"
        assert tui.chat_thread, "the thread id of the answer is kept for the next turn"
        assert "offline" in tui.status.mode and not tui.status.tasks

        assert chat.mentioned, "papers the answer cites can be opened"
        first = next(iter(chat.mentioned))
        assert f"(paper:{first})" in answers[0].source
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: pilot.app.screen.__class__.__name__ == "ChoiceDialog")
        await pilot.press("enter")
        paper = await wait_for(pilot, lambda: isinstance(pilot.app.screen, PaperScreen) and pilot.app.screen)
        assert paper.paper_id == first
        await pilot.press("escape")
        assert pilot.app.screen is chat


async def test_threads_are_listed_and_resumed(tui):
    async with tui.run_test(size=(100, 32)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChatScreen))
        chat = await _ask(pilot, "long context")
        thread = tui.chat_thread
        await pilot.press("ctrl+n")
        assert tui.chat_thread is None and not list(chat.query(UserMessage))
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: pilot.app.screen.__class__.__name__ == "ChoiceDialog", timeout=30)
        await pilot.press("enter")
        await wait_for(pilot, lambda: list(chat.query(UserMessage)), timeout=30, what="the thread history")
        assert tui.chat_thread == thread
        assert "long context" in str(chat.query(UserMessage).first().render())
        assert list(chat.query(AgentMessage)), "the earlier answer is shown again"


async def test_llm_chat_streams_tokens_and_tool_calls(llm_server, llm_settings, service):
    from papercast.service import Papercast

    service = Papercast(llm_settings)  # same home as ``service``: the sample is already loaded
    paper = service.list_papers(1)[0]
    answer = f"The closest match is {paper.id}: it speeds up decoding with a small draft model."
    events: list[ChatEventReceived] = []
    tui = make_tui(service)
    async with tui.run_test(size=(100, 32),
                            message_hook=lambda m: events.append(m) if isinstance(m, ChatEventReceived)
                            else None) as pilot:
        home = await wait_loaded(pilot)
        # The list shows the quick ranking first, then the LLM's re-rank (default replies here).
        await wait_for(pilot, lambda: not tui.status.tasks and tui.ready, timeout=60, what="the LLM re-rank")
        await pilot.pause(0.2)
        assert "Re-ranking" not in str(home.query_one("#list-note").render())
        llm_server.queue(Reply.tool_calls(("search_library", {"query": "speculative decoding"})),
                         Reply.text(answer))
        assert tui.status.mode == "LLM: openai/test-model"
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChatScreen))
        chat = await _ask(pilot, "what is new in speculative decoding?")
        kinds = [e.event.kind for e in events]
        assert kinds.count("token") > 1, "the answer arrived in pieces"
        assert kinds.index("tool_start") < kinds.index("tool_end") < kinds.index("final")
        tool = chat.query(ToolLine).first()
        assert str(tool.render()).startswith("✓ search_library")
        shown = chat.query(AgentMessage).first()
        assert shown.text == answer
        assert f"[{paper.id}](paper:{paper.id})" in shown.source
        assert paper.id in chat.mentioned
        assert any("speculative decoding" in p for p in llm_server.prompts())


async def test_opening_with_a_thread_resumes_it(service):
    answer = await service.achat("long context")
    tui = make_tui(service, screen="chat", thread=answer.thread_id)  # `papercast chat --thread ID`
    async with tui.run_test(size=(100, 32)) as pilot:
        chat = await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChatScreen) and pilot.app.screen)
        await wait_for(pilot, lambda: list(chat.query(UserMessage)), timeout=30, what="the thread history")
        assert "long context" in str(chat.query(UserMessage).first().render())
        assert answer.thread_id in str(chat.query_one("#chat-title").render())


async def _dialog(pilot):
    from papercast.tui.screens.dialogs import ConfirmChangeDialog

    dialog = await wait_for(pilot,
                            lambda: isinstance(pilot.app.screen, ConfirmChangeDialog) and pilot.app.screen,
                            timeout=60, what="the confirmation dialog")
    await pilot.pause()
    return dialog, " | ".join(str(w.render()) for w in dialog.query(Static))


async def test_a_change_is_asked_for_and_applied_only_on_yes(tui, service):
    async with tui.run_test(size=(100, 32)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("3")
        chat = await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChatScreen) and pilot.app.screen)
        version = tui.data_version
        for key, applied in (("n", False), ("enter", False), ("y", True)):  # enter = the default: don't apply
            await pilot.press(*f"like {PAPER}", "enter")
            _dialog_screen, text = await _dialog(pilot)
            assert f"like [{PAPER}]" in text and f"[{PAPER}]: no feedback -> liked" in text
            assert chat.streaming, "the turn waits for the answer"
            await pilot.press(key)
            await wait_for(pilot, lambda: not chat.streaming and pilot.app.screen is chat, timeout=60,
                           what="the resumed answer")
            await pilot.pause()
            assert service.active_profile().liked == ([PAPER] if applied else [])
            said = chat.query(AgentMessage).last().text
            assert ("applied as change c1: like" in said) if applied else ("- not applied: like" in said)
            assert tui.data_version == version + applied, "the lists re-rank after an applied change only"
        tool = chat.query(ToolLine).last()
        assert str(tool.render()).startswith("✓ give_feedback: applied as change c1")


async def test_an_injected_change_shows_the_dialog_and_no_leaves_the_profile(
    llm_server, llm_settings, service):
    from papercast.service import Papercast

    service = Papercast(llm_settings)  # same home as ``service``: the sample is already loaded
    tui = make_tui(service)
    async with tui.run_test(size=(100, 32)) as pilot:
        await wait_loaded(pilot)
        await wait_for(pilot, lambda: not tui.status.tasks and tui.ready, timeout=60, what="the LLM re-rank")
        llm_server.queue(Reply.tool_calls(("give_feedback", {"id": OTHER, "kind": "dislike"}),
                                          ("update_profile", {"add_keywords": ["crypto"]})),
                         Reply.text(f"[{OTHER}] looks weak."))
        await pilot.press("3")
        chat = await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChatScreen) and pilot.app.screen)
        await pilot.press(*f"how bad is {OTHER}?", "enter")
        _screen, text = await _dialog(pilot)
        assert "(1 of 2)" in text and f"dislike [{OTHER}]" in text
        await pilot.press("n")
        _screen, text = await _dialog(pilot)
        assert "(2 of 2)" in text and "keywords: (none) -> crypto" in text
        await pilot.press("n")
        await wait_for(pilot, lambda: not chat.streaming and pilot.app.screen is chat, timeout=60)
        await pilot.pause()
        profile = service.active_profile()
        assert profile.disliked == [] and profile.keywords == []
        said = chat.query(AgentMessage).last().text
        assert said.startswith(f"[{OTHER}] looks weak.") and said.count("- not applied:") == 2
