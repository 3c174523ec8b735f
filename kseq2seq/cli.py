"""The `kseq2seq` command: the parser and `main` (handlers: `commands`, `train_command`)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from kseq2seq.commands import DEMO_SEED, cmd_demo, cmd_evaluate, cmd_export, cmd_translate
from kseq2seq.console import add_verbose_argument, hide_native_logs, show_native_logs
from kseq2seq.train_command import WorkerFailure, cmd_train


def _fail(message: str) -> int:
    print(f"kseq2seq: error: {message}", file=sys.stderr)
    return 2


def _positive(kind: type, article: str, noun: str):
    """An argparse type: a finite `kind` > 0 (argparse names the option on error)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {article} {noun}: {text!r}") from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be a positive {noun}, got {value}")
        return value

    return parse


_positive_int = _positive(int, "an", "integer")
_positive_float = _positive(float, "a", "number")


DEBUG_HELP = "show the log lines of TensorFlow, XLA and CUDA and the traceback of an error"


def _model_options(args) -> dict:
    """The model options given on the command line (those not given are left out)."""
    from kseq2seq.config import command_line_fields

    values = {field.name: getattr(args, field.name, None) for field in command_line_fields()}
    # An unset flag is None, or False for a switch.
    return {
        name: None if value == "none" else value
        for name, value in values.items()
        if value is not None and value is not False
    }


def _add_model_arguments(parser):
    """Adds a flag for each model option that `Seq2SeqConfig` marks as one."""
    from kseq2seq.config import ATTENTIONS, CELLS, PRECISIONS, command_line_fields

    choices = {
        "attention": [name or "none" for name in ATTENTIONS],
        "cell": list(CELLS),
        "mixed_precision": [name for name in PRECISIONS if name],
    }
    group = parser.add_argument_group("model")
    for field in command_line_fields():
        # %-signs in the help would be read as formatting by argparse.
        options = {"dest": field.name, "help": field.metadata["help"].replace("%", "%%")}
        if field.type == "bool":
            options["action"] = "store_true"
        elif field.name in choices:
            options["choices"] = choices[field.name]
        else:
            options["type"] = {"int": int, "float": float}[field.type]
        group.add_argument(field.metadata["flag"], **options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kseq2seq",
        description="Recurrent sequence-to-sequence models with attention, on Keras 3.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="train on the embedded French-English corpus")
    demo.add_argument("--output", default="kseq2seq-demo", help="where to save the translator")
    demo.add_argument("--epochs", type=int, default=10)
    demo.add_argument("--quick", action="store_true", help="a small subset, for a smoke test")
    demo.add_argument("--seed", type=int, default=DEMO_SEED)
    add_verbose_argument(demo)
    _add_model_arguments(demo)
    demo.set_defaults(handler=cmd_demo)

    train = commands.add_parser("train", help="train a translator on a TSV file of pairs")
    train.add_argument("pairs", help="tab-separated source and target, one pair a line")
    train.add_argument("--output", required=True, help="directory of the saved translator")
    train.add_argument("--config", help="a JSON or YAML file of model and training options")
    train.add_argument("--epochs", type=_positive_int)
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--learning-rate", type=_positive_float)
    train.add_argument("--label-smoothing", type=float)
    train.add_argument("--tokenizer", choices=["word", "subword"])
    train.add_argument("--vocab-size", type=_positive_int)
    train.add_argument(
        "--lowercase-source",
        dest="lowercase",
        action=argparse.BooleanOptionalAction,
        help="lower-case the source (default: yes; with --shared-vocabulary, as the target)",
    )
    train.add_argument(
        "--lowercase-target",
        dest="target_lowercase",
        action=argparse.BooleanOptionalAction,
        help="lower-case the target, and so the translations (default: no)",
    )
    train.add_argument(
        "--shared-vocabulary",
        action=argparse.BooleanOptionalAction,
        help="one vocabulary and one casing for both sides, and shared embeddings (unless the "
        "config file sets share_embeddings: false); with subwords, unseen names are copied",
    )
    train.add_argument(
        "--average-last",
        type=_positive_int,
        metavar="N",
        help="keep the mean weights of the last N epochs if they translate the validation "
        "pairs at least as well (default 3; 1: off)",
    )
    train.add_argument("--validation", type=float, default=0.05, help="held-out fraction")
    train.add_argument("--skip-malformed", action="store_true")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--restart",
        action="store_true",
        help="discard the interrupted run kept in OUTPUT.partial instead of resuming it",
    )
    add_verbose_argument(train)
    train.add_argument(
        "--distributed",
        action="store_true",
        help="train on several workers: run the same command on each, with the cluster in "
        "TF_CONFIG or KERAS_DISTRIBUTION_* (see the README); only worker 0 writes",
    )
    train.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        default=100,
        metavar="STEPS",
        help="save the training state every STEPS steps (an interrupted run resumes from it)",
    )
    train.add_argument(
        "--worker-timeout",
        type=_positive_int,
        default=120,
        metavar="SECONDS",
        help="with --distributed: how long a worker waits for the others before failing",
    )
    _add_model_arguments(train)
    train.set_defaults(handler=cmd_train)

    translate = commands.add_parser("translate", help="translate arguments or stdin lines")
    translate.add_argument("--model", required=True, help="a saved translator directory")
    translate.add_argument("text", nargs="*", help="texts; read from stdin when none")
    translate.add_argument("--beam-width", type=int, default=1)
    translate.add_argument(
        "--temperature", type=float, help="sample at this temperature instead of searching"
    )
    translate.add_argument("--top-k", type=int, help="sample among the k best")
    translate.add_argument("--top-p", type=float, help="nucleus sampling mass")
    translate.add_argument("--seed", type=int, help="seed of the sampling, for reproducibility")
    translate.add_argument(
        "--no-split",
        dest="split_sentences",
        action="store_false",
        help="translate each text as one sentence (by default, sentence by sentence)",
    )
    translate.set_defaults(handler=cmd_translate)

    evaluate = commands.add_parser("evaluate", help="BLEU and chrF on a TSV test file")
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("pairs")
    evaluate.add_argument("--skip-malformed", action="store_true")
    evaluate.set_defaults(handler=cmd_evaluate)

    export = commands.add_parser("export", help="export a saved translator as a SavedModel")
    export.add_argument("--model", required=True, help="a saved translator directory")
    export.add_argument("--output", required=True, help="the SavedModel directory to write")
    export.add_argument("--max-length", type=int, default=100)
    export.set_defaults(handler=cmd_export)

    from kseq2seq.visualize.cli import add_attention_command

    add_attention_command(commands)
    try:
        from kseq2seq.tuning.cli import add_tune_command
    except ImportError:  # keras-tuner is a dependency; this guards broken installs
        pass
    else:
        add_tune_command(commands)
    # --debug is accepted before or after the command's name.
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    for command in commands.choices.values():
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    if debug:
        show_native_logs()
    # Swapping file descriptors is for the command's own process, not for a call from Python.
    quiet = hide_native_logs() if argv is None and not debug else contextlib.nullcontext()
    with quiet:
        try:
            return args.handler(args)
        except WorkerFailure as error:
            code = _fail(str(error))
            sys.stdout.flush()
            sys.stderr.flush()
            # At exit, JAX's distributed runtime waits for every worker, the dead
            # one too, then aborts the process: leave now, with the error said.
            os._exit(code)
        except (FileNotFoundError, ValueError, RuntimeError) as error:
            if debug:
                raise
            return _fail(str(error))
        except KeyboardInterrupt:
            print("\nInterrupted.", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
