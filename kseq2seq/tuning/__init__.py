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
"""

from kseq2seq.tuning.hypermodel import Seq2SeqHyperModel, encode_pairs, fit_tokenizers
from kseq2seq.tuning.search_space import (
    DEFAULT_SEARCH_SPACE,
    HYPERPARAMETERS,
    Hyperparameter,
    parse_search_space,
)
from kseq2seq.tuning.tuners import (
    OBJECTIVES,
    TUNERS,
    best_translator,
    format_results,
    make_tuner,
    results_table,
    save_results,
    tuning_objective,
)

__all__ = [
    "DEFAULT_SEARCH_SPACE",
    "HYPERPARAMETERS",
    "Hyperparameter",
    "OBJECTIVES",
    "Seq2SeqHyperModel",
    "TUNERS",
    "best_translator",
    "encode_pairs",
    "fit_tokenizers",
    "format_results",
    "make_tuner",
    "parse_search_space",
    "results_table",
    "save_results",
    "tuning_objective",
]
