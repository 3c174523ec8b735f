"""Train a translator on your own tab-separated pairs and save it.

    python examples/train_on_your_tsv.py pairs.tsv my-translator --epochs 10

pairs.tsv holds one `source<TAB>target` pair a line (the Anki/Tatoeba format;
extra columns are ignored).
"""

import argparse

import keras

import kseq2seq
from kseq2seq.data import read_pairs, split_pairs
from kseq2seq.training.metrics import corpus_bleu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs")
    parser.add_argument("output")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--attention", default="luong_general")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    pairs = read_pairs(args.pairs, skip_malformed=True)
    train, validation, _ = split_pairs(pairs, validation=0.1, test=0)
    translator = kseq2seq.Translator.from_pairs(
        train,
        tokenizer="subword",  # WordPiece: copes with rare words and small data
        vocab_size=8000,
        embedding_dim=min(256, args.units),
        units=args.units,
        bidirectional=True,
        attention=args.attention,
        dropout=0.2,
    )
    kseq2seq.compile_model(translator.model, learning_rate=2e-3, label_smoothing=0.1)
    stop_early = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    translator.fit(train, validation, epochs=args.epochs, callbacks=[stop_early])
    translator.save(args.output)

    sample = validation[:200]
    hypotheses = translator.translate([source for source, _ in sample])
    print(f"validation BLEU: {corpus_bleu(hypotheses, [target for _, target in sample]):.1f}")
    for (source, _), hypothesis in list(zip(sample, hypotheses))[:3]:
        print(f"{source}  ->  {hypothesis}")


if __name__ == "__main__":
    main()
