"""The agent's tool arguments: one pydantic model per tool, its JSON schema what a model sees.

Kept apart from the tools themselves (``toolbox``, ``changes``) so a caller that only describes the
tools (the MCP server answering ``tools/list``) loads pydantic and nothing else: the tools pull in
numpy, the ranking and the store on first use.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


# -- the read-only tools (toolbox) -----------------------------------------------------------------
class SearchArgs(BaseModel):
    query: str = Field("", description="what to look for, in plain words (may be empty with an author or "
                       "category)")
    since: str | None = Field(None, description="first publication day, YYYY-MM-DD")
    until: str | None = Field(None, description="last publication day, YYYY-MM-DD")
    categories: list[str] = Field(default_factory=list, max_length=5,
                                  description="only papers in one of these arXiv categories, e.g. cs.CL")
    authors: list[str] = Field(default_factory=list, max_length=5,
                               description="only papers by one of these authors")
    n: int = Field(8, ge=1, le=25, description="how many papers")


class PaperArgs(BaseModel):
    id: str = Field(description="arXiv id, e.g. 2509.04664")


class ReadArgs(BaseModel):
    id: str = Field(description="arXiv id of a paper in the library")
    section: str | None = Field(None, description="a section number or title, e.g. 3.2 or Limitations "
                                                  "(default: the outline and the abstract)")


class PassagesArgs(BaseModel):
    query: str = Field(description="what to find in the papers' full text")
    ids: list[str] | None = Field(None, max_length=10, description="only these papers (arXiv ids)")
    n: int = Field(8, ge=1, le=20)


class SimilarArgs(BaseModel):
    id: str = Field(description="arXiv id of the paper to start from")
    n: int = Field(5, ge=1, le=20)


class ProfileArgs(BaseModel):
    profile: str | None = Field(None, description="profile name (default: the active one)")


class RecommendArgs(BaseModel):
    n: int = Field(10, ge=1, le=30, description="how many papers")
    profile: str | None = Field(None, description="profile name (default: the active one)")


class CompareArgs(BaseModel):
    ids: list[str] = Field(min_length=2, max_length=5, description="2 to 5 arXiv ids")


# -- the state-changing tools (changes) ------------------------------------------------------------
class UpdateProfileArgs(BaseModel):
    add_keywords: list[str] = Field(default_factory=list, description="keywords to add")
    remove_keywords: list[str] = Field(default_factory=list, description="keywords to remove")
    add_authors: list[str] = Field(default_factory=list, description="authors to follow")
    remove_authors: list[str] = Field(default_factory=list, description="authors to unfollow")
    add_interests: str | None = Field(None, description="text appended to the free-text interests")
    interests: str | None = Field(None, description="replaces the free-text interests")
    profile: str | None = Field(None, description="profile name (default: the active one)")


class FeedbackArgs(BaseModel):
    id: str = Field(description="arXiv id")
    kind: Literal["like", "dislike", "save", "dismiss"]
    undo: bool = Field(False, description="take the feedback back")


class FetchArgs(BaseModel):
    source: Literal["hf", "arxiv", "all"] = Field("all", description="hf = Hugging Face Daily Papers")
    date: str | None = Field(None, description="one day, YYYY-MM-DD (default: today's lists)")
    query: str | None = Field(None, description="arXiv search query, e.g. 'ti:diffusion AND cat:cs.CV'")


class UndoArgs(BaseModel):
    change: str | None = Field(None, description="the change id to take back, e.g. c2 (default: the latest)")
