"""The e-mall's keyword index and relevance search (see docs/emall.md, "Search").

* **Tokens.** Text is NFKC-normalised and case-folded. A run of Chinese characters gives
  its overlapping bigrams plus its last character (``打印机`` → ``打印 印机 机``), so every
  two-character keyword is one token and a one-character keyword is a prefix query; a run
  of letters/digits is one word (``dt557e``; a model is also indexed without separators).
  The pinyin of every Chinese run (name, brand, category path) is indexed the same way:
  syllable bigrams (``yimiao``) and initials bigrams (``ym``), so ``yimiao``, ``ym`` and
  ``dayinji`` find 疫苗 and 打印机.
* **Fields.** Three weighted fields: name (with brand and model), the category path (root
  to leaf), attribute values. Relevance tiers: a term in the name above the category path
  above the attributes; within a field, the exact phrase above scattered characters.
* **Storage.** PostgreSQL: ``emall_listing.search_vector`` (a ``tsvector`` with weights A/B/C
  and positions) under a GIN index, written in the listing's own INSERT/UPDATE. SQLite: the
  FTS5 table ``emall_listing_fts`` (rowid = listing id, columns name/category/attrs/head, and
  ``cats``: the tokens ``c<id>`` of the listing's category and its ancestors, so that a
  category filter is intersected inside the index), written after the listing's flush in the
  same transaction. Both are maintained by session events
  (:func:`install_listeners`), rebuilt by :func:`reindex` (``erp emall reindex``) and caught
  up automatically when rows arrive through bulk loaders (demo data, imports).
* **Queries.** Space-separated terms, all must match; each term is expanded at query time
  with the synonyms table (:class:`~addons.emall.models.EmallSynonym`: whole term, a
  synonym inside a longer term, or a synonym's pinyin/initials) and with pinyin readings.
  A query with no hit is retried once with one bigram of a term allowed to miss (a typo in
  one character): the result is marked approximate.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    String,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy import text as sql_text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

from core.services.cjk_search import (  # noqa: F401  (moved to core; the e-mall's names kept)
    ASCII_WORD,
    FIELD_BASE,
    HAN_RUN,
    MAX_TOKEN,
    PINYIN_GAP,
    SPLIT_SYNONYMS,
    TOKEN_RUN,
    Phrase,
    Term,
    build_terms,
    field_tokens,
    fts_query,
    han_tokens,
    norm,
    parse_synonyms,
    pg_marked_query,
    relaxed,
    split_pinyin,
    synonym_index,
)
from core.services.cjk_search import cached_marked_segment as _cached_segment
from core.services.cjk_search import char_readings as _char_readings  # noqa: F401
from core.services.cjk_search import fts_phrase as _fts_phrase  # noqa: F401
from core.services.cjk_search import marked_segment as _marked_segment
from core.services.cjk_search import pg_phrase as _pg_phrase  # noqa: F401
from core.services.cjk_search import pinyin_alts as _pinyin_alts  # noqa: F401
from core.services.cjk_search import run_pinyin as _run_pinyin
from core.services.cjk_search import syllables as _syllables  # noqa: F401
from core.services.cjk_search import text_alt as _text_alt  # noqa: F401

from .models import EmallCategory, EmallListing, EmallSynonym

FTS_TABLE = "emall_listing_fts"
FTS = table(FTS_TABLE, column("rowid"))
UNSCOPED = {"erp_unscoped": True}



# -- documents ------------------------------------------------------------------------------------
@dataclass
class Doc:
    """A listing's index document: token lists per field (name with brand and model, category
    path, attribute values, and the head: the last three characters of the name and of the
    leaf category, where Chinese says what the product is: 口蹄疫灭活**疫苗**, not
    疫苗冷**藏箱**)."""

    name: tuple[str, ...]
    category: tuple[str, ...]
    attrs: tuple[str, ...]
    head: tuple[str, ...] = ()
    #: SQLite only: the ids of the listing's category and of its ancestors, as tokens
    #: ``c<id>`` of the FTS5 column ``cats`` (see :func:`fts_category`)
    cats: tuple[str, ...] = ()
    #: the listing's price (PostgreSQL: one price-band token, :func:`price_band_token`)
    price: Any = None

    def fts_values(self) -> tuple[str, str, str, str, str]:
        return (" ".join(self.name), " ".join(self.category), " ".join(self.attrs), " ".join(self.head),
                " ".join(self.cats))

    def tsvector(self) -> str:
        """A ``tsvector`` literal with positions and weights (A name, B category, C attributes,
        D head), each lexeme marked with its field (``'A打印':3A``: a query on one field is an
        index lookup; :func:`core.services.cjk_search.marked_segment`)."""
        return " ".join(x for x in (_marked_segment(self.name, "A"), _cached_segment(self.category, "B"),
                                    _cached_segment(self.attrs, "C"), _cached_segment(self.head, "D"),
                                    price_band_token(self.price)) if x)


#: the lower edges of the price bands from 1 yuan up (``10^(k/10)`` yuan rounded to the cent,
#: 10 bands per decade), computed once in decimal arithmetic: a price's band is a comparison
#: of money, never a float
PRICE_BAND_EDGES: tuple[Decimal, ...] = tuple(
    (Decimal(10) ** (Decimal(k) / 10)).quantize(Decimal("0.01")) for k in range(150))


def price_band(price: Any) -> int | None:
    """The listing's price band of the index: 0 below 1 yuan, then 10 per decade (about
    ``floor(10·log10(price)) + 10``: 1,000–1,258.92 yuan is 40), monotonic in the price, so a
    price range is the bands from its low to its high end (the exact range is still checked on
    the row)."""
    if price is None:
        return None
    n = bisect.bisect_right(PRICE_BAND_EDGES, Decimal(price))
    return 0 if n == 0 else 9 + n


def price_band_token(price: Any) -> str:
    """The price's band ``'P<band>'`` and its decade ``'Q<band // 10>'`` (a range queries whole
    decades with one lexeme each and its two ends with bands: fewer lexemes to intersect)."""
    band = price_band(price)
    return "" if band is None else f"'P{band}' 'Q{band // 10}'"


#: a price range needing more lexemes than this is not looked up in the index (only the rows'
#: price is checked): the OR of many lexemes costs more than it saves
PRICE_LEXEMES_MAX = 12


def price_query(price_min: Any, price_max: Any) -> str | None:
    """The ``tsquery`` of the price bands a range covers (whole decades as one ``Q`` lexeme,
    the ends as ``P`` bands), or None (no range, or too wide to be worth it)."""
    if price_min is None and price_max is None:
        return None
    lo = price_band(max(price_min, 0)) if price_min is not None else 0
    hi = price_band(price_max) if price_max is not None else None
    if hi is None or hi < lo:
        return None
    out, b = [], lo
    while b <= hi:
        if b % 10 == 0 and b + 9 <= hi:
            out.append(f"'Q{b // 10}'")
            b += 10
        else:
            out.append(f"'P{b}'")
            b += 1
    if len(out) > PRICE_LEXEMES_MAX:
        return None
    return "(" + " | ".join(out) + ")"


_BRACKETS = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")


@functools.lru_cache(maxsize=50_000)
def head_tokens(name: str) -> tuple[str, ...]:
    runs = HAN_RUN.findall(_BRACKETS.sub(" ", norm(name)))
    if not runs:
        return ()
    run = runs[-1][-3:]
    full, initials = _run_pinyin(run)
    py = [full[i] + full[i + 1] for i in range(len(run) - 1) if full[i] and full[i + 1]]
    py += [initials[i] + initials[i + 1] for i in range(len(run) - 1) if initials[i] and initials[i + 1]]
    return (*han_tokens(run), "\n", *py) if py else tuple(han_tokens(run))


@functools.lru_cache(maxsize=20_000)
def _path_tokens(path: tuple[str, ...]) -> tuple[str, ...]:
    toks: list[str] = []
    py: list[str] = []
    for cname in path:
        t, p = field_tokens(cname, pinyin=True, initials=False)
        toks.extend(t)
        py.extend(p)
    return (*toks, "\n", *py) if py else tuple(toks)


_NON_WORD = re.compile(r"[\W_]+")


def make_doc(name: Any, brand: Any, model: Any, category_path: Sequence[str],
             attributes: dict[str, Any] | None, category_ids: Sequence[int] = (),
             price: Any = None) -> Doc:
    n_toks, n_py = field_tokens(str(name or ""), pinyin=True)
    b_toks, b_py = field_tokens(str(brand or ""), pinyin=True)
    m_toks, _ = field_tokens(str(model or ""), pinyin=False)
    name_toks = [*n_toks, *b_toks, *m_toks]
    compact = _NON_WORD.sub("", norm(model))
    if compact and compact not in m_toks and not HAN_RUN.search(compact):
        name_toks.append(compact[:MAX_TOKEN])
    if n_py or b_py:
        name_toks += ["\n", *n_py, *b_py]
    attr_toks: list[str] = []
    for v in (attributes.values() if isinstance(attributes, dict) else ()):  # unchecked input: skip
        if v in (None, "", "true", "false"):
            continue
        attr_toks.extend(field_tokens(str(v), pinyin=False)[0])
    head = head_tokens(str(name or ""))
    if category_path:  # the leaf category says what the product is, too
        head = (*head, "\n", *head_tokens(category_path[-1]))
    return Doc(tuple(name_toks), _path_tokens(tuple(category_path)), tuple(attr_toks), head,
               tuple(cat_token(c) for c in category_ids), price)


# -- SQLite: the category subtree inside the index -------------------------------------------------
#: the FTS5 columns a keyword is looked up in (every column but ``cats``, whose tokens are no
#: words: a model number ``C1234`` must not find the listings of category 1234)
FTS_TEXT_COLUMNS = "{name category attrs head}"


def cat_token(category_id: int) -> str:
    return f"c{int(category_id)}"


def fts_text(expr: str) -> str:
    """An FTS5 expression looked up in the text columns only (not ``cats``)."""
    return f"{FTS_TEXT_COLUMNS} : ({expr})"


def fts_category(category_id: int) -> str:
    """The FTS5 expression of the listings of a category's subtree: every listing's ``cats``
    holds the token of its category and of each ancestor, so the index intersects a keyword
    with a category itself instead of the listings table filtering every hit of the keyword."""
    return f'cats : "{cat_token(category_id)}"'


def fts_match(terms: list[Term], category_id: int | None = None) -> str:
    """The FTS5 text of a search: every term in the text columns, and the category's subtree."""
    expr = fts_text(fts_query(terms))
    return expr if category_id is None else f"{expr} AND {fts_category(category_id)}"


