"""`Seq2SeqHyperModel`: a keras-tuner HyperModel over `build_model`'s options."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import keras_tuner
import numpy as np

from kseq2seq.config import Seq2SeqConfig
from kseq2seq.models.builder import build_model
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID
from kseq2seq.text.fitting import fit_tokenizers
from kseq2seq.training.losses import compile_model
from kseq2seq.tuning.search_space import (
    ARCHITECTURE_NAMES,
    Hyperparameter,
    parse_search_space,
)

DEFAULT_BATCH_SIZE = 64


def _allow_search_without_tensorboard() -> None:
    """Lets keras-tuner run trials under TensorFlow when tensorboard is not installed.

    keras-tuner 1.4's `Tuner.run_trial` imports `tensorboard` on the TensorFlow
    backend before every trial, only to adjust `TensorBoard` callbacks, and
    TensorFlow 2.21 no longer installs tensorboard. Without such a callback
    there is nothing to adjust: skip the import then. With one, keras-tuner
    runs as before (and needs tensorboard, as the callback does).
    """
    if importlib.util.find_spec("tensorboard") is not None:
        return
    original = keras_tuner.Tuner._configure_tensorboard_dir
    if getattr(original, "_kseq2seq_guard", False):
        return

    def configure_tensorboard_dir(self, callbacks, trial, execution=0):
        if not any(type(callback).__name__ == "TensorBoard" for callback in callbacks):
            return None
        return original(self, callbacks, trial, execution)

    configure_tensorboard_dir._kseq2seq_guard = True
    keras_tuner.Tuner._configure_tensorboard_dir = configure_tensorboard_dir


_allow_search_without_tensorboard()


class Seq2SeqHyperModel(keras_tuner.HyperModel):
    """A `keras_tuner.HyperModel` whose `build(hp)` returns a compiled seq2seq model.

    The search space is `DEFAULT_SEARCH_SPACE` (`kseq2seq.tuning.search_space`)
    updated with `search_space` and `fixed`; it is checked here, before any
    trial runs.

    Two ways to give data:

    - NumPy arrays or datasets to `tuner.search(x, y, validation_data=...,
      epochs=...)`, as to `model.fit` (a tuned `batch_size` needs arrays);
    - pairs of sentences, with `Seq2SeqHyperModel.from_translator_data(train_pairs,
      validation_pairs)`; then `tuner.search(epochs=...)` needs nothing else.

    With tokenizers and validation pairs, every epoch also translates
    `bleu_samples` validation sources and logs `val_bleu` (corpus BLEU, 0-100),
    which a tuner can maximise: `objective=kseq2seq.tuning.objective("val_bleu")`.

    Args:
        source_vocab_size, target_vocab_size: vocabulary sizes, padding included.
        search_space: entries that narrow, widen or replace those of
            `DEFAULT_SEARCH_SPACE`, e.g. `{"units": [64, 128], "batch_size": [32, 64]}`.
        fixed: hyperparameters fixed to one value, e.g. `{"cell": "gru"}`.
        config: a `Seq2SeqConfig` (or dict) for the options that are not
            tuned (the vocabulary sizes come from the arguments above).
        source_tokenizer, target_tokenizer: fitted `kseq2seq.text` tokenizers,
            needed for `val_bleu`, for training on pairs and for `translator`.
        train_pairs, validation_pairs: `(source, target)` pairs that `fit` uses
            when the tuner is given no data.
        bleu_samples: how many validation pairs are translated for `val_bleu`;
            0 turns BLEU off.
        batch_size: the batch size when it is not tuned.
        dataset_options: options of `kseq2seq.data.make_dataset` for training
            on pairs, e.g. `{"max_source_length": 30, "pad_to_multiple": 16}`
            (fewer distinct batch shapes mean fewer compilations under JAX).
        seed: seed of the dropout masks of each model.
        name, tunable: as for `keras_tuner.HyperModel`.

    Raises:
        ValueError: the search space is invalid (the message names the
            hyperparameter and its valid values), or a tokenizer's vocabulary
            size does not match.

    Example:
    >>> hypermodel = Seq2SeqHyperModel(100, 120, search_space={"units": [32, 64]},
    ...                                fixed={"cell": "gru"})
    >>> model = hypermodel.build(keras_tuner.HyperParameters())
    """

    def __init__(
        self,
        source_vocab_size: int,
        target_vocab_size: int,
        search_space: Mapping[str, Any] | None = None,
        fixed: Mapping[str, Any] | None = None,
        config: Seq2SeqConfig | Mapping[str, Any] | None = None,
        source_tokenizer=None,
        target_tokenizer=None,
        train_pairs: Sequence[tuple[str, str]] | None = None,
        validation_pairs: Sequence[tuple[str, str]] | None = None,
        bleu_samples: int = 200,
        batch_size: int = DEFAULT_BATCH_SIZE,
        dataset_options: Mapping[str, Any] | None = None,
        seed: int | None = None,
        name: str | None = None,
        tunable: bool = True,
    ):
        super().__init__(name=name, tunable=tunable)
        if isinstance(config, Mapping):
            config = Seq2SeqConfig.from_dict(dict(config))
        elif config is not None and not isinstance(config, Seq2SeqConfig):
            raise TypeError(
                f"config must be a Seq2SeqConfig, a dict or None. Received: {type(config).__name__}"
            )
        self.config = (config or Seq2SeqConfig()).replace(
            source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size
        )
        self.space: dict[str, Hyperparameter] = parse_search_space(
            search_space, fixed, config=self.config
        )
        if (source_tokenizer is None) != (target_tokenizer is None):
            raise ValueError("Give both source_tokenizer and target_tokenizer, or neither")
        for side, tokenizer, size in (
            ("source", source_tokenizer, source_vocab_size),
            ("target", target_tokenizer, target_vocab_size),
        ):
            if tokenizer is not None and tokenizer.vocab_size != size:
                raise ValueError(
                    f"The {side} tokenizer has {tokenizer.vocab_size} tokens but "
                    f"{side}_vocab_size is {size}"
                )
        for argument, value in (("bleu_samples", bleu_samples), ("batch_size", batch_size)):
            minimum = 0 if argument == "bleu_samples" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(
                    f"{argument} must be an integer >= {minimum}. Received: {argument}={value!r}"
                )
        if train_pairs is not None and source_tokenizer is None:
            raise ValueError("train_pairs need tokenizers: use from_translator_data")
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.train_pairs = list(train_pairs) if train_pairs is not None else None
        self.validation_pairs = list(validation_pairs) if validation_pairs else []
        self.bleu_samples = bleu_samples
        self.batch_size = batch_size
        self.dataset_options = dict(dataset_options or {})
        for reserved in ("batch_size", "repeat", "shuffle"):
            if reserved in self.dataset_options:
                raise ValueError(f"dataset_options cannot set {reserved!r}: the hypermodel sets it")
        self.seed = seed

    # Construction -------------------------------------------------------------
    @classmethod
    def from_translator_data(
        cls,
        train_pairs: Sequence[tuple[str, str]],
        validation_pairs: Sequence[tuple[str, str]] | None = None,
        tokenizer: str = "word",
        vocab_size: int = 8000,
        lowercase: bool = True,
        target_lowercase: bool = False,
        source_tokenizer=None,
        target_tokenizer=None,
        **kwargs: Any,
    ) -> Seq2SeqHyperModel:
        """Learns tokenizers from the training pairs and tunes on the pairs.

        Args:
            train_pairs: `(source, target)` training pairs.
            validation_pairs: pairs for `val_loss` and `val_bleu`.
            tokenizer: `"word"` or `"subword"` (WordPiece).
            vocab_size: the most tokens per vocabulary.
            lowercase: lower-case the source before tokenising.
            target_lowercase: lower-case the target too (by default it keeps its case).
            source_tokenizer, target_tokenizer: fitted tokenizers to use instead
                of learning new ones (e.g. those of an earlier run).
            **kwargs: the other arguments of `Seq2SeqHyperModel`.

        Returns:
            A `Seq2SeqHyperModel` whose `fit` trains on `train_pairs`.
        """
        if not train_pairs:
            raise ValueError("train_pairs is empty: there is nothing to train on")
        if source_tokenizer is None or target_tokenizer is None:
            source_tokenizer, target_tokenizer = fit_tokenizers(
                train_pairs, tokenizer, vocab_size, lowercase, target_lowercase
            )
        return cls(
            source_tokenizer.vocab_size,
            target_tokenizer.vocab_size,
            source_tokenizer=source_tokenizer,
            target_tokenizer=target_tokenizer,
            train_pairs=train_pairs,
            validation_pairs=validation_pairs,
            **kwargs,
        )

    # The keras-tuner contract ---------------------------------------------------
    def declare(self, hp: keras_tuner.HyperParameters) -> dict[str, Any]:
        """Declares the search space in `hp`; returns this trial's values.

        `input_feeding` is conditional on an attention: inactive (False) when
        `attention` is `"none"`. `"none"` comes back as None.
        """
        values = {}
        attention = self.space.get("attention")
        if attention is not None:
            attentions = attention.candidates()
        else:
            attentions = ("none",) if self.config.attention is None else (self.config.attention,)
        for name, entry in self.space.items():
            if name == "input_feeding" and "none" in attentions:
                with_attention = [value for value in attentions if value != "none"]
                if not with_attention or attention is None:
                    values[name] = False  # no attention to feed
                    continue
                with hp.conditional_scope("attention", with_attention):
                    value = entry.declare(hp)
                values[name] = bool(value)  # None when inactive
                continue
            values[name] = entry.declare(hp)
        if values.get("attention") == "none":
            values["attention"] = None
        return values

    def config_for(self, hp: keras_tuner.HyperParameters) -> Seq2SeqConfig:
        """The architecture of the trial `hp`."""
        return self._config(self.declare(hp))

    def _config(self, values: dict[str, Any]) -> Seq2SeqConfig:
        options = {name: value for name, value in values.items() if name in ARCHITECTURE_NAMES}
        try:
            return self.config.replace(**options)
        except ValueError as error:
            raise keras_tuner.errors.FailedTrialError(
                f"Hyperparameters {options} make no valid model: {error}"
            ) from None

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """Builds and compiles the model of the trial `hp`.

        Returns:
            A model from `kseq2seq.build_model`, compiled by
            `kseq2seq.compile_model` with the trial's `learning_rate` (and
            `label_smoothing` when tuned).
        """
        values = self.declare(hp)
        model = build_model(self._config(values), seed=self.seed)
        compile_kwargs = {"learning_rate": float(values.get("learning_rate", 1e-3))}
        if "label_smoothing" in values:
            compile_kwargs["label_smoothing"] = float(values["label_smoothing"])
        return compile_model(model, **compile_kwargs)

    def batch_size_for(self, hp: keras_tuner.HyperParameters) -> int:
        """The trial's `batch_size` when tuned, else the hypermodel's."""
        if "batch_size" in self.space:
            return int(self.declare(hp)["batch_size"])
        return self.batch_size

    @property
    def reports_bleu(self) -> bool:
        """Whether `fit` logs `val_bleu` (tokenizers, validation pairs, bleu_samples > 0)."""
        return bool(
            self.source_tokenizer is not None and self.validation_pairs and self.bleu_samples
        )

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any):
        """Trains the trial's model; called by the tuner with `search`'s arguments.

        Without data in `args`/`x`, trains on `train_pairs` (tf.data, bucketed)
        and validates on `validation_pairs`. With arrays, a tuned `batch_size`
        is passed to `model.fit`. When `reports_bleu`, a `BleuCallback` is put
        first among the callbacks, so that `val_bleu` is in the epoch's logs
        before the tuner's own callbacks read them.

        Returns:
            The `History` of `model.fit`.

        Raises:
            keras_tuner.errors.FatalValueError: the tuner's objective needs
                data or BLEU that this hypermodel cannot give.
        """
        from kseq2seq.training.metrics import BleuCallback

        callbacks = list(kwargs.pop("callbacks", None) or [])
        tuned_batch_size = "batch_size" in self.space
        batch_size = self.batch_size_for(hp)
        x = args[0] if args else kwargs.get("x")
        translator = self.translator(model) if self.source_tokenizer is not None else None
        if x is None:
            if self.train_pairs is None:
                raise keras_tuner.errors.FatalValueError(
                    "No training data: pass x and y to tuner.search(...), or make the "
                    "hypermodel with Seq2SeqHyperModel.from_translator_data(train_pairs, ...)"
                )
            kwargs.pop("x", None)
            if "batch_size" in kwargs:
                raise keras_tuner.errors.FatalValueError(
                    "batch_size goes to the hypermodel (Seq2SeqHyperModel(batch_size=...) or "
                    "the search space), not to tuner.search(...) when training on pairs"
                )
            args = (
                translator.dataset(
                    self.train_pairs, batch_size=batch_size, repeat=True, **self.dataset_options
                ),
            )
            kwargs["steps_per_epoch"] = max(1, -(-len(self.train_pairs) // batch_size))
            kwargs["shuffle"] = False  # the pipeline shuffles
            if self.validation_pairs and kwargs.get("validation_data") is None:
                kwargs["validation_data"] = translator.validation_dataset(
                    self.validation_pairs, batch_size=batch_size, **self.dataset_options
                )
        elif tuned_batch_size:
            if not _is_array_like(x):
                raise keras_tuner.errors.FatalValueError(
                    "batch_size is tuned, so x must be NumPy arrays (or a dict of them), not "
                    f"{type(x).__name__}: a dataset fixes its own batch size"
                )
            if "batch_size" in kwargs:
                raise keras_tuner.errors.FatalValueError(
                    "batch_size is in the search space: do not pass it to tuner.search(...) too"
                )
            kwargs["batch_size"] = batch_size
        has_validation = kwargs.get("validation_data") is not None or bool(
            kwargs.get("validation_split")
        )
        self._check_objective(callbacks, has_validation)
        if self.reports_bleu:
            bleu_pairs = self.validation_pairs[: self.bleu_samples]
            callbacks.insert(0, BleuCallback(translator, bleu_pairs, verbose=0))
        return model.fit(*args, callbacks=callbacks, **kwargs)

    def _check_objective(self, callbacks: list, has_validation: bool) -> None:
        names = set()
        for callback in callbacks:
            tuner = getattr(callback, "tuner", None)
            objective = getattr(getattr(tuner, "oracle", None), "objective", None)
            if objective is not None:
                names |= _objective_names(objective)
        if "val_bleu" in names and not self.reports_bleu:
            raise keras_tuner.errors.FatalValueError(
                "The objective is val_bleu but this hypermodel cannot compute BLEU: it needs "
                "tokenizers, validation pairs and bleu_samples > 0 (use "
                "Seq2SeqHyperModel.from_translator_data(train_pairs, validation_pairs))"
            )
        if not has_validation and any(n.startswith("val_") and n != "val_bleu" for n in names):
            raise keras_tuner.errors.FatalValueError(
                f"The objective is {', '.join(sorted(names))} but there is no validation data: "
                "give validation_pairs, or validation_data to tuner.search(...)"
            )

    # Translators ------------------------------------------------------------------
    def translator(self, model: keras.Model):
        """A `kseq2seq.Translator` around `model` with this hypermodel's tokenizers."""
        from kseq2seq.translator import Translator

        if self.source_tokenizer is None:
            raise ValueError(
                "This hypermodel has no tokenizers: make it with from_translator_data, or "
                "pass source_tokenizer and target_tokenizer"
            )
        return Translator(model, self.source_tokenizer, self.target_tokenizer)


