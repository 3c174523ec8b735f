"""The embedded default corpus: French → English sentences from a small grammar, with alignments.

The corpus is written by this module: a regular grammar over a vocabulary of a few hundred word
forms generates French sentences together with their English translations and the gold word
alignment between them, so that ``kseq2seq demo`` needs no external data and the attention a
model learns can be compared with the right answer.

What the grammar covers:

- subject–verb–object sentences in the present tense, with noun phrases or the subject pronouns
  *je, tu, il, elle, nous, vous, ils, elles*, and verbs agreeing with them (*il mange* → *he
  eats*, *nous mangeons* → *we eat*);
- determiners agreeing in gender and number (*le/la/les/un/une/des/ce/cette/ces/mon/ma/mes* →
  *the/a/some/this/these/my*; *un/une* only where English says *a*, never *an*, whose choice
  depends on the next word) and irregular plurals on both sides (*chevaux* → *horses*,
  *souris* → *mice*);
- adjectives that follow the noun in French and precede it in English (*le chat noir* → *the
  black cat*), agreeing in gender and number, and pairs of adjectives whose order reverses
  (*la zone économique européenne* → *the European Economic Area*, *la politique agricole
  commune* → *the Common Agricultural Policy*);
- cardinal numbers from two to twenty (*trois chats* → *three cats*, *les dix-sept souris* →
  *the seventeen mice*; one is the article *un/une* → *a*);
- negation (*le chat ne mange pas la souris* → *the cat does not eat the mouse*), adverbs that
  move before the English verb (*il mange souvent* → *he often eats*), coordinated subjects and
  objects (*et* → *and*) and a closing prepositional phrase (*dans le jardin* → *in the
  garden*, *devant la gare* → *in front of the station*);
- names (*la zone économique européenne*, *la politique agricole commune*, *la Commission
  européenne*, ... → title case in English), in every slot whose nouns they fit: subject,
  object, coordinated, in negated sentences and prepositional phrases, and alone, as a heading
  (*La zone économique européenne.*); `NAME_RATE` of those slots get one, so that each name is
  seen in each position (the lexicon is in `kseq2seq.datasets._lexicon`).

Every word starts with a consonant where French would elide (*l'*, *n'*, *j'*), so tokens never
need splitting at apostrophes. Each example carries its alignment over the tokens of
:func:`word_tokens`: source token *i* is linked to target token *j* when *j* translates *i*
(*ne* and *pas* both link to *does*/*do* and *not*, *devant* to *in front of*, the final full
stops to each other). Every token on both sides is linked at least once.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence

from kseq2seq.datasets import _lexicon as lexicon
from kseq2seq.datasets.parallel import ParallelExample, load_tsv, save_tsv, word_tokens

__all__ = [
    "DEFAULT_SEED",
    "SPLIT_SIZES",
    "ParallelExample",
    "default_corpus",
    "generate_corpus",
    "load_tsv",
    "save_tsv",
    "word_tokens",
]

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


# --------------------------------------------------------------------------------------------
# Phrases: parallel word lists in French order with their word-level links; concatenation
# keeps both sides in the same order, so reordering happens only inside a phrase.

_Phrase = tuple[list[str], list[str], list[tuple[int, int]]]


def _concat(*phrases: _Phrase) -> _Phrase:
    fr: list[str] = []
    en: list[str] = []
    links: list[tuple[int, int]] = []
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
    """A noun phrase about a noun of the categories other than `avoid`, a name at `name_rate`.

    Returns the phrase, its plurality and its noun.
    """
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
    else:
        r = rng.random()
        if r < 0.15:
            number = rng.choice(lexicon.NUMBERS)
            kind, plural = ("definite" if rng.random() < 0.3 else None), True
        else:
            kind = rng.choice(lexicon.DET_KINDS)
            if negated_object:  # "ne ... pas de": keep to determiners that stay as they are
                while kind == "indefinite":
                    kind = rng.choice(lexicon.DET_KINDS)
            plural = rng.random() < 0.3

    g = 1 if noun.gender == "f" else 0
    fr_words: list[str] = []
    en_words: list[str] = []
    links: list[tuple[int, int]] = []
    if kind is not None:
        fr_det, en_det = lexicon.DETERMINERS[kind]
        fr_words.append(fr_det[2] if plural else fr_det[g])
        en_words.append(en_det[1 if plural else 0])
        links.append((0, 0))
    if number is not None:
        links.append((len(fr_words), len(en_words)))
        fr_words.append(number[0])
        en_words.append(number[1])
    # French: noun adj1 adj2; English: adj2 adj1 noun.
    n_fr, n_en = len(fr_words), len(en_words)
    adj_index = g + 2 * plural
    fr_words.append(name if name is not None else noun.fr[plural])
    fr_words.extend(a.fr[adj_index] for a in adjs)
    english = [a.en for a in reversed(adjs)] + [noun.en[plural]]
    if name is not None:
        english = [w[:1].upper() + w[1:] for w in english]
    en_words.extend(english)
    n_adjs = len(english) - 1
    links.append((n_fr, n_en + n_adjs))  # noun
    for k in range(n_adjs):  # French adjective k ↔ English adjective n_adjs - 1 - k
        links.append((n_fr + 1 + k, n_en + n_adjs - 1 - k))
    if kind == "indefinite" and not plural and _needs_an(en_words[1]):
        # English would need "an", which depends on the next word: a model has to look ahead
        # to choose it, and gets it wrong long after the rest is right. Say "the" instead.
        fr_words[0] = lexicon.DETERMINERS["definite"][0][g]
        en_words[0] = "the"
    return (fr_words, en_words, links), plural


def _subject(rng: random.Random, verb: lexicon.Verb) -> tuple[_Phrase, int]:
    """A subject for the verb and the person index of the verb form it takes."""
    if "person" in verb.subjects or "official" in verb.subjects:
        if rng.random() < 0.4:
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
    fr_form = verb.fr[person]
    if negated:
        en_verb = verb.en[0]
        fr_words = ["ne", fr_form, "pas"]
        en_words = ["does" if person == 2 else "do", "not"]
        links = [(0, 0), (0, 1), (2, 0), (2, 1)]
    else:
        en_verb = verb.en[1 if person == 2 else 0]
        fr_words = [fr_form]
        en_words = []
        links = []
    if adverb is not None:
        links.append((len(fr_words), len(en_words)))
        fr_words.append(adverb[0])
        en_words.append(adverb[1])
    verb_fr = 1 if negated else 0
    links.extend((verb_fr, len(en_words) + k) for k in range(len(en_verb)))
    en_words.extend(en_verb)
    return fr_words, en_words, links


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
    # word index → token indices (only hyphenated numbers have more than one token)
    fr_tokens: list[list[int]] = []
    count = 0
    for word in fr_words:
        n = len(word_tokens(word)) if "-" in word else 1
        fr_tokens.append(list(range(count, count + n)))
        count += n
    alignment = {(s, j) for i, j in links for s in fr_tokens[i]}
    alignment.add((count, len(en_words)))  # the full stops
    return ParallelExample(_render(fr_words), _render(en_words), tuple(sorted(alignment)))


def generate_corpus(num_examples: int, seed: int = 0) -> list[ParallelExample]:
    """Generates distinct sentence pairs from the grammar.

    Args:
        num_examples: How many pairs to generate.
        seed: Seed of the generator; the same seed always gives the same list, and the first
            `n` pairs do not depend on `num_examples`.

    Returns:
        `num_examples` pairs with distinct source sentences (hence distinct pairs).

    Raises:
        ValueError: If `num_examples` is negative or not an integer.
    """
    if isinstance(num_examples, bool) or not isinstance(num_examples, int) or num_examples < 0:
        raise ValueError(
            f"num_examples must be a non-negative integer. Received: num_examples={num_examples!r}"
        )
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
    examples = generate_corpus(sum(SPLIT_SIZES.values()), seed=DEFAULT_SEED)
    splits: dict[str, tuple[ParallelExample, ...]] = {}
    start = 0
    for name, size in SPLIT_SIZES.items():
        splits[name] = tuple(examples[start : start + size])
        start += size
    return splits


def default_corpus(
    split: str | None = None,
) -> list[ParallelExample] | dict[str, list[ParallelExample]]:
    """The default corpus shipped with the package: fixed splits of generated pairs.

    The splits (sizes in `SPLIT_SIZES`: train 8000, validation 500, test 500) are drawn with
    `DEFAULT_SEED` and share no source sentence.

    Args:
        split: `"train"`, `"validation"` or `"test"`; None for all three.

    Returns:
        The list of pairs of that split, or a dict from split name to list when `split` is None.

    Raises:
        ValueError: If `split` is not one of the split names.
    """
    splits = _default_splits()
    if split is None:
        return {name: list(examples) for name, examples in splits.items()}
    if split not in splits:
        raise ValueError(
            f"Unknown split {split!r}; valid splits: {', '.join(map(repr, splits))} (or None)."
        )
    return list(splits[split])
