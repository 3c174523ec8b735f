"""Settings chosen from the data (`kseq2seq.auto_config`) and how `kseq2seq train` uses them."""

import collections
import re

import pytest
from conftest import corpus_pairs

from kseq2seq.auto_config import SIZE_RULES, auto_settings
from kseq2seq.datasets import default_corpus, save_tsv


def _open_pairs(count):
    # Every pair has words of its own: an open vocabulary, as in real text.
    return [(f"mot{index} a b", f"word{index} x y") for index in range(count)]


def test_a_closed_vocabulary_gets_whole_words_all_of_them():
    pairs = corpus_pairs("train", 1500)
    settings = auto_settings(pairs)
    assert settings["tokenizer"] == "word"
    distinct = [
        len(collections.Counter(w for text in side for w in re.findall(r"\w+|[^\w\s]", text)))
        for side in ([s.lower() for s, _ in pairs], [t for _, t in pairs])
    ]
    assert settings["vocab_size"] == max(distinct) + 4  # and the four special tokens


@pytest.mark.parametrize("count, vocab_size", [(300, 1000), (14_652, 2000), (35_000, 5000)])
def test_an_open_vocabulary_gets_subwords_one_per_seven_pairs(count, vocab_size):
    settings = auto_settings(_open_pairs(count))
    assert settings["tokenizer"] == "subword"
    assert settings["vocab_size"] == vocab_size


@pytest.mark.parametrize("index", range(len(SIZE_RULES)))
def test_sizes_follow_the_number_of_pairs(index):
    fewest, embedding, units, dropout, batch, rate = SIZE_RULES[index]
    for count in {max(fewest, 1), SIZE_RULES[index - 1][0] - 1 if index else fewest + 1}:
        settings = auto_settings([("a b", "c d")] * count)
        model = settings["model"]
        assert (model["embedding_dim"], model["units"], model["dropout"]) == (
            embedding,
            units,
            dropout,
        ), count
        assert (settings["batch_size"], settings["learning_rate"]) == (batch, rate)
        assert model["bidirectional"] and model["units"] % 2 == 0


def test_train_uses_the_chosen_settings_and_the_users_options_win(tmp_path, capsys):
    from kseq2seq.cli import main
    from kseq2seq.translator import Translator

    pairs = tmp_path / "pairs.tsv"
    save_tsv(default_corpus("train")[:120], pairs)
    from kseq2seq.data import read_pairs, split_pairs

    train, _, _ = split_pairs(read_pairs(pairs), validation=0, test=0, seed=0)
    chosen = auto_settings(train)  # what the command sees
    base = ["train", str(pairs), "--output", "", "--epochs", "1", "--verbose", "0"]
    base += ["--validation", "0"]  # (not a setting chosen from the data)
    base[3] = str(tmp_path / "auto")
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "Settings chosen from the" in out and "your options win" not in out
    translator = Translator.load(tmp_path / "auto")
    config = translator.config
    for key, value in chosen["model"].items():
        assert getattr(config, key) == value
    assert type(translator.source_tokenizer).__name__ == (
        "WordTokenizer" if chosen["tokenizer"] == "word" else "SubwordTokenizer"
    )

    base[3] = str(tmp_path / "given")
    assert main([*base, "--units", "32", "--tokenizer", "word", "--batch-size", "128"]) == 0
    out = capsys.readouterr().out
    assert "your options win for: batch_size, tokenizer, units" in out
    translator = Translator.load(tmp_path / "given")
    assert translator.config.units == 32
    assert translator.config.embedding_dim == chosen["model"]["embedding_dim"]
    assert type(translator.source_tokenizer).__name__ == "WordTokenizer"


def test_from_pairs_chooses_from_the_data_only_without_model_options():
    from kseq2seq.translator import Translator

    pairs = corpus_pairs("train", 300)
    chosen = auto_settings(pairs)
    translator = Translator.from_pairs(pairs)
    for key, value in chosen["model"].items():
        assert getattr(translator.config, key) == value
    assert translator.target_tokenizer.vocab_size <= chosen["vocab_size"]
    given = Translator.from_pairs(pairs, units=16, embedding_dim=8)
    assert not given.config.bidirectional and given.config.dropout == 0.0
    assert type(given.source_tokenizer).__name__ == "WordTokenizer"


_CPUINFO = "processor\t: {0}\nmodel name\t: some CPU\nflags\t\t: fpu sse2 avx2 {1}\n\n"


def test_bfloat16_instructions_are_read_from_the_cpu_flags():
    from kseq2seq.auto_config import cpu_computes_bfloat16

    for flags, native in [("avx512f", False), ("avx512f avx512_bf16", True), ("amx_bf16", True)]:
        cpuinfo = _CPUINFO.format(0, flags) + _CPUINFO.format(1, flags)
        assert cpu_computes_bfloat16(cpuinfo) is native, flags
    assert not cpu_computes_bfloat16("model name\t: avx512_bf16 in a name, not a flag\n")
    assert not cpu_computes_bfloat16("")


def test_mixed_bfloat16_only_from_ten_thousand_pairs_on_a_native_cpu(monkeypatch):
    import keras

    from kseq2seq import auto_config
    from kseq2seq.auto_config import BFLOAT16_FROM, describe

    many, few = [("a b", "c d")] * BFLOAT16_FROM, [("a b", "c d")] * (BFLOAT16_FROM - 1)
    assert auto_settings(many, bfloat16=True)["model"]["mixed_precision"] == "mixed_bfloat16"
    assert auto_settings(many, bfloat16=False)["model"]["mixed_precision"] is None
    assert auto_settings(few, bfloat16=True)["model"]["mixed_precision"] is None
    assert "mixed bfloat16" in describe(auto_settings(many, bfloat16=True))
    assert "bfloat16" not in describe(auto_settings(many, bfloat16=False))

    # Asked of the machine when not given: the CPU's flags, and only under TensorFlow.
    monkeypatch.setattr(auto_config, "cpu_computes_bfloat16", lambda cpuinfo=None: True)
    native = keras.backend.backend() == "tensorflow"
    assert auto_config.native_bfloat16() is native  # (no GPU here)
    expected = "mixed_bfloat16" if native else None
    assert auto_settings(many)["model"]["mixed_precision"] == expected
    # A mixed policy the user set is kept: nothing is chosen in its place.
    keras.config.set_dtype_policy("mixed_float16")
    try:
        assert auto_settings(many)["model"]["mixed_precision"] is None
    finally:
        keras.config.set_dtype_policy("float32")
    monkeypatch.setattr(auto_config, "cpu_computes_bfloat16", lambda cpuinfo=None: False)
    assert auto_settings(many)["model"]["mixed_precision"] is None


def test_the_precision_is_an_option_of_train_and_is_recorded_for_resume():
    from kseq2seq.cli import _model_options, build_parser
    from kseq2seq.train_options import differences, run_options

    args = build_parser().parse_args(
        ["train", "p.tsv", "--output", "o", "--mixed-precision", "float32"]
    )
    assert _model_options(args) == {"mixed_precision": "float32"}
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "p.tsv", "--output", "o", "--mixed-precision", "bf16"])
    before = run_options({"units": 8, "mixed_precision": "mixed_bfloat16"}, {})
    now = run_options({"units": 8, "mixed_precision": None}, {})
    assert differences(before, now) == ["--mixed-precision: mixed_bfloat16 then, none now"]