def encode_pairs(
    pairs: Sequence[tuple[str, str]],
    source_tokenizer,
    target_tokenizer,
    source_length: int | None = None,
    target_length: int | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Pairs as padded NumPy arrays, for `model.fit(x, y)` or `tuner.search(x, y)`.

    Every batch then has one shape (one compilation under JAX), and a tuned
    `batch_size` applies.

    Args:
        pairs: `(source, target)` strings.
        source_tokenizer, target_tokenizer: fitted `kseq2seq.text` tokenizers.
        source_length: width of `source` (longer sources are cut); by default
            the longest source.
        target_length: width of the targets, `</s>` included (longer targets
            are cut); by default the longest target plus one.

    Returns:
        `({"source": int32 (N, S), "target_in": int32 (N, T)}, target_out int32 (N, T))`:
        `target_in` is `<s> y1 .. yn`, `target_out` is `y1 .. yn </s>`, 0 pads.
    """
    if not pairs:
        raise ValueError("pairs is empty: there is nothing to encode")
    for name, value in (("source_length", source_length), ("target_length", target_length)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
    sources = source_tokenizer.encode([source for source, _ in pairs]).to_list()
    targets = target_tokenizer.encode([target for _, target in pairs]).to_list()
    source_length = source_length or max(1, max(len(row) for row in sources))
    target_length = target_length or max(len(row) for row in targets) + 1
    source_ids = np.full((len(pairs), source_length), PAD_ID, dtype="int32")
    target_in = np.full((len(pairs), target_length), PAD_ID, dtype="int32")
    target_out = np.full((len(pairs), target_length), PAD_ID, dtype="int32")
    for index, (source_row, target_row) in enumerate(zip(sources, targets)):
        source_row = source_row[:source_length]
        source_ids[index, : len(source_row)] = source_row
        target_row = target_row[: target_length - 1]
        target_in[index, : len(target_row) + 1] = [BOS_ID, *target_row]
        target_out[index, : len(target_row) + 1] = [*target_row, EOS_ID]
    return {"source": source_ids, "target_in": target_in}, target_out


def _objective_names(objective) -> set[str]:
    inner = getattr(objective, "objectives", None)
    if inner:
        return {name for item in inner for name in _objective_names(item)}
    name = getattr(objective, "name", None)
    return {name} if name else set()


def _is_array_like(x: Any) -> bool:
    if isinstance(x, Mapping):
        return all(_is_array_like(value) for value in x.values())
    if isinstance(x, (list, tuple)):
        return all(_is_array_like(value) for value in x)
    return hasattr(x, "shape") and hasattr(x, "dtype") and not hasattr(x, "element_spec")
