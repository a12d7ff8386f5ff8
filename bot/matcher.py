"""Matching a villager's question to a knowledge-base entry.

Pipeline: jieba with a legal user dictionary → colloquial→legal synonyms → stop-word removal. A linear SVM over
TF-IDF words and character n-grams (with 其他 learnt from group chatter) picks the category or declines the text as
chatter; entries are then ranked within the category by BM25 over two fields (words, and CJK character bigrams that
survive typos and dialect segmentation) with an inverted index, so a query only touches the entries that share a
term with it. A confidence ("how much of what the asker said does the best entry explain") decides answer / menu /
pending.

BM25 is hand-rolled over an inverted index because rank_bm25 scores every document for every query term in Python,
which misses the p99 ≤ 2 ms target at 5,000 entries (see benchmarks/qa_latency.py); rank_bm25 is still used as the
plain-BM25 baseline in benchmarks/qa_quality.py.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import math
import pickle
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jieba
import yaml

from bot.kb import Entry, KnowledgeBase
from core.categories import OTHER

LEXICON = Path(__file__).resolve().parent / "lexicon"
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
_XML = re.compile(r"<[^>]{1,200}>")

@dataclass(frozen=True)
class Candidate:
    entry_id: str
    category: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    """The decision for one question. `kind` is answer | menu | pending | other."""

    kind: str
    category: str
    score: float  # confidence in [0, 1]
    best: Candidate | None = None
    alternatives: tuple[Candidate, ...] = ()
    category_scores: dict[str, float] = field(default_factory=dict)  # the category model's top decision values
    tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatcherConfig:
    answer_threshold: float = 0.65  # confidence at or above: answer; below: pending, for staff to follow up
    menu_ratio: float = 0.9  # second best within this ratio of the best (and another entry): offer a menu
    bigram_weight: float = 0.35
    keyword_boost: int = 2
    k1: float = 1.2
    b: float = 0.5
    # The category model: a linear SVM's regularisation (C) and the least number of phrasings a feature must occur in.
    svm_c: float = 0.5
    min_df: int = 2


class Tokenizer:
    """A private jieba tokenizer (no global state) with our legal dictionary, synonyms and stop words."""

    def __init__(self, extra_words: Iterable[str] = (), cache_dir: Path | None = None) -> None:
        self._jieba = jieba.Tokenizer()
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._jieba.tmp_dir = str(cache_dir)
        jieba.setLogLevel(logging.WARNING)
        self._jieba.initialize()
        self._jieba.load_userdict(str(LEXICON / "legal_words.txt"))
        raw = yaml.safe_load((LEXICON / "synonyms.yaml").read_text(encoding="utf-8")) or {}
        self.synonyms: dict[str, str] = {}
        for canonical, variants in raw.items():
            for variant in variants or ():
                self.synonyms[str(variant)] = str(canonical)
        for word in {*self.synonyms, *self.synonyms.values(), *extra_words}:
            if len(word) >= 2:
                self._jieba.add_word(word, freq=50000)
        self.stopwords = set((LEXICON / "stopwords.txt").read_text(encoding="utf-8").split())

    def words(self, text: str) -> list[str]:
        tokens = []
        for token in self._jieba.lcut(text, HMM=True):
            token = token.strip().lower()
            if not token or not _WORD.search(token):
                continue
            token = self.synonyms.get(token, token)
            if token in self.stopwords:
                continue
            tokens.append(token)
        return tokens

    @staticmethod
    def bigrams(text: str) -> list[str]:
        grams = []
        for run in _CJK_RUN.findall(text):
            grams.extend(run[i : i + 2] for i in range(len(run) - 1))
        return grams


def bm25_idf(document_frequency: Mapping[str, int], size: int) -> tuple[dict[str, float], float]:
    """BM25's IDF per term, and the IDF a term found in no document would have."""
    idf = {term: math.log(1 + (size - df + 0.5) / (df + 0.5)) for term, df in document_frequency.items()}
    return idf, (math.log(1 + (size + 0.5) / 0.5) if size else 1.0)


