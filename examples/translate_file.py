"""Translate a text file line by line with a saved translator.

python examples/translate_file.py my-translator input.txt output.txt
"""

import argparse
from pathlib import Path

import kseq2seq


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("translator")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)

    translator = kseq2seq.Translator.load(args.translator)
    lines = Path(args.input).read_text(encoding="utf-8").splitlines()
    translations = []
    for start in range(0, len(lines), args.batch_size):
        translations += translator.translate(lines[start : start + args.batch_size])
    Path(args.output).write_text("\n".join(translations) + "\n", encoding="utf-8")
    print(f"translated {len(lines)} lines into {args.output}")


if __name__ == "__main__":
    main()
