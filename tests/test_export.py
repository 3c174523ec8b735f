"""The SavedModel: strings in, translations and attention out, without kseq2seq."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="SavedModel export runs under TensorFlow"
)

SOURCES = [
    "Le chat noir mange la souris.",
    "",
    "   \t",
    "xyzzy plugh frobnicate",
    " ".join(["chat"] * 150),
    "La souris.",
]
TARGETS = ["The black cat eats the mouse.", "", "The mouse.", "x", "cat", "The mouse."]

# Runs in a process that imports only tensorflow and tensorflow_text.
CLIENT = """
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops)
loaded = tf.saved_model.load(sys.argv[1])
sources, targets = json.loads(sys.argv[2]), json.loads(sys.argv[3])
out = loaded.signatures["serving_default"](text=tf.constant(sources))
beam = loaded.signatures["translate"](
    text=tf.constant(sources), beam_width=tf.constant(3), max_length=tf.constant(30))
att = loaded.signatures["attention"](source=tf.constant(sources), target=tf.constant(targets))
# Invalid UTF-8, out-of-range settings (clamped to 1), an empty batch.
raw = loaded.signatures["serving_default"](text=tf.constant([b"caf\\xe9 \\xff souris"]))
clamped = loaded.signatures["translate"](
    text=tf.constant(sources), beam_width=tf.constant(0), max_length=tf.constant(-3))
nothing = loaded.signatures["translate"](
    text=tf.constant([], tf.string), beam_width=tf.constant(2), max_length=tf.constant(5))
