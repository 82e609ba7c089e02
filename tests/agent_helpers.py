"""Shared by the agent tests: papers of the bundled sample they talk about."""

from __future__ import annotations

PAPER = "2608.19758"  # "FlashPrefill V2: Block-Sparse Prefill Attention ..." in the bundled sample
OTHER = "2608.14277"
