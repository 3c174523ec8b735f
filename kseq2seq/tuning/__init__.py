"""Hyperparameter search with keras-tuner: `Seq2SeqHyperModel` and helpers.

```python
from kseq2seq.tuning import Seq2SeqHyperModel, best_translator, make_tuner

hypermodel = Seq2SeqHyperModel.from_translator_data(
    train_pairs, validation_pairs, search_space={"units": [64, 128]}, fixed={"cell": "gru"}
)
tuner = make_tuner(hypermodel, "bayesian", objective="val_bleu", max_trials=10,
                   directory="search")
tuner.search(epochs=5)
translator = best_translator(tuner, epochs=10)
translator.save("best-translator")
```

The names are imported on first use (PEP 562): the `kseq2seq tune` parser
(`kseq2seq.tuning.cli`) is importable without keras-tuner, Keras or TensorFlow.
"""

from __future__ import annotations

from kseq2seq.lazy import lazy_namespace

# name -> the module that defines it
_EXPORTS = {
    "DEFAULT_SEARCH_SPACE": "kseq2seq.tuning.search_space",
    "HYPERPARAMETERS": "kseq2seq.tuning.search_space",
    "Hyperparameter": "kseq2seq.tuning.search_space",
    "OBJECTIVES": "kseq2seq.tuning.names",
    "Seq2SeqHyperModel": "kseq2seq.tuning.hypermodel",
    "TUNERS": "kseq2seq.tuning.names",
    "best_translator": "kseq2seq.tuning.tuners",
    "encode_pairs": "kseq2seq.tuning.hypermodel",
    "fit_tokenizers": "kseq2seq.text.fitting",
    "format_results": "kseq2seq.tuning.tuners",
    "make_tuner": "kseq2seq.tuning.tuners",
    "parse_search_space": "kseq2seq.tuning.search_space",
    "results_table": "kseq2seq.tuning.tuners",
    "save_results": "kseq2seq.tuning.tuners",
    "tuning_objective": "kseq2seq.tuning.tuners",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_namespace("kseq2seq.tuning", _EXPORTS, globals())
