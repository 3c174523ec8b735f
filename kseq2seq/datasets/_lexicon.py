"""The lexicon of the default corpus's grammar: nouns, adjectives, verbs, names, numbers,
determiners, pronouns, adverbs and prepositions, with the categories that decide what goes with
what. The generator is `kseq2seq.datasets.default_corpus`."""

from __future__ import annotations

import dataclasses
import functools

# Noun categories decide which verbs, prepositions and adjectives a noun goes with.


@dataclasses.dataclass(frozen=True)
class Noun:
    fr: tuple[str, str]  # singular, plural
    gender: str  # "m" or "f"
    en: tuple[str, str]
    cats: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Adj:
    fr: tuple[str, str, str, str]  # masculine singular, feminine singular, m. plural, f. plural
    en: str
    rank: int  # 0 classifying, 1 origin, 2 quality; French orders them by rank after the noun
    cats: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Verb:
    fr: tuple[str, str, str, str, str, str]  # je, tu, il/elle, nous, vous, ils/elles
    en: tuple[tuple[str, ...], tuple[str, ...]]  # base form, third person singular
    subjects: frozenset[str]
    objects: frozenset[str]  # empty: intransitive


def _noun(fr: str, gender: str, en: str, cats: str, fr_pl: str = "", en_pl: str = "") -> Noun:
    return Noun((fr, fr_pl or fr + "s"), gender, (en, en_pl or en + "s"), frozenset(cats.split()))


def _adj(fr: str, en: str, rank: int, cats: str, f: str = "", pl: str = "") -> Adj:
    f = f or (fr if fr.endswith("e") else fr + "e")
    pl = pl or (fr if fr.endswith(("s", "x")) else fr + "s")
    return Adj((fr, f, pl, f + "s"), en, rank, frozenset(cats.split()))


def _er(infinitive: str) -> tuple[str, str, str, str, str, str]:
    stem = infinitive[:-2]
    nous = stem + ("eons" if stem.endswith("g") else "ons")
    return (stem + "e", stem + "es", stem + "e", nous, stem + "ez", stem + "ent")


def _verb(fr: str, en: str, subjects: str, objects: str = "", en3: str = "") -> Verb:
    forms = tuple(fr.split()) if " " in fr else _er(fr)
    base = tuple(en.split())
    third = tuple(en3.split()) if en3 else (base[0] + "s",) + base[1:]
    return Verb(forms, (base, third), frozenset(subjects.split()), frozenset(objects.split()))


# One noun a line: French singular, gender, English singular | categories | irregular plurals
# (`fr_pl=`, `en_pl=`; by default both add "s").
_NOUN_TABLE = """
# people
garçon m boy | person
fille f girl | person
femme f woman | person | en_pl=women
médecin m doctor | person
professeur m teacher | person
ministre m minister | person official
président m president | person official
# animals
chat m cat | animal
chien m dog | animal
souris f mouse | animal prey | fr_pl=souris en_pl=mice
cheval m horse | animal | fr_pl=chevaux
lapin m rabbit | animal prey
vache f cow | animal
renard m fox | animal | en_pl=foxes
loup m wolf | animal | en_pl=wolves
poisson m fish | animal prey | en_pl=fish
# food
pomme f apple | food fruit small
gâteau m cake | food small | fr_pl=gâteaux
tomate f tomato | food fruit small | en_pl=tomatoes
poire f pear | food fruit small
sandwich m sandwich | food small | en_pl=sandwiches
# things
livre m book | object readable small
lettre f letter | object readable small
journal m newspaper | object readable small | fr_pl=journaux
carte f map | object readable small
clé f key | object small
boîte f box | object container small | en_pl=boxes
sac m bag | object container small
table f table | object surface
chaise f chair | object surface
lit m bed | object surface
voiture f car | object container vehicle
fleur f flower | object small
# places
maison f house | building
château m castle | building | fr_pl=châteaux
gare f station | building
musée m museum | building
jardin m garden | area
ville f city | area | en_pl=cities
forêt f forest | area
parc m park | area
marché m market | area
# public affairs
politique f policy | policy | en_pl=policies
réforme f reform | policy
traité m treaty | policy signable | en_pl=treaties
rapport m report | policy readable
budget m budget | policy
loi f law | policy signable
commission f commission | institution
parlement m parliament | institution
gouvernement m government | institution government
banque f bank | institution bank
zone f area | region
communauté f community | region | en_pl=communities
"""


