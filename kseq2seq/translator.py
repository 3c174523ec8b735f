"""`Translator`: tokenizers + model + decoding settings, saved in one directory."""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kseq2seq.atomic import atomic_directory, recover_directory
from kseq2seq.checks import check_number
from kseq2seq.config import Seq2SeqConfig
from kseq2seq.data.pipeline import make_dataset
from kseq2seq.data.preprocessor import MAX_SOURCE_LENGTH, Seq2SeqPreprocessor
from kseq2seq.models.builder import build_model, model_config
from kseq2seq.models.inference import InferencePieces
from kseq2seq.samplers import Sampler
from kseq2seq.samplers.driver import teacher_forced_attention
from kseq2seq.samplers.options import sampler_from_options
from kseq2seq.samplers.texts import attention_results, empty_details, translation_details
from kseq2seq.special_tokens import PAD_ID
from kseq2seq.text.inputs import text_list, texts_to_tensor
from kseq2seq.text.sentences import join_translations, sentences_and_separators
from kseq2seq.text.sentences import split_sentences as split_text
from kseq2seq.training.finetune import load_model
from kseq2seq.training.fitting import fit_pairs, validation_dataset

FORMAT_VERSION = 1


class Translator:
    """A trained translator: the two tokenizers, the model and decoding settings.

    Args:
        model: a model made by `kseq2seq.build_model`.
        source_tokenizer, target_tokenizer: fitted `kseq2seq.text` tokenizers whose
            vocabulary sizes match the model's.
        max_source_length: sources longer than this many tokens are cut (with a warning).
        max_length: the most target tokens produced (default: `default_max_length`).
    """

    def __init__(
        self,
        model: keras.Model,
        source_tokenizer,
        target_tokenizer,
        max_source_length: int = MAX_SOURCE_LENGTH,
        max_length: int | None = None,
    ):
        config = model_config(model)
        for side, tokenizer, size in (
            ("source", source_tokenizer, config.source_vocab_size),
            ("target", target_tokenizer, config.target_vocab_size),
        ):
            if tokenizer.vocab_size != size:
                raise ValueError(
                    f"The {side} tokenizer has {tokenizer.vocab_size} tokens but the model's "
                    f"{side}_vocab_size is {size}"
                )
        check_number("max_source_length", max_source_length, low=1, integer=True)
        check_number("max_length", max_length, low=1, integer=True, none=True)
        self._pieces = None
        self._pieces_lock = threading.Lock()
        self.model = model
        # Decoding reads one batch at a time: no padding beyond its longest source.
        self.preprocessor = Seq2SeqPreprocessor(
            source_tokenizer, target_tokenizer, int(max_source_length), pad_to_multiple=1
        )
        self.max_length = max_length

    @property
    def source_tokenizer(self):
        return self.preprocessor.source_tokenizer

    @property
    def target_tokenizer(self):
        return self.preprocessor.target_tokenizer

    @property
    def max_source_length(self) -> int:
        return self.preprocessor.max_source_length

    @property
    def model(self) -> keras.Model:
        """The model; assigning another (same vocabularies) drops the old decoding pieces."""
        return self._model

    @model.setter
    def model(self, model: keras.Model) -> None:
        with self._pieces_lock:
            self._model = model
            self._pieces = None

    @classmethod
    def from_pairs(
        cls,
        pairs: Sequence[tuple[str, str]],
        config: Seq2SeqConfig | dict | None = None,
        tokenizer: str | None = None,
        vocab_size: int | None = None,
        lowercase: bool | None = None,
        target_lowercase: bool = False,
        max_source_length: int = 100,
        shared_vocabulary: bool = False,
        **overrides: Any,
    ) -> Translator:
        """Learns the vocabularies from `pairs` and builds an untrained model.

        With no model options (no `config`, no `overrides` but `share_embeddings`), the
        settings come from the data (`kseq2seq.auto_config.auto_settings`); otherwise they
        are `Seq2SeqConfig`'s defaults, a word tokenizer and 8,000 tokens. A `tokenizer` or
        `vocab_size` given wins either way.

        Args:
            config: the architecture (the vocabulary sizes are set from the tokenizers).
            tokenizer: `"word"` or `"subword"` (WordPiece).
            vocab_size: the most tokens per vocabulary.
            lowercase, target_lowercase: lower-case the source / the target (by default the
                source only, unless the vocabulary is shared: `text.fitting.casing`).
            shared_vocabulary: one vocabulary for both sides, and one embedding unless
                `share_embeddings=False` is given.
            **overrides: options of `Seq2SeqConfig`.

        Raises:
            ValueError: `pairs` is empty, an option is invalid, two casings are asked of a
                shared vocabulary, or `share_embeddings=True` without a shared vocabulary.
        """
        from kseq2seq.auto_config import auto_settings
        from kseq2seq.text.fitting import casing, fit_tokenizers

        if not pairs:
            raise ValueError("pairs is empty: the vocabularies need text to learn from")
        lowercase, target_lowercase = casing(lowercase, target_lowercase, shared_vocabulary)
        # Given, it wins, but is no reason to leave the auto settings.
        share = overrides.pop("share_embeddings", None)
        if share is None and isinstance(config, dict):
            share = config.get("share_embeddings")
        chosen = {"tokenizer": "word", "vocab_size": 8000, "model": {}}
        if config is None and not overrides:
            chosen = auto_settings(pairs, lowercase, target_lowercase)
        source_tokenizer, target_tokenizer = fit_tokenizers(
            pairs,
            tokenizer or chosen["tokenizer"],
            vocab_size or chosen["vocab_size"],
            lowercase,
            target_lowercase,
            shared_vocabulary,
        )
        if config is not None and not isinstance(config, Seq2SeqConfig):
            config = Seq2SeqConfig.from_dict(config)
        config = config or Seq2SeqConfig(**chosen["model"])
        if share is None:
            share = shared_vocabulary or config.share_embeddings
        if share is True and source_tokenizer is not target_tokenizer:
            raise ValueError(
                "share_embeddings=True gives both sides one embedding, so it needs one "
                "vocabulary for both: pass shared_vocabulary=True"
            )
        config = config.replace(
            source_vocab_size=source_tokenizer.vocab_size,
            target_vocab_size=target_tokenizer.vocab_size,
            share_embeddings=share,
            **overrides,
        )
        return cls(
            build_model(config),
            source_tokenizer,
            target_tokenizer,
            max_source_length=max_source_length,
        )

    @property
    def config(self) -> Seq2SeqConfig:
        return model_config(self.model)

    def dataset(self, pairs, batch_size=64, shuffle=True, seed=0, **kwargs):
        """`kseq2seq.data.make_dataset` with this translator's tokenizers."""
        kwargs = {"max_source_length": self.max_source_length, **kwargs}
        tokenizers = self.source_tokenizer, self.target_tokenizer
        return make_dataset(
            pairs, *tokenizers, batch_size=batch_size, shuffle=shuffle, seed=seed, **kwargs
        )

    def validation_dataset(self, pairs, batch_size=64, **kwargs):
        """`dataset(pairs, shuffle=False)`, its number of batches stated (for validation)."""
        return validation_dataset(self.dataset, pairs, batch_size=batch_size, **kwargs)

    def fit(
        self,
        train_pairs,
        validation_pairs=None,
        epochs: int = 10,
        batch_size: int = 64,
        callbacks=None,
        verbose="auto",
        stop_on_nan: bool = True,
        **dataset_kwargs,
    ):
        """`model.fit` on `dataset` pipelines of the pairs (`training.fitting.fit_pairs`)."""
        return fit_pairs(
            self.model,
            self.dataset,
            train_pairs,
            validation_pairs,
            epochs=epochs,
            batch_size=batch_size,
            callbacks=callbacks,
            verbose=verbose,
            stop_on_nan=stop_on_nan,
            **dataset_kwargs,
        )

    def default_max_length(self, source_length: int) -> int:
        """`max_length` if set, else 2 * source_length + 10 rounded up to a multiple of 16
        (few decoding loops to compile; they stop when every sentence has ended)."""
        return self.max_length or -(-(2 * int(source_length) + 10) // 16) * 16

    def encode_sources(self, texts) -> np.ndarray:
        """Source ids (B, S) padded with 0, cut to `max_source_length` (with a warning)."""
        ids, lengths = self.preprocessor.generate_preprocess(text_list(texts), return_lengths=True)
        if (lengths.numpy() > self.max_source_length).any():
            warnings.warn(
                f"Some sources are longer than max_source_length={self.max_source_length} "
                "tokens and were cut",
                stacklevel=3,
            )
        return ids.numpy()

    def translate(
        self,
        texts,
        sampler: str | Sampler | None = None,
        max_length: int | None = None,
        split_sentences: bool = True,
        **options,
    ) -> list[str]:
        """Translates a string or a list of strings; returns a list of strings.

        Empty and blank texts translate to `""`; unknown words become `<unk>`.

        Args:
            texts: a string or a list of strings.
            sampler: a `kseq2seq.samplers.Sampler` or a sampler's name; by default greedy,
                or what `options` ask for.
            max_length: the most target tokens (default: `default_max_length`).
            split_sentences: cut texts into sentences, translated as one batch and joined
                back with their separators; False translates each text as one sentence.
            **options: `beam_width`, `length_penalty`, `coverage_penalty`, `temperature`,
                `top_k`, `top_p`, `seed`, mapped onto samplers (`sampler_from_options`).
        """
        texts = text_list(texts)
        if not split_sentences or not texts:
            details = self.translate_with_details(texts, sampler, max_length, **options)
            return details["translations"]
        pieces = split_text(texts_to_tensor(texts)[0])
        sentences, is_sentence = sentences_and_separators(pieces)
        sentences = list(sentences.numpy())  # bytes: invalid UTF-8 is replaced as usual
        translated = self.translate_with_details(sentences, sampler, max_length, **options)
        joined = join_translations(pieces, is_sentence, tf.constant(translated["translations"]))
        # Blank texts translate to "", as without cutting.
        return [
            out.decode("utf-8") if text.strip() else "" for text, out in zip(texts, joined.numpy())
        ]

    def translate_with_details(
        self, texts, sampler: str | Sampler | None = None, max_length=None, **options
    ) -> dict:
        """Translations with their token ids, scores and attention weights.

        Arguments as `translate`'s. Returns a dict: `translations` (strings), `tokens` int32
        (B, L), `scores` (B,) (the sampler's; 0 for empty sources), `log_probs` (B,),
        `attention` (B, L, S), `source_ids` (B, S); with `BeamSampler(return_all_beams=True)`
        also `n_best` (B lists of k strings, best first) and `n_best_scores` (B, k).
        """
        sampler = sampler_from_options(sampler, **options)
        texts = text_list(texts)
        if not texts:
            return empty_details()
        source_ids = self.encode_sources(texts)
        if max_length is None:
            max_length = self.default_max_length(int((source_ids != PAD_ID).sum(axis=1).max()))
        pieces = self._inference_pieces()
        return translation_details(
            pieces, self.preprocessor, texts, source_ids, sampler, max_length
        )

    def _inference_pieces(self) -> InferencePieces:
        with self._pieces_lock:  # threads may translate at once
            if self._pieces is None:
                self._pieces = InferencePieces(self.model)
            return self._pieces

    def attention(self, source_texts, target_texts=None) -> list[dict]:
        """Attention weights with their token strings, one dict per sentence: of the
        model's own (greedy) translation, or teacher-forced on `target_texts`.

        Returns:
            Dicts with `source_tokens` (S strings), `target_tokens` (T strings, ending with
            `</s>`), `weights` float32 (T, S) (row t: while producing target token t) and
            `translation` (the target text).
        """
        sources = text_list(source_texts, "source_texts")
        targets = None if target_texts is None else text_list(target_texts, "target_texts")
        if targets is not None and len(targets) != len(sources):
            raise ValueError(
                f"{len(sources)} sources but {len(targets)} targets: they must pair up"
            )
        if not sources:
            return []
        if targets is None:
            details = self.translate_with_details(sources)
            source_ids, tokens = details["source_ids"], details["tokens"]
            weights, translations = details["attention"], details["translations"]
        else:
            source_ids = self.encode_sources(sources)
            inputs, tokens, _ = self.preprocessor(sources, targets)
            tokens, translations = tokens.numpy(), targets
            pieces = self._inference_pieces()
            weights = teacher_forced_attention(pieces, source_ids, inputs["target_in"].numpy())
        vocabularies = self.source_tokenizer.vocabulary, self.target_tokenizer.vocabulary
        return attention_results(source_ids, tokens, weights, translations, *vocabularies)

    def export(self, directory: str | os.PathLike, max_length: int = 100) -> Path:
        """Exports a TensorFlow SavedModel (`kseq2seq.export`); needs the TensorFlow backend."""
        from kseq2seq.export import export_translator

        return export_translator(self, directory, max_length=max_length)

    def save(self, directory: str | os.PathLike) -> None:
        """Saves everything needed to translate into one directory, atomically."""
        with atomic_directory(directory) as staging:
            self.model.save(staging / "model.keras")
            self.preprocessor.save(staging)
            settings = {
                "format_version": FORMAT_VERSION,
                "max_source_length": self.max_source_length,
                "max_length": self.max_length,
                "config": self.config.to_dict(),
                "keras_backend": keras.backend.backend(),
            }
            (staging / "translator.json").write_text(json.dumps(settings, indent=2) + "\n")

    @classmethod
    def load(cls, directory: str | os.PathLike, compile: bool = True) -> Translator:
        """Loads a translator saved with `save`."""
        directory = Path(directory)
        recover_directory(directory)  # a save killed between its two renames
        settings_path = directory / "translator.json"
        if not settings_path.is_file():
            raise FileNotFoundError(
                f"{str(directory)!r} is not a saved Translator (no translator.json)"
            )
        settings = json.loads(settings_path.read_text())
        if settings.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"Unsupported translator format {settings.get('format_version')!r} in "
                f"{directory}; this kseq2seq reads format {FORMAT_VERSION}"
            )
        preprocessor = Seq2SeqPreprocessor.load(directory)
        return cls(
            load_model(directory / "model.keras", compile=compile),
            preprocessor.source_tokenizer,
            preprocessor.target_tokenizer,
            max_source_length=settings["max_source_length"],
            max_length=settings["max_length"],
        )
