"""The entry points of ``tools/ranking`` the service calls (the reading list, learning, search), in one
module: the service imports it on first use (``service.core.ranking_tools``), as one group, so that
``papercast --help`` and the TUI's first paint never pay for it."""

from papercast.tools.ranking.authors import find_papers
from papercast.tools.ranking.evaluation import evaluate
from papercast.tools.ranking.passages import search_passages
from papercast.tools.ranking.rerank import rerank
from papercast.tools.ranking.score import recommend
from papercast.tools.ranking.search import search
from papercast.tools.ranking.teach import teach
from papercast.tools.ranking.window import papers_by_id, resolve_window

__all__ = ["evaluate", "find_papers", "papers_by_id", "recommend", "rerank", "resolve_window", "search",
           "search_passages", "teach"]
