"""The entry points of ``tools/writing`` (summaries, the digest) the service and the command line call,
in one module: they import it on first use (``service.core.writing_tools``), as one group, so that
``papercast --help`` and the TUI's first paint never pay for it."""

from papercast.tools.writing.digest import build_digest
from papercast.tools.writing.fulltext_summary import made_from
from papercast.tools.writing.summarize import FALLBACK, digest_summaries, summarize_papers, summary_label

__all__ = ["FALLBACK", "build_digest", "digest_summaries", "made_from", "summarize_papers", "summary_label"]
