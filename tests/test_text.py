"""Tests of kseq2seq.text: TensorFlow / tensorflow-text tokenizers."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text

from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID
from kseq2seq.text import (
    CLOSING_PUNCTUATION,
    JOINING_PUNCTUATION,
    PYTHON_TOKEN_REGEX,
    NotFittedError,
    SubwordTokenizer,
    Tokenizer,
    WordTokenizer,
    _patterns,
    load_tokenizer,
)

MIXED_TEXTS = [
    "The black cat eats the mouse.",
    "Élève, où êtes-vous ?",
    "Ça coûte 5 € (à peu près) ; d'accord !",
    "Größe: Straße, Füße, Ärger, Öl, Übel — ẞ",
    "Γειά σου κόσμε! Ο ΔΡΌΜΟΣ είναι μακρύς.",
    "Привет, мир! Съешь же ещё этих мягких французских булок.",
    "你好，世界。東京は大きい都市です！",
    "日本語のテキスト、カタカナ・ひらがな。한국어 문장입니다.",
    "Emoji 😀🙂 and 👍🏽 plus family 👨‍👩‍👧 ok?",
    "snake_case x2 3.14 ½ ² ① ﬁ ＡＢＣ",
    "नमस्ते दुनिया। مرحبا بالعالم؟ שלום עולם",
    "tabs\tand\nnewlines\u2028and\u3000spaces\u00a0nbsp\x0bvt\x1cfs\x85nel",
    "e\u0301 combining ño n\u0303 Å",
    "«quotes» “curly” ‘single’ [brackets] {braces} <angle> #hash @at ~tilde",
]


def reference_tokens(normalized: str) -> list[str]:
    """The rule the TensorFlow splitter must reproduce exactly."""
    return re.findall(PYTHON_TOKEN_REGEX, normalized)


def reference_detokenize(tokens: list[str]) -> str:
    """Python version of the documented decode spacing rule."""

    def joined(i):  # a joiner between two words
        return (
            0 < i < len(tokens) - 1
            and tokens[i] in JOINING_PUNCTUATION
            and re.search(r"\w$", tokens[i - 1]) is not None
            and re.match(r"\w", tokens[i + 1]) is not None
        )

    out = []
    for i, token in enumerate(tokens):
        if (
            i > 0
            and token not in CLOSING_PUNCTUATION
            and tokens[i - 1] != "("
            and not joined(i)
            and not joined(i - 1)
        ):
            out.append(" ")
        out.append(token)
    return "".join(out)


def as_str_rows(ragged: tf.RaggedTensor) -> list[list[str]]:
    return [[t.decode("utf-8") for t in row] for row in ragged.to_list()]


def as_strs(tensor: tf.Tensor) -> list[str]:
    return [t.decode("utf-8") for t in tensor.numpy().tolist()]


@pytest.fixture(scope="module")
def word_tok() -> WordTokenizer:
    return WordTokenizer().fit(MIXED_TEXTS * 2)


@pytest.fixture(scope="module")
def subword_tok() -> SubwordTokenizer:
    return SubwordTokenizer(vocab_size=400, min_frequency=2).fit(MIXED_TEXTS * 2)


# ------------------------------------------------------------------------- splitting rule
def test_character_classes_match_python_re_on_every_code_point():
    """Each code point c in "a{c}a" gives 1 token (word), 2 (space) or 3 (other), as in re."""
    delim, keep = _patterns.split_patterns()
    code_points = np.array([c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF])
    chars = tf.strings.unicode_encode(tf.constant(code_points[:, None], tf.int32), "UTF-8")
    probes = tf.strings.join(["a", chars, "a"])
    got = tf_text.regex_split(probes, delim, keep).row_lengths().numpy()

    everything = "".join(map(chr, code_points.tolist()))
    expected = np.full(len(code_points), 3)
    expected[[m.start() for m in re.finditer(r"\s", everything)]] = 2
    expected[[m.start() for m in re.finditer(r"\w", everything)]] = 1
    mismatched = [hex(code_points[i]) for i in np.nonzero(got != expected)[0][:20]]
    assert not mismatched, f"code points split unlike Python's re: {mismatched}"
    assert (expected == 1).sum() > 100_000  # sanity: the probe really covers the letters


@pytest.mark.parametrize("lowercase", [True, False])
def test_split_equals_python_regex_on_mixed_scripts(lowercase):
    tok = WordTokenizer(lowercase=lowercase)
    normalized = as_strs(tok.normalize(MIXED_TEXTS))
    assert as_str_rows(tok.split(MIXED_TEXTS)) == [reference_tokens(t) for t in normalized]
    # Spot checks of the rule on accented and CJK text.
    assert as_str_rows(tok.split(["Élève, où êtes-vous ?"]))[0] == [
        "élève" if lowercase else "Élève",
        ",",
        "où",
        "êtes",
        "-",
        "vous",
        "?",
    ]
    assert as_str_rows(tok.split(["你好，世界。"]))[0] == ["你好", ",", "世界", "。"]


def test_split_equals_python_regex_on_random_strings():
    rng = random.Random(20240611)
    alphabet = (
        list(
            "abcxyzABÉéèàüößÄ_09٣ΑΣσςЖжЁ中文日本語한글😀👍🏽\u200d!?.,;:-'\"()[]«»¿¡…—#@"
            "\u0301\u0308\u093f\u00a0\u2009\u3000\u200b\u00ad\ufeff\t\n\x0b\x0c\r\x1c\x1f\x85"
            "\u2028\u2029ﬁ½²①Ａｶ\x01\x7f\ue000\U0001d400"
        )
        + [" "] * 6
    )
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(2000)]
    tok = WordTokenizer()
    normalized = as_strs(tok.normalize(texts))
    got = as_str_rows(tok.split(texts))
    bad = [(t, g) for t, g in zip(normalized, got) if g != reference_tokens(t)]
    assert not bad, bad[:3]


def test_normalization_nfkc_and_lowercase():
    tok = WordTokenizer()
    texts = ["ﬁne ＡＢＣ ①", "STRASSE Straße", "ΟΔΟΣ", "Élève", "x\u00a0y", "İ"]
    assert as_strs(tok.normalize(texts)) == [
        unicodedata.normalize("NFKC", t).lower() for t in texts
    ]
    assert as_strs(tok.normalize(texts))[:3] == ["fine abc 1", "strasse straße", "οδος"]
    assert tok.normalize("Élève").numpy().decode() == "élève"  # rank 0 in, rank 0 out
    assert as_strs(WordTokenizer(lowercase=False).normalize(["Élève ＡＢ"])) == ["Élève AB"]


# ------------------------------------------------------------------------- round trips
def test_word_round_trip_gives_normalized_text(word_tok):
    ids = word_tok.encode(MIXED_TEXTS)
    assert ids.dtype == tf.int32
    assert UNK_ID not in ids.flat_values.numpy()
    decoded = as_strs(word_tok.decode(ids))
    normalized = as_strs(word_tok.normalize(MIXED_TEXTS))
    assert decoded == [reference_detokenize(reference_tokens(t)) for t in normalized]
    assert decoded[0] == "the black cat eats the mouse."
    assert decoded[1] == "élève, où êtes-vous?"
    # Text already in the decoder's spacing comes back exactly (normalised).
    canonical = ["größe: straße, füße (ärger).", "привет, мир!", "γειά σου κόσμε!"]
    assert as_strs(word_tok.decode(word_tok.encode(canonical))) == canonical
    # Decoding is stable under re-encoding.
    again = word_tok.encode(word_tok.decode(ids))
    assert again.to_list() == ids.to_list()


def test_subword_round_trip_joins_pieces(subword_tok):
    ids = subword_tok.encode(MIXED_TEXTS)
    assert ids.dtype == tf.int32
    assert UNK_ID not in ids.flat_values.numpy()
    tokens = as_str_rows(subword_tok.tokenize(MIXED_TEXTS))
    assert any(t.startswith("##") for row in tokens for t in row), "expected subword pieces"
    decoded = as_strs(subword_tok.decode(ids))
    normalized = as_strs(subword_tok.normalize(MIXED_TEXTS))
    assert decoded == [reference_detokenize(reference_tokens(t)) for t in normalized]
    # Unseen words made of known characters are pieced together, not unknown.
    unseen = subword_tok.encode("cat mouse élève")
    assert UNK_ID not in unseen.numpy()
    assert subword_tok.decode(unseen).numpy().decode() == "cat mouse élève"
    # A character seen only inside words can start one; over-long words are unknown.
    assert UNK_ID not in subword_tok.encode("lack ouse").numpy()
    assert subword_tok.encode("a" * 300).numpy().tolist() == [UNK_ID]


def test_small_subword_vocabulary_still_round_trips():
    tok = SubwordTokenizer(vocab_size=200).fit(MIXED_TEXTS)
    tokens = as_str_rows(tok.tokenize(["the black cat eats the mouse."]))[0]
    assert len(tokens) > 7 and any(t.startswith("##") for t in tokens)
    assert tok.decode(tok.encode("the black cat eats the mouse.")).numpy().decode() == (
        "the black cat eats the mouse."
    )


def test_tokenize_gives_model_pieces(word_tok):
    assert as_str_rows(word_tok.tokenize(["Élève, où zzz ?"])) == [
        ["élève", ",", "où", "<unk>", "?"]
    ]
    single = word_tok.tokenize("Élève")
    assert single.shape.rank == 1 and as_strs(single) == ["élève"]


def test_unknown_words_map_to_unk(word_tok, subword_tok):
    ids = word_tok.encode(["the zebra eats", "qqq"])
    assert ids.to_list()[0][1] == UNK_ID and ids.to_list()[1] == [UNK_ID]
    assert word_tok.decode(ids).numpy()[0].decode() == "the <unk> eats"
    # A character absent from the subword vocabulary makes its word unknown.
    assert subword_tok.encode("the ∮").numpy().tolist()[-1] == UNK_ID


def test_empty_and_whitespace_only_strings(word_tok, subword_tok):
    for tok in (word_tok, subword_tok):
        ids = tok.encode(["", " ", "\t\n ", "\u3000\u00a0", "the"])
        assert ids.row_lengths().numpy().tolist()[:4] == [0, 0, 0, 0]
        assert ids.row_lengths().numpy()[4] >= 1
        assert as_strs(tok.decode(ids)) == ["", "", "", "", "the"]
        assert tok.encode("").shape == (0,)
        assert tok.encode([]).shape[0] == 0
        assert tok.decode(tf.zeros([2, 3], tf.int32)).numpy().tolist() == [b"", b""]


def test_non_utf8_bytes_and_odd_characters_do_not_crash(word_tok, subword_tok):
    texts = [
        b"caf\xe9 the",
        b"\xff\xfe",
        b"ok \xc3",
        b"\xc0\x80",
        "lone \udc80 surrogate",
        "a\x00b",
    ]
    for tok in (word_tok, subword_tok):
        ids = tok.encode(texts)
        assert ids.nrows() == len(texts)
        decoded = tok.decode(ids)
        assert decoded.shape == (len(texts),)
    normalized = as_strs(word_tok.normalize(texts))
    assert normalized[0] == "caf\ufffd the"
    assert normalized[1] == "\ufffd\ufffd"
    assert normalized[5] == "a b"  # NUL becomes a space
    assert as_str_rows(word_tok.split(texts[:1])) == [["caf", "\ufffd", "the"]]


# ------------------------------------------------------------------------- decode
def test_decode_stops_at_eos_and_skips_pads(word_tok):
    the, cat, dot = (word_tok.vocabulary.index(t) for t in ("the", "cat", "."))
    dense = tf.constant(
        [
            [BOS_ID, the, cat, dot, EOS_ID, the, cat],
            [the, PAD_ID, cat, EOS_ID, EOS_ID, PAD_ID, PAD_ID],
            [EOS_ID, the, 0, 0, 0, 0, 0],
            [the, UNK_ID, cat, 10_000, -5, PAD_ID, PAD_ID],
        ],
        dtype=tf.int64,
    )
    assert as_strs(word_tok.decode(dense)) == [
        "the cat.",
        "the cat",
        "",
        "the <unk> cat <unk> <unk>",
    ]
    ragged = tf.ragged.constant([[BOS_ID, the, cat, EOS_ID, cat], [dot]], dtype=tf.int32)
    assert as_strs(word_tok.decode(ragged)) == ["the cat", "."]
    assert word_tok.decode([the, cat, EOS_ID, the]).numpy().decode() == "the cat"
    assert word_tok.decode(np.array([the, cat])).shape == ()
    assert as_strs(word_tok.decode([[the], [cat, dot]])) == ["the", "cat."]


def test_decode_punctuation_spacing(word_tok):
    text = "d'accord ( à peu près ) ; ok ! ça ?"
    decoded = word_tok.decode(word_tok.encode(text)).numpy().decode()
    assert decoded == "d'accord (à peu près); ok! ça?"
    # Apostrophes and hyphens join two words; elsewhere they keep their spaces.
    texts = ["isn't it well-known?", "' ok - ' -", "a - b", "it ' s", "(' a"]
    tok = WordTokenizer().fit(texts)
    decoded = as_strs(tok.decode(tok.encode(texts)))
    assert decoded == ["isn't it well-known?", "' ok - ' -", "a-b", "it's", "(' a"]


# ------------------------------------------------------------------------- vocabulary
def test_vocabulary_order_and_caps():
    corpus = ["b a c a b a", "d e", "c"]
    tok = WordTokenizer().fit(corpus)
    assert tok.vocabulary == list(SPECIAL_TOKENS) + ["a", "b", "c", "d", "e"]
    assert tok.vocab_size == 9
    capped = WordTokenizer(max_vocab_size=6).fit(corpus)
    assert capped.vocabulary == list(SPECIAL_TOKENS) + ["a", "b"]
    assert capped.encode("a c").numpy().tolist() == [4, UNK_ID]
    frequent = WordTokenizer(min_frequency=2).fit(corpus)
    assert frequent.vocabulary[4:] == ["a", "b", "c"]
    # Deterministic: same corpus, same vocabulary; generators and tf.data work too.
    assert WordTokenizer().fit(corpus).vocabulary == tok.vocabulary
    assert WordTokenizer().fit(t for t in corpus).vocabulary == tok.vocabulary
    dataset = tf.data.Dataset.from_tensor_slices(corpus)
    assert WordTokenizer().fit(dataset).vocabulary == tok.vocabulary
    assert WordTokenizer().fit(dataset.batch(2)).vocabulary == tok.vocabulary


def test_subword_vocabulary_caps_and_determinism():
    for size in (12, 60, 300):
        tok = SubwordTokenizer(vocab_size=size).fit(MIXED_TEXTS * 3)
        vocab = tok.vocabulary
        assert len(vocab) <= size and tok.vocab_size == len(vocab)
        assert vocab[:4] == list(SPECIAL_TOKENS)
        assert len(set(vocab)) == len(vocab)
        assert SubwordTokenizer(vocab_size=size).fit(MIXED_TEXTS * 3).vocabulary == vocab
        ids = tok.encode(MIXED_TEXTS).flat_values.numpy()
        assert ids.min() >= 0 and ids.max() < size
    assert len(SubwordTokenizer(vocab_size=12).fit(MIXED_TEXTS).vocabulary) == 12
    # Ordered by use when the training corpus is segmented: counts never increase, ties
    # are in alphabetical order.
    big = SubwordTokenizer(vocab_size=300).fit(MIXED_TEXTS * 3)
    usage = np.bincount(big.encode(MIXED_TEXTS * 3).flat_values.numpy(), minlength=300)
    keys = [(-int(usage[i]), piece) for i, piece in enumerate(big.vocabulary) if i >= 4]
    assert keys == sorted(keys)


# ------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("cls", [WordTokenizer, SubwordTokenizer])
def test_save_load_round_trip(cls, tmp_path):
    tok = cls(lowercase=False).fit(MIXED_TEXTS)
    tok.save(tmp_path / "tok")
    assert sorted(os.listdir(tmp_path / "tok")) == ["tokenizer.json", "vocab.txt"]
    meta = json.loads((tmp_path / "tok" / "tokenizer.json").read_text(encoding="utf-8"))
    assert meta["class_name"] == cls.__name__ and meta["config"]["lowercase"] is False
    lines = (tmp_path / "tok" / "vocab.txt").read_text(encoding="utf-8").split("\n")
    assert lines[:-1] == tok.vocabulary and lines[-1] == ""

    loaded = load_tokenizer(tmp_path / "tok")
    assert type(loaded) is cls and loaded.get_config() == tok.get_config()
    expected = tok.encode(MIXED_TEXTS).to_list()
    assert loaded.encode(MIXED_TEXTS).to_list() == expected

    per_element = tf.data.Dataset.from_tensor_slices(MIXED_TEXTS).map(loaded.encode)
    assert [x.numpy().tolist() for x in per_element] == expected
    batched = tf.data.Dataset.from_tensor_slices(MIXED_TEXTS).batch(5).map(loaded.encode)
    assert [row for batch in batched for row in batch.to_list()] == expected


def test_config_round_trip():
    for tok in (
        WordTokenizer(max_vocab_size=50, min_frequency=2),
        SubwordTokenizer(vocab_size=100),
    ):
        config = tok.get_config()
        assert config["vocabulary"] is None
        assert type(tok).from_config(config).get_config() == config
    fitted = SubwordTokenizer(vocab_size=100).fit(MIXED_TEXTS)
    clone = SubwordTokenizer.from_config(fitted.get_config())
    assert clone.encode(MIXED_TEXTS).to_list() == fitted.encode(MIXED_TEXTS).to_list()


SAVED_MODEL_CHECK = """
import sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the ops)
module = tf.saved_model.load(sys.argv[1])
out = module.roundtrip(tf.constant(["Élève, où êtes-vous ?", "zzz qqq", ""]))
print("|".join(t.decode("utf-8") for t in out.numpy()))
print(sorted(m for m in sys.modules if m.startswith("kseq2seq")))
"""


@pytest.mark.parametrize("cls", [WordTokenizer, SubwordTokenizer])
def test_saved_model_with_tokenizer(cls, tmp_path):
    tok = cls().fit(MIXED_TEXTS)
    module = tf.Module()
    module.tokenizer = tok

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def roundtrip(texts):
        return module.tokenizer.decode(module.tokenizer.encode(texts))

    module.roundtrip = roundtrip
    texts = tf.constant(MIXED_TEXTS + ["unknownword", "", b"bad \xff bytes"])
    expected = module.roundtrip(texts).numpy().tolist()
    assert expected == tok.decode(tok.encode(texts)).numpy().tolist()
    path = str(tmp_path / "saved")
    tf.saved_model.save(module, path)
    loaded = tf.saved_model.load(path)
    assert loaded.roundtrip(texts).numpy().tolist() == expected

    if cls is WordTokenizer:  # a process that imports only tensorflow and tensorflow_text
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        result = subprocess.run(
            [sys.executable, "-c", SAVED_MODEL_CHECK, path],
            capture_output=True,
            text=True,
            env=env,
            cwd=str(tmp_path),
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        lines = result.stdout.strip().split("\n")
        assert lines[-2] == "élève, où êtes-vous?|<unk> <unk>|"
        assert "kseq2seq" not in lines[-1]


# ------------------------------------------------------------------------- bad input
def test_errors_are_clear():
    tok = WordTokenizer()
    with pytest.raises(NotFittedError, match=r"call fit\(\) first"):
        tok.encode("hello")
    with pytest.raises(RuntimeError, match=r"call fit\(\) first"):
        tok.decode([1, 2])
    with pytest.raises(RuntimeError, match=r"call fit\(\) first"):
        _ = tok.vocabulary
    with pytest.raises(ValueError, match="empty corpus"):
        tok.fit([])
    with pytest.raises(ValueError, match="no tokens"):
        tok.fit(["", "   \n"])
    with pytest.raises(TypeError, match="texts"):
        tok.fit("a single string")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        tok.fit(["ok", 3])
    with pytest.raises(TypeError, match="texts"):
        tok.fit(42)

    tok.fit(["hello world"])
    with pytest.raises(TypeError, match="texts"):
        tok.encode(5)
    with pytest.raises(TypeError, match="texts"):
        tok.encode(tf.constant([1, 2]))
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        tok.encode(["ok", None])
    with pytest.raises(ValueError, match="rank"):
        tok.encode(tf.constant([["a", "b"]]))
    with pytest.raises(TypeError, match="ids"):
        tok.decode(tf.constant([[1.0, 2.0]]))
    with pytest.raises(TypeError, match="ids"):
        tok.decode(["a", "b"])
    with pytest.raises(ValueError, match="rank"):
        tok.decode(tf.zeros([1, 2, 3], tf.int32))
    with pytest.raises(ValueError, match="rank"):
        tok.decode(5)

    with pytest.raises(ValueError, match="vocab_size"):
        SubwordTokenizer(vocab_size=3)
    with pytest.raises(ValueError, match="max_vocab_size"):
        WordTokenizer(max_vocab_size="100")
    with pytest.raises(ValueError, match="min_frequency"):
        WordTokenizer(min_frequency=0)
    with pytest.raises(ValueError, match="lowercase"):
        WordTokenizer(lowercase="yes")
    with pytest.raises(ValueError, match="special tokens"):
        WordTokenizer.from_config({"vocabulary": ["a", "b"]})


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_tokenizer(tmp_path / "missing")
    WordTokenizer().fit(["a b"]).save(tmp_path / "tok")
    meta_path = tmp_path / "tok" / "tokenizer.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["class_name"] = "MagicTokenizer"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ValueError, match="MagicTokenizer"):
        load_tokenizer(tmp_path / "tok")


def test_tokenizer_is_a_tf_module(word_tok):
    assert isinstance(word_tok, Tokenizer) and isinstance(word_tok, tf.Module)
    assert "vocab_size" in repr(word_tok)
