"""`kseq2seq tune PAIRS --output DIR [--config FILE]`: a hyperparameter search on a TSV file.

The search is kept in `DIR/search` (run again to resume), the results in `DIR/results.tsv`
and `.json`, the best hyperparameters, trained again, in `DIR/best`. A config file holds any
of `DEFAULTS`; an option on the command line wins over it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from typing import Any

from kseq2seq.checks import check_choice, check_int
from kseq2seq.config import read_options_file
from kseq2seq.console import add_verbose_argument, progress_verbosity
from kseq2seq.tuning.names import OBJECTIVES, TUNERS

#: The settings of a config file, with their defaults.
DEFAULTS: dict[str, Any] = {
    "tuner": "random",  # random | bayesian | hyperband
    "objective": "val_loss",  # val_loss | val_bleu
    "max_trials": 10,
    "epochs": 5,  # per trial (hyperband: its max_epochs)
    "executions": 1,  # models trained per trial (alias: executions_per_trial)
    "final_epochs": None,  # training of the best hyperparameters (None: epochs)
    # Entries that narrow, widen or replace the default space (kseq2seq.tuning.search_space),
    # e.g. {units: [64, 128], learning_rate: {min: 0.0001, max: 0.01, sampling: log}}
    "search_space": None,
    "fixed": None,  # hyperparameters fixed to one value, e.g. {cell: gru}
    "model": None,  # options of Seq2SeqConfig that are not tuned, e.g. {bridge: dense}
    "tokenizer": "word",  # word | subword
    "vocab_size": 8000,
    "lowercase": True,  # lower-case the source
    "target_lowercase": False,  # lower-case the target (by default it keeps its case)
    "batch_size": 64,  # when not tuned
    "bleu_samples": 200,  # validation pairs translated for val_bleu
    "validation": 0.05,  # held-out fraction (or count) of PAIRS
    "seed": 0,
    "dataset": None,  # options of kseq2seq.data.make_dataset, e.g. {max_source_length: 50}
}
ALIASES = {"executions_per_trial": "executions"}
# The types of the settings whose default does not tell them.
TYPES = {"final_epochs": (int,), "validation": (int, float)}


def add_tune_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Adds the `tune` command to `subparsers`; returns its parser (`handler`: `cmd_tune`)."""
    tune = subparsers.add_parser(
        "tune",
        help="search hyperparameters with keras-tuner on a TSV file of pairs",
        description="Search the hyperparameters of a translator on a TSV file of pairs. "
        "The search resumes from DIR/search; the best translator is saved to DIR/best.",
    )
    tune.add_argument("pairs", help="tab-separated source and target, one pair a line")
    tune.add_argument("--output", required=True, help="directory of the search and results")
    tune.add_argument("--config", help="a JSON or YAML file of the search space and the budget")
    tune.add_argument("--tuner", choices=TUNERS)
    tune.add_argument("--max-trials", dest="max_trials", type=int)
    tune.add_argument("--epochs", type=int, help="epochs per trial (hyperband: max epochs)")
    tune.add_argument("--objective", choices=["val_loss", "val_bleu"])
    tune.add_argument("--executions", type=int, help="models trained per trial")
    tune.add_argument(
        "--final-epochs", dest="final_epochs", type=int, help="epochs to train the best model"
    )
    tune.add_argument(
        "--validation",
        type=_fraction_or_count,
        help="held-out fraction (0.05) or number (500) of PAIRS",
    )
    tune.add_argument("--seed", type=int)
    tune.add_argument("--skip-malformed", dest="skip_malformed", action="store_true")
    add_verbose_argument(tune)
    tune.set_defaults(handler=cmd_tune)
    return tune


def _fraction_or_count(text: str) -> float | int:
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return kind(text)
    raise argparse.ArgumentTypeError(
        f"expected a fraction such as 0.05 or a count such as 500. Received: {text!r}"
    )


def load_tune_config(path: str | None) -> dict[str, Any]:
    """The settings of a tune config file (`.json`, `.yaml`, `.yml`; None: none), defaults
    included.

    Raises:
        FileNotFoundError: there is no such file.
        ValueError: the file is not a mapping, or has unknown keys or wrong types (named).
    """
    settings = dict(DEFAULTS)
    if path is None:
        return settings
    values = {ALIASES.get(key, key): value for key, value in read_options_file(path).items()}
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise ValueError(
            f"{path}: unknown setting(s) {', '.join(map(repr, unknown))}. "
            f"Valid settings: {', '.join(DEFAULTS)}"
        )
    for key, value in values.items():
        default = DEFAULTS[key]
        expected = TYPES.get(key) or ((dict,) if default is None else (type(default),))
        if value is None and default is None:
            continue
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            kinds = " or ".join(kind.__name__ for kind in expected)
            raise ValueError(f"{path}: {key} must be of type {kinds}. Received: {key}={value!r}")
    settings.update(values)
    return settings


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_tune_config(args.config)
    # The options of the command line that are named as settings win.
    settings.update({k: v for k, v in vars(args).items() if k in DEFAULTS and v is not None})
    check_choice("tuner", settings["tuner"], TUNERS)
    check_choice("objective", settings["objective"], OBJECTIVES)
    for key in ("max_trials", "epochs", "executions"):
        check_int(key, settings[key])
    if settings["final_epochs"] is None:
        settings["final_epochs"] = settings["epochs"]
    return settings


