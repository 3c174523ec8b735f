"""Export a Translator as a TensorFlow SavedModel that takes and returns strings.

It loads with `tf.saved_model.load` in a process that imports only `tensorflow` and
`tensorflow_text` (README, "Serving: the SavedModel"). Signatures:
- `serving_default` and `translate` (+ `beam_width`, `max_length` int32 scalars): `text`
  string[B] -> `translation` string[B], `score` float32[B], `tokens` string[B, T] (padded
  with ""), `source_tokens` string[B, S], `attention` float32[B, T, S]. Each text is cut into
  sentences as `Translator.translate` cuts it; the sentences' outputs are put one after the
  other (`score` summed, `attention` block-diagonal).
- `translate_sentences`: the same, each text translated as one sentence.
- `attention`: `source`, `target` string[B] -> the teacher-forced `attention`
  float32[B, T, S], `source_tokens` and `target_tokens` (`</s>` last).

Odd input: empty and whitespace-only texts give an empty translation, score 0 and zero
attention; unknown words are `<unk>`; sources are cut to `max_source_length` tokens.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras

from kseq2seq.atomic import atomic_directory
from kseq2seq.models.inference import InferencePieces
from kseq2seq.samplers import BeamSampler, GreedySampler, generate
from kseq2seq.special_tokens import EOS_ID, PAD_ID
from kseq2seq.text.sentences import join_translations, sentences_and_separators, split_sentences


def export_translator(
    translator,
    directory: str | os.PathLike,
    max_length: int = 100,
    length_penalty: float = 0.6,
) -> Path:
    """Writes `translator` as a SavedModel into `directory` (atomically).

    Needs the TensorFlow backend (a model trained under JAX loads there from its `.keras`
    file: `Translator.load(dir)`, then `export`).
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "Exporting a SavedModel needs KERAS_BACKEND=tensorflow (currently "
            f"{keras.backend.backend()!r}); save the Translator, then load and export it "
            "in a TensorFlow-backend process."
        )
    import tensorflow as tf

    module = _build_module(tf, translator, max_length, length_penalty)
    names = ("translate", "translate_sentences", "attention")
    signatures = {"serving_default": module.serve, **{n: getattr(module, n) for n in names}}
    with atomic_directory(directory) as staging:
        tf.saved_model.save(module, str(staging), signatures=signatures)
    return Path(directory)


