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
  garden*, *devant la gare* → *in front of the station*).

Every word starts with a consonant where French would elide (*l'*, *n'*, *j'*), so tokens never
need splitting at apostrophes. Each example carries its alignment over the tokens of
:func:`word_tokens`: source token *i* is linked to target token *j* when *j* translates *i*
(*ne* and *pas* both link to *does*/*do* and *not*, *devant* to *in front of*, the final full
stops to each other). Every token on both sides is linked at least once.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import random
import re
from collections.abc import Iterable, Sequence

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

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")


def word_tokens(text: str) -> list[str]:
    """Splits text into the tokens that alignments index.

    The text is lowercased, then cut into runs of word characters, each other non-space character
    being a token of its own: ``"Dix-sept chats."`` → ``["dix", "-", "sept", "chats", "."]``.

    Args:
        text: A sentence.

    Returns:
        The list of tokens.
    """
    return _TOKEN_RE.findall(text.lower())


@dataclasses.dataclass(frozen=True)
class ParallelExample:
    """A sentence pair with its gold word alignment.

    Attributes:
        source: The French sentence.
        target: The English sentence.
        alignment: Sorted ``(source_token_index, target_token_index)`` pairs over
            ``word_tokens(source)`` and ``word_tokens(target)``.
    """

    source: str
    target: str
    alignment: tuple[tuple[int, int], ...]

    def pharaoh(self) -> str:
        """Returns the alignment in Pharaoh format, e.g. ``"0-0 1-2 2-1"``."""
        return " ".join(f"{s}-{t}" for s, t in self.alignment)


# --------------------------------------------------------------------------------------------
# The lexicon.
#
# Noun categories decide which verbs, prepositions and adjectives a noun goes with.


@dataclasses.dataclass(frozen=True)
class _Noun:
    fr: tuple[str, str]  # singular, plural
    gender: str  # "m" or "f"
    en: tuple[str, str]
    cats: frozenset[str]


@dataclasses.dataclass(frozen=True)
class _Adj:
    fr: tuple[str, str, str, str]  # masculine singular, feminine singular, m. plural, f. plural
    en: str
    rank: int  # 0 classifying, 1 origin, 2 quality; French orders them by rank after the noun
    cats: frozenset[str]


@dataclasses.dataclass(frozen=True)
class _Verb:
    fr: tuple[str, str, str, str, str, str]  # je, tu, il/elle, nous, vous, ils/elles
    en: tuple[tuple[str, ...], tuple[str, ...]]  # base form, third person singular
    subjects: frozenset[str]
    objects: frozenset[str]  # empty: intransitive


def _noun(fr: str, gender: str, en: str, cats: str, fr_pl: str = "", en_pl: str = "") -> _Noun:
    return _Noun((fr, fr_pl or fr + "s"), gender, (en, en_pl or en + "s"), frozenset(cats.split()))


def _adj(fr: str, en: str, rank: int, cats: str, f: str = "", pl: str = "") -> _Adj:
    f = f or (fr if fr.endswith("e") else fr + "e")
    pl = pl or (fr if fr.endswith(("s", "x")) else fr + "s")
    return _Adj((fr, f, pl, f + "s"), en, rank, frozenset(cats.split()))


def _er(infinitive: str) -> tuple[str, str, str, str, str, str]:
    stem = infinitive[:-2]
    nous = stem + ("eons" if stem.endswith("g") else "ons")
    return (stem + "e", stem + "es", stem + "e", nous, stem + "ez", stem + "ent")


def _verb(fr: str, en: str, subjects: str, objects: str = "", en3: str = "") -> _Verb:
    forms = tuple(fr.split()) if " " in fr else _er(fr)
    base = tuple(en.split())
    third = tuple(en3.split()) if en3 else (base[0] + "s",) + base[1:]
    return _Verb(forms, (base, third), frozenset(subjects.split()), frozenset(objects.split()))


_NOUNS: tuple[_Noun, ...] = (
    # people
    _noun("garçon", "m", "boy", "person"),
    _noun("fille", "f", "girl", "person"),
    _noun("femme", "f", "woman", "person", en_pl="women"),
    _noun("médecin", "m", "doctor", "person"),
    _noun("professeur", "m", "teacher", "person"),
    _noun("ministre", "m", "minister", "person official"),
    _noun("président", "m", "president", "person official"),
    # animals
    _noun("chat", "m", "cat", "animal"),
    _noun("chien", "m", "dog", "animal"),
    _noun("souris", "f", "mouse", "animal prey", fr_pl="souris", en_pl="mice"),
    _noun("cheval", "m", "horse", "animal", fr_pl="chevaux"),
    _noun("lapin", "m", "rabbit", "animal prey"),
    _noun("vache", "f", "cow", "animal"),
    _noun("renard", "m", "fox", "animal", en_pl="foxes"),
    _noun("loup", "m", "wolf", "animal", en_pl="wolves"),
    _noun("poisson", "m", "fish", "animal prey", en_pl="fish"),
    # food
    _noun("pomme", "f", "apple", "food fruit small"),
    _noun("gâteau", "m", "cake", "food small", fr_pl="gâteaux"),
    _noun("tomate", "f", "tomato", "food fruit small", en_pl="tomatoes"),
    _noun("poire", "f", "pear", "food fruit small"),
    _noun("sandwich", "m", "sandwich", "food small", en_pl="sandwiches"),
    # things
    _noun("livre", "m", "book", "object readable small"),
    _noun("lettre", "f", "letter", "object readable small"),
    _noun("journal", "m", "newspaper", "object readable small", fr_pl="journaux"),
    _noun("carte", "f", "map", "object readable small"),
    _noun("clé", "f", "key", "object small"),
    _noun("boîte", "f", "box", "object container small", en_pl="boxes"),
    _noun("sac", "m", "bag", "object container small"),
    _noun("table", "f", "table", "object surface"),
    _noun("chaise", "f", "chair", "object surface"),
    _noun("lit", "m", "bed", "object surface"),
    _noun("voiture", "f", "car", "object container vehicle"),
    _noun("fleur", "f", "flower", "object small"),
    # places
    _noun("maison", "f", "house", "building"),
    _noun("château", "m", "castle", "building", fr_pl="châteaux"),
    _noun("gare", "f", "station", "building"),
    _noun("musée", "m", "museum", "building"),
    _noun("jardin", "m", "garden", "area"),
    _noun("ville", "f", "city", "area", en_pl="cities"),
    _noun("forêt", "f", "forest", "area"),
    _noun("parc", "m", "park", "area"),
    _noun("marché", "m", "market", "area"),
    # public affairs
    _noun("politique", "f", "policy", "policy", en_pl="policies"),
    _noun("réforme", "f", "reform", "policy"),
    _noun("traité", "m", "treaty", "policy signable", en_pl="treaties"),
    _noun("rapport", "m", "report", "policy readable"),
    _noun("budget", "m", "budget", "policy"),
    _noun("loi", "f", "law", "policy signable"),
    _noun("commission", "f", "commission", "institution"),
    _noun("parlement", "m", "parliament", "institution"),
    _noun("gouvernement", "m", "government", "institution government"),
    _noun("banque", "f", "bank", "institution bank"),
    _noun("zone", "f", "area", "region"),
    _noun("communauté", "f", "community", "region", en_pl="communities"),
)

_ALL = "person animal food object building area policy institution region"
_ADJS: tuple[_Adj, ...] = (
    # classifying adjectives, next to the noun: "la politique agricole" (agricultural policy)
    _adj("économique", "economic", 0, "policy region"),
    _adj("social", "social", 0, "policy", pl="sociaux"),
    _adj("financier", "financial", 0, "policy", f="financière"),
    _adj("agricole", "agricultural", 0, "policy region"),
    _adj("central", "central", 0, "bank government", pl="centraux"),
    # origin: "la zone économique européenne" (the European Economic Area)
    _adj("européen", "European", 1, _ALL, f="européenne"),
    _adj("français", "French", 1, _ALL),
    _adj("italien", "Italian", 1, _ALL, f="italienne"),
    _adj("allemand", "German", 1, _ALL),
    _adj("commun", "common", 1, "policy"),
    # colours and qualities, outermost: "le loup italien gris" (the grey Italian wolf)
    _adj("noir", "black", 2, "animal object building"),
    _adj("blanc", "white", 2, "animal object building", f="blanche"),
    _adj("gris", "grey", 2, "animal object building"),
    _adj("rouge", "red", 2, "fruit object building"),
    _adj("vert", "green", 2, "fruit object building"),
    _adj("fatigué", "tired", 2, "person animal"),
    _adj("célèbre", "famous", 2, "person building area readable"),
)
_ADJ_BY_FR = {a.fr[0]: a for a in _ADJS}

_ANIMATE = "person animal"
_PUBLIC = "official institution"
_VERBS: tuple[_Verb, ...] = (
    _verb("manger", "eat", _ANIMATE, "food prey"),
    _verb("vois vois voit voyons voyez voient", "see", _ANIMATE, "person animal food object"),
    _verb("regarder", "watch", _ANIMATE, "person animal object building", en3="watches"),
    _verb("chercher", "look for", _ANIMATE, "person animal food object"),
    _verb("trouver", "find", _ANIMATE, "person animal food object"),
    _verb("porter", "carry", _ANIMATE, "small", en3="carries"),
    _verb("prends prends prend prenons prenez prennent", "take", "person", "small"),
    _verb("suis suis suit suivons suivez suivent", "follow", _ANIMATE, "person animal"),
    _verb("lis lis lit lisons lisez lisent", "read", "person", "readable"),
    _verb("visiter", "visit", "person", "building area"),
    _verb("préparer", "prepare", _PUBLIC, "policy"),
    _verb("proposer", "propose", _PUBLIC, "policy"),
    _verb(
        "soutiens soutiens soutient soutenons soutenez soutiennent",
        "support",
        _PUBLIC,
        "policy institution",
    ),
    _verb("signer", "sign", _PUBLIC, "signable"),
    _verb("critiquer", "criticise", _PUBLIC, "policy institution official"),
    _verb("dors dors dort dormons dormez dorment", "sleep", _ANIMATE),
    _verb("chanter", "sing", "person"),
    _verb("nager", "swim", _ANIMATE),
    _verb("cours cours court courons courez courent", "run", _ANIMATE),
    _verb("travailler", "work", "person"),
)

# (noun, adjectives in French order) → the noun as French writes it in the name; these noun
# phrases are names: always definite singular, and in title case in English.
_NAMES: dict[tuple[str, tuple[str, ...]], str] = {
    ("zone", ("économique", "européen")): "zone",
    ("communauté", ("économique", "européen")): "Communauté",
    ("banque", ("central", "européen")): "Banque",
    ("politique", ("agricole", "commun")): "politique",
    ("commission", ("européen",)): "Commission",
    ("parlement", ("européen",)): "Parlement",
}

_NUMBERS = (
    ("deux", "two"), ("trois", "three"), ("quatre", "four"), ("cinq", "five"), ("six", "six"),
    ("sept", "seven"), ("huit", "eight"), ("neuf", "nine"), ("dix", "ten"), ("onze", "eleven"),
    ("douze", "twelve"), ("treize", "thirteen"), ("quatorze", "fourteen"),
    ("quinze", "fifteen"), ("seize", "sixteen"), ("dix-sept", "seventeen"),
    ("dix-huit", "eighteen"), ("dix-neuf", "nineteen"), ("vingt", "twenty"),
)  # fmt: skip

# determiner kind → (masculine singular, feminine singular, plural) French; (singular, plural)
_DETERMINERS = {
    "definite": (("le", "la", "les"), ("the", "the")),
    "indefinite": (("un", "une", "des"), ("a", "some")),
    "demonstrative": (("ce", "cette", "ces"), ("this", "these")),
    "possessive": (("mon", "ma", "mes"), ("my", "my")),
}
_DET_KINDS = ("definite",) * 8 + ("indefinite",) * 4 + ("demonstrative", "possessive")

_PRONOUNS = (  # (French, English, person index into _Verb.fr)
    ("je", "I", 0), ("tu", "you", 1), ("il", "he", 2), ("elle", "she", 2),
    ("nous", "we", 3), ("vous", "you", 4), ("ils", "they", 5), ("elles", "they", 5),
)  # fmt: skip

_ADVERBS = (("souvent", "often"), ("toujours", "always"), ("parfois", "sometimes"),
            ("rarement", "rarely"))  # fmt: skip
_NEGATABLE_ADVERBS = _ADVERBS[:2]

# preposition → (English words, noun categories), for concrete and public-affairs sentences
_PREPOSITIONS = {
    "dans": (("in",), frozenset("building area container".split())),
    "sur": (("on",), frozenset(["surface"])),
    "sous": (("under",), frozenset(["surface"])),
    "devant": (("in", "front", "of"), frozenset("building vehicle".split())),
    "derrière": (("behind",), frozenset("building vehicle surface".split())),
    "avec": (("with",), frozenset("person animal".split())),
}
_PLACE_PREPOSITIONS = {  # for verbs without an object: "il dort dans la maison"
    "dans": (("in",), frozenset("building area".split())),
    "devant": (("in", "front", "of"), frozenset(["building"])),
    "derrière": (("behind",), frozenset(["building"])),
    "avec": (("with",), frozenset("person animal".split())),
}
_PUBLIC_PREPOSITIONS = {
    "pour": (("for",), frozenset("institution region".split())),
    "dans": (("in",), frozenset(["region"])),
    "avec": (("with",), frozenset("institution official".split())),
}


@functools.cache
def _nouns_in(cats: frozenset[str]) -> tuple[_Noun, ...]:
    return tuple(n for n in _NOUNS if n.cats & cats)


@functools.cache
def _adjectives_for(noun: _Noun) -> tuple[tuple[_Adj, ...], tuple[tuple[_Adj, _Adj], ...]]:
    """The adjectives that fit the noun, and the pairs of them in French order."""
    fitting = tuple(a for a in _ADJS if a.cats & noun.cats)
    pairs = tuple((a, b) for a in fitting for b in fitting if a.rank < b.rank)
    return fitting, pairs


_NAMES_BY_NOUN: dict[str, list[tuple[_Adj, ...]]] = {}
for _noun_fr, _adj_frs in _NAMES:
    _NAMES_BY_NOUN.setdefault(_noun_fr, []).append(tuple(_ADJ_BY_FR[a] for a in _adj_frs))

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


def _noun_phrase(
    rng: random.Random, noun: _Noun, *, negated_object: bool = False
) -> tuple[_Phrase, bool]:
    """A determiner (or number), the noun and up to two adjectives; returns it and plurality."""
    adjs: tuple[_Adj, ...] = ()
    names = _NAMES_BY_NOUN.get(noun.fr[0])
    r = rng.random()
    if names and r < 0.4:
        adjs = rng.choice(names)
    else:
        fitting, pairs = _adjectives_for(noun)
        if pairs and r < 0.12:
            adjs = rng.choice(pairs)
        elif fitting and r < 0.45:
            adjs = (rng.choice(fitting),)
    name = _NAMES.get((noun.fr[0], tuple(a.fr[0] for a in adjs))) if adjs else None

    number: tuple[str, str] | None = None
    if name is not None:
        kind, plural = "definite", False
    else:
        r = rng.random()
        if r < 0.15:
            number = rng.choice(_NUMBERS)
            kind, plural = ("definite" if rng.random() < 0.3 else None), True
        else:
            kind = rng.choice(_DET_KINDS)
            if negated_object:  # "ne ... pas de": keep to determiners that stay as they are
                while kind == "indefinite":
                    kind = rng.choice(_DET_KINDS)
            plural = rng.random() < 0.3

    g = 1 if noun.gender == "f" else 0
    fr_words: list[str] = []
    en_words: list[str] = []
    links: list[tuple[int, int]] = []
    if kind is not None:
        fr_det, en_det = _DETERMINERS[kind]
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
        fr_words[0] = _DETERMINERS["definite"][0][g]
        en_words[0] = "the"
    return (fr_words, en_words, links), plural


def _subject(rng: random.Random, verb: _Verb) -> tuple[_Phrase, int]:
    """A subject for the verb and the person index of the verb form it takes."""
    if "person" in verb.subjects or "official" in verb.subjects:
        if rng.random() < 0.4:
            fr, en, person = rng.choice(_PRONOUNS)
            return _word(fr, en), person
    nouns = _nouns_in(verb.subjects)
    noun = rng.choice(nouns)
    phrase, plural = _noun_phrase(rng, noun)
    if rng.random() < 0.08:
        return _concat(phrase, _word("et", "and"), _other_noun_phrase(rng, nouns, noun)), 5
    return phrase, 5 if plural else 2


def _other_noun_phrase(
    rng: random.Random, nouns: tuple[_Noun, ...], first: _Noun, negated_object: bool = False
) -> _Phrase:
    """A noun phrase to coordinate with one about `first`, about another noun."""
    noun = first
    while noun is first:
        noun = rng.choice(nouns)
    return _noun_phrase(rng, noun, negated_object=negated_object)[0]


def _verb_phrase(rng: random.Random, verb: _Verb, person: int, negated: bool) -> _Phrase:
    """The verb, its negation and an adverb; the adverb moves before the English verb."""
    adverb = None
    if rng.random() < 0.15:
        adverb = rng.choice(_NEGATABLE_ADVERBS if negated else _ADVERBS)
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
    np_phrase, _ = _noun_phrase(rng, rng.choice(_nouns_in(cats)))
    head = ([preposition], list(en_words), [(0, k) for k in range(len(en_words))])
    return _concat(head, np_phrase)


_TRANSITIVE = tuple(v for v in _VERBS if v.objects and "official" not in v.subjects)
_PUBLIC_VERBS = tuple(v for v in _VERBS if "official" in v.subjects)
_INTRANSITIVE = tuple(v for v in _VERBS if not v.objects)


def _sentence(rng: random.Random) -> _Phrase:
    r = rng.random()
    verb = rng.choice(_TRANSITIVE if r < 0.42 else _INTRANSITIVE if r < 0.65 else _PUBLIC_VERBS)
    negated = rng.random() < 0.25
    subject, person = _subject(rng, verb)
    parts = [subject, _verb_phrase(rng, verb, person, negated)]
    if verb.objects:
        nouns = _nouns_in(verb.objects)
        noun = rng.choice(nouns)
        obj, _ = _noun_phrase(rng, noun, negated_object=negated)
        if rng.random() < 0.08:
            other = _other_noun_phrase(rng, nouns, noun, negated)
            obj = _concat(obj, _word("et", "and"), other)
        parts.append(obj)
    # "Je dors." is too short: such sentences get a prepositional phrase.
    if rng.random() < 0.3 or sum(len(p[0]) for p in parts) < MIN_WORDS:
        if verb in _PUBLIC_VERBS:
            preps = _PUBLIC_PREPOSITIONS
        else:
            preps = _PREPOSITIONS if verb.objects else _PLACE_PREPOSITIONS
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


def save_tsv(
    examples: Iterable[ParallelExample], path: str | os.PathLike, alignment: bool = False
) -> None:
    """Writes pairs as UTF-8 lines ``source<TAB>target`` (plus ``<TAB>alignment`` if asked).

    The alignment column is in Pharaoh format (``"0-0 1-2 2-1"``: source-target token indices
    over `word_tokens`). The file is written to a temporary path and renamed into place.

    Args:
        examples: The pairs.
        path: The file to write.
        alignment: Whether to add the third column.

    Raises:
        ValueError: If a sentence contains a tab or a line break.
    """
    lines = []
    for index, example in enumerate(examples):
        for side in ("source", "target"):
            text = getattr(example, side)
            if "\t" in text or "\n" in text or "\r" in text:
                raise ValueError(f"Example {index} has a tab or line break in its {side}: {text!r}")
        columns = [example.source, example.target]
        if alignment:
            columns.append(example.pharaoh())
        lines.append("\t".join(columns) + "\n")
    path = os.fspath(path)
    temporary = f"{path}.tmp{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def load_tsv(path: str | os.PathLike) -> list[ParallelExample]:
    """Reads pairs written by `save_tsv` (an alignment column is optional; extra columns too).

    Args:
        path: The file to read.

    Returns:
        The pairs; their alignment is empty when the file has no third column.

    Raises:
        ValueError: If a line has fewer than two columns or a malformed alignment, naming the
            file and line number.
    """
    examples = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line:
                continue
            columns = line.split("\t")
            if len(columns) < 2:
                raise ValueError(f"{os.fspath(path)}:{number}: expected source<TAB>target.")
            links: list[tuple[int, int]] = []
            if len(columns) > 2 and columns[2].strip():
                try:
                    for link in columns[2].split():
                        s, t = link.split("-")
                        links.append((int(s), int(t)))
                except ValueError:
                    raise ValueError(
                        f"{os.fspath(path)}:{number}: malformed alignment {columns[2]!r}; "
                        "expected Pharaoh format like '0-0 1-2'."
                    ) from None
            examples.append(ParallelExample(columns[0], columns[1], tuple(sorted(links))))
    return examples
