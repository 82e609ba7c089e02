"""The help screen (``?``): every key, grouped by screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# papercast keys

**Everywhere** — `1` reading list · `2` trending · `3` chat · `4` profile · `?` help ·
`ctrl+p` command palette · `R` retry the last failed task · `q` quit

**Reading list / trending / search**

| key | action |
|---|---|
| `j` `k` / arrows | move |
| `enter` | open the paper |
| `l` / `d` / `s` | like / dislike / save — on the reading list the paper leaves the queue and the rest re-ranks at once |
| `x` | dismiss (hidden from now on; on a day you also like papers, it teaches like a dislike) |
| `u` | undo the last like / dislike / save / dismiss |
| `o` / `p` | open the abs page / the PDF in the browser |
| `r` | fetch new papers in the background |
| `/` | search the library: words, `"a phrase"`, `cat:cs.CL`, `au:LeCun` (filters alone: newest first) · `w` switch window · `P` switch profile |
| `E` | export the saved papers as BibTeX (to `exports/` in the home) · ✉ marks papers already delivered |
| `v` | reading list: show or hide each paper's result sentence (`RES`) under its title |
| `t` | teach (reading list): the window's papers the ranker is least sure about, one at a time — `l` like · `d` dislike · `s` skip · `escape` done; each answer is saved at once (`u` undoes it) and the list re-ranks |

**Paper** — `l` `d` `s` feedback · `o` abs · `p` PDF · `h` Hugging Face page ·
`f` read the full text (arXiv HTML or PDF; then `enter` on a section opens it, `/` finds in it) ·
`c` ask the agent about it · `enter` on a similar paper opens it · `escape` back ·
the abstract is tagged by sentence role: `BKG` background · `OBJ` objective · `MTH` method · `RES` result

**Chat** — `enter` send · `ctrl+n` new thread · `ctrl+t` threads ·
`ctrl+o` open a paper mentioned in the chat · `escape` leave the input

**Profile** — `ctrl+s` save (re-ranks) · `ctrl+n` new · `ctrl+r` rename · `ctrl+l` switch ·
`ctrl+d` delete · on a liked/disliked/saved paper: `enter` opens it, `delete` removes it

*How well papercast knows you* (profile): the ranker graded on your own ratings, split by time. Each
rating day after the first is ranked twice: by the ranker that learned from the days before
(**learning**) and by one that knows only your first day's ratings (**no learning**). The bars are its
nDCG per week (`▁` 0 … `█` 1.0: your likes ranked above your dislikes and the papers you dismissed; `·`
no like that week); the sentence adds MRR (how high the first like came) and balanced accuracy (likes
told apart from the rest).
With too few ratings it says how many more it needs.

The status bar says which mode is active: *offline mode* (no LLM: extractive summaries and
retrieval-based answers) or the LLM model name from `PAPERCAST_MODEL`.
"""  # noqa: E501  (Markdown table rows cannot be wrapped)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
