"""The SavedModel: strings in, translations and attention out, without kseq2seq."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import kseq2seq
from kseq2seq.datasets import default_corpus

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
assert not any(name.startswith("kseq2seq") for name in sys.modules), "kseq2seq was imported"
print(json.dumps({
    "translation": [t.decode() for t in out["translation"].numpy()],
    "score": out["score"].numpy().tolist(),
    "beam": [t.decode() for t in beam["translation"].numpy()],
    "attention": att["attention"].numpy().tolist(),
    "source_tokens": att["source_tokens"].numpy().astype(str).tolist(),
    "target_tokens": att["target_tokens"].numpy().astype(str).tolist(),
}))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(3)
    pairs = [(e.source, e.target) for e in default_corpus("train")[:300]]
    translator = kseq2seq.Translator.from_pairs(
        pairs, embedding_dim=16, units=32, attention="bahdanau", max_source_length=40
    )
    kseq2seq.compile_model(translator.model, learning_rate=5e-3)
    translator.fit(pairs, epochs=1, verbose=0)
    directory = tmp_path_factory.mktemp("export") / "saved"
    translator.export(directory, max_length=30)
    translator.export(directory, max_length=30)  # exporting again replaces it
    assert sorted(p.name for p in directory.parent.iterdir()) == ["saved"]
    return translator, directory


def test_separate_process_serves_what_the_translator_gives(exported):
    translator, directory = exported
    result = subprocess.run(
        [sys.executable, "-c", CLIENT, str(directory), json.dumps(SOURCES), json.dumps(TARGETS)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
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


@pytest.mark.xfail(
    strict=True,
    reason="known gap: saved_model_cli run loads the graph TF1-style and does not find the "
    "Keras variables (FailedPrecondition: Could not find variable encoder/...)",
)
def test_saved_model_cli_run(exported):
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