# -- the category tree (per worker) ---------------------------------------------------------------
@dataclass
class CatInfo:
    id: int
    code: str
    name: str
    parent_id: int | None
    sequence: int


_CATS: dict[str, Any] = {"at": -1.0, "key": None, "cats": {}, "children": {}, "chains": None,
                         "gen": 0}
CAT_TTL = 30.0


def _db_key(session: Session) -> str:
    bind = session.get_bind()
    return str(getattr(bind, "url", None) or bind.engine.url)


def tree_stamp() -> Any:
    """One cheap aggregate row that changes when a category is added, removed, renamed,
    moved or re-sequenced in any worker (or when a test swaps the database under the same
    URL): count, highest id, and sums over name lengths, parents and sequences."""
    return select(func.count(EmallCategory.id), func.max(EmallCategory.id),
                  func.sum(func.length(EmallCategory.name)),
                  func.sum(func.coalesce(EmallCategory.parent_id, 0)),
                  func.sum(EmallCategory.sequence))


def categories(session: Session) -> dict[int, CatInfo]:
    """id → category of this worker's copy: re-read when :func:`tree_stamp` changes, after a
    category is saved in this worker, and at least every 30 s (a rename to a name of the
    same length elsewhere)."""
    # the stamp is read once per transaction of the session (a search asks two or three times)
    real = session() if isinstance(session, scoped_session) else session
    tx = real.get_transaction()
    memo = real.info.get("emall_category_stamp")
    now_ = time.monotonic()
    if memo is not None and memo[0] is tx and tx is not None and memo[1] == _CATS["gen"] \
            and now_ - _CATS["at"] <= CAT_TTL:
        return _CATS["cats"]
    stamp = tuple(session.execute(tree_stamp(), execution_options=UNSCOPED).one())
    key = (_db_key(session), stamp)
    if now_ - _CATS["at"] > CAT_TTL or _CATS["key"] != key:
        cats = {r.id: CatInfo(r.id, r.code, r.name, r.parent_id, r.sequence) for r in session.execute(
            select(EmallCategory.id, EmallCategory.code, EmallCategory.name, EmallCategory.parent_id,
                   EmallCategory.sequence), execution_options=UNSCOPED)}
        children: dict[int | None, list[int]] = {}
        for c in cats.values():
            children.setdefault(c.parent_id, []).append(c.id)
        _CATS.update(at=now_, key=key, cats=cats, children=children, chains=None,
                     gen=_CATS["gen"] + 1)
    real.info["emall_category_stamp"] = (real.get_transaction(), _CATS["gen"])
    return _CATS["cats"]