def _nouns(table: str) -> tuple[Noun, ...]:
    nouns = []
    for line in table.strip().splitlines():
        if not line.startswith("#"):
            head, cats, *plurals = line.split("|")
            irregular = dict(p.split("=") for p in " ".join(plurals).split())
            nouns.append(_noun(*head.split(), cats, **irregular))
    return tuple(nouns)


NOUNS: tuple[Noun, ...] = _nouns(_NOUN_TABLE)

ALL = "person animal food object building area policy institution region"
ADJS: tuple[Adj, ...] = (
    # classifying adjectives, next to the noun: "la politique agricole" (agricultural policy)
    _adj("économique", "economic", 0, "policy region"),
    _adj("social", "social", 0, "policy", pl="sociaux"),
    _adj("financier", "financial", 0, "policy", f="financière"),
    _adj("agricole", "agricultural", 0, "policy region"),
    _adj("central", "central", 0, "bank government", pl="centraux"),
    # origin: "la zone économique européenne" (the European Economic Area)
    _adj("européen", "European", 1, ALL, f="européenne"),
    _adj("français", "French", 1, ALL),
    _adj("italien", "Italian", 1, ALL, f="italienne"),
    _adj("allemand", "German", 1, ALL),
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
ADJ_BY_FR = {a.fr[0]: a for a in ADJS}

ANIMATE = "person animal"
PUBLIC = "official institution"
# who acts in public affairs: also the areas that institutions form ("la zone ... soutient")
BODIES = PUBLIC + " region"
ACTORS = BODIES + " policy"  # "la politique ... favorise"
AFFAIRS = "policy institution region"
AFFECTED = "person animal institution region"
VERBS: tuple[Verb, ...] = (
    _verb("manger", "eat", ANIMATE, "food prey"),
    _verb("vois vois voit voyons voyez voient", "see", ANIMATE, "person animal food object"),
    _verb("regarder", "watch", ANIMATE, "person animal object building", en3="watches"),
    _verb("chercher", "look for", ANIMATE, "person animal food object"),
    _verb("trouver", "find", ANIMATE, "person animal food object"),
    _verb("porter", "carry", ANIMATE, "small", en3="carries"),
    _verb("prends prends prend prenons prenez prennent", "take", "person", "small"),
    _verb("suis suis suit suivons suivez suivent", "follow", ANIMATE, "person animal"),
    _verb("lis lis lit lisons lisez lisent", "read", "person", "readable"),
    _verb("visiter", "visit", "person", "building area"),
    _verb("préparer", "prepare", PUBLIC, "policy"),
    _verb("proposer", "propose", PUBLIC, "policy"),
    _verb("soutiens soutiens soutient soutenons soutenez soutiennent", "support", ACTORS, AFFAIRS),
    _verb("signer", "sign", BODIES, "signable"),
    _verb("critiquer", "criticise", BODIES, "policy institution official region"),
    _verb("favoriser", "favour", ACTORS, AFFECTED),
    _verb("protège protèges protège protégeons protégez protègent", "protect", ACTORS, AFFECTED),
    _verb("dors dors dort dormons dormez dorment", "sleep", ANIMATE),
    _verb("chanter", "sing", "person"),
    _verb("nager", "swim", ANIMATE),
    _verb("cours cours court courons courez courent", "run", ANIMATE),
    _verb("travailler", "work", "person"),
)

# (noun, adjectives in French order) → the noun as French writes it in the name; these noun
# phrases are names: always definite singular, and in title case in English.
NAMES: dict[tuple[str, tuple[str, ...]], str] = {
    ("zone", ("économique", "européen")): "zone",
    ("communauté", ("économique", "européen")): "Communauté",
    ("banque", ("central", "européen")): "Banque",
    ("politique", ("agricole", "commun")): "politique",
    ("commission", ("européen",)): "Commission",
    ("parlement", ("européen",)): "Parlement",
}

NUMBERS = (
    ("deux", "two"), ("trois", "three"), ("quatre", "four"), ("cinq", "five"), ("six", "six"),
    ("sept", "seven"), ("huit", "eight"), ("neuf", "nine"), ("dix", "ten"), ("onze", "eleven"),
    ("douze", "twelve"), ("treize", "thirteen"), ("quatorze", "fourteen"),
    ("quinze", "fifteen"), ("seize", "sixteen"), ("dix-sept", "seventeen"),
    ("dix-huit", "eighteen"), ("dix-neuf", "nineteen"), ("vingt", "twenty"),
)  # fmt: skip

# determiner kind → (masculine singular, feminine singular, plural) French; (singular, plural)
DETERMINERS = {
    "definite": (("le", "la", "les"), ("the", "the")),
    "indefinite": (("un", "une", "des"), ("a", "some")),
    "demonstrative": (("ce", "cette", "ces"), ("this", "these")),
    "possessive": (("mon", "ma", "mes"), ("my", "my")),
}
DET_KINDS = ("definite",) * 8 + ("indefinite",) * 4 + ("demonstrative", "possessive")

PRONOUNS = (  # (French, English, person index into Verb.fr)
    ("je", "I", 0), ("tu", "you", 1), ("il", "he", 2), ("elle", "she", 2),
    ("nous", "we", 3), ("vous", "you", 4), ("ils", "they", 5), ("elles", "they", 5),
)  # fmt: skip

ADVERBS = (("souvent", "often"), ("toujours", "always"), ("parfois", "sometimes"),
            ("rarement", "rarely"))  # fmt: skip
NEGATABLE_ADVERBS = ADVERBS[:2]

# preposition → (English words, noun categories), for concrete and public-affairs sentences
PREPOSITIONS = {
    "dans": (("in",), frozenset("building area container".split())),
    "sur": (("on",), frozenset(["surface"])),
    "sous": (("under",), frozenset(["surface"])),
    "devant": (("in", "front", "of"), frozenset("building vehicle".split())),
    "derrière": (("behind",), frozenset("building vehicle surface".split())),
    "avec": (("with",), frozenset("person animal".split())),
}
PLACE_PREPOSITIONS = {  # for verbs without an object: "il dort dans la maison"
    "dans": (("in",), frozenset("building area".split())),
    "devant": (("in", "front", "of"), frozenset(["building"])),
    "derrière": (("behind",), frozenset(["building"])),
    "avec": (("with",), frozenset("person animal".split())),
}
PUBLIC_PREPOSITIONS = {
    "pour": (("for",), frozenset("institution region policy".split())),
    "dans": (("in",), frozenset(["region"])),
    "avec": (("with",), frozenset("institution official region".split())),
}


@functools.cache
def nouns_in(cats: frozenset[str]) -> tuple[Noun, ...]:
    return tuple(n for n in NOUNS if n.cats & cats)


@functools.cache
def adjectives_for(noun: Noun) -> tuple[tuple[Adj, ...], tuple[tuple[Adj, Adj], ...]]:
    """The adjectives that fit the noun, and the pairs of them in French order."""
    fitting = tuple(a for a in ADJS if a.cats & noun.cats)
    pairs = tuple((a, b) for a in fitting for b in fitting if a.rank < b.rank)
    return fitting, pairs


@functools.cache
def names_in(cats: frozenset[str]) -> tuple[tuple[Noun, tuple[Adj, ...]], ...]:
    """The names whose noun is in one of the categories, as (noun, adjectives in French order)."""
    nouns = {n.fr[0]: n for n in nouns_in(cats)}
    return tuple(
        (nouns[noun], tuple(ADJ_BY_FR[a] for a in adjs)) for noun, adjs in NAMES if noun in nouns
    )
