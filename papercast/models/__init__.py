"""The data shapes every part of papercast agrees on.

Pydantic models sit at the boundaries: papers from any source, profiles, feedback,
recommendations and summaries. `Paper` keeps unknown API fields (``extra="allow"``)
so nothing a source tells us is thrown away. Each submodule holds one subject; this package
re-exports them all, so ``from papercast.models import Paper`` is the way to name them.
"""

from papercast.ids import InvalidPaperId, normalize_arxiv_id, parse_date, shift_day
from papercast.models.chat import ChatAnswer, Proposal, ProposalStatus, ThreadInfo, ToolRecord
from papercast.models.documents import (
    Document,
    DocumentSource,
    Passage,
    PassageKind,
    Section,
    SentenceRole,
    Summary,
    result_sentence,
)
from papercast.models.learning import Evaluation, EvaluationPeriod, RankingMetrics, TeachCandidate
from papercast.models.llm import ModelCheck, Probe, RunUsage, Usage
from papercast.models.papers import Paper, ReadingList, Recommendation, SearchHit
from papercast.models.profiles import OPPOSITE_FEEDBACK, Feedback, FeedbackKind, Profile
from papercast.models.reports import DeliveryChannel, DeliveryRecord, FetchReport, ImportReport, UpsertResult

__all__ = [
    "OPPOSITE_FEEDBACK", "ChatAnswer", "DeliveryChannel", "DeliveryRecord", "Document", "DocumentSource",
    "Evaluation", "EvaluationPeriod", "Feedback", "FeedbackKind", "FetchReport", "ImportReport",
    "InvalidPaperId", "ModelCheck", "Paper", "Passage", "PassageKind", "Probe", "Profile", "Proposal",
    "ProposalStatus", "RankingMetrics", "ReadingList", "Recommendation", "RunUsage", "SearchHit", "Section",
    "SentenceRole",
    "Summary", "TeachCandidate", "ThreadInfo", "ToolRecord", "UpsertResult", "Usage", "normalize_arxiv_id",
    "parse_date", "result_sentence", "shift_day",
]