def category_chains(session: Session) -> dict[int, tuple[int, ...]]:
    """id → the ids from its top-level category down to itself (cached with the tree)."""
    cats = categories(session)
    chains = _CATS["chains"]
    if chains is None:
        chains = {cid: tuple(category_chain(cats, cid)) for cid in cats}
        _CATS["chains"] = chains
    return chains


def category_children(session: Session) -> dict[int | None, list[int]]:
    categories(session)
    return _CATS["children"]


def invalidate_categories() -> None:
    _CATS["at"] = -1.0
    _CATS["gen"] += 1


def category_path(cats: dict[int, CatInfo], category_id: int | None) -> list[str]:
    return [cats[c].name for c in category_chain(cats, category_id)]


def category_chain(cats: dict[int, CatInfo], category_id: int | None) -> list[int]:
    """The ids from the top-level category down to ``category_id``."""
    out: list[int] = []
    cur, seen = category_id, set()
    while cur is not None and cur in cats and cur not in seen:
        seen.add(cur)
        out.append(cur)
        cur = cats[cur].parent_id
    return out[::-1]


def subtree(session: Session, category_id: int) -> list[int]:
    children = category_children(session)
    out, todo = [], [category_id]
    while todo:
        c = todo.pop()
        if c in out:
            continue
        out.append(c)
        todo.extend(children.get(c, ()))
    return out


