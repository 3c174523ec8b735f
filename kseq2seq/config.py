"""The model configuration: a dataclass that round-trips through JSON."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path
from typing import Any

from kseq2seq.atomic import atomic_write
from kseq2seq.checks import check_bool, check_choice, check_fraction, check_int

ATTENTIONS = ("bahdanau", "normed_bahdanau", "luong_dot", "luong_general", "luong_concat", None)
CELLS = ("lstm", "gru")
BRIDGES = ("copy", "dense", "none")
PRECISIONS = (None, "float32", "mixed_bfloat16", "mixed_float16")
_CHOICES = {
    "cell": CELLS,
    "attention": ATTENTIONS,
    "bridge": BRIDGES,
    "mixed_precision": PRECISIONS,
}


def _option(default: Any, help: str, flag: str | None = None) -> Any:
    """A field; `help` feeds the docstring and the CLI, `flag` sets it in `train` and `demo`."""
    return dataclasses.field(default=default, metadata={"help": help, "flag": flag})


@dataclasses.dataclass
class Seq2SeqConfig:
    """Everything `build_model` needs to know about the architecture."""

    source_vocab_size: int = _option(8000, "size of the source vocabulary (id 0 is padding).")
    target_vocab_size: int = _option(8000, "size of the target vocabulary (id 0 is padding).")
    embedding_dim: int = _option(256, "size of the word embeddings.", "--embedding-dim")
    units: int = _option(
        512, "size of the recurrent state (of both encoder directions together).", "--units"
    )
    num_layers: int = _option(1, "stacked recurrent layers, encoder and decoder.", "--layers")
    cell: str = _option("lstm", "the recurrent cell, `lstm` or `gru`.", "--cell")
    bidirectional: bool = _option(
        False, "bidirectional encoder layers (`units // 2` a direction).", "--bidirectional"
    )
    attention: str | None = _option(
        "luong_general",
        "`bahdanau`, `normed_bahdanau`, `luong_dot`, `luong_general`, `luong_concat`, or "
        "None (`none` on the command line): the last encoder state is the only context.",
        "--attention",
    )
    attention_units: int | None = _option(
        None, "width of the additive scores (Bahdanau, Luong concat); by default `units`."
    )
    scale_attention: bool = _option(False, "learn a scalar multiplying Luong scores.")
    input_feeding: bool = _option(
        False,
        "feed the attentional vector of step t-1 into step t (Luong et al., 2015).",
        "--input-feeding",
    )
    dropout: float = _option(
        0.0, "dropout on embeddings, between layers and before the output.", "--dropout"
    )
    word_dropout: float = _option(
        0.0,
        "in training, the rate at which whole source and decoder-input tokens are dropped, one "
        "by one (Sennrich et al., 2016): their embedding is zeroed, the others scaled by "
        "1 / (1 - rate).",
        "--word-dropout",
    )
    residual: bool = _option(
        False, "residual connections between stacked layers (from the second on)."
    )
    bridge: str = _option(
        "copy",
        "how the encoder's final state starts the decoder: `copy`, `dense` (a learned tanh "
        "projection) or `none` (zeros).",
    )
    tie_embeddings: bool = _option(
        False, "the output projection is the decoder's embedding (needs `embedding_dim == units`)."
    )
    share_embeddings: bool = _option(
        False,
        "one embedding matrix for source and target (needs a shared vocabulary); with "
        "`tie_embeddings` the output projection too.",
        "--share-embeddings",
    )
    mixed_precision: str | None = _option(
        None,
        "the layers' Keras dtype policy: `mixed_bfloat16`, `mixed_float16` (the attention "
        "softmax and the loss stay float32), `float32`, or None: the global policy, which "
        "`build_model` records here.",
        "--mixed-precision",
    )
    float32_logits: bool = _option(
        True,
        "under mixed precision, compute the logits in float32; False: in the compute dtype, "
        "cast to float32 for the softmax and the loss (faster with a large vocabulary).",
    )

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raises ValueError naming the first invalid option."""
        for name in ("source_vocab_size", "target_vocab_size"):
            check_int(name, getattr(self, name), minimum=5)
        for name in ("embedding_dim", "units", "num_layers"):
            check_int(name, getattr(self, name))
        check_int("attention_units", self.attention_units, optional=True)
        for name, choices in _CHOICES.items():
            check_choice(name, getattr(self, name), choices)
        for field in dataclasses.fields(self):
            if field.type == "bool":
                check_bool(field.name, getattr(self, field.name))
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


# The docstring's Attributes section, from the fields' help.
Seq2SeqConfig.__doc__ += "\n\n    Attributes:\n" + "".join(
    textwrap.fill(
        f"{field.name}: {field.metadata['help']}",
        width=92,
        initial_indent=" " * 8,
        subsequent_indent=" " * 12,
        break_on_hyphens=False,
    )
    + "\n"
    for field in dataclasses.fields(Seq2SeqConfig)
)


def read_options_file(path: str | Path) -> dict[str, Any]:
    """The options in a JSON or YAML (`.yaml`, `.yml`) file (`train` and `tune --config`).

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