def _build_module(tf, translator, default_max_length, length_penalty):
    pieces = InferencePieces(translator.model)
    source_vocabulary = tf.constant(translator.source_tokenizer.vocabulary)
    target_vocabulary = tf.constant(translator.target_tokenizer.vocabulary)
    preprocessor = translator.preprocessor

    def strings_of(ids, vocabulary, keep_eos):
        ids = tf.cast(ids, tf.int32)
        keep = tf.not_equal(ids, PAD_ID)
        if keep_eos:  # up to and including the first </s>
            ended = tf.cumsum(tf.cast(tf.equal(ids, EOS_ID), tf.int32), axis=1, exclusive=True)
            keep &= tf.equal(ended, 0)
        return tf.where(keep, tf.gather(vocabulary, ids), "")

    def decode(text, beam_width, max_length):
        source_ids = preprocessor.generate_preprocess(text)

        def search(sampler):
            found = generate(pieces, source_ids, sampler, max_length)
            best = [found[name][:, 0] for name in ("tokens", "scores", "attention")]
            return (*best, found["steps"])

        beam = BeamSampler(num_beams=beam_width, length_penalty=length_penalty)
        tokens, scores, attention, steps = tf.cond(
            beam_width > 1, lambda: search(beam), lambda: search(GreedySampler())
        )
        steps = tf.maximum(steps, 1)
        tokens, attention = tokens[:, :steps], attention[:, :steps]
        empty = tf.reduce_all(tf.equal(source_ids, PAD_ID), axis=1)
        # Each <unk> becomes the source word it attended to most (word vocabularies).
        translation = preprocessor.generate_postprocess(tokens, attention, text)
        tokens = tf.where(empty[:, None], PAD_ID, tokens)
        return {
            "translation": tf.where(empty, "", translation),
            "score": tf.where(empty, 0.0, scores),
            "tokens": strings_of(tokens, target_vocabulary, keep_eos=True),
            "source_tokens": strings_of(source_ids, source_vocabulary, keep_eos=False),
            "attention": tf.where(empty[:, None, None], 0.0, attention),
        }

    def decode_paragraphs(text, beam_width, max_length):
        """`decode` of every sentence of every text in one batch, joined back per text."""
        parts = split_sentences(text)
        sentences, is_sentence = sentences_and_separators(parts)
        found = decode(sentences, beam_width, max_length)
        rows = tf.boolean_mask(is_sentence.value_rowids(), is_sentence.flat_values)
        count = tf.shape(text, out_type=tf.int64)[0]
        translation = join_translations(parts, is_sentence, found["translation"])
        return {
            "translation": tf.where(tf.strings.regex_full_match(text, r"\s*"), "", translation),
            "score": tf.math.unsorted_segment_sum(found["score"], rows, count),
            **concatenate_sentences(tf, found, rows, count),
        }

    # No autograph: the loops and branches are tf.while_loop and tf.cond already, and
    # converting the decoder took a third of an export's time (benchmarks/first_call.py).
    def signature(*specs):
        return tf.function(input_signature=list(specs), autograph=False)

    def clamped(beam_width, max_length):  # out-of-range settings become the nearest valid ones
        beam_width = tf.clip_by_value(beam_width, 1, translator.config.target_vocab_size)
        return beam_width, tf.maximum(max_length, 1)

    class TranslatorModule(tf.Module):
        def __init__(self):
            super().__init__()
            # The tf.Variables inside the Keras variables, which the signatures capture: a
            # tracked Keras variable would be saved as a copy that TF1-style loaders
            # (saved_model_cli run, TF Serving) restore instead, leaving these uninitialised.
            self.model_variables = [variable.value for variable in translator.model.variables]
            for variable, value in zip(translator.model.variables, self.model_variables):
                if not isinstance(value, tf.Variable):
                    raise TypeError(f"Expected a tf.Variable for {variable.path}: {type(value)}")
            self.source_tokenizer = translator.source_tokenizer
            self.target_tokenizer = translator.target_tokenizer

        @signature(tf.TensorSpec([None], tf.string, name="text"))
        def serve(self, text):
            return decode_paragraphs(text, tf.constant(1), tf.constant(default_max_length))

        @signature(
            tf.TensorSpec([None], tf.string, name="text"),
            tf.TensorSpec([], tf.int32, name="beam_width"),
            tf.TensorSpec([], tf.int32, name="max_length"),
        )
        def translate(self, text, beam_width, max_length):
            return decode_paragraphs(text, *clamped(beam_width, max_length))

        @signature(*translate.input_signature)
        def translate_sentences(self, text, beam_width, max_length):
            return decode(text, *clamped(beam_width, max_length))

        @signature(
            tf.TensorSpec([None], tf.string, name="source"),
            tf.TensorSpec([None], tf.string, name="target"),
        )
        def attention(self, source, target):
            source_ids = preprocessor.generate_preprocess(source)
            inputs, target_out, _ = preprocessor(source, target)
            weights = pieces.teacher_forced_attention(source_ids, inputs["target_in"])
            mask = tf.cast(target_out != PAD_ID, weights.dtype)[:, :, None]
            return {
                "attention": weights * mask,
                "source_tokens": strings_of(source_ids, source_vocabulary, keep_eos=False),
                "target_tokens": strings_of(target_out, target_vocabulary, keep_eos=True),
            }

    return TranslatorModule()


def concatenate_sentences(tf, found, rows, count):
    """The token strings and attention of each text's sentences, one after the other.

    `found` holds per-sentence `tokens` (N, T) and `source_tokens` (N, S) strings ("" after
    the end) and `attention` (N, T, S); `rows` (N,) is the text of each sentence. A text's
    attention is block-diagonal: each sentence attends to its own source.
    """
    lengths = {}
    grouped = {}
    for name in ("tokens", "source_tokens"):
        strings = found[name]
        lengths[name] = tf.reduce_sum(tf.cast(tf.not_equal(strings, ""), tf.int64), axis=1)
        ragged = tf.RaggedTensor.from_tensor(strings, lengths=lengths[name])
        by_text = tf.RaggedTensor.from_value_rowids(ragged, rows, nrows=count)
        grouped[name] = by_text.merge_dims(1, 2).to_tensor("")

    def offsets(length):
        # Where each sentence starts within its text: the lengths before it in that text.
        before = tf.cumsum(length, exclusive=True)
        return before - tf.gather(tf.math.unsorted_segment_min(before, rows, count), rows)

    t_lengths, s_lengths = lengths["tokens"], lengths["source_tokens"]
    attention = found["attention"]
    shape = tf.shape(attention)
    t = tf.range(shape[1], dtype=tf.int64)[None, :, None]
    s = tf.range(shape[2], dtype=tf.int64)[None, None, :]
    valid = (t < t_lengths[:, None, None]) & (s < s_lengths[:, None, None])
    sentence, step, position = tf.unstack(tf.where(valid), axis=1)
    indices = tf.stack(
        [
            tf.gather(rows, sentence),
            tf.gather(offsets(t_lengths), sentence) + step,
            tf.gather(offsets(s_lengths), sentence) + position,
        ],
        axis=1,
    )
    size = tf.stack(
        [
            count,
            tf.shape(grouped["tokens"], tf.int64)[1],
            tf.shape(grouped["source_tokens"], tf.int64)[1],
        ]
    )
    return {
        "tokens": grouped["tokens"],
        "source_tokens": grouped["source_tokens"],
        "attention": tf.scatter_nd(indices, tf.gather_nd(attention, tf.where(valid)), size),
    }