def cmd_tune(args: argparse.Namespace) -> int:
    """Runs `kseq2seq tune`; returns the exit code."""
    import keras

    from kseq2seq.data import read_pairs, split_pairs
    from kseq2seq.text import load_tokenizer
    from kseq2seq.training.metrics import corpus_bleu
    from kseq2seq.tuning.hypermodel import Seq2SeqHyperModel
    from kseq2seq.tuning.results import format_results, results_table, save_results
    from kseq2seq.tuning.tuners import best_translator, make_tuner

    settings = _settings(args)
    seed = settings["seed"]
    options = dict(
        search_space=settings["search_space"],
        fixed=settings["fixed"],
        config=settings["model"],
        bleu_samples=settings["bleu_samples"],
        batch_size=settings["batch_size"],
        dataset_options=settings["dataset"],
        seed=seed,
    )
    try:  # the space and the options are checked before the data is read
        Seq2SeqHyperModel(8000, 8000, **options)
    except ValueError as error:
        raise ValueError(f"{args.config or 'tune'}: {error}") from None
    keras.utils.set_random_seed(seed)
    pairs = read_pairs(args.pairs, skip_malformed=args.skip_malformed)
    if pairs.skipped_lines:
        shown = ", ".join(map(str, pairs.skipped_lines[:10]))
        print(f"Skipped {len(pairs.skipped_lines)} malformed lines ({shown}...)")
    train, validation, _ = split_pairs(pairs, validation=settings["validation"], test=0, seed=seed)
    if not validation:
        raise ValueError(
            f"No validation pairs out of {len(pairs)}: the objectives need some; raise --validation"
        )

    output = Path(args.output)
    search = output / "search"
    _check_resumable(search, settings)
    tokenizers = search / "tokenizers"
    resumed = (tokenizers / "target").exists()  # a resumed search keeps its vocabularies
    hypermodel = Seq2SeqHyperModel.from_translator_data(
        train,
        validation,
        tokenizer=settings["tokenizer"],
        vocab_size=settings["vocab_size"],
        lowercase=settings["lowercase"],
        target_lowercase=settings["target_lowercase"],
        source_tokenizer=load_tokenizer(tokenizers / "source") if resumed else None,
        target_tokenizer=load_tokenizer(tokenizers / "target") if resumed else None,
        **options,
    )
    if not resumed:
        hypermodel.source_tokenizer.save(tokenizers / "source")
        hypermodel.target_tokenizer.save(tokenizers / "target")
    tuner = make_tuner(
        hypermodel,
        settings["tuner"],
        objective=settings["objective"],
        max_trials=settings["max_trials"],
        epochs=settings["epochs"],
        executions_per_trial=settings["executions"],
        directory=search,
        overwrite=False,
        seed=seed,
    )
    done = sum(trial.status == "COMPLETED" for trial in tuner.oracle.trials.values())
    print(
        f"{len(train)} training and {len(validation)} validation pairs; "
        f"{settings['tuner']} search for {settings['objective']}, up to "
        f"{settings['max_trials']} trials of {settings['epochs']} epochs"
        + (f" ({done} already done, resuming)" if done else "")
    )
    verbose = progress_verbosity(args.verbose)
    tuner.search(epochs=settings["epochs"], verbose=verbose)

    rows = results_table(tuner)
    print(format_results(rows))
    tsv, _ = save_results(rows, output, settings["objective"])
    print(f"Saved the results to {tsv} (and .json)")
    if not any(row["score"] is not None for row in rows):
        raise ValueError("No trial completed: see the errors above")

    print(f"Training the best hyperparameters for {settings['final_epochs']} epochs")
    translator = best_translator(tuner, epochs=settings["final_epochs"], verbose=verbose)
    translator.save(output / "best")
    sources, targets = zip(*validation[: settings["bleu_samples"] or 200])
    bleu = corpus_bleu(translator.translate(list(sources)), list(targets))
    print(f"Validation BLEU of the best translator {bleu:.1f} ({len(sources)} sentences)")
    print(f"Saved the best translator to {output / 'best'}")
    return 0


def _check_resumable(search: Path, settings: dict[str, Any]) -> None:
    """A search resumes only with the tuner and objective it started with."""
    record = search / "tune.json"
    kept = {"tuner": settings["tuner"], "objective": settings["objective"]}
    if not record.is_file():
        search.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(kept, indent=2) + "\n", encoding="utf-8")
        return
    earlier = json.loads(record.read_text(encoding="utf-8"))
    for key, value in kept.items():
        if earlier.get(key) != value:
            raise ValueError(
                f"{search} holds a search with {key}={earlier.get(key)!r}, not {value!r}: "
                f"resume it with --{key} {earlier.get(key)}, or choose another --output"
            )
