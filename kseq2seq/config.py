"""The model configuration: a dataclass that round-trips through JSON."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path
from typing import Any

from kseq2seq.atomic import atomic_write
from kseq2seq.checks import check_bool, check_choice, check_fraction, check_int

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


def _option(default: Any, help: str, flag: str | None = None) -> Any:
    """A config field, described once: the class's docstring and the CLI's help use `help`;
    `flag` is the option of `kseq2seq train` and `demo` that sets it (None: config file only).
    """
    return dataclasses.field(default=default, metadata={"help": help, "flag": flag})


@dataclasses.dataclass
class Seq2SeqConfig:
    """Everything `build_model` needs to know about the architecture."""

    source_vocab_size: int = _option(8000, "size of the source vocabulary (id 0 is padding).")
    target_vocab_size: int = _option(8000, "size of the target vocabulary (id 0 is padding).")
    embedding_dim: int = _option(
        256, "size of the word embeddings, source and target.", "--embedding-dim"
    )
    units: int = _option(
        512,
        "size of the recurrent state of the encoder (both directions together when "
        "bidirectional) and the decoder.",
        "--units",
    )
    num_layers: int = _option(
        1, "number of stacked recurrent layers in the encoder and in the decoder.", "--layers"
    )
    cell: str = _option("lstm", "the recurrent cell, `lstm` or `gru`.", "--cell")
    bidirectional: bool = _option(
        False,
        "whether every encoder layer is bidirectional (each direction gets `units // 2`, so "
        "`units` must be even).",
        "--bidirectional",
    )
    attention: str | None = _option(
        "luong_general",
        "`bahdanau`, `normed_bahdanau`, `luong_dot`, `luong_general`, `luong_concat`, or "
        "None (`none` on the command line) for the plain encoder-decoder whose only context "
        "is the last encoder state.",
        "--attention",
    )
    attention_units: int | None = _option(
        None, "width of the additive scores (Bahdanau, Luong concat); by default `units`."
    )
    scale_attention: bool = _option(False, "learn a scalar multiplying Luong scores.")
    input_feeding: bool = _option(
        False,
        "feed the attentional vector of step t-1 into the input of step t (Luong et al., "
        "2015, section 3.3).",
        "--input-feeding",
    )
    dropout: float = _option(
        0.0,
        "dropout rate on embeddings, between stacked layers and before the output projection.",
        "--dropout",
    )
    word_dropout: float = _option(
        0.0,
        "in training, the rate at which whole tokens of the source and of the decoder's "
        "input are dropped: their embedding is zeroed (the others scaled by 1 / (1 - rate)), "
        "so the model learns not to lean on any single word. Tokens are dropped one by one, "
        "as in Sennrich et al. (2016, WMT16) and, for small data, Sennrich and Zhang (2019); "
        "Gal and Ghahramani (2016) drop word types instead.",
        "--word-dropout",
    )
    residual: bool = _option(
        False, "residual connections between stacked layers (from the second layer on)."
    )
    bridge: str = _option(
        "copy",
        "how the encoder's final state starts the decoder: `copy`, `dense` (a learned tanh "
        "projection) or `none` (zeros).",
    )
    tie_embeddings: bool = _option(
        False,
        "share the decoder's input embedding with the output projection (needs "
        "`embedding_dim == units`).",
    )
    share_embeddings: bool = _option(
        False,
        "make the source and target embeddings one matrix, read by the encoder and the "
        "decoder (needs `source_vocab_size == target_vocab_size`: one vocabulary for both "
        "sides, as `fit_tokenizers(..., shared_vocabulary=True)` learns); with "
        "`tie_embeddings` the output projection is that matrix too.",
        "--share-embeddings",
    )
    mixed_precision: str | None = _option(
        None,
        "the Keras dtype policy of the layers: `mixed_bfloat16` or `mixed_float16` (float32 "
        "weights, low precision compute; the attention softmax and the loss stay float32, "
        "and the logits too unless `float32_logits` is False), `float32`, or None to follow "
        "`keras.config.dtype_policy()` (`build_model` records the global policy here, so a "
        "saved model keeps it).",
        "--mixed-precision",
    )
    float32_logits: bool = _option(
        True,
        "under mixed precision, compute the vocabulary logits in float32 (in training, from "
        "the 16-bit product accumulated in float32 where 16-bit products are native: a GPU, a "
        "CPU with AMX; else in float32 throughout); False computes "
        "it in the policy's compute dtype, as a Keras `Dense` layer does, and casts the logits "
        "to float32 before the softmax and the loss: where the vocabulary is large, faster "
        "(a training step of 8,000 words and 512 units in mixed bfloat16 on a CPU with "
        "bfloat16 instructions: 262 ms instead of 317).",
    )

    def __post_init__(self):
        self.validate()

    # Validation -----------------------------------------------------------
    def validate(self) -> None:
        """Raises ValueError naming the first invalid option."""
        for name in ("source_vocab_size", "target_vocab_size"):
            check_int(name, getattr(self, name), minimum=5)
        for name in ("embedding_dim", "units", "num_layers"):
            check_int(name, getattr(self, name))
        check_int("attention_units", self.attention_units, optional=True)
        check_choice("cell", self.cell, CELLS)
        check_choice("attention", self.attention, ATTENTIONS)
        check_choice("bridge", self.bridge, BRIDGES)
        check_choice("mixed_precision", self.mixed_precision, PRECISIONS)
        for name in (
            "bidirectional",
            "scale_attention",
            "input_feeding",
            "residual",
            "tie_embeddings",
            "share_embeddings",
            "float32_logits",
        ):
            check_bool(name, getattr(self, name))
        check_fraction("dropout", self.dropout)
        check_fraction("word_dropout", self.word_dropout)
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
        if self.share_embeddings and self.source_vocab_size != self.target_vocab_size:
            raise ValueError(
                "share_embeddings=True needs one vocabulary for both sides "
                "(source_vocab_size == target_vocab_size; learn it with "
                "shared_vocabulary=True). Received: "
                f"source_vocab_size={self.source_vocab_size}, "
                f"target_vocab_size={self.target_vocab_size}"
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
        atomic_write(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Seq2SeqConfig:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def replace(self, **overrides: Any) -> Seq2SeqConfig:
        """Returns a copy with `overrides` applied (and validated)."""
        return self.from_dict({**self.to_dict(), **overrides})


def _document(cls: type) -> type:
    # The docstring's Attributes section is made from the fields' descriptions.
    lines = [cls.__doc__.rstrip(), "", "    Attributes:"]
    for field in dataclasses.fields(cls):
        lines += textwrap.wrap(
            f"{field.name}: {field.metadata['help']}",
            width=92,
            initial_indent=" " * 8,
            subsequent_indent=" " * 12,
            break_on_hyphens=False,
        )
    cls.__doc__ = "\n".join(lines) + "\n"
    return cls


_document(Seq2SeqConfig)


def read_options_file(path: str | Path) -> dict[str, Any]:
    """The options held by a JSON or YAML (`.yaml`, `.yml`) file: `kseq2seq train --config`
    and `kseq2seq tune --config`.

    Raises:
        FileNotFoundError: there is no such file.
        ValueError: the file is not valid JSON or YAML, or does not hold a mapping.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"No such config file: {str(path)!r}")
    text = file.read_text(encoding="utf-8")
    if file.suffix in (".yaml", ".yml"):
        import yaml

        try:
            values = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from None
    else:
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path}: a config file must hold a mapping of options")
    return values


def command_line_fields() -> list[dataclasses.Field]:
    """The fields that `kseq2seq train` and `kseq2seq demo` set from command-line flags."""
    return [field for field in dataclasses.fields(Seq2SeqConfig) if field.metadata["flag"]]
