"""Chinese keyword search building blocks shared by the platform's searches (the e-mall's
catalogue, the public notice site): tokens, pinyin, synonyms expansion and the query text
for PostgreSQL (``tsquery``) and SQLite (FTS5). Moved from ``addons.emall.search_index``.

* **Tokens.** Text is NFKC-normalised and case-folded. A run of Chinese characters gives
  its overlapping bigrams plus its last character (``打印机`` → ``打印 印机 机``), so every
  two-character keyword is one token and a one-character keyword is a prefix query; a run
  of letters/digits is one word. The pinyin of every Chinese run is indexed the same way:
  syllable bigrams (``yimiao``) and initials bigrams (``ym``).
* **Queries.** :func:`build_terms` turns the user's words into :class:`Term` (all must
  match), each with its alternatives: the word, its synonyms (whole word, a synonym inside
  a longer word, a synonym's pinyin/initials) and pinyin readings. :func:`relaxed` allows one
  wrong character. :func:`pg_query` / :func:`fts_query` give the index query text.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN_RUN = re.compile(f"[{_HAN}]+")
TOKEN_RUN = re.compile(f"[{_HAN}]+|[^\\W_{_HAN}]+")
ASCII_WORD = re.compile(r"^[a-z]+$")
SPLIT_SYNONYMS = re.compile(r"[、,，;；/|\s]+")
MAX_TOKEN = 48
#: PostgreSQL positions of the fields (one tsvector; positions stop at 16383)
FIELD_BASE = {"A": 1, "B": 4001, "C": 8001, "D": 12001}
PINYIN_GAP = 20


def norm(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value or "")).casefold()


# -- pinyin --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def char_readings() -> tuple[dict[str, str], dict[str, list[str]]]:
    """(character → its default reading, two-character phrase → readings), toneless, from
    pypinyin's dictionaries (ü as v)."""
    from pypinyin.phrases_dict import phrases_dict
    from pypinyin.pinyin_dict import pinyin_dict

    def plain(r: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", r)
                       if not unicodedata.combining(c)).replace("ü", "v").lower()

    chars = {chr(cp): plain(r.split(",")[0]) for cp, r in pinyin_dict.items()}
    pairs = {k: [plain(x[0]) for x in v] for k, v in phrases_dict.items() if len(k) == 2}
    return chars, pairs


