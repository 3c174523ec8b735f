import os

# No persistent XLA compilation cache for the suite: writing an entry serialises the compiled
# program, and XLA's CPU serialiser crashed a pytest-xdist worker with a segmentation fault
# (`executable.serialize()` in `jax._src.compilation_cache.put_executable_and_time`, during a
# README example's `fit`, 2026-12-03); the worker's death then hung xdist's `--dist loadfile`
# scheduling. Each process compiles for itself, as a user's program does by default.
os.environ.pop("JAX_COMPILATION_CACHE_DIR", None)
# The tests' models are tiny and compiled once per batch shape: under JAX most of their time
# is XLA compiling, which LLVM's cheapest optimisation level halves (the results agree to
# float rounding; every comparison of the suite runs under the same flags).
if os.environ.get("KERAS_BACKEND") == "jax":
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
    )

# As a user's program: kseq2seq first, which sets TensorFlow's defaults before it loads.
import kseq2seq  # noqa: E402, I001
import keras  # noqa: E402
import pytest  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield


# Shared by several test files (`from conftest import SMALL, corpus_pairs`).
# The smallest model of the model, sampler and beam-search tests.
SMALL = dict(source_vocab_size=30, target_vocab_size=40, embedding_dim=8, units=16)


def corpus_pairs(split: str = "train", count: int | None = None) -> list[tuple[str, str]]:
    """The first `count` `(source, target)` pairs of the embedded corpus's `split`."""
    from kseq2seq.datasets.default_corpus import default_corpus

    return [(example.source, example.target) for example in default_corpus(split)[:count]]


@pytest.fixture(scope="session")
def small_translator():
    """A small translator (Bahdanau attention) trained one epoch on 300 corpus pairs, shared
    by the tests that need a trained model but not a good one (export, visualisation).
    Do not train it further: copy it (`save` and `Translator.load`) first."""
    keras.utils.set_random_seed(3)
    pairs = corpus_pairs("train", 300)
    translator = kseq2seq.Translator.from_pairs(
        pairs, embedding_dim=16, units=32, attention="bahdanau", max_source_length=40
    )
    kseq2seq.compile_model(translator.model, learning_rate=5e-3)
    translator.fit(pairs, epochs=1, verbose=0)
    return translator
