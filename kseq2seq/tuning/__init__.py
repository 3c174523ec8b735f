"""Hyperparameter search with keras-tuner: `Seq2SeqHyperModel`, its tuners and helpers.

```python
import keras_tuner
from kseq2seq.tuning import RandomSearch, Seq2SeqHyperModel, best_translator

hypermodel = Seq2SeqHyperModel.from_translator_data(train_pairs, validation_pairs)
hp = keras_tuner.HyperParameters()
hp.Choice("units", [64, 128])  # narrowed; the rest of the default space stays
hp.Fixed("cell", "gru")
tuner = RandomSearch(hypermodel, hyperparameters=hp, objective="val_loss", max_trials=10,
                     directory="search")
tuner.search(epochs=5)
translator = best_translator(tuner, epochs=10)
translator.save("best-translator")
```

The same as dicts: `Seq2SeqHyperModel.from_translator_data(..., search_space={"units": [64,
128]}, fixed={"cell": "gru"})`, and `make_tuner(hypermodel, "random", "val_bleu", ...)`.
The names are imported on first use (PEP 562): the `kseq2seq tune` parser
(`kseq2seq.tuning.cli`) is importable without keras-tuner, Keras or TensorFlow.
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
