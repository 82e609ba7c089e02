"""An author's papers in the whole library, to seed a new profile's likes (``profile create --from-author``).

Names match as the ranker matches followed authors (``pool.author_match``), with one difference:
a surname alone is refused. Following "LeCun" only adds a reason to papers that are shown anyway,
but liking every paper by any LeCun would teach the profile someone else's field.

The library is read as (id, authors) rows that the store streams (``PaperStore.author_lists``):
a 50k-paper library is matched without building a paper or holding the rows. A name with no paper
is an error naming the closest authors in the library (a second pass, only then).
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence

from papercast.errors import UserError
from papercast.tools.ranking.pool import author_match, name_key

AuthorRows = Callable[[], Iterator[tuple[str, Sequence[str]]]]  # a new pass over every paper at each call
SUGGESTED = 3  # closest authors named when a name has no paper
# How alike (difflib ratio) a suggested name must be: typos and initials ("Frank Dernoncort",
# "F. Dernoncourt": 0.84 and more) pass, strangers who share a few letters ("Yann LeCun" / "Yanan Sun":
# 0.74) do not.
SIMILAR = 0.8


def find_papers(rows: AuthorRows, names: Sequence[str]) -> dict[str, list[str]]:
    """The ids of every paper by each name, in the store's order; a UserError when a name is a
    surname alone, when the library has no papers, or when a name has no paper (all of them said
    in one line, each with the closest authors the library has)."""
    spellings: dict[str, str] = {}  # one entry per name as matched: "Yann LeCun" and "yann lecun" are one
    for name in names:
        spellings.setdefault(name_key(name), " ".join(name.split()))
    wanted = list(spellings.values())
    blank = [name for name in wanted if not name_key(name)]
    if blank:
        raise UserError(f"not an author name: {', '.join(map(repr, blank))} (names are matched in Latin "
                        "letters, as arXiv lists them)")
    loose = [name for name in wanted if len(name_key(name).split()) < 2]
    if loose:
        raise UserError(f"{', '.join(map(repr, loose))}: a surname alone is too loose to like papers by; "
                        "give a first name or initial too, e.g. 'Yann LeCun' or 'Y. LeCun'")
    found, read = _match(rows(), wanted)
    if not read:
        raise UserError("the library has no papers yet: `papercast import FILE` or `papercast fetch` first")
    missing = [name for name in wanted if not found[name]]
    if missing:
        closest = closest_authors(rows(), missing)
        raise UserError("; ".join(_no_paper(name, closest[name]) for name in missing))
    return found


def _match(rows: Iterable[tuple[str, Sequence[str]]],
           names: Sequence[str]) -> tuple[dict[str, list[str]], int]:
    """(name -> ids of its papers, how many papers were read), in one pass."""
    by_surname: dict[str, list[tuple[str, list[str]]]] = {}
    for name in names:
        words = name_key(name).split()
        by_surname.setdefault(words[-1], []).append((name, words))
    found: dict[str, list[str]] = {name: [] for name in names}
    count = 0
    surnames = list(by_surname)
    for pid, authors in rows:
        count += 1
        text = "\n".join(authors).lower()
        if text.isascii() and not any(s in text for s in surnames):
            continue  # none of them (name_key for every author of 50k papers: ~0.6 s; accents need it)
        for author in authors:
            words = name_key(author).split()
            for name, wanted in by_surname.get(words[-1], ()) if words else ():
                ids = found[name]
                if (not ids or ids[-1] != pid) and author_match(wanted, words):
                    ids.append(pid)
    return found, count


def closest_authors(rows: Iterable[tuple[str, Sequence[str]]], names: Sequence[str],
                    n: int = SUGGESTED) -> dict[str, list[tuple[str, int]]]:
    """For each name, up to ``n`` authors of the library whose names are nearest to it (difflib on
    the ``name_key`` forms), each as a paper writes it with its number of papers, most alike first."""
    papers: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    for _, authors in rows:
        keys: dict[str, str] = {}
        for author in authors:
            keys.setdefault(name_key(author), author)
        keys.pop("", None)
        papers.update(keys.keys())  # each author once per paper
        for key, author in keys.items():
            if key not in spelled:
                spelled[key] = " ".join(author.split())
    out: dict[str, list[tuple[str, int]]] = {}
    for name in names:
        close = difflib.get_close_matches(name_key(name), spelled, n=n, cutoff=SIMILAR)
        out[name] = [(spelled[key], papers[key]) for key in close]
    return out


def _no_paper(name: str, closest: Sequence[tuple[str, int]]) -> str:
    if not closest:
        return f"no paper by {name!r} in the library, nor by anyone with a similar name"
    (first, count), *rest = closest
    shown = [f"{first} ({count} paper{'s' if count != 1 else ''})", *(f"{a} ({c})" for a, c in rest)]
    return f"no paper by {name!r} in the library; closest authors: {', '.join(shown)}"

