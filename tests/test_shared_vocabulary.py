"""One vocabulary for both sides (`shared_vocabulary`) and one embedding matrix
(`share_embeddings`), alone and with `tie_embeddings`."""

import keras
import numpy as np
import pytest

import kseq2seq
from kseq2seq import InferencePieces, Translator, build_model
from kseq2seq.layers.decoder import Seq2SeqDecoder
from kseq2seq.models.builder import SharedEmbeddingModel
from kseq2seq.text.fitting import casing, fit_tokenizers

# German sources with letters (ß, ö, ü) that the English targets never have.
PAIRS = [
    ("Herr Müller kommt aus Köln.", "Mr Mueller comes from Cologne."),
    ("Frau Weiß wohnt in der Straße.", "Mrs Weiss lives in the street."),
    ("Der Hund heißt Bello.", "The dog is called Bello."),
    ("Wir fahren nach Düsseldorf.", "We are driving to Duesseldorf."),
    ("Ich habe 42 Äpfel gekauft.", "I bought 42 apples."),
    ("Das Haus ist groß.", "The house is big."),
] * 3
SMALL = dict(source_vocab_size=30, target_vocab_size=30, embedding_dim=8, units=8)


def _embeddings(model):
    return [weight for weight in model.weights if "embedding" in weight.path]


def _batch():
    source = np.array([[5, 6, 5, 0], [6, 5, 0, 0]], dtype="int32")
    target_in = np.array([[2, 7, 8], [2, 8, 7]], dtype="int32")
    return {"source": source, "target_in": target_in}


# Vocabularies ---------------------------------------------------------------------------------
def test_a_shared_vocabulary_gives_the_same_ids_on_both_sides():
    source, target = fit_tokenizers(PAIRS, "subword", 200, shared_vocabulary=True)
    assert source is target
    for text in ("Müller", "Bello", "Düsseldorf", "42", "The"):
        np.testing.assert_array_equal(source.encode(text).numpy(), target.encode(text).numpy())
    # Separate vocabularies number the same words differently: the check above can fail.
    apart = fit_tokenizers(PAIRS, "subword", 200, lowercase=False)
    assert any(
        apart[0].encode(text).numpy().tolist() != apart[1].encode(text).numpy().tolist()
        for text in ("Müller", "Bello", "42")
    )


def test_an_unseen_name_can_be_spelt_on_the_target_side():
    # What copying needs: the pieces of a source name are pieces of the target vocabulary.
    name = "Weißkölner Bellomüller"  # never seen; "ß", "ö", "ü" are seen in sources only
    source, target = fit_tokenizers(PAIRS, "subword", 200, shared_vocabulary=True)
    ids = source.encode(name)
    assert 1 not in ids.numpy().tolist()  # no <unk>
    assert target.decode(ids).numpy().decode() == name
    apart_source, apart_target = fit_tokenizers(PAIRS, "subword", 200, lowercase=False)
    assert "ß" not in apart_target.vocabulary and "ß" in apart_source.vocabulary
    assert 1 in apart_target.encode(name).numpy().tolist()


def test_the_casing_of_a_shared_vocabulary():
    assert casing() == (True, False)  # a vocabulary a side: the source is lower-cased
    assert casing(shared_vocabulary=True) == (False, False)  # names copy as they are
    assert casing(None, True, shared_vocabulary=True) == (True, True)
    assert casing(False, False, shared_vocabulary=True) == (False, False)
    with pytest.raises(ValueError, match="two casings.*target_lowercase=True"):
        fit_tokenizers(PAIRS, "subword", 200, lowercase=True, shared_vocabulary=True)
    with pytest.raises(ValueError, match="shared_vocabulary must be True or False"):
        fit_tokenizers(PAIRS, "subword", 200, shared_vocabulary="yes")
    joint, _ = fit_tokenizers(PAIRS, "subword", 200, shared_vocabulary=True)
    assert not joint.lowercase and "Müller" in joint.vocabulary


def test_a_shared_word_vocabulary_is_supported_but_spells_no_unseen_word():
    source, target = fit_tokenizers(PAIRS, "word", 100, shared_vocabulary=True)
    assert source is target
    assert {"Müller", "Cologne", "Köln"} <= set(source.vocabulary)
    assert source.encode("Zoë").numpy().tolist() == [1]  # <unk>: copying needs subwords


# The model ------------------------------------------------------------------------------------
@pytest.mark.parametrize("tie", [False, True])
def test_one_embedding_variable_for_both_sides(tie):
    options = dict(SMALL, tie_embeddings=tie)
    apart, shared = build_model(**options), build_model(share_embeddings=True, **options)
    assert len(_embeddings(apart)) == 2 and len(_embeddings(shared)) == 1
    assert len(shared.weights) == len(apart.weights) - 1
    assert apart.count_params() - shared.count_params() == 30 * 8
    encoder, decoder = shared.get_layer("encoder"), shared.get_layer("decoder")
    assert decoder.embedding is encoder.embedding
    if tie:  # all three one matrix: no output projection of its own
        assert not any("output_projection" in weight.path for weight in shared.weights)


