"""Search the hyperparameters of a translator on the embedded French-English corpus.

    python examples/tune_hyperparameters.py search-output --tuner bayesian --max-trials 8

The search (keras-tuner) maximises validation BLEU and is kept in OUTPUT/search: run the
same command again after an interruption and it resumes. The best hyperparameters are then
trained again and the translator saved to OUTPUT/best. `--quick` runs a tiny search (a few
minutes on 2 CPU cores).
"""

import argparse
from pathlib import Path

import keras
import keras_tuner

from kseq2seq.datasets import default_corpus
from kseq2seq.training.metrics import corpus_bleu
from kseq2seq.tuning import (
    Seq2SeqHyperModel,
    best_translator,
    format_results,
    make_tuner,
    results_table,
    save_results,
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--tuner", default="random", choices=["random", "bayesian", "hyperband"])
    parser.add_argument("--max-trials", dest="max_trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per trial")
    parser.add_argument("--final-epochs", dest="final_epochs", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="a tiny search, for a smoke test")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    train = [(example.source, example.target) for example in default_corpus("train")]
    validation = [(example.source, example.target) for example in default_corpus("validation")]
    if args.quick:
        train, validation = train[:512], validation[:64]
    hypermodel = Seq2SeqHyperModel.from_translator_data(
        train, validation, tokenizer="word", target_lowercase=False, bleu_samples=200, seed=0
    )
    # Narrow the default space (kseq2seq.tuning.search_space) to sizes that train in minutes,
    # tune the batch size too, and fix the cell, with keras-tuner's own HyperParameters.
    # Every other entry of the default space stays (tune_new_entries=True, keras-tuner's
    # default; with False only these would be tuned).
    hp = keras_tuner.HyperParameters()
    hp.Choice("units", [16, 32] if args.quick else [64, 128])
    hp.Choice("embedding_dim", [16, 24] if args.quick else [32, 64])
    hp.Fixed("num_layers", 1)
    hp.Choice("batch_size", [32, 64])
    hp.Fixed("cell", "gru")
    if args.quick:
        hp.Choice("attention", ["luong_dot", "luong_general"])
        hp.Fixed("input_feeding", False)
    tuner = make_tuner(
        hypermodel,
        args.tuner,
        objective="val_bleu",  # maximised; "val_loss" is minimised
        max_trials=args.max_trials,
        epochs=args.epochs,  # hyperband: its max_epochs
        directory=Path(args.output) / "search",
        overwrite=False,  # resume
        seed=0,
        hyperparameters=hp,
    )
    tuner.search(epochs=args.epochs, verbose=1)

    rows = results_table(tuner)
    print(format_results(rows))
    save_results(rows, args.output, "val_bleu")

    translator = best_translator(tuner, epochs=args.final_epochs, verbose=1)
    translator.save(Path(args.output) / "best")
    sample = validation[:200]
    hypotheses = translator.translate([source for source, _ in sample])
    print(f"validation BLEU of the best: {corpus_bleu(hypotheses, [t for _, t in sample]):.1f}")
    for (source, _), hypothesis in list(zip(sample, hypotheses))[:3]:
        print(f"{source}  ->  {hypothesis}")


if __name__ == "__main__":
    main()
