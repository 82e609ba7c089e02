"""The service's raw parts for the benchmarks: the one place that reaches past its public methods.

The benchmarks build large stores (papers with precomputed vectors, profiles rated on given days) and
time the ranker's tools on them directly, which the service's public methods do not offer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from papercast.service import Papercast
    from papercast.store.deliveries import DeliveryStore
    from papercast.store.documents import DocumentStore
    from papercast.store.llm_log import LLMLog
    from papercast.store.papers import PaperStore
    from papercast.store.passages import PassageStore
    from papercast.store.profiles import ProfileStore


def paper_store(service: Papercast) -> PaperStore:
    return service._store


def profile_store(service: Papercast) -> ProfileStore:
    return service._profiles


def delivery_store(service: Papercast) -> DeliveryStore:
    return service._deliveries


def passage_store(service: Papercast) -> PassageStore:
    return service._passages


def document_store(service: Papercast) -> DocumentStore:
    return service._documents


def llm_log(service: Papercast) -> LLMLog:
    return service._llm_log
