"""The model configuration: a dataclass that round-trips through JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

ATTENTIONS = (
    "bahdanau",
    "normed_bahdanau",
    "luong_dot",
    "luong_general",
    "luong_concat",
    None,
)
CELLS = ("lstm", "gru")
BRIDGES = ("copy", "dense", "none")
PRECISIONS = (None, "float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass
class Seq2SeqConfig:
    """Everything `build_model` needs to know about the architecture.

    Attributes:
        source_vocab_size: size of the source vocabulary (id 0 is padding).
        target_vocab_size: size of the target vocabulary (id 0 is padding).
        embedding_dim: size of the word embeddings, source and target.
        units: size of the recurrent state of the encoder (both directions
            together when bidirectional) and the decoder.
        num_layers: number of stacked recurrent layers in the encoder and in
            the decoder.
        cell: `"lstm"` or `"gru"`.
        bidirectional: whether every encoder layer is bidirectional (each
            direction gets `units // 2`, so `units` must be even).
        attention: `"bahdanau"`, `"normed_bahdanau"`, `"luong_dot"`,
            `"luong_general"`, `"luong_concat"`, or None for the plain
            encoder-decoder whose only context is the last encoder state.
        attention_units: width of the additive scores (Bahdanau, Luong
            concat); by default `units`.
        scale_attention: learn a scalar multiplying Luong scores.
        input_feeding: feed the attentional vector of step t-1 into the
            input of step t (Luong et al., 2015, section 3.3).
        dropout: dropout rate on embeddings, between stacked layers and
            before the output projection.
        word_dropout: in training, the rate at which whole tokens of the
            source and of the decoder's input are dropped: their embedding
            is zeroed (the others scaled by 1 / (1 - rate)), so the model
            learns not to lean on any single word. Tokens are dropped one by
            one, as in Sennrich et al. (2016, WMT16) and, for small data,
            Sennrich and Zhang (2019); Gal and Ghahramani (2016) drop word
            types instead.
        residual: residual connections between stacked layers (from the
            second layer on).
        bridge: how the encoder's final state starts the decoder: `"copy"`,
            `"dense"` (a learned tanh projection) or `"none"` (zeros).
        tie_embeddings: share the decoder's input embedding with the output
            projection (needs `embedding_dim == units`).
        mixed_precision: the Keras dtype policy of the layers:
            `"mixed_bfloat16"` or `"mixed_float16"` (float32 weights, low
            precision compute; the attention softmax, the logits and the loss
            stay float32), `"float32"`, or None to follow
            `keras.config.dtype_policy()` (`build_model` records the global
            policy here, so a saved model keeps it).
    """

    source_vocab_size: int = 8000
    target_vocab_size: int = 8000
    embedding_dim: int = 256
    units: int = 512
    num_layers: int = 1
    cell: str = "lstm"
    bidirectional: bool = False
    attention: str | None = "luong_general"
    attention_units: int | None = None
    scale_attention: bool = False
    input_feeding: bool = False
    dropout: float = 0.0
    word_dropout: float = 0.0
    residual: bool = False
    bridge: str = "copy"
    tie_embeddings: bool = False
    mixed_precision: str | None = None

    def __post_init__(self):
        self.validate()

    # Validation -----------------------------------------------------------
    def validate(self) -> None:
        """Raises ValueError naming the first invalid option."""
        for name in ("source_vocab_size", "target_vocab_size"):
            _check_int(name, getattr(self, name), minimum=5)
        for name in ("embedding_dim", "units", "num_layers"):
            _check_int(name, getattr(self, name), minimum=1)
        if self.attention_units is not None:
            _check_int("attention_units", self.attention_units, minimum=1)
        _check_choice("cell", self.cell, CELLS)
        _check_choice("attention", self.attention, ATTENTIONS)
        _check_choice("bridge", self.bridge, BRIDGES)
        _check_choice("mixed_precision", self.mixed_precision, PRECISIONS)
        for name in (
            "bidirectional",
            "scale_attention",
            "input_feeding",
            "residual",
            "tie_embeddings",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"{name} must be True or False. Received: {name}={getattr(self, name)!r}"
                )
        for name in ("dropout", "word_dropout"):
            rate = getattr(self, name)
            if (
                isinstance(rate, bool)
                or not isinstance(rate, (int, float))
                or not 0.0 <= rate < 1.0
            ):
                raise ValueError(f"{name} must be a number in [0, 1). Received: {name}={rate!r}")
        if self.bidirectional and self.units % 2:
            raise ValueError(
                "units must be even with bidirectional=True (each direction gets "
                f"units // 2). Received: units={self.units}"
            )
        if self.tie_embeddings and self.embedding_dim != self.units:
            raise ValueError(
                "tie_embeddings=True needs embedding_dim == units. Received: "
                f"embedding_dim={self.embedding_dim}, units={self.units}"
            )
        if self.attention is None and self.bridge == "none":
            raise ValueError(
                "attention=None with bridge='none' leaves the decoder no view of the "
                "source. Use bridge='copy' or 'dense', or choose an attention."
            )
        if self.attention is None and self.input_feeding:
            raise ValueError("input_feeding=True needs an attention. Received: attention=None")

    # Derived properties ---------------------------------------------------
    @property
    def attention_family(self) -> str | None:
        """`"bahdanau"`, `"luong"` or None."""
        if self.attention is None:
            return None
        return "bahdanau" if "bahdanau" in self.attention else "luong"

    @property
    def uses_fused_decoder(self) -> bool:
        """Whether the decoder RNN runs over the whole target in one call."""
        return self.attention_family != "bahdanau" and not self.input_feeding

    # Serialisation --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Seq2SeqConfig:
        if not isinstance(values, dict):
            raise ValueError(f"A config must be a mapping. Received: {type(values).__name__}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"Unknown config option(s): {', '.join(unknown)}. "
                f"Valid options: {', '.join(sorted(known))}"
            )
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Seq2SeqConfig:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Seq2SeqConfig:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def replace(self, **overrides: Any) -> Seq2SeqConfig:
        """Returns a copy with `overrides` applied (and validated)."""
        return self.from_dict({**self.to_dict(), **overrides})


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        shown = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"Unknown {name}: {value!r}. Valid options: {shown}")
