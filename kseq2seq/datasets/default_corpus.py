"""The embedded default corpus: French → English sentences from a small grammar, with alignments.

A regular grammar over a few hundred word forms (`kseq2seq.datasets._lexicon`) generates French
sentences with their English translations and gold word alignments, so that ``kseq2seq demo``
needs no external data and learnt attention can be compared with the right answer: agreement,
adjectives that swap sides (*le chat noir* → *the black cat*), numbers, negation (*ne ... pas*
→ *does not*), adverbs, coordination, prepositional phrases and names (*la zone économique
européenne* → *the European Economic Area*).

No word needs elision (*l'*, *n'*), so tokens never split at apostrophes. Alignments are over
:func:`word_tokens`: source token *i* is linked to target token *j* when *j* translates *i*
(*ne* and *pas* both link to *does* and *not*, the full stops to each other); every token is
linked at least once.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Sequence

from kseq2seq.checks import check_choice, check_int
from kseq2seq.datasets import _lexicon as lexicon
from kseq2seq.datasets.parallel import ParallelExample, word_tokens

DEFAULT_SEED = 1409
"""The seed of the default splits (arXiv:1409.0473 is Bahdanau et al., 2014)."""

SPLIT_SIZES: dict[str, int] = {"train": 8000, "validation": 500, "test": 500}
"""Sizes of the default splits; together they are distinct sentences (no overlap)."""

MIN_WORDS = 3
MAX_WORDS = 14

NAME_RATE = 0.3
"""How often a noun phrase whose slot admits a name (*la zone économique européenne*) is one."""
COORDINATION_RATE = 0.15
"""How often a subject or an object is two coordinated noun phrases."""
HEADING_RATE = 0.05
HEADING_NAME_RATE = 0.5
"""How often a sentence is a noun phrase alone (*La zone économique européenne.*), and how
often that noun phrase is a name."""


# Phrases: parallel word lists with their word-level links; concatenation keeps both sides in
# the same order, so reordering happens only inside a phrase.

_Phrase = tuple[list[str], list[str], list[tuple[int, int]]]


def _concat(*phrases: _Phrase) -> _Phrase:
    fr, en, links = [], [], []
    for p_fr, p_en, p_links in phrases:
        links.extend((i + len(fr), j + len(en)) for i, j in p_links)
        fr.extend(p_fr)
        en.extend(p_en)
    return fr, en, links


def _word(fr: str, en: str) -> _Phrase:
    return [fr], [en], [(0, 0)]


def _needs_an(next_word: str) -> bool:
    word = next_word.lower()
    return word[:1] in "aeiou" and not word.startswith(("eu", "u"))


def _noun_phrase_in(
    rng: random.Random,
    cats: frozenset[str],
    *,
    avoid: lexicon.Noun | None = None,
    negated_object: bool = False,
    name_rate: float = NAME_RATE,
) -> tuple[_Phrase, bool, lexicon.Noun]:
    """`(phrase, plural, noun)`: a noun phrase about a noun of `cats` other than `avoid`, a
    name at `name_rate`."""
    names = tuple(name for name in lexicon.names_in(cats) if name[0] is not avoid)
    if names and rng.random() < name_rate:
        noun, adjs = rng.choice(names)
        phrase, plural = _noun_phrase(rng, noun, adjs, negated_object=negated_object)
    else:
        noun = rng.choice(tuple(n for n in lexicon.nouns_in(cats) if n is not avoid))
        phrase, plural = _noun_phrase(rng, noun, negated_object=negated_object)
    return phrase, plural, noun


def _noun_phrase(
    rng: random.Random,
    noun: lexicon.Noun,
    adjs: tuple[lexicon.Adj, ...] | None = None,
    *,
    negated_object: bool = False,
) -> tuple[_Phrase, bool]:
    """A determiner (or number), the noun and up to two adjectives; returns it and plurality.

    The adjectives are drawn when `adjs` is None. A noun with the adjectives of a name is that
    name: definite and singular.
    """
    if adjs is None:
        fitting, pairs = lexicon.adjectives_for(noun)
        r = rng.random()
        adjs = ()
        if pairs and r < 0.12:
            adjs = rng.choice(pairs)
        elif fitting and r < 0.45:
            adjs = (rng.choice(fitting),)
    name = lexicon.NAMES.get((noun.fr[0], tuple(a.fr[0] for a in adjs))) if adjs else None

    number: tuple[str, str] | None = None
    if name is not None:
        kind, plural = "definite", False
    elif rng.random() < 0.15:
        number = rng.choice(lexicon.NUMBERS)
        kind, plural = ("definite" if rng.random() < 0.3 else None), True
    else:
        kind = rng.choice(lexicon.DET_KINDS)
        while negated_object and kind == "indefinite":  # "ne ... pas de": keep to the others
            kind = rng.choice(lexicon.DET_KINDS)
        plural = rng.random() < 0.3

    g = 1 if noun.gender == "f" else 0
    # French: noun adj1 adj2; English: adj2 adj1 noun.
    english = [a.en for a in reversed(adjs)] + [noun.en[plural]]
    if name is not None:
        english = [w[:1].upper() + w[1:] for w in english]
    if kind == "indefinite" and not plural and _needs_an(english[0]):
        # "an" depends on the next word: a model has to look ahead to choose it, and gets it
        # wrong long after the rest is right. Say "the" instead.
        kind = "definite"
    parts = []
    if kind is not None:
        fr_det, en_det = lexicon.DETERMINERS[kind]
        parts.append(_word(fr_det[2] if plural else fr_det[g], en_det[plural]))
    if number is not None:
        parts.append(_word(*number))
    french = [name or noun.fr[plural]] + [a.fr[g + 2 * plural] for a in adjs]
    n = len(adjs)
    parts.append((french, english, [(0, n)] + [(1 + k, n - 1 - k) for k in range(n)]))
    return _concat(*parts), plural


def _subject(rng: random.Random, verb: lexicon.Verb) -> tuple[_Phrase, int]:
    """A subject for the verb and the person index of the verb form it takes."""
    if verb.subjects & {"person", "official"} and rng.random() < 0.4:
        fr, en, person = rng.choice(lexicon.PRONOUNS)
        return _word(fr, en), person
    phrase, plural, noun = _noun_phrase_in(rng, verb.subjects)
    if rng.random() < COORDINATION_RATE:
        other, _, _ = _noun_phrase_in(rng, verb.subjects, avoid=noun)
        return _concat(phrase, _word("et", "and"), other), 5
    return phrase, 5 if plural else 2


def _verb_phrase(rng: random.Random, verb: lexicon.Verb, person: int, negated: bool) -> _Phrase:
    """The verb, its negation and an adverb; the adverb moves before the English verb."""
    adverb = None
    if rng.random() < 0.15:
        adverb = rng.choice(lexicon.NEGATABLE_ADVERBS if negated else lexicon.ADVERBS)
    third = person == 2
    if negated:  # "ne mange pas" -> "does not eat"
        links = [(0, 0), (0, 1), (2, 0), (2, 1)]
        phrase = (["ne", verb.fr[person], "pas"], ["does" if third else "do", "not"], links)
    else:
        phrase = ([verb.fr[person]], [], [])
    if adverb is not None:
        phrase = _concat(phrase, _word(*adverb))
    fr_words, en_words, links = phrase
    en_verb = verb.en[0 if negated else third]
    links.extend((int(negated), len(en_words) + k) for k in range(len(en_verb)))
    return fr_words, en_words + list(en_verb), links


def _prepositional_phrase(
    rng: random.Random, prepositions: dict[str, tuple[tuple[str, ...], frozenset[str]]]
) -> _Phrase:
    preposition = rng.choice(tuple(prepositions))
    en_words, cats = prepositions[preposition]
    np_phrase, _, _ = _noun_phrase_in(rng, cats)
    head = ([preposition], list(en_words), [(0, k) for k in range(len(en_words))])
    return _concat(head, np_phrase)


_TRANSITIVE = tuple(v for v in lexicon.VERBS if v.objects and "official" not in v.subjects)
_PUBLIC_VERBS = tuple(v for v in lexicon.VERBS if "official" in v.subjects)
_INTRANSITIVE = tuple(v for v in lexicon.VERBS if not v.objects)
_EVERY_CATEGORY = frozenset(c for n in lexicon.NOUNS for c in n.cats)


def _sentence(rng: random.Random) -> _Phrase:
    if rng.random() < HEADING_RATE:  # a noun phrase alone, as in a heading
        return _noun_phrase_in(rng, _EVERY_CATEGORY, name_rate=HEADING_NAME_RATE)[0]
    r = rng.random()
    verb = rng.choice(_TRANSITIVE if r < 0.42 else _INTRANSITIVE if r < 0.65 else _PUBLIC_VERBS)
    negated = rng.random() < 0.25
    subject, person = _subject(rng, verb)
    parts = [subject, _verb_phrase(rng, verb, person, negated)]
    if verb.objects:
        obj, _, noun = _noun_phrase_in(rng, verb.objects, negated_object=negated)
        if rng.random() < COORDINATION_RATE:
            other, _, _ = _noun_phrase_in(rng, verb.objects, avoid=noun, negated_object=negated)
            obj = _concat(obj, _word("et", "and"), other)
        parts.append(obj)
    # "Je dors." is too short: such sentences get a prepositional phrase.
    if rng.random() < 0.3 or sum(len(p[0]) for p in parts) < MIN_WORDS:
        if verb in _PUBLIC_VERBS:
            preps = lexicon.PUBLIC_PREPOSITIONS
        else:
            preps = lexicon.PREPOSITIONS if verb.objects else lexicon.PLACE_PREPOSITIONS
        parts.append(_prepositional_phrase(rng, preps))
    return _concat(*parts)


def _render(words: Sequence[str]) -> str:
    text = " ".join(words) + "."
    return text[:1].upper() + text[1:]


def _example(phrase: _Phrase) -> ParallelExample | None:
    fr_words, en_words, links = phrase
    if not (MIN_WORDS <= len(fr_words) <= MAX_WORDS and MIN_WORDS <= len(en_words) <= MAX_WORDS):
        return None
    # The first token of each word (only hyphenated numbers have more than one).
    sizes = [len(word_tokens(word)) if "-" in word else 1 for word in fr_words]
    starts = [0, *itertools.accumulate(sizes)]
    alignment = {(s, j) for i, j in links for s in range(starts[i], starts[i + 1])}
    alignment.add((starts[-1], len(en_words)))  # the full stops
    return ParallelExample(_render(fr_words), _render(en_words), tuple(sorted(alignment)))


def generate_corpus(num_examples: int, seed: int = 0) -> list[ParallelExample]:
    """Generates `num_examples` pairs with distinct source sentences from the grammar.

    The same `seed` always gives the same list, and the first `n` pairs do not depend on
    `num_examples`.

    Raises:
        ValueError: If `num_examples` is negative or not an integer.
    """
    check_int("num_examples", num_examples, minimum=0)
    rng = random.Random(seed)
    seen: set[str] = set()
    examples: list[ParallelExample] = []
    failures = 0
    while len(examples) < num_examples:
        example = _example(_sentence(rng))
        if example is None or example.source in seen:
            failures += 1
            if failures > 100_000:  # pragma: no cover - the grammar has far more sentences
                raise ValueError(f"The grammar cannot produce {num_examples} distinct sentences.")
            continue
        failures = 0
        seen.add(example.source)
        examples.append(example)
    return examples


@functools.lru_cache(maxsize=1)
def _default_splits() -> dict[str, tuple[ParallelExample, ...]]:
    examples = iter(generate_corpus(sum(SPLIT_SIZES.values()), seed=DEFAULT_SEED))
    return {name: tuple(itertools.islice(examples, size)) for name, size in SPLIT_SIZES.items()}


def default_corpus(
    split: str | None = None,
) -> list[ParallelExample] | dict[str, list[ParallelExample]]:
    """The default corpus: the pairs of `split` (`"train"`, `"validation"` or `"test"`), or a
    dict of all three when `split` is None.

    The splits (sizes in `SPLIT_SIZES`) are drawn with `DEFAULT_SEED` and share no source
    sentence.

    Raises:
        ValueError: If `split` is not one of the split names.
    """
    splits = _default_splits()
    if split is None:
        return {name: list(examples) for name, examples in splits.items()}
    return list(splits[check_choice("split", split, SPLIT_SIZES)])
