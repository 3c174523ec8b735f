"""Learning the vocabularies of a translator from training pairs: one a side, or one shared."""

from __future__ import annotations

from collections.abc import Sequence

from kseq2seq.checks import check_bool, check_choice

TOKENIZERS = ("word", "subword")


def casing(
    lowercase: bool | None = None,
    target_lowercase: bool = False,
    shared_vocabulary: bool = False,
) -> tuple[bool, bool]:
    """Whether the source and the target are lower-cased: `(lowercase, target_lowercase)`.

    With a vocabulary a side, the source is lower-cased unless `lowercase=False`. A shared
    vocabulary treats both sides alike (so that names can be copied): the source follows the
    target, which keeps its case unless `target_lowercase=True`.

    Raises:
        ValueError: a flag is not a bool, or a shared vocabulary is asked two casings.
    """
    check_bool("target_lowercase", target_lowercase)
    check_bool("shared_vocabulary", shared_vocabulary)
    if lowercase is None:
        return (bool(target_lowercase) if shared_vocabulary else True), bool(target_lowercase)
    check_bool("lowercase", lowercase)
    if shared_vocabulary and lowercase != target_lowercase:
        raise ValueError(
            "shared_vocabulary=True treats both sides alike, but "
            f"lowercase={lowercase} and target_lowercase={target_lowercase} ask for two "
            "casings. Give both the same value (target_lowercase=True lower-cases both), or "
            "leave lowercase out to keep the case of both, so that names copy as they are"
        )
    return bool(lowercase), bool(target_lowercase)


def fit_tokenizers(
    pairs: Sequence[tuple[str, str]],
    tokenizer: str = "word",
    vocab_size: int = 8000,
    lowercase: bool | None = None,
    target_lowercase: bool = False,
    shared_vocabulary: bool = False,
):
    """Learns a source and a target tokenizer from `pairs`.

    Args:
        tokenizer: `"word"` or `"subword"` (WordPiece).
        vocab_size: the most tokens per vocabulary (of the one vocabulary, when shared).
        lowercase: lower-case the source (the translation's case comes from the target).
            None: yes, unless the vocabulary is shared (see `casing`).
        target_lowercase: lower-case the target too (the translations then are).
        shared_vocabulary: learn ONE vocabulary from both sides (`--share_vocab` of
            tensorflow/nmt and OpenNMT): a piece has the same id on both sides, so a model
            with `share_embeddings=True` can copy unseen names piece by piece (not words:
            with `tokenizer="word"` an unseen word is still `<unk>`).

    Returns:
        `(source_tokenizer, target_tokenizer)`: the same one twice when shared.

    Raises:
        ValueError: an unknown tokenizer, a flag that is not a bool, or two casings asked of
            a shared vocabulary.
    """
    from kseq2seq.text.tokenizers import SubwordTokenizer, WordTokenizer

    check_choice("tokenizer", tokenizer, TOKENIZERS)
    lowercase, target_lowercase = casing(lowercase, target_lowercase, shared_vocabulary)

    def make(lower: bool):
        if tokenizer == "word":
            return WordTokenizer(lowercase=lower, max_vocab_size=vocab_size)
        return SubwordTokenizer(lowercase=lower, vocab_size=vocab_size)

    sources = [source for source, _ in pairs]
    targets = [target for _, target in pairs]
    if shared_vocabulary:
        joint = make(lowercase).fit(sources + targets)
        return joint, joint
    return make(lowercase).fit(sources), make(target_lowercase).fit(targets)
