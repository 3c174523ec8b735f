"""Learning the two vocabularies of a translator from training pairs."""

from __future__ import annotations

from collections.abc import Sequence

TOKENIZERS = ("word", "subword")


def fit_tokenizers(
    pairs: Sequence[tuple[str, str]],
    tokenizer: str = "word",
    vocab_size: int = 8000,
    lowercase: bool = True,
    target_lowercase: bool = False,
):
    """Learns a source and a target tokenizer from `pairs`.

    Args:
        pairs: `(source, target)` training pairs.
        tokenizer: `"word"` or `"subword"` (WordPiece).
        vocab_size: the most tokens per vocabulary.
        lowercase: lower-case the source before tokenising: "Le" and "le" share one entry of
            the source vocabulary, which helps small corpora and loses little, since the
            translation's case comes from the target side.
        target_lowercase: lower-case the target too; then the translations come out lower-cased
            (and BLEU and chrF, computed against the cased references, are lower). By default
            the target keeps its case.

    Returns:
        `(source_tokenizer, target_tokenizer)`.
    """
    from kseq2seq.text.tokenizers import SubwordTokenizer, WordTokenizer

    if tokenizer not in TOKENIZERS:
        raise ValueError(f"Unknown tokenizer: {tokenizer!r}. Valid options: 'word', 'subword'")
    for name, value in (("lowercase", lowercase), ("target_lowercase", target_lowercase)):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False. Received: {name}={value!r}")

    def make(lower: bool):
        if tokenizer == "word":
            return WordTokenizer(lowercase=lower, max_vocab_size=vocab_size)
        return SubwordTokenizer(lowercase=lower, vocab_size=vocab_size)

    return (
        make(lowercase).fit([source for source, _ in pairs]),
        make(target_lowercase).fit([target for _, target in pairs]),
    )
