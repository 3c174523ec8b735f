"""Hyperparameter search with keras-tuner: `Seq2SeqHyperModel`, its tuners and helpers.

```python
hypermodel = Seq2SeqHyperModel.from_translator_data(train_pairs, validation_pairs)
tuner = make_tuner(hypermodel, "random", "val_bleu", max_trials=10, directory="search")
tuner.search(epochs=5)
best_translator(tuner, epochs=10).save("best-translator")
```

The names are imported on first use, so that `kseq2seq.tuning.cli` needs no keras-tuner.
"""

from __future__ import annotations

from kseq2seq.lazy import lazy_namespace

# module -> the names it defines
_EXPORTS = {
    "kseq2seq.text.fitting": ["fit_tokenizers"],
    "kseq2seq.tuning.hypermodel": ["DEFAULT_SEARCH_SPACE", "Seq2SeqHyperModel"],
    "kseq2seq.tuning.names": ["OBJECTIVES", "TUNERS"],
    "kseq2seq.tuning.results": ["format_results", "results_table", "save_results"],
    "kseq2seq.tuning.search_space": [
        "check_search_space",
        "declare_search_space",
        "hyperparameters_from_dict",
    ],
    "kseq2seq.tuning.tuners": [
        "BayesianOptimization",
        "Hyperband",
        "RandomSearch",
        "Seq2SeqTrials",
        "best_translator",
        "make_tuner",
        "tuning_objective",
    ],
}

__all__ = sorted(name for names in _EXPORTS.values() for name in names)


__getattr__, __dir__ = lazy_namespace("kseq2seq.tuning", _EXPORTS, globals())
