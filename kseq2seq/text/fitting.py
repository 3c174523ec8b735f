"""Learning the vocabularies of a translator from training pairs: one a side, or one shared."""

from __future__ import annotations

from collections.abc import Sequence

from kseq2seq.checks import check_bool

TOKENIZERS = ("word", "subword")


def casing(
    lowercase: bool | None = None,
    target_lowercase: bool = False,
    shared_vocabulary: bool = False,
) -> tuple[bool, bool]:
    """Whether the source and the target are lower-cased: `(lowercase, target_lowercase)`.

    With a vocabulary a side, the source is lower-cased unless `lowercase=False`. A shared
    vocabulary treats both sides alike, so that a name is one and the same piece on both
    sides and can be copied: the source then follows the target, which keeps its case unless
    `target_lowercase=True`. Asking for two casings with a shared vocabulary is an error.

    Args:
        lowercase: lower-case the source; None for the default above.
        target_lowercase: lower-case the target.
        shared_vocabulary: whether one vocabulary serves both sides.

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
        pairs: `(source, target)` training pairs.
        tokenizer: `"word"` or `"subword"` (WordPiece).
        vocab_size: the most tokens per vocabulary (of the one vocabulary, when shared).
        lowercase: lower-case the source before tokenising: "Le" and "le" share one entry of
            the source vocabulary, which helps small corpora and loses little, since the
            translation's case comes from the target side. None (the default): yes, unless
            the vocabulary is shared (see `casing`).
        target_lowercase: lower-case the target too; then the translations come out lower-cased
            (and BLEU and chrF, computed against the cased references, are lower). By default
            the target keeps its case.
        shared_vocabulary: learn ONE vocabulary from the sources and the targets together
            (`--share_vocab` of tensorflow/nmt and OpenNMT, `--joined-dictionary` of
            fairseq), for both sides: a piece has the same id on both sides, so a model
            with `share_embeddings=True` can copy names and numbers it has never seen,
            piece by piece. Both sides then have one casing (see `casing`). With
            `tokenizer="word"` the vocabulary is shared too, but an unseen word is still
            `<unk>`: copying unseen words needs subwords.

    Returns:
        `(source_tokenizer, target_tokenizer)`; with `shared_vocabulary=True`, one tokenizer
        twice (saved, it is written once a side, and loads as two equal tokenizers).

    Raises:
        ValueError: an unknown tokenizer, a flag that is not a bool, or two casings asked of
            a shared vocabulary.
    """
    from kseq2seq.text.tokenizers import SubwordTokenizer, WordTokenizer

    if tokenizer not in TOKENIZERS:
        raise ValueError(f"Unknown tokenizer: {tokenizer!r}. Valid options: 'word', 'subword'")
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
