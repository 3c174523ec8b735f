"""`Seq2SeqPreprocessor`: text to model inputs and back, eagerly, in tf.data and in graphs."""

import json

import numpy as np
import pytest
import tensorflow as tf
from test_pipeline import PAIRS  # the same small pairs as the pipeline's tests

from kseq2seq.data.preprocessor import Seq2SeqPreprocessor
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID


@pytest.fixture(scope="module")
def preprocessor():
    return Seq2SeqPreprocessor.from_pairs(PAIRS, max_source_length=4, pad_to_multiple=4)


def _ids(tokenizer, texts):
    return [list(row) for row in tokenizer.encode(texts).numpy()]


def test_call_shifts_pads_cuts_and_weights(preprocessor):
    sources = [s for s, _ in PAIRS[:5]]
    targets = [t for _, t in PAIRS[:5]]
    inputs, target_out, weights = preprocessor(sources, targets)
    source, target_in = inputs["source"].numpy(), inputs["target_in"].numpy()
    target_out, weights = target_out.numpy(), weights.numpy()
    for array in (source, target_in, target_out):
        assert array.shape[1] % 4 == 0 and array.dtype == np.int32
    for row, ids in enumerate(_ids(preprocessor.source_tokenizer, sources)):
        expected = ids[:4] + [PAD_ID] * (source.shape[1] - len(ids[:4]))
        assert source[row].tolist() == expected  # cut to max_source_length
    for row, ids in enumerate(_ids(preprocessor.target_tokenizer, targets)):
        width = target_out.shape[1]
        assert target_in[row].tolist() == [BOS_ID] + ids + [PAD_ID] * (width - len(ids) - 1)
        assert target_out[row].tolist() == ids + [EOS_ID] + [PAD_ID] * (width - len(ids) - 1)
        assert weights[row].tolist() == [1.0] * (len(ids) + 1) + [0.0] * (width - len(ids) - 1)


def test_the_same_inside_tf_data_and_a_tf_function(preprocessor):
    sources = tf.constant([s for s, _ in PAIRS[:6]])
    targets = tf.constant([t for _, t in PAIRS[:6]])
    eager = preprocessor(sources, targets)
    (mapped,) = list(tf.data.Dataset.from_tensors((sources, targets)).map(preprocessor))
    graph = tf.function(preprocessor.__call__)(sources, targets)
    for other in (mapped, graph):
        for key in ("source", "target_in"):
            np.testing.assert_array_equal(other[0][key], eager[0][key])
        np.testing.assert_array_equal(other[1], eager[1])
        np.testing.assert_array_equal(other[2], eager[2])


def test_generate_preprocess_and_postprocess(preprocessor):
    texts = ["le chat mange la souris grise", "un"]
    ids = preprocessor.generate_preprocess(texts).numpy()
    assert ids.shape == (2, 4)
    assert ids[0].tolist() == _ids(preprocessor.source_tokenizer, texts[:1])[0][:4]
    _, lengths = preprocessor.generate_preprocess(texts, return_lengths=True)
    assert lengths.numpy().tolist() == [6, 1]
    target = _ids(preprocessor.target_tokenizer, ["the black cat"])[0]
    decoded = preprocessor.generate_postprocess(np.array([target + [EOS_ID, 5, 6]], "int32"))
    assert [t.decode() for t in decoded.numpy()] == ["the black cat"]


def test_dataset_rows_are_what_call_makes(preprocessor):
    rows = {}
    dataset = preprocessor.dataset(PAIRS, batch_size=3, shuffle=False, length_policy="truncate")
    for inputs, target_out, _ in dataset:
        for source, target in zip(inputs["source"].numpy(), target_out.numpy()):
            rows[tuple(i for i in source if i)] = [i for i in target if i]
    for source, target in PAIRS:
        single_inputs, single_out, _ = preprocessor([source], [target])
        key = tuple(i for i in single_inputs["source"].numpy()[0] if i)
        assert rows[key] == [i for i in single_out.numpy()[0] if i]


def test_save_and_load(tmp_path, preprocessor):
    preprocessor.save(tmp_path / "p")
    loaded = Seq2SeqPreprocessor.load(tmp_path / "p")
    assert loaded.get_config() == preprocessor.get_config()
    assert loaded.source_tokenizer.vocabulary == preprocessor.source_tokenizer.vocabulary
    assert json.loads((tmp_path / "p" / "preprocessor.json").read_text())["max_source_length"] == 4
    (tmp_path / "p" / "preprocessor.json").unlink()  # a translator saved before it existed
    assert Seq2SeqPreprocessor.load(tmp_path / "p").max_source_length == 100


@pytest.mark.parametrize(
    "options, message",
    [
        ({"pad_to_multiple": 0}, "pad_to_multiple must be a positive integer"),
        ({"max_target_length": 1}, "max_target_length must be an integer >= 2"),
        ({"max_source_length": "5"}, "max_source_length must be a positive integer or None"),
    ],
)
def test_bad_settings_are_refused(preprocessor, options, message):
    with pytest.raises(ValueError, match=message):
        Seq2SeqPreprocessor(preprocessor.source_tokenizer, preprocessor.target_tokenizer, **options)


def test_unknown_words_are_replaced_by_the_attended_source_word(preprocessor):
    target = preprocessor.target_tokenizer
    unk = target.vocabulary.index("<unk>")
    the, cat = target.vocabulary.index("the"), target.vocabulary.index("cat")
    ids = np.array([[the, unk, cat, unk, EOS_ID, 0], [unk, EOS_ID, 0, 0, 0, 0]], "int32")
    sources = ["Le Dupont chat Zoé", "Paris"]
    attention = np.zeros((2, 6, 4), "float32")
    for row, column in [(0, 0), (1, 1), (2, 2), (3, 3), (4, 0)]:
        attention[0, row, column] = 1.0
    attention[1, :, 0] = 1.0
    # What attends where, computed here: row 0 position 1 -> "Dupont", 3 -> "Zoé".
    texts = preprocessor.generate_postprocess(ids, attention, sources).numpy()
    assert [t.decode() for t in texts] == ["the Dupont cat Zoé", "Paris"]
    # Without the attention the token stays, and a subword source cannot point at words.
    assert preprocessor.generate_postprocess(ids).numpy()[0].decode() == "the <unk> cat <unk>"
    subword = Seq2SeqPreprocessor.from_pairs(PAIRS, tokenizer="subword", vocab_size=60)
    assert not subword.replaces_unknown_words