# -- synonyms (per worker, re-read when the table changes) -----------------------------------------
_SYN: dict[str, Any] = {"key": None, "map": {}, "pinyin": {}}


def synonym_map(session: Session) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(word → the words it also means, pinyin or initials → words) of the active synonyms."""
    S = EmallSynonym
    stamp = tuple(session.execute(select(func.count(S.id), func.max(S.id), func.max(S.updated_at)),
                                  execution_options=UNSCOPED).one())
    key = (_db_key(session), stamp)
    if _SYN["key"] != key:
        mapping, by_pinyin = synonym_index(session.execute(
            select(S.term, S.synonyms, S.mutual).where(S.active.is_(True)), execution_options=UNSCOPED))
        _SYN.update(key=key, map=mapping, pinyin=by_pinyin)
    return _SYN["map"], _SYN["pinyin"]


def invalidate_synonyms() -> None:
    _SYN["key"] = None


def validate_synonym(session: Session, obj: EmallSynonym) -> None:
    """同义词: a word, at least one other word it also means (、 or commas), each at most 30
    characters; a word is listed once (409). Stored trimmed, the synonyms joined by 、."""
    from addons.procurement_base.services import Errors

    errors = Errors()
    term = " ".join(str(obj.term or "").split())
    words = [w.strip() for w in SPLIT_SYNONYMS.split(str(obj.synonyms or "")) if w.strip()]
    if not term:
        errors.add("term", "请填写词语")
    elif len(term) > 30:
        errors.add("term", "词语不能超过 30 个字符")
    elif not TOKEN_RUN.search(norm(term)):
        errors.add("term", "词语须含汉字、字母或数字")
    unique: list[str] = []
    for w in words:
        if norm(w) != norm(term) and norm(w) not in (norm(u) for u in unique):
            unique.append(w)
    if not unique:
        errors.add("synonyms", "请填写至少一个同义词（多个用顿号“、”或逗号分隔），且不能与词语相同")
    elif any(len(w) > 30 for w in unique):
        errors.add("synonyms", "每个同义词不能超过 30 个字符")
    elif len("、".join(unique)) > 500:
        errors.add("synonyms", "同义词合计不能超过 500 个字符")
    if obj.note is not None and len(str(obj.note)) > 200:
        errors.add("note", "备注不能超过 200 个字符")
    if term and "term" not in errors:
        with session.no_autoflush:
            for oid, other in session.execute(select(EmallSynonym.id, EmallSynonym.term),
                                              execution_options=UNSCOPED):
                if oid != obj.id and norm(other) == norm(term):
                    errors.add("term", f"“{other}”已有同义词记录（编号 {oid}），请修改该记录", duplicate=True)
                    break
    errors.raise_if_any()
    obj.term = term
    obj.synonyms = "、".join(unique)
    obj.mutual = bool(obj.mutual)
    obj.active = True if obj.active is None else bool(obj.active)
    obj.updated_at = dt.datetime.now().replace(microsecond=0)


# -- queries --------------------------------------------------------------------------------------
def parse_query(session: Session, q: str | None) -> list[Term]:
    syn, by_pinyin = synonym_map(session)
    return build_terms(q, syn, by_pinyin)


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def match_ids(session: Session, terms: list[Term], pg_extra: str | None = None) -> Any:
    """A SELECT of the listing ids matching every term, from the index only (PostgreSQL:
    ``pg_extra``, e.g. :func:`price_query`, is and-ed into the index query)."""
    if dialect_of(session) == "postgresql":
        from sqlalchemy.dialects.postgresql import TSQUERY

        L = EmallListing
        q = pg_query_anywhere(terms) + (f" & {pg_extra}" if pg_extra else "")
        return select(L.id).where(L.search_vector.op("@@")(cast(literal(q, String), TSQUERY)))
    return select(FTS.c.rowid).where(literal_column(FTS_TABLE).op("MATCH")(literal(fts_match(terms), String)))


#: "anywhere" for a Chinese token on PostgreSQL: name, category path, attributes. The head
#: (D) is the last three characters of the name and of the leaf category, so its Chinese
#: tokens are always in the name or the path too (its pinyin may differ: a reading fixed by
#: the character before the three; its initials are not in the path), so only pinyin and
#: other letter tokens are also looked up in the head
HAN_ANYWHERE = ("A", "B", "C")


def pg_query_anywhere(terms: list[Term]) -> str:
    """The ``tsquery`` of terms matching in any field of the marked document."""
    return pg_marked_query(terms, han_fields=HAN_ANYWHERE)


def _cond(session: Session, term: Term, field_: str, adjacent: bool) -> str:
    """The index expression of one feature of a term: ``field_`` name/category/attrs/head
    (PostgreSQL weights A/B/C/D) or "" for any field."""
    if dialect_of(session) == "postgresql":
        return pg_marked_query([term], {"name": "A", "category": "B", "attrs": "C", "head": "D", "": ""}[field_],
                               adjacent, HAN_ANYWHERE)
    return fts_query([term], field_, adjacent)


def term_features(session: Session, term: Term) -> dict[str, str]:
    """H head phrase, Np/N name phrase/anywhere, Cp/C category, Ap/A attributes."""
    multi = term.multi
    f = {"H": _cond(session, term, "head", True), "N": _cond(session, term, "name", False),
         "C": _cond(session, term, "category", False), "A": _cond(session, term, "attrs", False)}
    for k, col in (("Np", "name"), ("Cp", "category"), ("Ap", "attrs")):
        f[k] = _cond(session, term, col, True) if multi else f[k[0]]
    return f


#: relevance tiers of one term, best first: (features present, features absent, points).
#: Points: head 700 > name phrase 600 > name 500, plus 30 when the category also matches;
#: without a head or name match: category phrase 40 > category 30 > attribute phrase 2 >
#: attribute 1. Each tier excludes every feature of the tiers above it, so the tiers are
#: disjoint (a hit is read once, in the tier of its points).
TIERS = (
    (("H", "C"), (), 730), (("H",), ("C",), 700),
    (("Np", "C"), ("H",), 630), (("Np",), ("H", "C"), 600),
    (("N", "C"), ("H", "Np"), 530), (("N",), ("H", "Np", "C"), 500),
    (("Cp",), ("H", "N"), 40), (("C",), ("H", "N", "Cp"), 30),
    (("Ap",), ("H", "N", "C"), 2), (("A",), ("H", "N", "C", "Ap"), 1),
)


def _match(session: Session, expr: str) -> Any:
    """A condition on EmallListing: the listing matches an index expression."""
    L = EmallListing
    if dialect_of(session) == "postgresql":
        from sqlalchemy.dialects.postgresql import TSQUERY

        return L.search_vector.op("@@")(cast(literal(expr, String), TSQUERY))
    return L.id.in_(select(FTS.c.rowid).where(literal_column(FTS_TABLE).op("MATCH")(literal(expr, String))))


def score_expr(session: Session, terms: list[Term], *, category_id: int | None = None) -> Any:
    """Sum over the terms of the points of :data:`TIERS` (the same order the tiered page
    reading gives). SQLite: with ``category_id`` (the search's category filter) each
    feature's lookup keeps only that subtree's listings (the same points for the hits, which
    are all in it; a few hundred rowids per feature instead of every listing with the word)."""
    within = f" AND {fts_category(category_id)}" \
        if category_id is not None and dialect_of(session) != "postgresql" else ""
    total = None
    for term in terms:
        f = {k: _match(session, f"({v}){within}" if within else v)
             for k, v in term_features(session, term).items()}
        name = case((f["H"], 700), (f["Np"], 600), (f["N"], 500), else_=0)
        other = case((or_(f["H"], f["N"]), case((f["C"], 30), else_=0)), (f["Cp"], 40), (f["C"], 30), (f["Ap"], 2),
                     (f["A"], 1), else_=0)
        expr = name + other
        total = expr if total is None else total + expr
    return total if total is not None else literal(0)


# -- writing the index ----------------------------------------------------------------------------
def doc_for(session: Session, listing: EmallListing) -> Doc:
    """The document of a listing in the session (before its flush the category may be set
    as the relationship only)."""
    from sqlalchemy import inspect as sa_inspect

    cats = categories(session)
    cid = listing.category_id
    if "category" not in sa_inspect(listing).unloaded and listing.category is not None:
        cid = listing.category.id if listing.category.id is not None else cid
    chain = category_chain(cats, cid)
    return make_doc(listing.name, listing.brand, listing.model, [cats[c].name for c in chain],
                    listing.attributes, chain, listing.price)


def write_docs(conn: Any, docs: Sequence[tuple[int, Doc]]) -> None:
    """Write index documents on a connection (PostgreSQL: the column; SQLite: FTS5 rows)."""
    if not docs:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(sql_text("UPDATE emall_listing SET search_vector = CAST(:v AS tsvector) WHERE id = :id"),
                     [{"id": i, "v": d.tsvector()} for i, d in docs])
        return
    delete_docs(conn, [i for i, _d in docs])
    conn.execute(sql_text(f"INSERT INTO {FTS_TABLE}(rowid, name, category, attrs, head, cats) "
                          "VALUES (:id, :n, :c, :a, :h, :k)"),
                 [dict(zip(("n", "c", "a", "h", "k"), d.fts_values(), strict=True), id=i) for i, d in docs])


def delete_docs(conn: Any, ids: Sequence[int]) -> None:
    if conn.dialect.name == "sqlite" and ids:
        for k in range(0, len(ids), 500):
            chunk = list(ids[k:k + 500])
            conn.execute(sql_text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({','.join(map(str, chunk))})"))


INDEXED_FIELDS = ("name", "brand", "model", "attributes", "category_id", "category")
#: PostgreSQL's document also holds the price band
PG_INDEXED_FIELDS = (*INDEXED_FIELDS, "price")


def _changed(obj: Any, fields: Sequence[str] = INDEXED_FIELDS) -> bool:
    from sqlalchemy import inspect as sa_inspect

    state = sa_inspect(obj)
    return any(state.attrs[f].history.has_changes() for f in fields)


def before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    """PostgreSQL: the document goes into the listing's own INSERT/UPDATE."""
    if dialect_of(session) != "postgresql":
        return
    for obj in (*session.new, *session.dirty):
        if type(obj) is EmallListing and (obj in session.new or _changed(obj, PG_INDEXED_FIELDS)):
            obj.search_vector = doc_for(session, obj).tsvector()


def after_flush(session: Session, flush_context: Any) -> None:
    """SQLite: FTS5 rows of listings created, changed or deleted in this flush; both: a
    renamed or moved category re-indexes the listings of its subtree."""
    cat_changed = [o.id for o in session.dirty if type(o) is EmallCategory and _cat_changed(o)]
    if any(type(o) is EmallCategory for o in (*session.new, *session.dirty, *session.deleted)):
        invalidate_categories()
    if any(type(o) is EmallSynonym for o in (*session.new, *session.dirty, *session.deleted)):
        invalidate_synonyms()
    conn = session.connection()
    if dialect_of(session) == "sqlite":
        docs = [(o.id, doc_for(session, o)) for o in (*session.new, *session.dirty)
                if type(o) is EmallListing and (o in session.new or _changed(o))]
        write_docs(conn, docs)
        delete_docs(conn, [o.id for o in session.deleted if type(o) is EmallListing])
    if cat_changed:
        ids: set[int] = set()
        for cid in cat_changed:
            ids.update(subtree(session, cid))
        reindex_categories(conn, session, sorted(ids))


def _cat_changed(obj: Any) -> bool:
    from sqlalchemy import inspect as sa_inspect

    state = sa_inspect(obj)
    return any(state.attrs[f].history.has_changes() for f in ("name", "parent_id"))


IN_FLUSH = "emall_search_in_flush"


def _flush_started(session: Session, flush_context: Any, instances: Any) -> None:
    session.connection().info[IN_FLUSH] = True


def _flush_ended(session: Session, flush_context: Any) -> None:
    session.connection().info.pop(IN_FLUSH, None)


def after_core_insert(conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any,
                      result: Any) -> None:
    """Rows inserted into the listings outside an ORM flush (the data loader of demo data
    and data files, imports): index the listings that have no index entry yet, on the same
    connection, in the same transaction."""
    from sqlalchemy.sql.dml import Insert

    if not isinstance(clauseelement, Insert) or getattr(clauseelement.table, "name", None) != "emall_listing":
        return
    if conn.info.get(IN_FLUSH):
        return
    if conn.dialect.name == "postgresql":
        where = EmallListing.search_vector.is_(None)
    else:
        where = EmallListing.id.not_in(select(FTS.c.rowid))
    rows = conn.execute(select(*_ROW_COLS).where(where), execution_options=UNSCOPED).all()
    if rows:
        from sqlalchemy.orm import Session as _S

        with _S(bind=conn) as s:
            cats = categories(s)
        write_docs(conn, _docs_of_rows(cats, rows))


def install_listeners() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    for name, fn in (("before_flush", _flush_started), ("before_flush", before_flush),
                     ("after_flush", after_flush), ("after_flush", _flush_ended)):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)
    if not event.contains(Engine, "after_execute", after_core_insert):
        event.listen(Engine, "after_execute", after_core_insert)


