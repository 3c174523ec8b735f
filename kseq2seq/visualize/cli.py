"""The `kseq2seq attention` subcommand: a picture of one sentence's attention."""

from __future__ import annotations

import sys
from pathlib import Path

HEATMAP_SUFFIXES = (".png", ".svg", ".pdf")
SUFFIXES = HEATMAP_SUFFIXES + (".gif", ".html")


def _fail(message: str) -> int:
    print(f"kseq2seq: error: {message}", file=sys.stderr)
    return 2


def cmd_attention(args) -> int:
    """Handler of `kseq2seq attention`; returns the exit code."""
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        return _fail(
            f"--out must end with one of {', '.join(SUFFIXES)} (heatmap: .png/.svg/.pdf, "
            f"animation: .gif, report: .html). Received: {args.out!r}"
        )
    try:
        from kseq2seq import visualize
        from kseq2seq.translator import Translator

        translator = Translator.load(args.model)
        if suffix in HEATMAP_SUFFIXES:
            visualize.plot_attention_for(translator, args.text, target=args.target, path=out)
            what = "attention heatmap"
        elif suffix == ".gif":
            frames = visualize.decoding_animation(translator, args.text, out, target=args.target)
            what = f"decoding animation ({frames} frames)"
        else:
            visualize.attention_report(translator, args.text, out, targets=args.target)
            what = "attention report"
    except (FileNotFoundError, ValueError, TypeError) as error:
        return _fail(str(error))
    print(f"Wrote the {what} to {out}")
    return 0


def add_attention_command(subparsers):
    """Adds `attention --model DIR TEXT --out FILE [--target TEXT]` to `subparsers`; returns
    the new subparser, whose `args.handler(args) -> int` runs it."""
    parser = subparsers.add_parser(
        "attention",
        help="draw a sentence's attention: heatmap (.png), animation (.gif) or report (.html)",
        description=(
            "Translate TEXT with a saved translator and draw its attention. The --out suffix "
            "picks the picture: .png/.svg/.pdf a heatmap, .gif a decoding animation (one frame "
            "per output word), .html a self-contained report with hoverable weights."
        ),
    )
    parser.add_argument("--model", required=True, help="a saved translator directory")
    parser.add_argument("text", help="the source sentence")
    parser.add_argument("--out", required=True, help="FILE.png, FILE.gif or FILE.html")
    parser.add_argument(
        "--target", help="teacher-force this target instead of the model's own translation"
    )
    parser.set_defaults(handler=cmd_attention)
    return parser
