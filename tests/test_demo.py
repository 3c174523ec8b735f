"""`kseq2seq demo`: its showcase, and sentences of the grammar written by hand, come out right."""

import os

import keras
import pytest

from kseq2seq.commands import DEMO_SENTENCES, HEATMAP_SENTENCE
from kseq2seq.datasets import default_corpus, word_tokens

# Written for this test, not drawn from the corpus (test_hand_written_sentences_are_new): the
# names of the grammar as subjects, objects, in negated and coordinated sentences, after numbers
# and in prepositional phrases, with the translations the grammar gives them.
HAND_WRITTEN = (
    (
        "La zone économique européenne soutient la politique agricole commune.",
        "The European Economic Area supports the Common Agricultural Policy.",
    ),
    (
        "La politique agricole commune ne protège pas les vaches.",
        "The Common Agricultural Policy does not protect the cows.",
    ),
    (
        "Le ministre critique la zone économique européenne et la Commission européenne.",
        "The minister criticises the European Economic Area and the European Commission.",
    ),
    (
        "La Commission européenne et la zone économique européenne signent le traité.",
        "The European Commission and the European Economic Area sign the treaty.",
    ),
    (
        "Les trois ministres allemands proposent la politique agricole commune.",
        "The three German ministers propose the Common Agricultural Policy.",
    ),
    (
        "Nous ne soutenons pas la politique agricole commune.",
        "We do not support the Common Agricultural Policy.",
    ),
    (
        "Elle prépare un rapport pour la zone économique européenne.",
        "She prepares a report for the European Economic Area.",
    ),
    (
        "Le Parlement européen ne critique pas la Banque centrale européenne.",
        "The European Parliament does not criticise the European Central Bank.",
    ),
    (
        "La Banque centrale européenne protège souvent la zone économique européenne.",
        "The European Central Bank often protects the European Economic Area.",
    ),
    (
        "Les banques centrales allemandes soutiennent la Commission européenne.",
        "The German central banks support the European Commission.",
    ),
    (
        "Vous signez la loi avec la Communauté économique européenne.",
        "You sign the law with the European Economic Community.",
    ),
    (
        "La Communauté économique européenne ne signe pas les traités.",
        "The European Economic Community does not sign the treaties.",
    ),
    (
        "Le président soutient la Commission européenne dans la zone économique européenne.",
        "The president supports the European Commission in the European Economic Area.",
    ),
    (
        "Les ministres critiquent souvent la politique agricole commune.",
        "The ministers often criticise the Common Agricultural Policy.",
    ),
    (
        "Cinq gouvernements proposent des réformes pour la politique agricole commune.",
        "Five governments propose some reforms for the Common Agricultural Policy.",
    ),
    (
        "La politique agricole commune et la Banque centrale européenne soutiennent les banques.",
        "The Common Agricultural Policy and the European Central Bank support the banks.",
    ),
    (
        "Le gouvernement français ne soutient pas la zone économique européenne.",
        "The French government does not support the European Economic Area.",
    ),
    (
        "Les chats noirs ne mangent pas les trois souris grises.",
        "The black cats do not eat the three grey mice.",
    ),
    (
        "La Commission européenne propose un budget européen.",
        "The European Commission proposes a European budget.",
    ),
    (
        "Les douze banques italiennes critiquent le Parlement européen.",
        "The twelve Italian banks criticise the European Parliament.",
    ),
)


def test_hand_written_sentences_are_new_but_in_the_grammars_language():
    corpus = default_corpus()
    sources = {e.source for split in corpus.values() for e in split}
    french = {t for e in corpus["train"] for t in word_tokens(e.source)}
    english = {t for e in corpus["train"] for t in word_tokens(e.target)}
    for source, target in HAND_WRITTEN:
        assert source not in sources, source
        assert set(word_tokens(source)) <= french, source
        assert set(word_tokens(target)) <= english, target
    assert len({source for source, _ in HAND_WRITTEN}) == len(HAND_WRITTEN)


def test_showcase_is_of_the_grammar_and_the_heatmap_shows_the_european_economic_area():
    train = {e.source: e.target for e in default_corpus("train")}
    french = {t for source in train for t in word_tokens(source)}
    for source, target in DEMO_SENTENCES:
        assert set(word_tokens(source)) <= french, source
        assert train.get(source, target) == target  # where the corpus has it, it agrees
    assert "zone économique européenne" in HEATMAP_SENTENCE
    assert HEATMAP_SENTENCE in [source for source, _ in DEMO_SENTENCES]


# The full demo trains for minutes; CI runs the suite under both backends, and twice that would
# take too much of its time, so it runs under TensorFlow only: the default backend, the one
# whose demo draws the README's picture. Under JAX, test_demo_quick (test_cli.py) runs the same
# code path on a subset.
@pytest.mark.slow
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the full demo runs under TensorFlow only"
)
def test_the_demo_translates_its_showcase_and_new_sentences_exactly(tmp_path, capsys):
    from kseq2seq import Translator
    from kseq2seq.cli import main

    output = tmp_path / "demo"
    assert main(["demo", "--output", str(output), "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    for source, target in DEMO_SENTENCES:
        assert f"{source}\n    -> {target}  (right)" in out, out
    assert os.path.getsize(output / "attention.png") > 5000

    translator = Translator.load(output)
    sources = [source for source, _ in HAND_WRITTEN + DEMO_SENTENCES]
    expected = [target for _, target in HAND_WRITTEN + DEMO_SENTENCES]
    hypotheses = translator.translate(sources)
    wrong = [(s, h, e) for s, h, e in zip(sources, hypotheses, expected) if h != e]
    assert not wrong, wrong
    # The heatmap's alignment crosses inside the name, as in the article's picture.
    result = translator.attention(HEATMAP_SENTENCE)[0]
    source_tokens, target_tokens = result["source_tokens"], result["target_tokens"]
    weights = keras.ops.convert_to_numpy(result["weights"])
    argmax = [(target_tokens[t], source_tokens[weights[t].argmax()]) for t in range(4)]
    assert argmax == [
        ("The", "la"), ("European", "européenne"), ("Economic", "économique"), ("Area", "zone"),
    ], argmax  # fmt: skip
