"""`kseq2seq train`: one process, or one worker of several (`--distributed`)."""

from __future__ import annotations

import contextlib
import functools
import shutil
import sys
from pathlib import Path

from kseq2seq.console import progress_verbosity

# Options of `train` that are not the model's, with their defaults (None: chosen from the data
# by `kseq2seq.auto_config`); a config file may hold them.
TRAINING = {
    "epochs": 10,
    "batch_size": None,
    "learning_rate": None,
    "label_smoothing": None,
    "tokenizer": None,
    "vocab_size": None,
    "lowercase": None,  # the source: yes, or with a shared vocabulary as the target
    "target_lowercase": False,
    "shared_vocabulary": False,
    "average_last": 3,  # epochs whose weights are averaged at the end (1: none)
}
# Not recorded: a resumed run may go on for longer, or average otherwise.
NOT_RECORDED = ("epochs", "average_last")
AUTO_KEYS = ("batch_size", "learning_rate", "label_smoothing", "tokenizer", "vocab_size")


def cmd_train(args) -> int:
    import keras

    from kseq2seq.auto_config import auto_settings, describe
    from kseq2seq.checks import check_fraction, check_int
    from kseq2seq.cli import _model_options
    from kseq2seq.config import Seq2SeqConfig, read_options_file
    from kseq2seq.data import read_pairs, split_pairs
    from kseq2seq.models.builder import build_model
    from kseq2seq.text import load_tokenizer
    from kseq2seq.text.fitting import casing
    from kseq2seq.train_options import check_resumable, file_digest, run_options, save_record
    from kseq2seq.training.averaging import EpochAverage
    from kseq2seq.training.callbacks import TrainingCheckpoint, TrainingInterrupted
    from kseq2seq.training.losses import compile_model
    from kseq2seq.training.metrics import evaluate_translator
    from kseq2seq.training.nan_guard import StopOnNaN
    from kseq2seq.translator import Translator

    engine = None
    if args.distributed:
        from kseq2seq.training.distribute import DataParallelEngine

        # Before any TensorFlow op: a multi-worker strategy must be first.
        engine = DataParallelEngine.from_environment(timeout=args.worker_timeout)
        print(f"Worker {engine.cluster.index} of {engine.num_workers}: {engine}")
    writes = engine is None or engine.is_chief  # only the chief writes files
    keras.utils.set_random_seed(args.seed)
    file_options = read_options_file(args.config) if args.config else {}
    training = {key: file_options.pop(key) for key in list(file_options) if key in TRAINING}
    # The command line wins over the config file, which wins over the defaults.
    settings = {**TRAINING, **training}
    settings.update(
        {key: getattr(args, key) for key in TRAINING if getattr(args, key, None) is not None}
    )
    settings["lowercase"], settings["target_lowercase"] = casing(
        settings["lowercase"], settings["target_lowercase"], settings["shared_vocabulary"]
    )

    pairs = read_pairs(args.pairs, skip_malformed=args.skip_malformed)
    if pairs.skipped_lines:
        shown = ", ".join(map(str, pairs.skipped_lines[:10]))
        print(f"Skipped {len(pairs.skipped_lines)} malformed lines ({shown}...)")
    train, validation, test = split_pairs(pairs, validation=args.validation, test=0, seed=args.seed)
    output = Path(args.output)
    state = output.parent / f"{output.name}.partial"
    # What the user leaves out is chosen from the data. A shared vocabulary shares the
    # embeddings too, unless the config file says otherwise.
    given_model = {**file_options, **_model_options(args)}
    given_model.setdefault("share_embeddings", settings["shared_vocabulary"])
    auto = auto_settings(train, settings["lowercase"], settings["target_lowercase"])
    given = [key for key in AUTO_KEYS if settings[key] is not None]
    given += [key for key in given_model if key in auto["model"]]
    settings.update({key: auto[key] for key in AUTO_KEYS if settings[key] is None})
    config = Seq2SeqConfig.from_dict({**auto["model"], **given_model})
    check_fraction("label_smoothing", settings["label_smoothing"])
    check_int("average_last", settings["average_last"])  # a config file's value too
    print(f"Settings chosen from the {len(train)} training pairs: {describe(auto, given)}")
    recorded = run_options(
        config.to_dict(),
        {
            **{key: value for key, value in settings.items() if key not in NOT_RECORDED},
            "seed": args.seed,
            "validation": args.validation,
            "skip_malformed": args.skip_malformed,
            "pairs": file_digest(args.pairs),
        },
    )
    if writes and args.restart and state.exists():
        shutil.rmtree(state)
        print(f"Discarded the interrupted run in {state}")
    # The other workers learn the same vocabularies from the same pairs.
    if writes and state.exists() and (state / "source_tokenizer").exists():
        check_resumable(state, recorded)
        print(f"Resuming the interrupted run in {state}")
        translator = Translator(
            build_model(Seq2SeqConfig.load(state / "config.json")),
            load_tokenizer(state / "source_tokenizer"),
            load_tokenizer(state / "target_tokenizer"),
        )
    else:
        translator = Translator.from_pairs(
            train,
            config=config,
            tokenizer=settings["tokenizer"],
            vocab_size=settings["vocab_size"],
            lowercase=settings["lowercase"],
            target_lowercase=settings["target_lowercase"],
            shared_vocabulary=settings["shared_vocabulary"],
            share_embeddings=config.share_embeddings,
        )
        if writes:
            # First: a state with tokenizers but no record comes from an older kseq2seq.
            save_record(state, recorded)
            translator.config.save(state / "config.json")
            translator.source_tokenizer.save(state / "source_tokenizer")
            translator.target_tokenizer.save(state / "target_tokenizer")
    print(f"{len(train)} training and {len(validation)} validation pairs; {translator.config}")
    if engine is not None:
        translator.model = engine.replicate(translator.model, compile=False)
    with contextlib.nullcontext() if engine is None else engine.scope():
        compile_model(
            translator.model,
            learning_rate=settings["learning_rate"],
            label_smoothing=settings["label_smoothing"],
        )
    fit = translator.fit if engine is None else functools.partial(engine.fit_translator, translator)
    # Every worker resumes from the chief's training state; only the chief writes it.
    checkpoint = TrainingCheckpoint(
        state / "checkpoint", save_freq=args.checkpoint_every, write=writes
    )
    if engine is not None:
        _check_workers_agree(engine, checkpoint, translator.config, len(train), state)
    stop_on_nan = StopOnNaN()
    # Before the checkpoint: an epoch's weights are kept before its end is saved.
    average = EpochAverage(settings["average_last"], state / "epochs", write=writes)
    try:
        fit(
            train,
            validation or None,
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            callbacks=[average, checkpoint, stop_on_nan],
            verbose=progress_verbosity(args.verbose),
        )
    except TrainingInterrupted as interrupted:
        print(f"kseq2seq: {interrupted}; run the same command again to resume", file=sys.stderr)
        return 128 + interrupted.signal_number
    except Exception as error:
        if engine is None:
            raise
        raise WorkerFailure(
            f"training on {engine.num_workers} workers failed ({_worker_failure(error)}); "
            "a worker may have stopped or be unreachable. The chief's last "
            f"training state is in {state}: start every worker again, with the same "
            "command, to resume from it"
        ) from error
    if engine is not None:
        translator.model = engine.local_copy(translator.model)
        engine.disconnect()
        if not writes:
            print(f"Worker {engine.cluster.index} done; the chief (worker 0) saves {output}")
            return 0
    scores = None
    if stop_on_nan.stopped_at is None:
        _, message, scores = average.keep_if_better(translator, validation[:500])
        if message:
            print(message)
    translator.save(output)
    shutil.rmtree(state, ignore_errors=True)
    if stop_on_nan.stopped_at is not None:
        epoch, batch = stop_on_nan.stopped_at
        print(
            f"kseq2seq: error: the loss became NaN at epoch {epoch + 1}, step {batch + 1}; "
            f"training stopped and {output} holds the last good weights (try a lower "
            "--learning-rate)",
            file=sys.stderr,
        )
        return 1
    if validation:
        bleu, chrf, _ = scores or evaluate_translator(translator, validation[:500])
        print(f"Validation BLEU {bleu:.1f}  chrF {chrf:.1f}")
    print(f"Saved the translator to {output}")
    return 0


class WorkerFailure(RuntimeError):
    """Training across workers failed: the cluster cannot go on."""


def _worker_failure(error: BaseException) -> str:
    """The telling line of an error raised by a collective across workers."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    telling = [line for line in lines if "unhealthy" in line or "heartbeat" in line]
    line = (telling or [line for line in lines if not line.endswith(":")] or [""])[0]
    return f"{type(error).__name__}: {line[:300]}"


def _check_workers_agree(engine, checkpoint, config, training_pairs: int, state) -> None:
    """Stops every worker unless all would train the same model from the same point."""
    epoch, step = checkpoint.position() or (-1, -1)
    try:
        engine.check_agreement(
            {
                "resume_epoch": epoch,
                "resume_step": step,
                "source_vocab_size": config.source_vocab_size,
                "target_vocab_size": config.target_vocab_size,
                "training_pairs": training_pairs,
            }
        )
    except ValueError as error:
        raise ValueError(
            f"{error}: every worker must see the chief's {state} (put --output on a "
            "filesystem they share) and read the same pairs with the same options"
        ) from None