@functools.lru_cache(maxsize=200_000)
def run_pinyin(run: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Syllables and initials of a run of Chinese characters: each character's default
    reading, corrected by pypinyin's two-character phrases (银行 yinhang, 行走 xingzou).
    A character without a reading gives an empty syllable."""
    chars, pairs = char_readings()
    full = [chars.get(ch, "") for ch in run]
    for i in range(len(run) - 1):
        fix = pairs.get(run[i:i + 2])
        if fix and len(fix) == 2:
            full[i], full[i + 1] = fix
    return tuple(full), tuple(x[:1] for x in full)


@functools.lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    from pypinyin.pinyin_dict import pinyin_dict

    out = set()
    for readings in pinyin_dict.values():
        for r in readings.split(","):
            plain = "".join(c for c in unicodedata.normalize("NFKD", r) if not unicodedata.combining(c))
            out.add(plain.replace("ü", "v").lower())
    return frozenset(s for s in out if s.isascii() and s.isalpha())


@functools.lru_cache(maxsize=4096)
def split_pinyin(word: str) -> tuple[str, ...] | None:
    """``diannao`` → (dian, nao); None when the letters are not a sequence of syllables.
    Fewest syllables wins (``xian`` is one syllable)."""
    syl = syllables()
    n = len(word)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(i + 1, min(n, i + 6) + 1):
            piece = word[i:j]
            if piece in syl:
                cand = (*best[i], piece)  # type: ignore[misc]
                if best[j] is None or len(cand) < len(best[j]):  # type: ignore[arg-type]
                    best[j] = cand
    return best[n]


# -- documents ------------------------------------------------------------------------------------
def han_tokens(run: str) -> list[str]:
    """Overlapping bigrams plus the last character: every character starts a token."""
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)] + [run[-1]]


@functools.lru_cache(maxsize=100_000)
def field_tokens(text: str, *, pinyin: bool, initials: bool = True) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(tokens in text order, pinyin tokens) of one field's text (cached: brands, category
    paths and common names repeat). ``initials``: also the initials bigrams (names and
    heads; the category path keeps full syllables only, a smaller index)."""
    toks: list[str] = []
    py: list[str] = []
    for run in TOKEN_RUN.findall(norm(text)):
        if HAN_RUN.fullmatch(run):
            toks.extend(han_tokens(run))
            if pinyin:
                full, inits = run_pinyin(run)
                if len(full) == 1:
                    py.append(full[0])
                else:
                    py.extend(full[i] + full[i + 1] for i in range(len(full) - 1) if full[i] and full[i + 1])
                    py.append(full[-1])
                    if initials:
                        py.extend(inits[i] + inits[i + 1] for i in range(len(inits) - 1) if inits[i] and inits[i + 1])
        else:
            toks.append(run[:MAX_TOKEN])
    return tuple(toks), tuple(p for p in py if p)


def segment(toks: Sequence[str], weight: str) -> str:
    """One field of a ``tsvector`` literal: ``'tok':pos+weight`` (tokens are word characters
    only, so nothing needs quoting; PostgreSQL merges a lexeme repeated across fields)."""
    p = FIELD_BASE[weight]
    limit = p + 3900
    out: dict[str, str] = {}
    for tok in toks:
        if tok == "\n":  # the gap before the pinyin tokens
            p += PINYIN_GAP
            continue
        if p >= limit:
            break
        prev = out.get(tok)
        out[tok] = f"'{tok}':{p}{weight}" if prev is None else f"{prev},{p}{weight}"
        p += 1
    return " ".join(out.values())


cached_segment = functools.lru_cache(maxsize=20_000)(segment)


#: field markers of :func:`marked_segment` (upper case: tokens are case-folded, so a marked
#: lexeme never equals a token)
FIELDS = ("A", "B", "C", "D")


def marked_segment(toks: Sequence[str], weight: str) -> str:
    """:func:`segment` with the field in the lexeme itself: ``'Atok':pos+A``. A GIN index
    ignores weights (``'x':A`` makes the index return every row with ``x`` in any field and
    PostgreSQL reads each from the heap to check the weight); a marked lexeme makes a query
    on one field an index lookup of that field's rows only. Query with :func:`pg_marked_query`."""
    return segment([t if t == "\n" else weight + t for t in toks], weight)


cached_marked_segment = functools.lru_cache(maxsize=20_000)(marked_segment)


# -- queries --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Phrase:
    """Tokens that must all be present (adjacent for the exact-phrase tier); the last one may
    be a prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False
    #: the tokens must be adjacent even for a match (pinyin readings: never scattered)
    exact: bool = False


@dataclass
class Term:
    """One query word: any of its alternatives (the word, its synonyms, pinyin readings)."""

    text: str
    alts: list[tuple[Phrase, ...]] = field(default_factory=list)
    expansions: list[str] = field(default_factory=list)

    @property
    def multi(self) -> bool:
        return any(len(p.tokens) > 1 or len(alt) > 1 for alt in self.alts for p in alt)


def text_alt(text: str) -> tuple[Phrase, ...]:
    """The phrases a word must contain: Chinese runs as bigram phrases (one character: a
    prefix), letters/digits as word prefixes."""
    out = []
    for run in TOKEN_RUN.findall(norm(text)):
        if HAN_RUN.fullmatch(run):
            if len(run) == 1:
                out.append(Phrase((run,), prefix=True))
            else:
                out.append(Phrase(tuple(run[i:i + 2] for i in range(len(run) - 1))))
        else:
            out.append(Phrase((run[:MAX_TOKEN],), prefix=True))
    return tuple(out)


def pinyin_alts(word: str) -> list[tuple[Phrase, ...]]:
    """A word of letters read as pinyin (≥ 3 syllables: syllable bigrams) and as initials
    (3–8 letters that are not syllables: initials bigrams); two syllables or two initials are one indexed token,
    which the word's own prefix query already finds."""
    out = []
    syl = split_pinyin(word) if 3 <= len(word) <= 40 else None
    if syl and len(syl) >= 3:
        out.append((Phrase(tuple(syl[i] + syl[i + 1] for i in range(len(syl) - 1)), exact=True),))
    if syl is None and 3 <= len(word) <= 8:
        out.append((Phrase(tuple(word[i:i + 2] for i in range(len(word) - 1)), exact=True),))
    return out


def is_pinyin_word(word: str) -> bool:
    """Letters that read as two or more whole pinyin syllables (``yimiao``, ``dayinji``)."""
    if not 4 <= len(word) <= 40 or not word.isascii() or not word.isalpha():
        return False
    syl = split_pinyin(word)
    return bool(syl) and len(syl) >= 2


def relaxed(terms: list[Term]) -> list[Term] | None:
    """One character of a term may be wrong: each Chinese phrase of ≥ 2 bigrams may miss
    one bigram; a pinyin word looked up whole (:func:`build_terms`) may be the start of a
    longer word (``yimi`` → 疫苗 *yimiao*). None when no term allows it."""
    out, changed = [], False
    for term in terms:
        new = Term(term.text, list(term.alts), term.expansions)
        for alt in term.alts:
            if len(alt) == 1 and len(alt[0].tokens) == 1 and not alt[0].prefix and not alt[0].exact \
                    and not HAN_RUN.search(alt[0].tokens[0]):
                new.alts.append((Phrase(alt[0].tokens, prefix=True),))
                changed = True
            for i, p in enumerate(alt):
                if len(p.tokens) >= 2 and HAN_RUN.fullmatch(p.tokens[0]):
                    for k in range(len(p.tokens)):
                        rest = p.tokens[:k] + p.tokens[k + 1:]
                        new.alts.append((*alt[:i], Phrase(rest), *alt[i + 1:]))
                        changed = True
        out.append(new)
    return out if changed else None


# tsquery (PostgreSQL) and FTS5 (SQLite) text of a query --------------------------------------------
def pg_phrase(p: Phrase, weight: str, adjacent: bool) -> str:
    parts = []
    for i, tok in enumerate(p.tokens):
        flags = ("*" if p.prefix and i == len(p.tokens) - 1 else "") + weight
        parts.append("'" + tok.replace("\\", "\\\\").replace("'", "''") + "'" + (":" + flags if flags else ""))
    return "(" + (" <-> " if adjacent or p.exact else " & ").join(parts) + ")"


def pg_query(terms: Iterable[Term], weight: str = "", adjacent: bool = False) -> str:
    return " & ".join("(" + " | ".join(" & ".join(pg_phrase(p, weight, adjacent) for p in alt)
                                       for alt in t.alts) + ")" for t in terms)


def _marked(tok: str, field_: str, prefix: bool) -> str:
    return "'" + (field_ + tok).replace("\\", "\\\\").replace("'", "''") + "'" + (":*" if prefix else "")


def pg_marked_phrase(p: Phrase, field_: str, adjacent: bool, han_fields: Sequence[str] = FIELDS) -> str:
    """:func:`pg_phrase` on a :func:`marked_segment` document: ``field_`` one of
    :data:`FIELDS`, or "" for any field (an adjacent phrase lies inside one field, as the
    fields' positions are apart; scattered tokens each in any field). ``han_fields``: the
    fields "any field" means for a Chinese token (a field whose Chinese tokens are always in
    another one too need not be asked: one lexeme less per token for the index to merge)."""
    last = len(p.tokens) - 1
    if field_:
        return "(" + (" <-> " if adjacent or p.exact else " & ").join(
            _marked(t, field_, p.prefix and i == last) for i, t in enumerate(p.tokens)) + ")"

    def fields(tok: str) -> Sequence[str]:
        return han_fields if HAN_RUN.fullmatch(tok) else FIELDS

    if len(p.tokens) > 1 and (adjacent or p.exact):
        fs = FIELDS if any(fields(t) is FIELDS for t in p.tokens) else han_fields
        return "(" + " | ".join(pg_marked_phrase(p, f, adjacent) for f in fs) + ")"
    return "(" + " & ".join("(" + " | ".join(_marked(t, f, p.prefix and i == last) for f in fields(t)) + ")"
                            for i, t in enumerate(p.tokens)) + ")"


def pg_marked_query(terms: Iterable[Term], field_: str = "", adjacent: bool = False,
                    han_fields: Sequence[str] = FIELDS) -> str:
    """:func:`pg_query` for documents of :func:`marked_segment` (``field_``: a weight letter
    or "" for any field, ``han_fields``: see :func:`pg_marked_phrase`); the same matches as
    :func:`pg_query` on the unmarked document."""
    return " & ".join("(" + " | ".join(" & ".join(pg_marked_phrase(p, field_, adjacent, han_fields) for p in alt)
                                       for alt in t.alts) + ")" for t in terms)


def fts_phrase(p: Phrase, adjacent: bool) -> str:
    if adjacent or p.exact or len(p.tokens) == 1:
        return '"' + " ".join(p.tokens) + '"' + (" *" if p.prefix else "")
    return "(" + " AND ".join('"' + t + '"' + (" *" if p.prefix and i == len(p.tokens) - 1 else "")
                              for i, t in enumerate(p.tokens)) + ")"


def fts_query(terms: Iterable[Term], col: str = "", adjacent: bool = False) -> str:
    body = " AND ".join("(" + " OR ".join("(" + " AND ".join(fts_phrase(p, adjacent) for p in alt) + ")"
                                          for alt in t.alts) + ")" for t in terms)
    return f"{col} : ({body})" if col else body


def build_terms(q: str | None, syn: dict[str, set[str]] | None = None,
                by_pinyin: dict[str, set[str]] | None = None) -> list[Term]:
    """The terms of query ``q`` (at most 10 words), expanded with the synonyms ``syn`` (word →
    words it also means) and ``by_pinyin`` (pinyin or initials → words)."""
    words = [w for w in norm(q or "").split() if TOKEN_RUN.search(w)]
    if not words:
        return []
    syn = syn or {}
    by_pinyin = by_pinyin or {}
    terms = []
    for word in words[:10]:
        term = Term(word)
        texts: list[str] = [word]
        for w in sorted(syn.get(word, ())):
            texts.append(w)
        # a synonym inside a longer word: 台式电脑 → 台式计算机
        for key in sorted(syn, key=len, reverse=True):
            if len(key) >= 2 and key != word and key in word:
                for w in sorted(syn[key]):
                    texts.append(word.replace(key, w))
        compact = re.sub(r"[\W_]+", "", word)
        if ASCII_WORD.match(compact):
            for key in sorted(by_pinyin.get(compact, ())):
                texts.append(key)
                texts.extend(sorted(syn.get(key, ())))
        seen: set[tuple[Phrase, ...]] = set()
        whole_pinyin = is_pinyin_word(compact) and compact == word
        for t in texts:
            # a word that is whole pinyin syllables (yimiao, dayinji) is looked up as the word
            # itself, not as a prefix: its pinyin is indexed as whole tokens, and a prefix
            # lookup of a common reading collects every hit before any LIMIT (PostgreSQL's GIN
            # partial match); an unfinished word (yimi) finds its prefix on the zero-hit
            # retry (:func:`relaxed`)
            alt = (Phrase((compact[:MAX_TOKEN],)),) if whole_pinyin and t == word else text_alt(t)
            if alt and alt not in seen:
                seen.add(alt)
                term.alts.append(alt)
                if t != word:
                    term.expansions.append(t)
        if compact != word and compact and not HAN_RUN.search(compact):
            alt = (Phrase((compact[:MAX_TOKEN],), prefix=True),)
            if alt not in seen:
                seen.add(alt)
                term.alts.append(alt)
        # whole pinyin that reads as a word of the synonym table (dayinji: 打印机) means that word
        # and its synonyms, found above: its syllable bigrams would only add homophones, and
        # their posting lists cost a fifth of the word's facets (docs/decisions.md)
        if ASCII_WORD.match(compact) and not (whole_pinyin and by_pinyin.get(compact)):
            for alt in pinyin_alts(compact):
                if alt not in seen:
                    seen.add(alt)
                    term.alts.append(alt)
        if term.alts:
            terms.append(term)
    return terms



def parse_synonyms(raw: Any) -> list[str]:
    return [w for w in (norm(x).strip() for x in SPLIT_SYNONYMS.split(str(raw or ""))) if w]


def synonym_index(rows: Iterable[tuple[Any, Any, Any]]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(word → the words it also means, pinyin or initials → words) of ``(term, synonyms,
    mutual)`` rows (synonyms separated by 、 or commas)."""
    mapping: dict[str, set[str]] = {}
    for term, words, mutual in rows:
        t = norm(term).strip()
        group = [w for w in parse_synonyms(words) if w != t]
        if not t or not group:
            continue
        mapping.setdefault(t, set()).update(group)
        if mutual:
            everyone = {t, *group}
            for w in group:
                mapping.setdefault(w, set()).update(everyone - {w})
    by_pinyin: dict[str, set[str]] = {}
    for word in mapping:
        if HAN_RUN.fullmatch(word) and len(word) >= 2:
            full, initials = run_pinyin(word)
            by_pinyin.setdefault("".join(full), set()).add(word)
            by_pinyin.setdefault("".join(initials), set()).add(word)
    return mapping, by_pinyin
