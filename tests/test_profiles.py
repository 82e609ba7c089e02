"""Profiles and feedback in SQLite: CRUD, feedback rules, persistence, likes-file parsing."""

from __future__ import annotations

from datetime import date

import pytest

from papercast.errors import UserError
from papercast.store.profiles import ProfileExists, ProfileStore, UnknownProfile
from papercast.tools.sources.bibtex import parse_likes


@pytest.fixture
def store(tmp_path):
    return ProfileStore(tmp_path / "papercast.db")


def test_create_get_list_and_first_profile_becomes_active(store):
    assert store.list() == [] and store.active_name() is None
    p = store.create("nlp", interests="  retrieval-augmented   generation ",
                     keywords=["RAG", "rag", " KV cache "], authors=["Ada Lovelace"], categories=["cs.CL"])
    assert p.interests == "retrieval-augmented generation"
    assert p.keywords == ["RAG", "KV cache"]  # deduplicated case-insensitively, first spelling kept
    store.create("astro", interests="galaxy formation")
    assert [x.name for x in store.list()] == ["astro", "nlp"]
    assert store.active_name() == "nlp"
    assert store.get("NLP").name == "nlp"  # names are case-insensitive
    assert store.use("astro").name == "astro" and store.active_name() == "astro"


def test_duplicate_and_unknown_and_invalid_names(store):
    store.create("ml")
    with pytest.raises(ProfileExists, match="ml"):
        store.create("ML")
    with pytest.raises(UnknownProfile, match="nope"):
        store.get("nope")
    with pytest.raises(UnknownProfile):
        store.use("nope")
    with pytest.raises(UserError, match="invalid profile name"):
        store.create("")
    with pytest.raises(UserError, match="invalid profile name"):
        store.create("../etc")
    assert issubclass(UnknownProfile, UserError) and issubclass(ProfileExists, UserError)


def test_update_replaces_adds_and_removes(store):
    store.create("p", keywords=["a", "b"], authors=["X Y"])
    p = store.update("p", interests="new text", add_keywords=["c", "A"], remove_keywords=["b"],
                     add_excluded=["survey"], add_categories=["cs.LG"], remove_authors=["x y"])
    assert (p.interests, p.keywords, p.excluded_keywords, p.authors, p.categories) == (
        "new text", ["a", "c"], ["survey"], [], ["cs.LG"])
    p = store.update("p", keywords=["z"], remove_excluded=["SURVEY"])
    assert p.keywords == ["z"] and p.excluded_keywords == [] and p.interests == "new text"
    assert p.updated >= p.created


def test_rename_moves_feedback_and_active_status(store):
    store.create("old")
    store.add_feedback("old", ["2401.00001"], "like")
    store.create("other")
    with pytest.raises(ProfileExists):
        store.rename("old", "Other")
    p = store.rename("old", "new")
    assert p.liked == ["2401.00001"] and store.active_name() == "new"
    with pytest.raises(UnknownProfile):
        store.get("old")
    assert store.rename("new", "NEW").name == "NEW"  # a change of case only is allowed


def test_delete_removes_feedback_and_active_falls_back(store):
    store.create("a")
    store.create("b")
    store.add_feedback("a", ["2401.00001"], "like")
    store.delete("a")
    assert store.active_name() is None
    profile, created = store.ensure_default("default", "x")
    assert (profile.name, created) == ("b", False)  # the remaining profile, not a new starter
    store.create("a")
    assert store.get("a").feedback == []  # no feedback resurrected from the deleted profile
    with pytest.raises(UnknownProfile):
        store.delete("zzz")


def test_ensure_default_creates_the_starter_once(store):
    p, created = store.ensure_default("default", "efficient fine-tuning")
    assert created and p.name == "default" and p.interests == "efficient fine-tuning"
    p2, created2 = store.ensure_default("default", "other")
    assert not created2 and p2.interests == "efficient fine-tuning"
    assert store.active_name() == "default"