_ROW_COLS = (EmallListing.id, EmallListing.name, EmallListing.brand, EmallListing.model,
             EmallListing.attributes, EmallListing.category_id, EmallListing.price)


def _docs_of_rows(cats: dict[int, CatInfo], rows: Iterable[Any]) -> list[tuple[int, Doc]]:
    paths: dict[int, tuple[list[str], list[int]]] = {}
    out = []
    for lid, name, brand, model, attrs, cid, price in rows:
        got = paths.get(cid)
        if got is None:
            chain = category_chain(cats, cid)
            got = paths[cid] = ([cats[c].name for c in chain], chain)
        out.append((lid, make_doc(name, brand, model, got[0], attrs, got[1], price)))
    return out


def reindex_categories(conn: Any, session: Session, category_ids: Sequence[int]) -> int:
    invalidate_categories()
    cats = categories(session)
    n = 0
    for k in range(0, len(category_ids), 500):
        rows = conn.execute(select(*_ROW_COLS).where(EmallListing.category_id.in_(category_ids[k:k + 500])),
                            execution_options=UNSCOPED).all()
        docs = _docs_of_rows(cats, rows)
        write_docs(conn, docs)
        n += len(docs)
    return n


#: PostgreSQL: a reindex of at least this many listings may build its documents in worker
#: processes (:func:`reindex_workers`: one per CPU, at most :data:`REINDEX_WORKERS_MAX`)
PARALLEL_FROM = 50_000
REINDEX_WORKERS_MAX = 4


