"""`Seq2SeqHyperModel`: a keras-tuner HyperModel over `build_model`'s options."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import keras_tuner

from kseq2seq.config import Seq2SeqConfig
from kseq2seq.models.builder import build_model
from kseq2seq.text.fitting import fit_tokenizers
from kseq2seq.training.losses import compile_model
from kseq2seq.tuning.search_space import (
    NAMES,
    check_search_space,
    declare_search_space,
    hyperparameters_from_dict,
    trial_config,
)

#: The default search space (`declare_search_space`), to read or to copy.
DEFAULT_SEARCH_SPACE = keras_tuner.HyperParameters()
declare_search_space(DEFAULT_SEARCH_SPACE)


class Seq2SeqHyperModel(keras_tuner.HyperModel):
    """A `keras_tuner.HyperModel` whose `build(hp)` returns a compiled seq2seq model.

    It trains on what `tuner.search(x, y, validation_data=...)` is given, as `model.fit` does
    (a tuned `batch_size` needs arrays), or else on `train_pairs`. With tokenizers and
    validation pairs, each epoch also logs `val_bleu` (corpus BLEU, 0-100).

    Args:
        source_vocab_size, target_vocab_size: vocabulary sizes, padding included.
        search_space, fixed: dicts that change the default space (`kseq2seq.tuning.search_space`),
            e.g. `{"units": [64, 128]}` and `{"cell": "gru"}`.
        config: a `Seq2SeqConfig` (or dict) of the options that are not tuned.
        train_pairs, validation_pairs: the pairs `fit` uses when the tuner is given no data.
        bleu_samples: validation pairs translated for `val_bleu`; 0: no BLEU.
        batch_size: the batch size when it is not tuned.
        dataset_options: options of `kseq2seq.data.make_dataset` for training on pairs.
        seed: seed of the dropout masks of each model.
        source_tokenizer, target_tokenizer: fitted tokenizers (both or neither), for
            `val_bleu` and for training on pairs.

    Raises:
        ValueError: an invalid search space (named), or a tokenizer of the wrong size.
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
        batch_size: int = 64,
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
        self.hyperparameters = hyperparameters_from_dict(search_space, fixed)
        check_search_space(self.space(), self.config)
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
        for arg, value, low in (("bleu_samples", bleu_samples, 0), ("batch_size", batch_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{arg} must be an integer >= {low}. Received: {arg}={value!r}")
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
        """A hypermodel that tunes on pairs, with tokenizers learnt from `train_pairs`.

        Args:
            tokenizer, vocab_size, lowercase, target_lowercase: as for `Translator.from_pairs`.
            source_tokenizer, target_tokenizer: fitted tokenizers to use instead.
            **kwargs: the other arguments of `Seq2SeqHyperModel`.
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

    def declare(self, hp: keras_tuner.HyperParameters) -> dict[str, Any]:
        """Declares the space in `hp` (entries already there win); returns the trial's values."""
        hp.merge(self.hyperparameters, overwrite=False)
        declare_search_space(hp)
        return {name: value for name, value in hp.values.items() if name in NAMES}

    def space(self) -> keras_tuner.HyperParameters:
        """The whole search space of this hypermodel, in a new `HyperParameters`."""
        hp = keras_tuner.HyperParameters()
        self.declare(hp)
        return hp

    def config_for(self, hp: keras_tuner.HyperParameters) -> Seq2SeqConfig:
        """The architecture of the trial `hp`."""
        try:
            return trial_config(self.config, self.declare(hp))
        except ValueError as error:
            raise keras_tuner.errors.FailedTrialError(f"No valid model: {error}") from None

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """The compiled model of the trial `hp`."""
        values = self.declare(hp)
        return compile_model(
            build_model(self.config_for(hp), seed=self.seed),
            learning_rate=float(values["learning_rate"]),
            label_smoothing=float(values.get("label_smoothing", 0.0)),
        )

    def batch_size_for(self, hp: keras_tuner.HyperParameters) -> int:
        """The trial's `batch_size` when tuned, else the hypermodel's."""
        return int(self.declare(hp).get("batch_size", self.batch_size))

    @property
    def reports_bleu(self) -> bool:
        """Whether `fit` logs `val_bleu` (tokenizers, validation pairs, bleu_samples > 0)."""
        return bool(
            self.source_tokenizer is not None and self.validation_pairs and self.bleu_samples
        )

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any):
        """Trains the trial's model on `search`'s data, else on the pairs; returns the History."""
        from kseq2seq.training.metrics import BleuCallback

        callbacks = list(kwargs.pop("callbacks", None) or [])
        batch_size = self.batch_size_for(hp)
        x = args[0] if args else kwargs.get("x")
        translator = self.translator(model) if self.source_tokenizer is not None else None
        if "batch_size" in kwargs and (x is None or "batch_size" in hp.values):
            raise keras_tuner.errors.FatalValueError(
                "batch_size goes to the hypermodel (Seq2SeqHyperModel(batch_size=...) or the "
                "search space), not to tuner.search(...)"
            )
        if x is None:
            if self.train_pairs is None:
                raise keras_tuner.errors.FatalValueError(
                    "No training data: pass x and y to tuner.search(...), or make the "
                    "hypermodel with Seq2SeqHyperModel.from_translator_data(train_pairs, ...)"
                )
            kwargs.pop("x", None)
            options = dict(batch_size=batch_size, **self.dataset_options)
            args = (translator.dataset(self.train_pairs, repeat=True, **options),)
            kwargs["steps_per_epoch"] = max(1, -(-len(self.train_pairs) // batch_size))
            kwargs["shuffle"] = False  # the pipeline shuffles
            if self.validation_pairs and kwargs.get("validation_data") is None:
                kwargs["validation_data"] = translator.validation_dataset(
                    self.validation_pairs, **options
                )
        elif "batch_size" in hp.values:
            if not _is_array_like(x):
                raise keras_tuner.errors.FatalValueError(
                    "batch_size is tuned, so x must be NumPy arrays (or a dict of them), not "
                    f"{type(x).__name__}: a dataset fixes its own batch size"
                )
            kwargs["batch_size"] = batch_size
        if self.reports_bleu:  # first, so that the tuner's callbacks see val_bleu
            bleu_pairs = self.validation_pairs[: self.bleu_samples]
            callbacks.insert(0, BleuCallback(translator, bleu_pairs, verbose=0))
        return model.fit(*args, callbacks=callbacks, **kwargs)

    def check_objective(self, objective: keras_tuner.Objective, *args: Any, **kwargs: Any) -> None:
        """Raises `FatalValueError` when `fit(hp, model, *args, **kwargs)` cannot report the
        `objective`."""
        inner = getattr(objective, "objectives", None) or [objective]  # a MultiObjective's
        names = {getattr(item, "name", None) for item in inner}
        if "val_bleu" in names and not self.reports_bleu:
            raise keras_tuner.errors.FatalValueError(
                "The objective is val_bleu but this hypermodel cannot compute BLEU: it needs "
                "tokenizers, validation pairs and bleu_samples > 0 (use "
                "Seq2SeqHyperModel.from_translator_data(train_pairs, validation_pairs))"
            )
        on_pairs = not args and kwargs.get("x") is None
        has_validation = bool(
            kwargs.get("validation_data") is not None
            or kwargs.get("validation_split")
            or (on_pairs and self.validation_pairs)
        )
        if not has_validation and any(str(n).startswith("val_") for n in names - {"val_bleu"}):
            raise keras_tuner.errors.FatalValueError(
                f"The objective is {', '.join(sorted(map(str, names)))} but there is no "
                "validation data: give validation_pairs, or validation_data to tuner.search(...)"
            )

    def translator(self, model: keras.Model):
        """A `kseq2seq.Translator` around `model` with this hypermodel's tokenizers."""
        from kseq2seq.translator import Translator

        if self.source_tokenizer is None:
            raise ValueError(
                "This hypermodel has no tokenizers: make it with from_translator_data, or "
                "pass source_tokenizer and target_tokenizer"
            )
        return Translator(model, self.source_tokenizer, self.target_tokenizer)


def _is_array_like(x: Any) -> bool:
    if isinstance(x, Mapping):
        return all(_is_array_like(value) for value in x.values())
    if isinstance(x, (list, tuple)):
        return all(_is_array_like(value) for value in x)
    return hasattr(x, "shape") and hasattr(x, "dtype") and not hasattr(x, "element_spec")
