#!/usr/bin/env python
"""Translation quality on the German->English sentences of the Ding dictionary.

Every system is trained on the same training pairs for the same wall-clock
budget, then decoded greedily on the same 500 held-out test pairs and scored
with sacrebleu (corpus BLEU and chrF on detokenised, cased text):

- kseq2seq, one row per attention variant (`--variants`), with what a user of
  `kseq2seq train` gets without options: `kseq2seq.auto_config.auto_settings`
  on the training pairs (for this split a 2,000-piece WordPiece vocabulary, a
  bidirectional 512-unit encoder (256 a direction), embedding 256, dropout 0.3, batch
  32, Adam 3e-3, label smoothing 0.1, constant learning rate, and mixed bfloat16 under
  TensorFlow on a CPU with bfloat16 instructions), the variant's attention on top;
- kseq2seq with a lever (`--levers`): `shared_vocabulary` (one subword vocabulary
  and one embedding matrix for both languages, `Translator.from_pairs(...,
  shared_vocabulary=True)`), `word_dropout` (`word_dropout=0.1`), `batch_64` (batches of
  64 instead of 32: fewer, larger steps, more epochs in the budget), `label_smoothing_0.2`,
  `dropout_0.4`, `decay` (Adam's rate halved after each epoch from the 8th, 5 times),
  `tied` (embedding 256 tied to the output projection, 256 units), `large` (embedding 256,
  512 units: the auto settings for this split since 2026-12-04), `medium` (embedding 256,
  384 units), `small` (embedding 128, 256 units: the auto settings before),
  `dropout_0.2`, `lr_2e-3` (Adam 2e-3 instead of 3e-3), `bfloat16`
  (`mixed_precision="mixed_bfloat16"`: faster on CPUs with AVX512_BF16 or AMX),
  `bfloat16_logits` (mixed bfloat16 with the vocabulary projection in bfloat16 too,
  `float32_logits=False`) and `word_vocabulary` (word vocabularies of 8,000: each `<unk>`
  of the output is replaced by the source word it attends to most; the row also reports
  greedy scores with `<unk>` left);
- every kseq2seq row trains as `kseq2seq train` does: no early stopping, and at the end
  the average of the last three epochs' weights is kept if it translates the validation
  pairs at least as well as the last weights (checkpoint averaging); the row reports the
  weights kept, and the last and averaged weights each;
- kseq2seq without attention (`attention=None`), same settings;
- a tutorial-style plain Keras model built here (keras.io style): word
  vocabulary, Embedding -> LSTM encoder, LSTM decoder started from the encoder
  state, `keras.layers.Attention()`, Concatenate, Dense(vocab), greedy decoding
  by a step loop over inference models made from the trained layers.

Training stops when the budget is spent (checked after every batch); the tutorial-style
model also stops early on val_loss (restore_best_weights). kseq2seq rows report beam
search (width 5, length penalty 0.6) next to greedy. `--budget-clock cpu` counts
the budget in CPU-seconds of this process (minutes x 60 x CPU threads, 1,020 for
8.5 minutes on 2 cores), for a machine shared with other jobs. The script also times the
tf.data pipeline on its own and the tokenizer.

The data are read from Debian's `trans-de-en` (/usr/share/trans/de-en) by
`kseq2seq.datasets.load_ding_sentences`; nothing of it is copied anywhere.

Run from the repository root:

    .venv/bin/python benchmarks/quality_ding.py --quick               # smoke run
    .venv/bin/python benchmarks/quality_ding.py                       # full run, about an hour
    .venv/bin/python benchmarks/quality_ding.py --budget-minutes 3 --variants luong_general
    KERAS_BACKEND=jax .venv/bin/python benchmarks/quality_ding.py --quick
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402, F401  (sets TensorFlow's oneDNN default before keras loads it)
import keras  # noqa: E402
import numpy as np  # noqa: E402

import kseq2seq  # noqa: E402
from kseq2seq.auto_config import auto_settings  # noqa: E402
from kseq2seq.datasets import DING_PATH, load_ding_sentences  # noqa: E402
from kseq2seq.samplers import BeamSampler  # noqa: E402
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID  # noqa: E402
from kseq2seq.text.fitting import casing  # noqa: E402
from kseq2seq.training import EpochAverage  # noqa: E402
from kseq2seq.training.metrics import corpus_bleu, corpus_chrf  # noqa: E402

# kseq2seq attention variants: name -> model options on top of the auto settings.
VARIANTS = {
    "luong_general": dict(attention="luong_general"),
    "luong_general_feeding": dict(attention="luong_general", input_feeding=True),
    "bahdanau": dict(attention="bahdanau"),
    "normed_bahdanau": dict(attention="normed_bahdanau"),
    "luong_dot": dict(attention="luong_dot"),
    "luong_concat": dict(attention="luong_concat"),
}
DEFAULT_VARIANTS = "luong_general,luong_general_feeding,bahdanau,luong_dot"
LABELS = {
    "luong_general": "kseq2seq luong_general",
    "luong_general_feeding": "kseq2seq luong_general + input feeding",
    "bahdanau": "kseq2seq bahdanau",
    "normed_bahdanau": "kseq2seq normed_bahdanau",
    "luong_dot": "kseq2seq luong_dot",
    "luong_concat": "kseq2seq luong_concat",
    "no_attention": "kseq2seq no attention",
    "keras_tutorial": "plain Keras tutorial model (word vocab, keras.layers.Attention)",
}

# Levers: name -> extra `Translator.from_pairs` options for a luong_general row.
LEVERS = {
    "shared_vocabulary": dict(shared_vocabulary=True),
    "word_dropout": dict(word_dropout=0.1),
    "batch_64": dict(batch_size=64),
    "label_smoothing_0.2": dict(label_smoothing=0.2),
    "dropout_0.4": dict(dropout=0.4),
    "decay": dict(decay=(7, 5)),
    "tied": dict(embedding_dim=256, tie_embeddings=True),
    "large": dict(embedding_dim=256, units=512),
    "small": dict(embedding_dim=128, units=256),
    "medium": dict(embedding_dim=256, units=384),
    "dropout_0.2": dict(dropout=0.2),
    "lr_2e-3": dict(learning_rate=2e-3),
    "bfloat16": dict(mixed_precision="mixed_bfloat16"),
    "word_vocabulary": dict(tokenizer="word", vocab_size=8000),
    "bfloat16_logits": dict(mixed_precision="mixed_bfloat16", float32_logits=False),
}
LABELS.update(
    {
        "shared_vocabulary": "kseq2seq luong_general + shared vocabulary",
        "word_dropout": "kseq2seq luong_general + word dropout 0.1",
        "batch_64": "kseq2seq luong_general, batch 64",
        "label_smoothing_0.2": "kseq2seq luong_general, label smoothing 0.2",
        "dropout_0.4": "kseq2seq luong_general, dropout 0.4",
        "decay": "kseq2seq luong_general, Adam halved after each epoch from the 8th",
        "tied": "kseq2seq luong_general, embedding 256 tied to the output projection",
        "large": "kseq2seq luong_general, embedding 256, 512 units",
        "small": "kseq2seq luong_general, embedding 128, 256 units",
        "medium": "kseq2seq luong_general, embedding 256, 384 units",
        "dropout_0.2": "kseq2seq luong_general, dropout 0.2",
        "lr_2e-3": "kseq2seq luong_general, Adam 2e-3",
        "bfloat16": "kseq2seq luong_general, mixed bfloat16",
        "word_vocabulary": "kseq2seq luong_general, word vocabularies of 8,000, <unk> replaced",
        "bfloat16_logits": "kseq2seq luong_general, mixed bfloat16, bfloat16 vocabulary projection",
    }
)
AVERAGED_EPOCHS = 3  # checkpoint averaging: the last epochs, as `kseq2seq train` does
TUTORIAL_LEARNING_RATE = 2e-3
BEAM_WIDTH = 5
TUTORIAL_BATCH_SIZE = 64  # the tutorial-style model, as measured in issue 3
PATIENCE = 3
MAX_EPOCHS = 1000  # the budget or EarlyStopping ends training first
TUTORIAL_VOCAB = 8000
TUTORIAL_UNITS = 256


# Data -------------------------------------------------------------------------
def ensure_ding() -> None:
    """Installs Debian's trans-de-en if the dictionary is missing, or explains why it can't."""
    if os.path.exists(DING_PATH):
        return
    print(f"{DING_PATH} is missing: trying `apt-get install -y trans-de-en`", flush=True)
    if shutil.which("apt-get") is None:
        sys.exit(
            f"{DING_PATH} is missing and apt-get is not available. Install Debian/Ubuntu's "
            "package trans-de-en (it provides /usr/share/trans/de-en) and rerun."
        )
    prefix = []
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        if shutil.which("sudo") is None:
            sys.exit(
                f"{DING_PATH} is missing; installing it needs root and sudo is not available. "
                "Run `apt-get install -y trans-de-en` as root and rerun."
            )
        prefix = ["sudo", "-n"]
    subprocess.run(prefix + ["apt-get", "update"], check=False)
    command = prefix + ["apt-get", "install", "-y", "trans-de-en"]
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        sys.exit(
            f"`{' '.join(command)}` failed (exit {result.returncode}), so {DING_PATH} is still "
            "missing. Install the package trans-de-en yourself (it needs root and access to a "
            "Debian/Ubuntu mirror) and rerun."
        )
    if not os.path.exists(DING_PATH):
        sys.exit(f"trans-de-en was installed but {DING_PATH} is still missing.")


def split_pairs(pairs, seed, test_size=500, validation_size=500):
    pairs = list(pairs)
    random.Random(seed).shuffle(pairs)
    test = pairs[:test_size]
    validation = pairs[test_size : test_size + validation_size]
    train = pairs[test_size + validation_size :]
    return train, validation, test


# Training helpers -------------------------------------------------------------
class TimeBudget(keras.callbacks.Callback):
    """Stops training once `seconds` have passed since training began: seconds of wall
    clock, or with `clock="cpu"` CPU-seconds of this process (all its threads)."""

    def __init__(self, seconds: float, clock: str = "wall"):
        super().__init__()
        self.seconds = float(seconds)
        self.clock = time.perf_counter if clock == "wall" else time.process_time
        self.start = None
        self.stopped_by_budget = False

    def on_train_begin(self, logs=None):
        self.start = self.clock()
        self.cpu_start = time.process_time()

    def cpu_seconds(self):
        return time.process_time() - self.cpu_start

    def _check(self):
        if self.clock() - self.start >= self.seconds:
            self.model.stop_training = True
            self.stopped_by_budget = True

    def on_train_batch_end(self, batch, logs=None):
        self._check()

    def on_epoch_end(self, epoch, logs=None):
        self._check()


def training_callbacks(budget_seconds, clock="wall"):
    budget = TimeBudget(budget_seconds, clock)
    early = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=PATIENCE, restore_best_weights=True
    )
    return budget, early


def score(hypotheses, references):
    return corpus_bleu(hypotheses, references), corpus_chrf(hypotheses, references)


def result_row(
    name,
    history,
    budget,
    early,
    seconds,
    decode_seconds,
    hypotheses,
    test,
    beam_hypotheses=None,
    averaged=None,
):
    references = [target for _, target in test]
    bleu, chrf = score(hypotheses, references)
    beam_bleu, beam_chrf = (
        (None, None) if beam_hypotheses is None else score(beam_hypotheses, references)
    )
    averaged_scores = {}
    for key, texts in (averaged or {}).items():
        averaged_scores[key + "_bleu"], averaged_scores[key + "_chrf"] = score(texts, references)
    val_losses = history.history.get("val_loss", [])
    return {
        "system": name,
        "label": LABELS.get(name, name),
        "epochs": len(history.history.get("loss", [])),
        "best_epoch": None
        if early is None or early.best_weights is None
        else int(early.best_epoch) + 1,
        "best_val_loss": float(min(val_losses)) if val_losses else None,
        "stopped_by": "budget" if budget.stopped_by_budget else "early stopping / max epochs",
        "val_loss": [float(value) for value in val_losses],
        "train_minutes": seconds / 60.0,
        "train_cpu_seconds": budget.cpu_seconds(),
        "decode_seconds": decode_seconds,
        "bleu": bleu,
        "chrf": chrf,
        "beam_bleu": beam_bleu,
        "beam_chrf": beam_chrf,
        **averaged_scores,
        "samples": [
            {"source": source, "reference": reference, "hypothesis": hypothesis}
            for (source, reference), hypothesis in list(zip(test, hypotheses))[:5]
        ],
    }


# kseq2seq ---------------------------------------------------------------------
def make_translator(train, options, seed):
    """`Translator.from_pairs` as `kseq2seq train` calls it without options (the auto
    settings), with `options` (a variant's attention, a lever) on top."""
    keras.utils.set_random_seed(seed)
    options = dict(options)
    shared = options.pop("shared_vocabulary", False)
    batch_size = options.pop("batch_size", None)
    label_smoothing = options.pop("label_smoothing", None)
    decay = options.pop("decay", None)
    learning_rate = options.pop("learning_rate", None)
    tokenizer = options.pop("tokenizer", None)
    vocab_size = options.pop("vocab_size", None)
    # The casing `kseq2seq train` uses: the source lower-cased, unless the vocabulary is
    # shared (then both sides keep their case).
    lowercase, target_lowercase = casing(None, False, shared)
    auto = auto_settings(train, lowercase, target_lowercase)
    auto["batch_size"] = batch_size or auto["batch_size"]
    if label_smoothing is not None:
        auto["label_smoothing"] = label_smoothing
    learning_rate = learning_rate or auto["learning_rate"]
    if decay is not None:
        # Constant for `hold` epochs, then halved after each epoch, `halvings` times.
        hold, halvings = decay
        steps = -(-len(train) // auto["batch_size"])
        learning_rate = keras.optimizers.schedules.PiecewiseConstantDecay(
            [steps * (hold + k) for k in range(halvings)],
            [learning_rate / 2**k for k in range(halvings + 1)],
        )
    translator = kseq2seq.Translator.from_pairs(
        train,
        tokenizer=tokenizer or auto["tokenizer"],
        vocab_size=vocab_size or auto["vocab_size"],
        lowercase=lowercase,
        target_lowercase=target_lowercase,
        shared_vocabulary=shared,
        **{**auto["model"], **options},
    )
    kseq2seq.compile_model(
        translator.model,
        learning_rate=learning_rate,
        label_smoothing=auto["label_smoothing"],
    )
    return translator, auto


def decode_both(translator, sources):
    start = time.perf_counter()
    greedy = translator.translate(sources)
    seconds = time.perf_counter() - start
    beam = translator.translate(sources, sampler=BeamSampler(num_beams=BEAM_WIDTH))
    return greedy, beam, seconds


def run_kseq2seq(
    name, options, train, validation, test, budget_seconds, seed, verbose, clock, epochs=None
):
    """Trains as `kseq2seq train` does (no early stopping; the weights of the last epochs
    averaged at the end, and the average kept only if validation BLEU does not fall), the
    budget in place of a number of epochs. The row's scores are those of the weights kept;
    those of the last weights and of the average are reported too."""
    translator, auto = make_translator(train, options, seed)
    budget = TimeBudget(budget_seconds, clock)
    average = EpochAverage(AVERAGED_EPOCHS)
    start = time.perf_counter()
    history = translator.fit(
        train,
        validation,
        epochs=epochs or MAX_EPOCHS,
        batch_size=auto["batch_size"],
        callbacks=[budget, average],
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    sources = [source for source, _ in test]
    last = translator.model.get_weights()
    decoded = {"last": decode_both(translator, sources)}
    averaged = average.average()
    if averaged is not None:
        translator.model.set_weights(averaged)
        decoded["average"] = decode_both(translator, sources)
        translator.model.set_weights(last)
    kept, message, _ = average.keep_if_better(translator, validation)
    print(message or "nothing to average", flush=True)
    kept = kept or "last"
    hypotheses, beam, decode_seconds = decoded[kept]
    extra = {}
    for key, (greedy_texts, beam_texts, _) in decoded.items():
        extra[key] = greedy_texts
        extra[key + "_beam"] = beam_texts
    row = result_row(
        name, history, budget, None, seconds, decode_seconds, hypotheses, test, beam, extra
    )
    row["kept"] = kept
    row["averaged_epochs"] = average.epochs()
    row["settings"] = {**auto, "options": options}
    if translator.preprocessor.replaces_unknown_words:
        row.update(unknown_word_replacement(translator, test))
    return translator, row


def unknown_word_replacement(translator, test):
    """Greedy scores of the kept weights with each `<unk>` replaced by the source word it
    attends to most (what `translate` gives) and with `<unk>` left, one sentence a source
    (`translate_with_details` does not cut sentences), and the `<unk>` count."""
    sources, references = [s for s, _ in test], [t for _, t in test]
    details = translator.translate_with_details(sources)
    left = translator.preprocessor.generate_postprocess(details["tokens"]).numpy()
    left = [text.decode("utf-8") for text in left]
    bleu, chrf = score(details["translations"], references)
    left_bleu, left_chrf = score(left, references)
    return {
        "replaced_bleu": bleu,
        "replaced_chrf": chrf,
        "unk_left_bleu": left_bleu,
        "unk_left_chrf": left_chrf,
        "unk_count": sum(text.split().count("<unk>") for text in left),
    }


def pipeline_throughput(translator, train):
    """Sentences/s of one pass over translator.dataset(train, 64) after a warm-up pass,
    and the tokenizer's speed on single strings and on one batch of all sources."""
    dataset = translator.dataset(train, batch_size=64)

    def one_pass():
        count = 0
        for inputs, _, _ in dataset:
            count += int(inputs["source"].shape[0])
        return count

    one_pass()  # warm-up: traces the map functions, fills the AUTOTUNE model
    start = time.perf_counter()
    count = one_pass()
    pass_seconds = time.perf_counter() - start

    import tensorflow as tf

    tokenizer = translator.source_tokenizer
    sources = [source for source, _ in train]
    # Per element inside tf.data: one string per map call (graph mode), no batching.
    per_element = tf.data.Dataset.from_tensor_slices(tf.constant(sources)).map(
        tokenizer.encode, num_parallel_calls=tf.data.AUTOTUNE
    )
    for _ in per_element:  # warm-up pass
        pass
    start = time.perf_counter()
    for _ in per_element:
        pass
    map_seconds = time.perf_counter() - start
    singles = sources[:500]
    for text in singles[:20]:  # warm-up (traces the single-string signature)
        tokenizer.encode(text)
    start = time.perf_counter()
    for text in singles:
        tokenizer.encode(text)
    single_seconds = time.perf_counter() - start
    tokenizer.encode(sources[:64])  # warm-up of the batched signature
    start = time.perf_counter()
    tokenizer.encode(sources)
    batch_seconds = time.perf_counter() - start
    return {
        "pipeline_sentences": count,
        "pipeline_seconds": pass_seconds,
        "pipeline_sentences_per_s": count / pass_seconds,
        "tokenize_map_per_element_sentences_per_s": len(sources) / map_seconds,
        "tokenize_single_calls": len(singles),
        "tokenize_single_us_per_sentence": 1e6 * single_seconds / len(singles),
        "tokenize_single_sentences_per_s": len(singles) / single_seconds,
        "tokenize_batch_sentences": len(sources),
        "tokenize_batch_sentences_per_s": len(sources) / batch_seconds,
    }


# The tutorial-style plain Keras model -----------------------------------------
def encode_padded(tokenizer, texts, add_bos=False, add_eos=False):
    rows = [list(row) for row in tokenizer.encode(list(texts)).numpy()]
    if add_bos:
        rows = [[BOS_ID] + row for row in rows]
    if add_eos:
        rows = [row + [EOS_ID] for row in rows]
    width = max(len(row) for row in rows)
    ids = np.full((len(rows), width), PAD_ID, dtype="int32")
    for index, row in enumerate(rows):
        ids[index, : len(row)] = row
    return ids


def tutorial_arrays(source_tokenizer, target_tokenizer, pairs):
    source = encode_padded(source_tokenizer, [s for s, _ in pairs])
    target = encode_padded(target_tokenizer, [t for _, t in pairs], add_bos=True, add_eos=True)
    target_in, target_out = target[:, :-1], target[:, 1:]
    weights = (target_out != PAD_ID).astype("float32")
    return (source, target_in), target_out, weights


def build_tutorial_model(source_vocab, target_vocab, units=TUTORIAL_UNITS, embedding=256):
    source = keras.Input((None,), dtype="int32", name="source")
    target_in = keras.Input((None,), dtype="int32", name="target_in")
    source_embedding = keras.layers.Embedding(source_vocab, embedding, mask_zero=True)
    encoder = keras.layers.LSTM(units, return_sequences=True, return_state=True)
    target_embedding = keras.layers.Embedding(target_vocab, embedding, mask_zero=True)
    decoder = keras.layers.LSTM(units, return_sequences=True, return_state=True)
    attention = keras.layers.Attention()
    concat = keras.layers.Concatenate()
    output = keras.layers.Dense(target_vocab)

    encoder_out, state_h, state_c = encoder(source_embedding(source))
    decoder_out, _, _ = decoder(target_embedding(target_in), initial_state=[state_h, state_c])
    context = attention([decoder_out, encoder_out])
    logits = output(concat([decoder_out, context]))
    model = keras.Model([source, target_in], logits)
    layers = dict(
        source_embedding=source_embedding,
        encoder=encoder,
        target_embedding=target_embedding,
        decoder=decoder,
        attention=attention,
        concat=concat,
        output=output,
    )
    return model, layers


def tutorial_inference_models(layers, units=TUTORIAL_UNITS):
    """keras.io style: an encoder model and a one-step decoder model sharing the trained layers."""
    source = keras.Input((None,), dtype="int32")
    encoder_out, state_h, state_c = layers["encoder"](layers["source_embedding"](source))
    encoder_model = keras.Model(source, [encoder_out, state_h, state_c])

    token = keras.Input((1,), dtype="int32")
    memory = keras.Input((None, units))
    memory_mask = keras.Input((None,), dtype="bool")
    h_in, c_in = keras.Input((units,)), keras.Input((units,))
    step_out, h_out, c_out = layers["decoder"](
        layers["target_embedding"](token), initial_state=[h_in, c_in]
    )
    context = layers["attention"]([step_out, memory], mask=[None, memory_mask])
    logits = layers["output"](layers["concat"]([step_out, context]))
    decoder_model = keras.Model([token, memory, memory_mask, h_in, c_in], [logits, h_out, c_out])
    return encoder_model, decoder_model


def tutorial_greedy(encoder_model, decoder_model, source_ids, max_length, batch_size=250):
    outputs = []
    for begin in range(0, len(source_ids), batch_size):
        source = source_ids[begin : begin + batch_size]
        memory, h, c = encoder_model.predict_on_batch(source)
        mask = source != PAD_ID
        token = np.full((len(source), 1), BOS_ID, dtype="int32")
        done = np.zeros(len(source), dtype=bool)
        steps = []
        for _ in range(max_length):
            logits, h, c = decoder_model.predict_on_batch([token, memory, mask, h, c])
            next_token = np.asarray(logits)[:, -1].argmax(axis=-1).astype("int32")
            next_token = np.where(done, PAD_ID, next_token)
            steps.append(next_token)
            done |= next_token == EOS_ID
            if done.all():
                break
            token = np.where(done, EOS_ID, next_token)[:, None].astype("int32")
        outputs.append(np.stack(steps, axis=1))
    width = max(block.shape[1] for block in outputs)
    return np.concatenate(
        [np.pad(block, [(0, 0), (0, width - block.shape[1])]) for block in outputs]
    )


def run_tutorial(train, validation, test, budget_seconds, seed, verbose, clock):
    from kseq2seq.text import WordTokenizer

    keras.utils.set_random_seed(seed)
    source_tokenizer = WordTokenizer(lowercase=True, max_vocab_size=TUTORIAL_VOCAB)
    target_tokenizer = WordTokenizer(lowercase=False, max_vocab_size=TUTORIAL_VOCAB)
    source_tokenizer.fit([s for s, _ in train])
    target_tokenizer.fit([t for _, t in train])
    model, layers = build_tutorial_model(source_tokenizer.vocab_size, target_tokenizer.vocab_size)
    model.compile(
        optimizer=keras.optimizers.Adam(TUTORIAL_LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=[],
    )
    x, y, w = tutorial_arrays(source_tokenizer, target_tokenizer, train)
    vx, vy, vw = tutorial_arrays(source_tokenizer, target_tokenizer, validation)
    budget, early = training_callbacks(budget_seconds, clock)
    start = time.perf_counter()
    history = model.fit(
        list(x),
        y,
        sample_weight=w,
        validation_data=(list(vx), vy, vw),
        epochs=MAX_EPOCHS,
        batch_size=TUTORIAL_BATCH_SIZE,
        shuffle=True,
        callbacks=[budget, early],
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    encoder_model, decoder_model = tutorial_inference_models(layers)
    start = time.perf_counter()
    source_ids = encode_padded(source_tokenizer, [s for s, _ in test])
    max_length = int(2 * (source_ids != PAD_ID).sum(axis=1).max() + 10)
    tokens = tutorial_greedy(encoder_model, decoder_model, source_ids, max_length)
    hypotheses = [text.decode("utf-8") for text in target_tokenizer.decode(tokens).numpy()]
    decode_seconds = time.perf_counter() - start
    return result_row(
        "keras_tutorial", history, budget, early, seconds, decode_seconds, hypotheses, test
    )


# Report -----------------------------------------------------------------------
def markdown_table(rows):
    """kseq2seq rows: the scores of the weights kept (the last epoch's, or the average of the
    last epochs when it scores at least as well on the validation pairs), then those of
    each."""
    lines = [
        f"| system | epochs run (best) | train min | train CPU-s | kept | BLEU | chrF "
        f"| beam {BEAM_WIDTH} BLEU | beam {BEAM_WIDTH} chrF | last BLEU / chrF "
        f"| averaged BLEU / chrF | averaged beam {BEAM_WIDTH} BLEU / chrF |",
        "| --- |" + " --- |" * 11,
    ]

    def figure(row, key):
        return "n/a" if row.get(key) is None else f"{row[key]:.2f}"

    for row in rows:
        best = "" if row["best_epoch"] is None else f" ({row['best_epoch']})"
        scores = " | ".join(figure(row, key) for key in ("bleu", "chrf", "beam_bleu", "beam_chrf"))
        pairs = " | ".join(
            f"{figure(row, key + '_bleu')} / {figure(row, key + '_chrf')}"
            for key in ("last", "average", "average_beam")
        )
        lines.append(
            f"| {row['label']} | {row['epochs']}{best} | {row['train_minutes']:.2f} "
            f"| {row['train_cpu_seconds']:.0f} | {row.get('kept', 'n/a')} | {scores} | {pairs} |"
        )
    return "\n".join(lines)


def version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=None,
        help="wall-clock training budget per system (default 8.5; 0.5 with --quick)",
    )
    parser.add_argument(
        "--variants",
        default=DEFAULT_VARIANTS,
        help=f"comma list of kseq2seq attention variants, of {', '.join(VARIANTS)} "
        f"(default {DEFAULT_VARIANTS})",
    )
    parser.add_argument(
        "--baselines",
        default="no_attention,keras_tutorial",
        help="comma list of no_attention, keras_tutorial; 'none' for neither",
    )
    parser.add_argument(
        "--levers",
        default="",
        help=f"comma list of luong_general rows with a lever, of {', '.join(LEVERS)}; "
        "'a+b' for a row with both",
    )
    parser.add_argument(
        "--budget-clock",
        choices=("wall", "cpu"),
        default="wall",
        help="count the budget in wall-clock seconds, or in CPU-seconds of this process "
        "(budget minutes x 60 x CPU threads), for a machine shared with other jobs",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="train the kseq2seq rows for exactly this many epochs, with no time budget (to "
        "compare levers at equal epochs on a machine whose speed varies: a seed gives the "
        "same epochs on any machine)",
    )
    parser.add_argument("--quick", action="store_true", help="2000 training pairs, 0.5 min")
    parser.add_argument("--seed", type=int, default=0, help="the split's seed (default 0)")
    parser.add_argument(
        "--train-seed",
        type=int,
        default=None,
        help="the seed of the weights' initialisation and of the batches' order (default: "
        "--seed); another value repeats a row on the same split",
    )
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--verbose", type=int, default=2, help="model.fit verbosity")
    args = parser.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; valid: {', '.join(VARIANTS)}")
    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
    args.baselines = [] if baselines == ["none"] else baselines
    args.levers = [lever.strip() for lever in args.levers.split(",") if lever.strip()]
    unknown = [part for lever in args.levers for part in lever.split("+") if part not in LEVERS]
    if unknown:
        parser.error(f"unknown lever(s) {unknown}; valid: {', '.join(LEVERS)} (join two with '+')")
    unknown = [b for b in args.baselines if b not in ("no_attention", "keras_tutorial")]
    if unknown:
        parser.error(f"unknown baseline(s) {unknown}")
    if args.budget_minutes is None:
        args.budget_minutes = 0.5 if args.quick else 8.5
    if args.train_seed is None:
        args.train_seed = args.seed
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs takes a whole number of at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    ensure_ding()
    pairs = load_ding_sentences(max_words=10)
    train, validation, test = split_pairs(pairs, args.seed)
    if args.quick:
        train = train[:2000]
    budget_seconds = 60.0 * args.budget_minutes
    if args.budget_clock == "cpu":
        budget_seconds *= os.cpu_count()
    kseq2seq_budget = float("inf") if args.epochs else budget_seconds
    verbose = args.verbose

    print(f"backend: {keras.backend.backend()} (keras {keras.__version__})")
    print(
        f"platform: {platform.platform()}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPU threads"
    )
    print(
        f"data: {len(pairs)} Ding pairs with <= 10 words a side; "
        f"train {len(train)}, validation {len(validation)}, test {len(test)} (seed {args.seed}); "
        f"training seed {args.train_seed}"
    )
    print(
        f"budget: {args.budget_minutes:g} min of training per system "
        f"({budget_seconds:.0f} {args.budget_clock} seconds)",
        flush=True,
    )
    if args.epochs:
        print(f"kseq2seq rows: exactly {args.epochs} epochs each, no time budget", flush=True)

    rows = []
    throughput = None
    systems = [(name, VARIANTS[name]) for name in args.variants]
    for name in args.levers:
        parts = name.split("+")
        LABELS.setdefault(name, LABELS[parts[0]] + "".join(f" + {part}" for part in parts[1:]))
        options = {key: value for part in parts for key, value in LEVERS[part].items()}
        systems.append((name, {**VARIANTS["luong_general"], **options}))
    if "no_attention" in args.baselines:
        systems.append(("no_attention", dict(attention=None)))
    for name, options in systems:
        print(f"\n== {LABELS[name]} ==", flush=True)
        translator, row = run_kseq2seq(
            name,
            options,
            train,
            validation,
            test,
            kseq2seq_budget,
            args.train_seed,
            verbose,
            args.budget_clock,
            args.epochs,
        )
        rows.append(row)
        print(
            f"{name}: {row['epochs']} epochs, {row['train_minutes']:.2f} min, "
            f"BLEU {row['bleu']:.2f}, chrF {row['chrf']:.2f} ({row['kept']} kept); last "
            f"{row['last_bleu']:.2f}, {row['last_chrf']:.2f}; averaged "
            f"{row.get('average_bleu') or 0:.2f}, {row.get('average_chrf') or 0:.2f}",
            flush=True,
        )
        if "replaced_bleu" in row:
            print(
                f"{name}: <unk> replaced BLEU {row['replaced_bleu']:.2f}, chrF "
                f"{row['replaced_chrf']:.2f}; <unk> left BLEU {row['unk_left_bleu']:.2f}, chrF "
                f"{row['unk_left_chrf']:.2f} ({row['unk_count']} <unk> in the output)",
                flush=True,
            )
        for sample in row["samples"][:3]:
            print(f"  DE  {sample['source']}\n  REF {sample['reference']}")
            print(f"  HYP {sample['hypothesis']}")
        if throughput is None:
            throughput = pipeline_throughput(translator, train)
        del translator
        keras.backend.clear_session()
    if "keras_tutorial" in args.baselines:
        print(f"\n== {LABELS['keras_tutorial']} ==", flush=True)
        row = run_tutorial(
            train, validation, test, budget_seconds, args.train_seed, verbose, args.budget_clock
        )
        rows.append(row)
        print(
            f"keras_tutorial: {row['epochs']} epochs, {row['train_minutes']:.2f} min, "
            f"BLEU {row['bleu']:.2f}, chrF {row['chrf']:.2f}"
        )
        for sample in row["samples"][:3]:
            print(f"  DE  {sample['source']}\n  REF {sample['reference']}")
            print(f"  HYP {sample['hypothesis']}")

    print("\n## Results\n")
    print(f"backend {keras.backend.backend()}, keras {keras.__version__}, {os.cpu_count()} CPUs")
    print(
        f"data: train {len(train)}, validation {len(validation)}, test {len(test)} pairs; "
        f"budget {args.budget_minutes:g} min per system; greedy decoding (and beam "
        f"{BEAM_WIDTH} for kseq2seq); "
        "sacrebleu BLEU / chrF on detokenised cased text\n"
    )
    print(markdown_table(rows))
    if throughput is not None:
        print(
            f"\ntf.data pipeline (translator.dataset(train, batch_size=64), one pass after a "
            f"warm-up pass): {throughput['pipeline_sentences']} sentences in "
            f"{throughput['pipeline_seconds']:.2f} s = "
            f"{throughput['pipeline_sentences_per_s']:.0f} sentences/s"
        )
        print(
            f"tokenizer (subword, source side): per element in tf.data "
            f"(Dataset.map(encode), one string per element) "
            f"{throughput['tokenize_map_per_element_sentences_per_s']:.0f} sentences/s; "
            f"eager, one string per call "
            f"{throughput['tokenize_single_us_per_sentence']:.0f} us/sentence "
            f"({throughput['tokenize_single_sentences_per_s']:.0f} sentences/s); "
            f"all {throughput['tokenize_batch_sentences']} sources in one call "
            f"{throughput['tokenize_batch_sentences_per_s']:.0f} sentences/s"
        )
    goal = [
        r["system"]
        for r in rows
        if r["system"] != "keras_tutorial" and r["bleu"] >= 10.3 and r["chrf"] >= 28
    ]
    print(
        "\ngoal (a kseq2seq row with greedy BLEU >= 10.3 and chrF >= 28): "
        + ("reached by " + ", ".join(goal) if goal else "not reached")
    )

    if args.json:
        report = {
            "backend": keras.backend.backend(),
            "versions": {
                name: version(name)
                for name in ("keras", "tensorflow", "tensorflow-text", "jax", "sacrebleu")
            },
            "cpu_threads": os.cpu_count(),
            "platform": platform.platform(),
            "args": {k: v for k, v in vars(args).items()},
            "data": {
                "pairs": len(pairs),
                "train": len(train),
                "validation": len(validation),
                "test": len(test),
            },
            "settings": {
                "kseq2seq": "auto_settings(train) per row, see each row's settings",
                "averaged_epochs": AVERAGED_EPOCHS,
                "tutorial_learning_rate": TUTORIAL_LEARNING_RATE,
                "beam_width": BEAM_WIDTH,
                "tutorial_batch_size": TUTORIAL_BATCH_SIZE,
                "patience": PATIENCE,
                "tutorial_vocab": TUTORIAL_VOCAB,
                "tutorial_units": TUTORIAL_UNITS,
            },
            "rows": rows,
            "pipeline": throughput,
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
