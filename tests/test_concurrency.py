"""A loaded Translator and a loaded SavedModel serve many threads at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import keras
import pytest

from kseq2seq.datasets.default_corpus import default_corpus
from kseq2seq.translator import Translator

THREADS = 8


def _sources(count=12):
    return [e.source for e in default_corpus("test")[:count]]


def _requests():
    """Mixed batches: sizes 2 and 3, greedy and beam search, a blank line among them."""
    sources = _sources()
    requests = []
    for index in range(2 * THREADS):
        size = 2 + index % 2
        batch = [sources[(index + k) % len(sources)] for k in range(size)]
        if index % 5 == 0:
            batch[-1] = "   "
        requests.append((batch, 1 if index % 3 else 2))
    return requests


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    keras.utils.set_random_seed(11)
    pairs = [(e.source, e.target) for e in default_corpus("train")[:64]]
    translator = Translator.from_pairs(pairs, embedding_dim=16, units=16, attention="bahdanau")
    translator.fit(
        pairs, epochs=1, batch_size=32, verbose=0, pad_to_multiple=32, bucket_boundaries=[32]
    )
    directory = tmp_path_factory.mktemp("concurrency") / "model"
    translator.save(directory)
    return directory


def test_a_loaded_translator_serves_threads_as_it_serves_one(saved):
    requests = _requests()
    # Threads first, on a fresh load: nothing is compiled or cached yet.
    concurrent = Translator.load(saved, compile=False)
    with ThreadPoolExecutor(THREADS) as pool:
        served = list(
            pool.map(
                lambda request: concurrent.translate(
                    request[0], beam_width=request[1], max_length=12
                ),
                requests,
            )
        )
    expected = [  # then one by one, with the same translator
        concurrent.translate(batch, beam_width=beam_width, max_length=12)
        for batch, beam_width in requests
    ]
    assert served == expected
    assert any(text for batch in served for text in batch)  # not all blank


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the SavedModel export needs TensorFlow"
)
def test_a_loaded_saved_model_serves_threads_as_it_serves_one(saved, tmp_path):
    import tensorflow as tf

    Translator.load(saved, compile=False).export(tmp_path / "export", max_length=12)
    loaded = tf.saved_model.load(str(tmp_path / "export"))
    serve = loaded.signatures["serving_default"]
    batches = [batch for batch, _ in _requests()]

    def translate(batch):
        outputs = serve(text=tf.constant(batch))
        return [text.decode("utf-8") for text in outputs["translation"].numpy()]

    with ThreadPoolExecutor(THREADS) as pool:
        served = list(pool.map(translate, batches))
    assert served == [translate(batch) for batch in batches]
    reference = Translator.load(saved, compile=False)
    assert served[1] == reference.translate(batches[1], max_length=12)