def reindex_workers(session: Session) -> int:
    """How many processes ``erp emall reindex`` builds documents in: one per CPU (at most
    :data:`REINDEX_WORKERS_MAX`) for :data:`PARALLEL_FROM` listings or more on PostgreSQL
    where ``fork`` exists, else 1."""
    import multiprocessing
    import os

    if dialect_of(session) != "postgresql" or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    n = session.execute(select(func.count(EmallListing.id)), execution_options=UNSCOPED).scalar_one()
    return min(os.cpu_count() or 1, REINDEX_WORKERS_MAX) if n >= PARALLEL_FROM else 1


def reindex(session: Session, *, batch: int = 20_000, progress: Any = None, workers: int = 1) -> int:
    """Rebuild the whole index on the session's connection (the caller commits).

    PostgreSQL (:func:`_pg_reindex`): the listings are locked against writes (reads go on),
    every document is built and copied into a temporary table, then the listings table is
    rewritten once with the new documents and its indexes rebuilt. ``workers`` > 1: the
    documents are built in that many forked processes, each reading listings on its own
    connection, i.e. what is committed: only for a session that has not changed listings in
    its open transaction (``erp emall reindex``; see :func:`reindex_workers`). SQLite: the
    FTS5 table is emptied and refilled."""
    conn = session.connection()
    invalidate_categories()
    cats = categories(session)
    if conn.dialect.name == "postgresql":
        return _pg_reindex(conn, cats, batch=batch, progress=progress, workers=workers)
    total = 0
    conn.execute(sql_text(f"DELETE FROM {FTS_TABLE}"))
    last = 0
    while True:
        rows = conn.execute(select(*_ROW_COLS).where(EmallListing.id > last).order_by(EmallListing.id)
                            .limit(batch), execution_options=UNSCOPED).all()
        if not rows:
            break
        last = rows[-1][0]
        docs = _docs_of_rows(cats, rows)
        conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}(rowid, name, category, attrs, head, cats) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             [(i, *d.fts_values()) for i, d in docs])
        total += len(docs)
        if progress:
            progress(total)
    return total