def test_feedback_rules(store):
    store.create("p")
    p = store.add_feedback("p", ["2401.00001", "2401.00002"], "like")
    assert p.liked == ["2401.00001", "2401.00002"]
    p = store.add_feedback("p", ["2401.00001"], "dislike")  # a dislike takes the like back
    assert p.liked == ["2401.00002"] and p.disliked == ["2401.00001"]
    p = store.add_feedback("p", ["2401.00001"], "like")  # and vice versa
    assert p.liked == ["2401.00002", "2401.00001"] and p.disliked == []
    first = {f.paper_id: f.at for f in p.feedback}
    p = store.add_feedback("p", ["2401.00002"], "like")  # a repeat keeps the first timestamp
    assert {f.paper_id: f.at for f in p.feedback}["2401.00002"] == first["2401.00002"]
    p = store.add_feedback("p", ["2401.00003"], "save")
    p = store.add_feedback("p", ["2401.00003"], "dismiss")
    assert p.saved == ["2401.00003"] and p.dismissed == ["2401.00003"]
    p = store.remove_feedback("p", ["2401.00003"], "dismiss")
    assert p.dismissed == [] and p.saved == ["2401.00003"]
    p = store.remove_feedback("p", ["2401.00001", "2401.00003"])
    assert p.liked == ["2401.00002"] and p.saved == []
    with pytest.raises(UserError, match="unknown feedback kind"):
        store.add_feedback("p", ["2401.00001"], "love")  # type: ignore[arg-type]


def test_a_rating_keeps_the_window_of_the_list_it_was_given_in(store):
    """eval replays a day on the list it was rated in, so the list's dates are kept with each rating;
    a rating given outside a list has none, and a repeat keeps the first rating's window as its time."""
    store.create("w")
    week = (date(2026, 8, 3), date(2026, 8, 9))
    store.add_feedback("w", ["2401.00001", "2401.00002"], "like", window=week)
    store.add_feedback("w", ["2401.00003"], "dislike")
    p = store.add_feedback("w", ["2401.00001"], "like", window=(date(2026, 8, 10), date(2026, 8, 16)))
    assert {f.paper_id: f.window for f in p.feedback} == {"2401.00001": week, "2401.00002": week,
                                                         "2401.00003": None}
    p = store.add_feedback("w", ["2401.00003"], "like", window=week)  # a like replaces the dislike
    assert {f.paper_id: f.window for f in p.feedback}["2401.00003"] == week


def test_persists_across_store_instances(tmp_path):
    db = tmp_path / "papercast.db"
    ProfileStore(db).create("keep", interests="topology")
    ProfileStore(db).add_feedback("keep", ["2401.00001"], "like")
    from papercast.store.db import close_all

    close_all()
    p = ProfileStore(db).get("keep")
    assert p.interests == "topology" and p.liked == ["2401.00001"]


def test_parse_plain_id_list():
    text = ("# my likes\n2401.01234v2\nhttps://arxiv.org/abs/2312.00001, arXiv:2311.00002\n"
            "hep-th/9901001\nbogus\n")
    parsed = parse_likes(text)
    assert parsed.ids == ["2401.01234", "2312.00001", "2311.00002", "hep-th/9901001"]
    assert parsed.skipped == ["line 5: not an arXiv id: 'bogus'"]


def test_parse_bibtex_all_id_locations():
    text = """
@article{a, title={Attention {Is} All}, eprint={1706.03762}, archivePrefix={arXiv}, primaryClass={cs.CL}}
@misc{b, title = "B", url = {https://arxiv.org/abs/2401.00002v3}}
@misc{c, title={C}, doi={10.48550/arXiv.2402.00003}}
@article{d, title={D}, journal={arXiv preprint arXiv:2403.00004}, year={2024}}
@inproceedings{e, title={E}, booktitle={NeurIPS}, year=2020}
@comment{ignored}
@article{f, title={F}, eprint={2404.00005}, archivePrefix={arXiv}, doi={10.1000/xyz}}
"""
    parsed = parse_likes(text)
    assert parsed.ids == ["1706.03762", "2401.00002", "2402.00003", "2403.00004", "2404.00005"]
    assert parsed.skipped == ["@inproceedings{e}: no arXiv id"]