def test_gradients_reach_the_shared_matrix_from_both_sides():
    model = build_model(share_embeddings=True, **SMALL)
    model.compile(
        optimizer=keras.optimizers.SGD(1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    (matrix,) = _embeddings(model)
    before = keras.ops.convert_to_numpy(matrix)
    model.train_on_batch(_batch(), np.array([[9, 9, 3], [9, 9, 3]], dtype="int32"))
    changed = np.abs(keras.ops.convert_to_numpy(matrix) - before).sum(-1) > 0
    assert changed[[5, 6]].all()  # read by the encoder only
    assert changed[[2, 7, 8]].all()  # read by the decoder only
    assert not changed[[0, 9, 20]].any()  # padding; no tie: the output side reads no row


@pytest.mark.parametrize("tie", [False, True])
def test_saved_and_loaded_models_keep_one_matrix_and_give_the_same_logits(tmp_path, tie):
    attention = "bahdanau" if tie else "luong_general"
    model = build_model(share_embeddings=True, tie_embeddings=tie, attention=attention, **SMALL)
    # A loaded model starts from other random weights: equal logits mean the weights loaded.
    logits = keras.ops.convert_to_numpy(model(_batch()))
    model.save(tmp_path / "model.keras")
    for loaded in (
        keras.saving.load_model(tmp_path / "model.keras"),
        kseq2seq.load_model(tmp_path / "model.keras"),
    ):
        assert isinstance(loaded, SharedEmbeddingModel)
        assert len(_embeddings(loaded)) == 1
        assert loaded.get_layer("decoder").embedding is loaded.get_layer("encoder").embedding
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(_batch())), logits)
        assert kseq2seq.model_config(loaded) == kseq2seq.model_config(model)


def test_step_by_step_decoding_reads_the_shared_matrix():
    model = build_model(share_embeddings=True, tie_embeddings=True, **SMALL)
    batch = _batch()
    logits = keras.ops.convert_to_numpy(model(batch))
    pieces = InferencePieces(model)
    context, carry = pieces.encode(batch["source"])
    steps = []
    for position in range(batch["target_in"].shape[1]):
        step_logits, carry = pieces.step(batch["target_in"][:, position], carry, context)
        steps.append(keras.ops.convert_to_numpy(step_logits))
    np.testing.assert_allclose(np.stack(steps, 1), logits, atol=1e-5)


def test_bad_sharing_raises_clear_errors():
    with pytest.raises(ValueError, match="share_embeddings=True needs one vocabulary.*40"):
        build_model(**dict(SMALL, target_vocab_size=40), share_embeddings=True)
    with pytest.raises(ValueError, match="share_embeddings must be True or False"):
        build_model(**SMALL, share_embeddings="yes")
    encoder_embedding = keras.layers.Embedding(31, 8)
    with pytest.raises(ValueError, match="30 x 8.*31 x 8"):
        Seq2SeqDecoder(dict(SMALL, share_embeddings=True), shared_embedding=encoder_embedding)
    with pytest.raises(ValueError, match="share_embeddings=False"):
        Seq2SeqDecoder(SMALL, shared_embedding=keras.layers.Embedding(30, 8))


# Translator.from_pairs ------------------------------------------------------------------------
def test_from_pairs_with_a_shared_vocabulary_saves_and_loads_sharing(tmp_path):
    translator = Translator.from_pairs(
        PAIRS, shared_vocabulary=True, tokenizer="subword", vocab_size=200, units=16
    )
    assert translator.source_tokenizer is translator.target_tokenizer
    assert translator.config.share_embeddings
    assert len(_embeddings(translator.model)) == 1
    texts = ["Herr Weiß kommt.", "Grüße aus Köln"]
    translations = translator.translate(texts, max_length=8)
    translator.save(tmp_path / "translator")
    loaded = Translator.load(tmp_path / "translator")
    assert loaded.source_tokenizer.get_config() == loaded.target_tokenizer.get_config()
    assert loaded.source_tokenizer.vocabulary == translator.source_tokenizer.vocabulary
    assert loaded.config.share_embeddings and len(_embeddings(loaded.model)) == 1
    assert loaded.translate(texts, max_length=8) == translations


def test_from_pairs_shares_the_embeddings_unless_told_not_to():
    kept_apart = Translator.from_pairs(
        PAIRS, shared_vocabulary=True, tokenizer="subword", vocab_size=200, share_embeddings=False
    )
    assert kept_apart.source_tokenizer is kept_apart.target_tokenizer
    assert not kept_apart.config.share_embeddings and len(_embeddings(kept_apart.model)) == 2
    # share_embeddings alone is no model option: the sizes are still chosen from the data.
    assert kept_apart.config.embedding_dim == 64 and kept_apart.config.bidirectional
    auto = Translator.from_pairs(PAIRS, shared_vocabulary=True)
    assert auto.config.share_embeddings and auto.config.embedding_dim == 64
    assert not auto.source_tokenizer.lowercase
    from_dict = Translator.from_pairs(
        PAIRS, config={"share_embeddings": False, "units": 16}, shared_vocabulary=True
    )
    assert not from_dict.config.share_embeddings


def test_from_pairs_rejects_sharing_embeddings_between_two_vocabularies():
    with pytest.raises(ValueError, match="pass shared_vocabulary=True"):
        Translator.from_pairs(PAIRS, share_embeddings=True, units=16)
    with pytest.raises(ValueError, match="two casings"):
        Translator.from_pairs(PAIRS, shared_vocabulary=True, lowercase=True)