#: the rows of :data:`_ROW_COLS` in an id range, as plain SQL for the worker processes' own
#: connections (no engine there)
_ROW_SQL = (f"SELECT {', '.join(c.key for c in _ROW_COLS)} FROM emall_listing "
            "WHERE id >= %s AND id < %s ORDER BY id")


def _copy_lines(cats: dict[int, CatInfo], rows: Iterable[Any]) -> tuple[int, bytes]:
    """(rows, ``COPY`` text lines ``id<TAB>tsvector``) of listing rows (lexemes are word
    characters: nothing to escape)."""
    docs = _docs_of_rows(cats, rows)
    return len(docs), "".join(f"{i}\t{d.tsvector()}\n" for i, d in docs).encode()


_WORKER: dict[str, Any] = {}


def _worker_init(conninfo: str, cats: dict[int, CatInfo]) -> None:
    from multiprocessing import util

    import psycopg

    _WORKER["conn"] = conn = psycopg.connect(conninfo, autocommit=True)
    _WORKER["cats"] = cats
    util.Finalize(None, conn.close, exitpriority=10)  # a clean goodbye when the pool closes


def _worker_range(bounds: tuple[int, int]) -> tuple[int, bytes]:
    """A worker process: the documents of the listings with ids in ``[lo, hi)``, read on the
    worker's own connection (the reindex holds the listings against writes: it reads what the
    reindex's transaction sees)."""
    rows = _WORKER["conn"].execute(_ROW_SQL, bounds).fetchall()
    return _copy_lines(_WORKER["cats"], rows)


