import gc
import os
import shutil
import tempfile

# Under JAX, XLA's compiled programs go to a persistent cache shared by the
# test processes (pytest-xdist workers and the subprocesses tests start, which
# inherit the variable): many tests build models of the same shapes, whose
# programs compile once. The cache is new for each run of the suite and
# removed after it, so that no run reads what an earlier (or killed) one left.
_OWN_CACHE = None
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _OWN_CACHE = tempfile.mkdtemp(prefix="kseq2seq-tests-xla-cache-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _OWN_CACHE
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
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


def pytest_unconfigure(config):
    if _OWN_CACHE is not None and not hasattr(config, "workerinput"):  # the run's first process
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)


def _memory_maps():
    try:
        with open("/proc/self/maps", "rb") as maps:
            return sum(1 for _ in maps)
    except OSError:  # not Linux
        return 0


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
    # Under JAX each compiled program holds memory mappings (about 400 for a small model's
    # `fit`), and Linux allows a process 65,530 (vm.max_map_count), past which XLA cannot map
    # memory: a worker died in XLA's compiler (abort) and in its serialiser (segmentation
    # fault), late in the run. Dead models, in reference cycles, wait for Python's cyclic
    # collector, which in a long process runs seldom; collect once the count is high.
    # (The count had reached 61,000 because the decoding cache kept every decoded model alive;
    # tests/test_sampling.py checks that it no longer does.)
    if _memory_maps() > 16384:
        gc.collect()


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
