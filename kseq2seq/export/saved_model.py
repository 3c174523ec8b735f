"""Export a Translator as a TensorFlow SavedModel that takes and returns strings.

The module carries the tokenizers (tensorflow-text ops, lookup tables) and
the model's weights; its signatures are plain TensorFlow graphs, so the
SavedModel loads with `tf.saved_model.load` in a process that imports only
`tensorflow` and `tensorflow_text`, and serves through `saved_model_cli`,
`keras.layers.TFSMLayer` and TensorFlow Serving.

Signatures:
- `serving_default` and `translate`: `text` string[B] (+ `beam_width`,
  `max_length` int32 scalars for `translate`) -> `translation` string[B],
  `score` float32[B], `tokens` string[B, T] (padded with ""),
  `source_tokens` string[B, S], `attention` float32[B, T, S].
- `attention`: `source` string[B], `target` string[B] -> the teacher-forced
  `attention` float32[B, T, S], `source_tokens` and `target_tokens`
  (`</s>` last).

Documented behaviour on odd input: empty and whitespace-only strings give an
empty translation with score 0 and all-zero attention; unknown words are
`<unk>`; sources are cut to `max_source_length` tokens.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras

from kseq2seq.atomic import atomic_directory
from kseq2seq.models.inference import InferencePieces
from kseq2seq.samplers import BeamSampler, GreedySampler, generate
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID


def export_translator(
    translator,
    directory: str | os.PathLike,
    max_length: int = 100,
    length_penalty: float = 0.6,
) -> Path:
    """Writes `translator` as a SavedModel into `directory` (atomically).

    Needs the TensorFlow backend of Keras (a model trained under JAX loads
    there from its `.keras` file: `Translator.load(dir)` then `export`).
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "Exporting a SavedModel needs KERAS_BACKEND=tensorflow (currently "
            f"{keras.backend.backend()!r}); save the Translator, then load and export it "
            "in a TensorFlow-backend process."
        )
    import tensorflow as tf

    module = _build_module(tf, translator, max_length, length_penalty)
    directory = Path(directory)
    signatures = {
        "serving_default": module.serve,
        "translate": module.translate,
        "attention": module.attention,
    }
    with atomic_directory(directory) as staging:
        tf.saved_model.save(module, str(staging), signatures=signatures)
    return directory


def _tf_variable(tf, variable):
    """The `tf.Variable` that holds a Keras variable's value (TensorFlow backend)."""
    value = getattr(variable, "value", variable)
    if not isinstance(value, tf.Variable):
        raise TypeError(f"Expected a TensorFlow variable for {variable.path}; got {type(value)}")
    return value


def _build_module(tf, translator, default_max_length, length_penalty):
    pieces = InferencePieces(translator.model)
    source_vocabulary = tf.constant(translator.source_tokenizer.vocabulary)
    target_vocabulary = tf.constant(translator.target_tokenizer.vocabulary)
    max_source_length = translator.max_source_length

    def encode_sources(text):
        ragged = translator.source_tokenizer.encode(text)[:, :max_source_length]
        source_ids = tf.cast(ragged.to_tensor(default_value=PAD_ID), tf.int32)
        # At least one column, so that empty batches of words still have a shape.
        width = tf.maximum(tf.shape(source_ids)[1], 1)
        source_ids = tf.pad(source_ids, [[0, 0], [0, width - tf.shape(source_ids)[1]]])
        return source_ids

    def strings_of(ids, vocabulary, keep_eos):
        ids = tf.cast(ids, tf.int32)
        strings = tf.gather(vocabulary, ids)
        if keep_eos:
            # Keep up to and including the first </s>.
            ended = tf.cumsum(tf.cast(tf.equal(ids, EOS_ID), tf.int32), axis=1, exclusive=True)
            keep = tf.logical_and(tf.not_equal(ids, PAD_ID), tf.equal(ended, 0))
        else:
            keep = tf.not_equal(ids, PAD_ID)
        return tf.where(keep, strings, "")

    def outputs(source_ids, tokens, scores, attention):
        empty = tf.equal(tf.reduce_sum(tf.cast(source_ids != PAD_ID, tf.int32), axis=1), 0)
        translation = translator.target_tokenizer.decode(tokens)
        translation = tf.where(empty, "", translation)
        scores = tf.where(empty, 0.0, scores)
        tokens = tf.where(empty[:, None], PAD_ID, tokens)
        attention = tf.where(empty[:, None, None], 0.0, attention)
        return {
            "translation": translation,
            "score": scores,
            "tokens": strings_of(tokens, target_vocabulary, keep_eos=True),
            "source_tokens": strings_of(source_ids, source_vocabulary, keep_eos=False),
            "attention": attention,
        }

    def decode(text, beam_width, max_length):
        source_ids = encode_sources(text)

        def search(sampler):
            def run():
                found = generate(pieces, source_ids, sampler, max_length)
                best = (found[name][:, 0] for name in ("tokens", "scores", "attention"))
                return (*best, found["steps"])

            return run

        beam = search(BeamSampler(num_beams=beam_width, length_penalty=length_penalty))
        tokens, scores, attention, steps = tf.cond(beam_width > 1, beam, search(GreedySampler()))
        steps = tf.maximum(steps, 1)
        tokens, attention = tokens[:, :steps], attention[:, :steps]
        return outputs(source_ids, tokens, scores, attention)

    class TranslatorModule(tf.Module):
        def __init__(self):
            super().__init__()
            # The tf.Variables inside the Keras variables, tracked themselves:
            # the signatures capture these, and a tracked Keras variable would be
            # saved as a copy (a new tf.Variable) that TF1-style loaders
            # (saved_model_cli run, TF Serving) restore instead, leaving the
            # captured ones uninitialised.
            self.model_variables = [_tf_variable(tf, v) for v in translator.model.variables]
            self.source_tokenizer = translator.source_tokenizer
            self.target_tokenizer = translator.target_tokenizer

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, text):
            return decode(text, tf.constant(1), tf.constant(default_max_length))

        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.string, name="text"),
                tf.TensorSpec([], tf.int32, name="beam_width"),
                tf.TensorSpec([], tf.int32, name="max_length"),
            ]
        )
        def translate(self, text, beam_width, max_length):
            beam_width = tf.clip_by_value(beam_width, 1, translator.config.target_vocab_size)
            max_length = tf.maximum(max_length, 1)
            return decode(text, beam_width, max_length)

        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.string, name="source"),
                tf.TensorSpec([None], tf.string, name="target"),
            ]
        )
        def attention(self, source, target):
            source_ids = encode_sources(source)
            target_ids = translator.target_tokenizer.encode(target)
            eos = tf.fill([target_ids.nrows(), 1], tf.constant(EOS_ID, target_ids.dtype))
            bos = tf.fill([target_ids.nrows(), 1], tf.constant(BOS_ID, target_ids.dtype))
            target_out = tf.concat([target_ids, eos], axis=1).to_tensor(PAD_ID)
            target_in = tf.concat([bos, target_ids], axis=1).to_tensor(PAD_ID)
            weights = pieces.teacher_forced_attention(source_ids, tf.cast(target_in, tf.int32))
            mask = tf.cast(target_out != PAD_ID, weights.dtype)[:, :, None]
            return {
                "attention": weights * mask,
                "source_tokens": strings_of(source_ids, source_vocabulary, keep_eos=False),
                "target_tokens": strings_of(target_out, target_vocabulary, keep_eos=True),
            }

    return TranslatorModule()