class BM25Index:
    """Okapi BM25 over an inverted index: scoring touches only documents that contain a query term.

    Each posting carries its finished BM25 weight (idf × saturated, length-normalised tf), computed once at build
    time, so a query only adds numbers; `ids` lets a per-category index report the knowledge base's own entry
    numbers."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float, b: float, ids: Sequence[int] | None = None) -> None:
        self.size = len(documents)
        numbers = list(ids) if ids is not None else list(range(self.size))
        average = (sum(len(d) for d in documents) / self.size) if self.size else 1.0
        norm = [k1 * (1 - b + b * len(d) / average) for d in documents]
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for index, document in enumerate(documents):
            for term, tf in Counter(document).items():
                postings[term].append((index, tf))
        self.idf, self.max_idf = bm25_idf({term: len(p) for term, p in postings.items()}, self.size)
        self.postings: dict[str, tuple[tuple[int, float], ...]] = {
            term: tuple((numbers[doc], self.idf[term] * tf * (k1 + 1) / (tf + norm[doc])) for doc, tf in p)
            for term, p in postings.items()
        }

    def add_scores(self, terms: Iterable[str], into: dict[int, float], weight: float = 1.0) -> None:
        for term in set(terms):
            for doc, score in self.postings.get(term, ()):
                into[doc] += weight * score

    def scores(self, terms: Iterable[str]) -> dict[int, float]:
        result: dict[int, float] = defaultdict(float)
        self.add_scores(terms, result)
        return result


class LinearCategoriser:
    """One score per category from a linear SVM over TF-IDF features, with 其他 learnt from group chatter.

    A discriminative model, because several categories share their everyday words (偷 in 刑事治安 and 电动车 in
    交通事故; 打伤 in 侵权纠纷 and 刑事治安): naive Bayes let the object of a story outvote the act. scikit-learn trains
    it (imported only when the indexes are built); scoring is plain Python over the exported weights, so a start with
    a warm cache never loads scikit-learn, and a query touches only the features it contains.
    """

    def __init__(self, texts: Sequence[str], labels: Sequence[str], features: Callable[[str], list[str]],
                 c: float, min_df: int) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        vectorizer = TfidfVectorizer(analyzer=features, sublinear_tf=True, min_df=min_df)
        # liblinear visits the samples in random order: a fixed seed makes every rebuild give the same model.
        model = LinearSVC(C=c, random_state=0).fit(vectorizer.fit_transform(texts), labels)
        coef, intercept = model.coef_, model.intercept_
        if coef.shape[0] == 1:  # two classes: scikit-learn keeps one row, for the second class
            coef, intercept = [-coef[0], coef[0]], [-intercept[0], intercept[0]]
        self.classes = [str(label) for label in model.classes_]
        self.intercepts = tuple(float(v) for v in intercept)
        # Flat arrays, not per-feature tuples of floats: the cache loads in a fraction of the time.
        self.index: dict[str, int] = {str(feature): int(i) for feature, i in vectorizer.vocabulary_.items()}
        self.idf = array("d", (float(v) for v in vectorizer.idf_))
        self.coef = array("d", (float(row[i]) for i in range(len(self.idf)) for row in coef))

    def scores(self, features: Sequence[str]) -> dict[str, float]:
        """Decision values per class, as scikit-learn computes them (sublinear tf × idf, l2-normalised)."""
        counts = Counter(i for i in map(self.index.get, features) if i is not None)
        if not counts:
            return {}
        values = {i: (1.0 + math.log(t)) * self.idf[i] for i, t in counts.items()}
        norm = math.sqrt(sum(v * v for v in values.values()))
        width = len(self.classes)
        totals = list(self.intercepts)
        coef = self.coef
        for i, v in values.items():
            share, base = v / norm, i * width
            for k in range(width):
                totals[k] += share * coef[base + k]
        return dict(zip(self.classes, totals, strict=True))


_FEATURE_RUN = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")


def _category_features(words: Sequence[str], text: str) -> list[str]:
    """Words, and character 1–3-grams within CJK (or Latin/digit) runs: characters survive typos and dialect."""
    features = [f"w:{w}" for w in words]
    for run in _FEATURE_RUN.findall(text.lower()):
        for n in (1, 2, 3):
            features.extend(run[i : i + n] for i in range(len(run) - n + 1))
    return features


def load_chatter() -> list[str]:
    lines = (LEXICON / "chatter.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


_CACHE_VERSION = "3"


def _read_cache(path: Path | None) -> tuple[Any, ...] | None:
    """The built indexes from an earlier start (our own file under the data directory), or None."""
    if path is None or not path.exists():
        return None
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except Exception:  # a damaged or foreign cache is rebuilt, never trusted
        logging.getLogger(__name__).warning("ignoring unreadable matcher cache %s", path)
        return None


def _write_cache(path: Path | None, state: tuple[Any, ...]) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("matcher-*.pickle"):
            old.unlink(missing_ok=True)
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(path)  # atomic: a crash never leaves half a cache
    except OSError:
        logging.getLogger(__name__).warning("could not write matcher cache %s", path)


def _normalise_input(text: str) -> str:
    text = _XML.sub(" ", text)  # WeChat app-message XML payloads: keep only the visible words
    return text[:500]


class Matcher:
    def __init__(self, kb: KnowledgeBase, config: MatcherConfig | None = None, cache_dir: Path | None = None) -> None:
        self.kb = kb
        self.config = config or MatcherConfig()
        keywords = {k for e in kb.entries for k in e.keywords}
        self.tokenizer = Tokenizer(extra_words=keywords, cache_dir=cache_dir)
        self.entries: list[Entry] = list(kb.entries)
        cache = cache_dir / f"matcher-{self._fingerprint()}.pickle" if cache_dir is not None else None
        state = _read_cache(cache)
        if state is None:
            state = self._build()
            _write_cache(cache, state)
        (self._word_sets, self._gram_sets, self._word_idf, self._gram_idf, self.categoriser, self._by_category) = state

    def _fingerprint(self) -> str:
        """Everything the built indexes depend on: entries, lexicon files, chatter, configuration, this code."""
        digest = hashlib.sha256(_CACHE_VERSION.encode())
        digest.update(repr(self.config).encode())
        for entry in self.entries:
            digest.update(repr((entry.id, entry.category, entry.questions, entry.keywords)).encode())
        for path in sorted(LEXICON.iterdir()):
            digest.update(path.name.encode() + path.read_bytes())
        digest.update(Path(__file__).read_bytes())
        return digest.hexdigest()[:24]

    def _build(self) -> tuple[Any, ...]:
        tokenized = {
            phrase: (self.tokenizer.words(phrase), self.tokenizer.bigrams(phrase))
            for entry in self.entries
            for phrase in (*entry.questions, *entry.keywords, " ".join(entry.keywords))
        }
        word_docs, gram_docs = [], []
        texts: list[str] = []
        labels: list[str] = []
        for entry in self.entries:
            words = [w for q in entry.questions for w in tokenized[q][0]]
            keyword_tokens = [t for k in entry.keywords for t in tokenized[k][0]]
            word_docs.append(words + keyword_tokens * self.config.keyword_boost)
            gram_docs.append([g for p in (*entry.questions, " ".join(entry.keywords)) for g in tokenized[p][1]])
            for phrase in (*entry.questions, " ".join(entry.keywords)):
                texts.append(phrase)
                labels.append(entry.category)
        chatter = load_chatter()
        texts += chatter
        labels += [OTHER] * len(chatter)
        words_of = {phrase: pair[0] for phrase, pair in tokenized.items()}

        def features(text: str) -> list[str]:
            words = words_of.get(text)
            return _category_features(self.tokenizer.words(text) if words is None else words, text)

        k1, b = self.config.k1, self.config.b
        # Entries are ranked only within the category the classifier chose: one small index per category keeps a
        # query's work proportional to that category, not to the whole knowledge base.
        by_category: dict[str, tuple[BM25Index, BM25Index]] = {}
        for category in {e.category for e in self.entries}:
            members = [i for i, e in enumerate(self.entries) if e.category == category]
            by_category[category] = (
                BM25Index([word_docs[i] for i in members], k1, b, ids=members),
                BM25Index([gram_docs[i] for i in members], k1, b, ids=members),
            )
        return (
            [frozenset(d) for d in word_docs],
            [frozenset(d) for d in gram_docs],
            _idf_table(word_docs),  # the coverage weights need only the IDFs of the whole knowledge base
            _idf_table(gram_docs),
            LinearCategoriser(texts, labels, features, self.config.svm_c, self.config.min_df),
            by_category,
        )

    def match(self, question: str) -> MatchResult:
        text = _normalise_input(question)
        words = self.tokenizer.words(text)
        grams = self.tokenizer.bigrams(text)
        scores = self.categoriser.scores(_category_features(words, text))
        if not scores:
            return MatchResult(kind="other", category=OTHER, score=0.0, tokens=tuple(words))
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        category_scores = {c: round(v, 4) for c, v in ranked[:5]}
        category = ranked[0][0]
        if category == OTHER or category not in self._by_category:
            return MatchResult("other", OTHER, 0.0, None, (), category_scores, tuple(words))
        word_index, gram_index = self._by_category[category]
        combined: dict[int, float] = defaultdict(float)
        word_index.add_scores(words, combined)
        gram_index.add_scores(grams, combined, self.config.bigram_weight)
        in_category = heapq.nlargest(5, combined.items(), key=lambda item: item[1])
        candidates = tuple(
            Candidate(self.entries[doc].id, category, round(score, 4)) for doc, score in in_category
        )
        if not candidates:
            return MatchResult("pending", category, 0.0, None, (), category_scores, tuple(words))
        coverage = self._coverage(words, grams, in_category[0][0])
        confidence = round(min(1.0, 0.5 + coverage), 4)
        best, rest = candidates[0], candidates[1:]
        cfg = self.config
        if confidence < cfg.answer_threshold:
            return MatchResult("pending", category, confidence, best, rest, category_scores, tuple(words))
        if rest and rest[0].score >= cfg.menu_ratio * best.score:
            return MatchResult("menu", category, confidence, best, rest, category_scores, tuple(words))
        return MatchResult("answer", category, confidence, best, rest, category_scores, tuple(words))

    def _coverage(self, words: Sequence[str], grams: Sequence[str], doc: int) -> float:
        """IDF-weighted share of the question's words (and bigrams) that the entry contains."""
        word_part = _weighted_share(words, self._word_idf, self._word_sets[doc])
        gram_part = _weighted_share(grams, self._gram_idf, self._gram_sets[doc])
        return round(0.7 * word_part + 0.3 * gram_part, 4)


def _idf_table(documents: Sequence[Sequence[str]]) -> tuple[dict[str, float], float]:
    return bm25_idf(Counter(term for document in documents for term in set(document)), len(documents))


def _weighted_share(terms: Sequence[str], idf: tuple[dict[str, float], float], present: frozenset[str]) -> float:
    table, unseen = idf
    total = matched = 0.0
    for term in set(terms):
        weight = table.get(term, unseen)
        total += weight
        if term in present:
            matched += weight
    return matched / total if total else 0.0
