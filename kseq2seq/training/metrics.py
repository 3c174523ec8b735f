"""Corpus BLEU and chrF on detokenised text (sacrebleu), and a BLEU callback."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kseq2seq.checks import check_int


def _corpus_score(metric: str, hypotheses: Sequence[str], references: Sequence[str]) -> float:
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} references: they must pair up"
        )
    return float(getattr(sacrebleu, metric)(list(hypotheses), [list(references)]).score)


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (0-100) of sacrebleu with its default 13a tokenisation."""
    return _corpus_score("corpus_bleu", hypotheses, references)


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (0-100) of sacrebleu."""
    return _corpus_score("corpus_chrf", hypotheses, references)


def evaluate_translator(translator, pairs: Sequence[tuple[str, str]], batch_size: int = 256):
    """`(BLEU, chrF, translations)` of `translator` on the pairs' sources against their
    targets, translated `batch_size` sources at a time (greedy, the translator's default)."""
    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    hypotheses = []
    for start in range(0, len(pairs), batch_size):
        hypotheses += translator.translate(sources[start : start + batch_size])
    return corpus_bleu(hypotheses, references), corpus_chrf(hypotheses, references), hypotheses


class BleuCallback(keras.callbacks.Callback):
    """Logs the BLEU of `pairs` translated by `translator` every `every` epochs as `val_bleu`."""

    def __init__(self, translator, pairs: Sequence[tuple[str, str]], every: int = 1, verbose=1):
        super().__init__()
        if not pairs:
            raise ValueError("BleuCallback needs at least one (source, reference) pair")
        self.translator = translator
        self.sources, self.references = (list(column) for column in zip(*pairs))
        self.every = check_int("every", every)
        self.verbose = verbose

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or (epoch + 1) % self.every:
            return
        hypotheses = self.translator.translate(self.sources)
        logs["val_bleu"] = corpus_bleu(hypotheses, self.references)
        if self.verbose:
            print(f" - val_bleu: {logs['val_bleu']:.2f}")