def _pg_reindex(conn: Any, cats: dict[int, CatInfo], *, batch: int, progress: Any, workers: int) -> int:
    """PostgreSQL's full rebuild. ``LOCK … IN SHARE MODE`` keeps listings from changing while
    their documents are built (searches and pages read on); the documents go by ``COPY`` into
    a temporary table; then ``ALTER TABLE … ALTER COLUMN search_vector TYPE tsvector USING``
    rewrites the listings once with them and rebuilds every index of the table in bulk (the
    table is locked for reads during that last step only). An ``UPDATE`` of every row instead
    wrote a second version of each row into every index and left the table twice its size:
    twice as slow at 1,000,000 listings (docs/emall.md, "Search performance")."""
    import multiprocessing

    conn.execute(sql_text("LOCK TABLE emall_listing IN SHARE MODE"))
    lo, hi = conn.execute(sql_text("SELECT min(id), max(id) FROM emall_listing")).one()
    conn.execute(sql_text("DROP TABLE IF EXISTS pg_temp.emall_reindex"))
    conn.execute(sql_text("CREATE TEMP TABLE emall_reindex (id integer, v tsvector) ON COMMIT DROP"))
    if lo is None:
        return 0
    ranges = [(a, min(a + batch, hi + 1)) for a in range(lo, hi + 1, batch)]
    if workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
        workers = 1
    raw = conn.connection.driver_connection
    copy_sql = "COPY emall_reindex (id, v) FROM STDIN"
    total = 0
    with raw.cursor() as cur:
        if workers > 1:
            conninfo = conn.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            pool = multiprocessing.get_context("fork").Pool(workers, _worker_init, (conninfo, cats))
            try:
                with cur.copy(copy_sql) as cp:
                    for k, data in pool.imap(_worker_range, ranges):
                        cp.write(data)
                        total += k
                        if progress:
                            progress(total)
                pool.close()
            except BaseException:
                pool.terminate()
                raise
            finally:
                pool.join()
        else:
            for bounds in ranges:
                k, data = _copy_lines(cats, cur.execute(_ROW_SQL, bounds).fetchall())
                with cur.copy(copy_sql) as cp:
                    cp.write(data)
                total += k
                if progress:
                    progress(total)
    conn.execute(sql_text("ALTER TABLE emall_reindex ADD PRIMARY KEY (id)"))
    conn.execute(sql_text("CREATE OR REPLACE FUNCTION pg_temp.emall_reindex_doc(integer) RETURNS tsvector "
                          "LANGUAGE sql STABLE AS 'SELECT v FROM emall_reindex WHERE id = $1'"))
    conn.execute(sql_text("SET LOCAL maintenance_work_mem = '256MB'"))
    conn.execute(sql_text("ALTER TABLE emall_listing ALTER COLUMN search_vector TYPE tsvector "
                          "USING pg_temp.emall_reindex_doc(id)"))
    conn.execute(sql_text("DROP TABLE emall_reindex"))
    # the rewrite dropped the column's statistics (its lexeme frequencies): without them the
    # planner guesses every keyword's hits until autovacuum happens to analyze the table
    conn.execute(sql_text("ANALYZE emall_listing (search_vector)"))
    return total


def catch_up(session: Session) -> int:
    """Index listings that arrived without the ORM (data loaders write rows directly): the
    newest listing tells whether anything is missing (one indexed lookup), then the missing
    ones are indexed in a short transaction of their own. Returns how many were indexed."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        missing = conn.execute(sql_text("SELECT search_vector IS NULL FROM emall_listing "
                                        "ORDER BY id DESC LIMIT 1")).scalar()
        if not missing:
            return 0
        where = EmallListing.search_vector.is_(None)
    else:
        top = conn.execute(sql_text("SELECT max(id) FROM emall_listing")).scalar()
        done = conn.execute(sql_text(f"SELECT rowid FROM {FTS_TABLE} ORDER BY rowid DESC LIMIT 1")).scalar()
        if top is None or (done is not None and done >= top):
            return 0
        where = EmallListing.id > (done or 0)
    engine = session.get_bind()
    try:
        with engine.begin() as own:
            rows = own.execute(select(*_ROW_COLS).where(where), execution_options=UNSCOPED).all()
            docs = _docs_of_rows(categories(session), rows)
            write_docs(own, docs)
        return len(docs)
    except DBAPIError:
        if conn.dialect.name == "postgresql":
            return 0  # the next search tries again
    # SQLite locked by this very session's reads: index in its transaction (kept if it commits)
    rows = conn.execute(select(*_ROW_COLS).where(where), execution_options=UNSCOPED).all()
    docs = _docs_of_rows(categories(session), rows)
    write_docs(conn, docs)
    return len(docs)


def explain(terms: list[Term]) -> list[dict[str, Any]]:
    """What each term was expanded to (shown as 已包含同义词/拼音 on the page)."""
    return [{"term": t.text, "also": t.expansions} for t in terms if t.expansions]



install_listeners()
