"""Fine-tune a saved translator on new pairs (same vocabularies) with `fit`.

    python examples/fine_tune_translator.py my-translator new_pairs.tsv tuned-translator

New words outside the saved vocabularies become <unk>; the encoder can be
frozen (--freeze-encoder) to adapt only the decoder to a new domain.
"""

import argparse

import kseq2seq
from kseq2seq.data import read_pairs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("translator")
    parser.add_argument("pairs")
    parser.add_argument("output")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--freeze-encoder", action="store_true")
    args = parser.parse_args(argv)

    translator = kseq2seq.Translator.load(args.translator)
    if args.freeze_encoder:
        kseq2seq.freeze_encoder(translator.model)
    # A lower learning rate than for training from scratch keeps what was learnt.
    kseq2seq.compile_model(translator.model, learning_rate=args.learning_rate)
    pairs = read_pairs(args.pairs)
    history = translator.fit(pairs, epochs=args.epochs)
    print("loss per epoch:", [round(loss, 4) for loss in history.history["loss"]])
    translator.save(args.output)


if __name__ == "__main__":
    main()