assert not any(name.startswith("kseq2seq") for name in sys.modules), "kseq2seq was imported"
print(json.dumps({
    "translation": [t.decode() for t in out["translation"].numpy()],
    "score": out["score"].numpy().tolist(),
    "beam": [t.decode() for t in beam["translation"].numpy()],
    "attention": att["attention"].numpy().tolist(),
    "source_tokens": att["source_tokens"].numpy().astype(str).tolist(),
    "target_tokens": att["target_tokens"].numpy().astype(str).tolist(),
    "tokens": out["tokens"].numpy().astype(str).tolist(),
    "served_source_tokens": out["source_tokens"].numpy().astype(str).tolist(),
    "served_attention": out["attention"].numpy().tolist(),
    "raw": [t.decode() for t in raw["translation"].numpy()],
    "clamped": [t.decode() for t in clamped["translation"].numpy()],
    "nothing": {key: list(value.shape) for key, value in nothing.items()},
}))
"""


@pytest.fixture(scope="module")
def exported(small_translator, tmp_path_factory):
    translator = small_translator
    directory = tmp_path_factory.mktemp("export") / "saved"
    translator.export(directory, max_length=30)
    translator.export(directory, max_length=30)  # exporting again replaces it
    assert sorted(p.name for p in directory.parent.iterdir()) == ["saved"]
    return translator, directory


@pytest.fixture(scope="module")
def served(exported):
    """The outputs of the signatures, called in a process without kseq2seq."""
    _, directory = exported
    result = subprocess.run(
        [sys.executable, "-c", CLIENT, str(directory), json.dumps(SOURCES), json.dumps(TARGETS)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_separate_process_serves_what_the_translator_gives(served, exported):
    translator, _ = exported
    with pytest.warns(UserWarning):
        expected = translator.translate_with_details(SOURCES, max_length=30)
    assert served["translation"] == expected["translations"]
    assert served["translation"][1] == served["translation"][2] == ""
    np.testing.assert_allclose(served["score"], expected["scores"], atol=1e-3)
    with pytest.warns(UserWarning):
        assert served["beam"] == translator.translate(SOURCES, beam_width=3, max_length=30)

    # The attention signature is the attention-extraction submodel, served.
    with pytest.warns(UserWarning):
        results = translator.attention(SOURCES, TARGETS)
    attention = np.asarray(served["attention"])
    for row, result in enumerate(results):
        rows, columns = result["weights"].shape
        np.testing.assert_allclose(attention[row, :rows, :columns], result["weights"], atol=1e-5)
        assert np.all(attention[row, rows:] == 0) and np.all(attention[row, :, columns:] == 0)
        assert [t for t in served["source_tokens"][row] if t] == result["source_tokens"]
        assert [t for t in served["target_tokens"][row] if t] == result["target_tokens"]


def test_odd_input_through_every_signature(served, exported):
    """The documented outputs of odd input (README, "Serving")."""
    translator, _ = exported
    source_tokens = [[t for t in row if t] for row in served["served_source_tokens"]]
    tokens = [[t for t in row if t] for row in served["tokens"]]
    attention = np.asarray(served["served_attention"])
    # Empty and whitespace-only: "", score 0, no tokens, all-zero attention.
    for row in (1, 2):
        assert served["translation"][row] == "" and served["score"][row] == 0.0
        assert source_tokens[row] == [] and tokens[row] == []
        assert np.all(attention[row] == 0)
    # Unknown words are <unk>; long sources are cut to max_source_length tokens.
    assert source_tokens[3] == ["<unk>"] * 3
    assert source_tokens[4] == ["chat"] * translator.max_source_length
    # Every translation ends with </s> or stops at max_length; its attention rows sum to 1.
    for row in (0, 3, 4, 5):
        assert tokens[row][-1] == "</s>" or len(tokens[row]) == 30
        np.testing.assert_allclose(attention[row, : len(tokens[row])].sum(-1), 1.0, atol=1e-4)
        assert np.all(attention[row, len(tokens[row]) :] == 0)
    # The attention signature: an empty source attends nowhere; an empty target is "</s>".
    teacher = np.asarray(served["attention"])
    assert np.all(teacher[1] == 0) and np.all(teacher[2] == 0)
    assert [t for t in served["target_tokens"][1] if t] == ["</s>"]
    # Invalid UTF-8 is replaced (U+FFFD), as Translator.translate does with bytes.
    assert served["raw"] == translator.translate([b"caf\xe9 \xff souris"], max_length=30)
    # beam_width and max_length below 1 count as 1.
    with pytest.warns(UserWarning):
        assert served["clamped"] == translator.translate(SOURCES, max_length=1)
    # An empty batch gives empty outputs.
    assert served["nothing"]["translation"] == [0] and served["nothing"]["score"] == [0]


# saved_model_cli with the tensorflow-text op library loaded first (its own
# script does not import it, and the graph holds tensorflow-text ops).
SAVED_MODEL_CLI = (
    "import sys, tensorflow_text; from tensorflow.python.tools.saved_model_cli import main; "
    "sys.argv[0] = 'saved_model_cli'; sys.exit(main())"
)


def test_saved_model_cli_runs_it(exported):
    translator, directory = exported
    cli = [sys.executable, "-c", SAVED_MODEL_CLI]
    shown = subprocess.run(
        [*cli, "show", "--dir", str(directory), "--all"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    for name in ("serving_default", "translate", "attention"):
        assert f"signature_def['{name}']" in shown.stdout


def test_saved_model_cli_run(exported):
    # saved_model_cli run loads the graph TF1-style (a Session, the saver's restore op).
    translator, directory = exported
    cli = [sys.executable, "-c", SAVED_MODEL_CLI]
    ran = subprocess.run(
        [
            *cli,
            "run",
            "--dir",
            str(directory),
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
            "--input_exprs",
            'text=["La souris."]',
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    expected = translator.translate(["La souris."], max_length=30)[0]
    assert repr(expected.encode()) in ran.stdout, ran.stdout[-2000:]


def test_tfsmlayer_serves_it(exported):
    translator, directory = exported
    layer = keras.layers.TFSMLayer(str(directory), call_endpoint="serving_default")
    import tensorflow as tf

    out = layer(tf.constant(["La souris."]))
    assert (
        out["translation"].numpy()[0].decode()
        == translator.translate("La souris.", max_length=30)[0]
    )


def test_paragraphs_are_cut_into_sentences_as_translate_cuts_them(exported):
    import tensorflow as tf

    translator, directory = exported
    loaded = tf.saved_model.load(str(directory))
    paragraphs = ["Le chat noir mange. La souris dort.\nLe chien.", "Un cheval."]
    sentences = ["Le chat noir mange.", "La souris dort.", "Le chien.", "Un cheval."]
    one = loaded.signatures["translate_sentences"](
        text=tf.constant(sentences), beam_width=tf.constant(1), max_length=tf.constant(30)
    )
    alone = [t.decode() for t in one["translation"].numpy()]
    assert alone == translator.translate(sentences, max_length=30, split_sentences=False)
    out = loaded.signatures["translate"](
        text=tf.constant(paragraphs), beam_width=tf.constant(1), max_length=tf.constant(30)
    )
    joined = [t.decode() for t in out["translation"].numpy()]
    assert joined == [f"{alone[0]} {alone[1]}\n{alone[2]}", alone[3]]
    assert joined == translator.translate(paragraphs, max_length=30)
    np.testing.assert_allclose(
        out["score"].numpy(), [sum(one["score"].numpy()[:3]), one["score"].numpy()[3]], atol=1e-4
    )
    # Tokens one sentence after the other, and a block-diagonal attention.
    tokens = [[t for t in row if t] for row in one["tokens"].numpy().astype(str).tolist()]
    sources = [[t for t in row if t] for row in one["source_tokens"].numpy().astype(str)]
    assert [t for t in out["tokens"].numpy()[0].astype(str) if t] == sum(tokens[:3], [])
    assert [t for t in out["source_tokens"].numpy()[0].astype(str) if t] == sum(sources[:3], [])
    attention, step, position = out["attention"].numpy()[0], 0, 0
    for index in range(3):
        rows, columns = len(tokens[index]), len(sources[index])
        block = attention[step : step + rows, position : position + columns]
        np.testing.assert_allclose(
            block, one["attention"].numpy()[index, :rows, :columns], atol=1e-6
        )
        assert np.isclose(attention[step : step + rows].sum(), rows, atol=1e-3)  # nothing else
        step, position = step + rows, position + columns
