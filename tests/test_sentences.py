"""Cutting texts into sentences (`kseq2seq.text.sentences`), the rules of `translate`."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from kseq2seq.text.sentences import join_translations, sentences_and_separators, split_sentences


def _split(text):
    return [piece.decode("utf-8") for piece in split_sentences(tf.constant([text]))[0].numpy()]


@pytest.mark.parametrize(
    "text, pieces",
    [
        ("Une phrase", ["Une phrase"]),
        ("", [""]),
        ("Le chat dort. Le chien mange!", ["Le chat dort.", " ", "Le chien mange!"]),
        ("Il dort.  Elle mange.\n\nFin.", ["Il dort.", "  ", "Elle mange.", "\n\n", "Fin."]),
        ("sans point\npuis une ligne", ["sans point", "\n", "puis une ligne"]),
        ("ligne \r\n suivante", ["ligne", " \r\n ", "suivante"]),
        ("\nA.\n", ["", "\n", "A.", "\n", ""]),
        # Initials and a lower-case continuation do not end a sentence.
        (
            "M. Dupont arrive. J. R. R. Tolkien écrit.",
            ["M. Dupont arrive.", " ", "J. R. R. Tolkien écrit."],
        ),
        ("Il dit oui. et puis non.", ["Il dit oui. et puis non."]),
        ("3.5 chats. 12 chiens.", ["3.5 chats.", " ", "12 chiens."]),
        # Closing and opening quotes and brackets stay with their sentence.
        ("« Oui. » « Non ! » Fin.", ["« Oui. »", " ", "« Non ! »", " ", "Fin."]),
        ("(Fin.) Encore? Oui… Non.", ["(Fin.)", " ", "Encore?", " ", "Oui…", " ", "Non."]),
        ("Quoi?! Ah.", ["Quoi?!", " ", "Ah."]),
    ],
)
def test_split_sentences(text, pieces):
    assert _split(text) == pieces


_texts = st.text(alphabet=st.sampled_from(list("ab AB.!?\n\t«»()1é…\r") + ["\u00a0"]), max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(_texts, min_size=1, max_size=4))
def test_pieces_join_back_into_the_text_and_alternate(texts):
    pieces = split_sentences(tf.constant(texts))
    rows = pieces.to_list()
    for text, row in zip(texts, rows):
        assert b"".join(row).decode("utf-8") == text
        assert len(row) % 2 == 1
        for separator in row[1::2]:
            assert separator.decode("utf-8").strip() == ""  # any Unicode space, NBSP too
        for sentence in row[::2]:
            assert b"\n" not in sentence and b"\r" not in sentence
    # Translating each sentence by itself and joining gives the texts back.
    sentences, is_sentence = sentences_and_separators(pieces)
    joined = join_translations(pieces, is_sentence, sentences).numpy()
    assert [t.decode("utf-8") for t in joined] == texts


def test_join_translations_puts_each_translation_in_its_place():
    pieces = split_sentences(tf.constant(["Un. Deux.\nTrois.", "", "Quatre"]))
    sentences, is_sentence = sentences_and_separators(pieces)
    np.testing.assert_array_equal(sentences.numpy(), [b"Un.", b"Deux.", b"Trois.", b"", b"Quatre"])
    translated = tf.constant(["One.", "Two.", "Three.", "", "Four"])
    joined = join_translations(pieces, is_sentence, translated).numpy()
    assert joined.tolist() == [b"One. Two.\nThree.", b"", b"Four"]


def test_nul_characters_become_spaces():
    assert _split("a\x00b") == ["a b"]
