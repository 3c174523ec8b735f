"""Mixed precision: low-precision layers, float32 softmax, logits and loss."""

import keras
import numpy as np
import pytest
from keras import ops

import kseq2seq
from kseq2seq import Seq2SeqConfig, attention_model, build_model, compile_model, model_config
from kseq2seq.datasets.synthetic import reversal_task
from kseq2seq.layers.precision import recurrent_dtype
from kseq2seq.special_tokens import BOS_ID, EOS_ID
from kseq2seq.training import MaskedSparseCategoricalCrossentropy

SMALL = dict(source_vocab_size=20, target_vocab_size=20, embedding_dim=8, units=16)
LOW = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
# Relative to the largest logit: bfloat16 keeps 8 mantissa bits, float16 11.
TOLERANCE = {"mixed_bfloat16": 0.05, "mixed_float16": 0.01}

CASES = {
    "bf16_luong_bidirectional_feeding_tied": (
        "mixed_bfloat16",
        dict(
            attention="luong_general",
            bidirectional=True,
            input_feeding=True,
            tie_embeddings=True,
            embedding_dim=16,
        ),
    ),
    "f16_bahdanau_deep": (
        "mixed_float16",
        dict(attention="bahdanau", num_layers=2, bridge="dense"),
    ),
}


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    source = rng.integers(4, 20, (3, 7)).astype("int32")
    source[0, 4:] = 0
    target = rng.integers(4, 20, (3, 6)).astype("int32")
    return {"source": source, "target_in": target}


def _pair(policy, options):
    """A mixed model and a float32 model with the same weights."""
    mixed = build_model(**{**SMALL, **options}, mixed_precision=policy)
    reference = build_model(**{**SMALL, **options})
    reference.set_weights(mixed.get_weights())
    return mixed, reference


def _probe(model):
    """The logits, the attention weights and the encoder's memory of `model`,
    in one call (each eager call costs seconds under JAX)."""
    memory = model.get_layer("encoder").output[0]
    outputs = [model.output, attention_model(model).output, memory]
    return keras.Model(model.input, outputs)


def test_config_validates_and_records_the_policy():
    with pytest.raises(ValueError, match="mixed_precision"):
        Seq2SeqConfig(mixed_precision="float16")
    with pytest.raises(ValueError, match="float32_logits"):
        Seq2SeqConfig(float32_logits="no")
    config = Seq2SeqConfig(mixed_precision="mixed_bfloat16", float32_logits=False)
    loaded = Seq2SeqConfig.from_json(config.to_json())
    assert loaded.mixed_precision == "mixed_bfloat16" and loaded.float32_logits is False
    # A config saved before the option existed keeps its float32 projection.
    older = {key: value for key, value in config.to_dict().items() if key != "float32_logits"}
    assert Seq2SeqConfig.from_dict(older).float32_logits is True


@pytest.mark.parametrize("tied", [False, True], ids=["projection", "tied"])
def test_float32_logits_off_projects_in_the_compute_dtype(tied):
    options = dict(
        attention="luong_general", tie_embeddings=tied, embedding_dim=16, target_vocab_size=300
    )
    options = {**SMALL, **options, "mixed_precision": "mixed_bfloat16"}
    low = build_model(**options, float32_logits=False)
    high = build_model(**options)
    high.set_weights(low.get_weights())
    if not tied:
        assert low.get_layer("decoder").output_projection.compute_dtype == "bfloat16"
        assert high.get_layer("decoder").output_projection.compute_dtype == "float32"
    inputs = _batch()
    logits = ops.convert_to_numpy(low(inputs))
    expected = ops.convert_to_numpy(high(inputs))
    assert logits.dtype == np.float32
    # Everything before the projection is the same bfloat16 computation in both models, so
    # the difference is the projection's rounding: there, and within bfloat16's precision.
    error = np.abs(logits - expected).max()
    assert 0 < error <= TOLERANCE["mixed_bfloat16"] * np.abs(expected).max(), error

    # The product's result is bfloat16 (the bias is zero here), the float32 one is not.
    def rounded(x):
        return ops.convert_to_numpy(ops.cast(ops.cast(x, "bfloat16"), "float32"))

    np.testing.assert_array_equal(rounded(logits), logits)
    assert np.any(rounded(expected) != expected)


@pytest.mark.parametrize("case", sorted(CASES))
def test_low_precision_inside_float32_outside_and_close_to_float32(case):
    policy, options = CASES[case]
    mixed, reference = _pair(policy, options)
    decoder = mixed.get_layer("decoder")
    assert decoder.dtype_policy.name == policy
    assert decoder.embedding.compute_dtype == LOW[policy]
    assert decoder.attention.compute_dtype == LOW[policy]
    # float32 only where the fused LSTM needs it (JAX on a GPU).
    rnn_dtype = "float32" if recurrent_dtype(decoder.config) == "float32" else LOW[policy]
    assert decoder.rnn_layers[0].compute_dtype == rnn_dtype
    # Weights stay float32.
    assert {weight.dtype for weight in mixed.weights} == {"float32"}

    inputs = _batch()
    logits, weights, memory = _probe(mixed)(inputs)
    assert ops.convert_to_numpy(memory).dtype.name == LOW[policy]
    assert ops.convert_to_numpy(logits).dtype == np.float32
    assert ops.convert_to_numpy(weights).dtype == np.float32
    logits, weights = ops.convert_to_numpy(logits), ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert np.all(weights[0, :, 4:] == 0.0)

    expected, expected_weights, _ = (ops.convert_to_numpy(x) for x in _probe(reference)(inputs))
    error = np.abs(logits - expected).max()
    assert 0 < error <= TOLERANCE[policy] * np.abs(expected).max(), error
    np.testing.assert_allclose(weights, expected_weights, atol=10 * TOLERANCE[policy])


def test_loss_is_float32_on_low_precision_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 11)).astype("float32")
    labels = rng.integers(0, 11, (2, 5)).astype("int32")
    loss = MaskedSparseCategoricalCrossentropy()
    low = ops.cast(logits, "bfloat16")
    value = loss(labels, low)
    assert ops.convert_to_numpy(value).dtype == np.float32
    rounded = ops.convert_to_numpy(ops.cast(low, "float32"))
    np.testing.assert_allclose(
        ops.convert_to_numpy(value), ops.convert_to_numpy(loss(labels, rounded)), rtol=1e-6
    )


@pytest.mark.parametrize("policy", sorted(LOW))
def test_fit_decreases_the_loss_and_greedy_decoding_runs(policy):
    # Two steps an epoch: the loss must fall within a few steps.
    data = reversal_task(64, num_symbols=8, min_length=3, max_length=6, seed=3)
    model = build_model(
        source_vocab_size=12,
        target_vocab_size=12,
        embedding_dim=8,
        units=16,
        attention="luong_general",
        mixed_precision=policy,
    )
    compile_model(model, learning_rate=1e-2)
    scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")
    history = model.fit(
        {"source": data["source"], "target_in": data["target_in"]},
        data["target_out"],
        batch_size=32,
        epochs=4,
        verbose=0,
    )
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < losses[0] - 0.1, losses
    assert {weight.dtype for weight in model.weights} == {"float32"}
    if policy != "mixed_float16":
        return  # decoding once is enough: float16, whose range is the narrower

    source = data["source"][:3]
    tokens, scores, attention = kseq2seq.greedy_decode(model, source, max_length=8)
    # The decoded scores are the teacher-forced log-probabilities of the tokens.
    target_in = np.concatenate([np.full((3, 1), BOS_ID, "int32"), tokens[:, :-1]], axis=1)
    logits = ops.convert_to_numpy(model({"source": source, "target_in": target_in}))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    chosen = np.take_along_axis(log_probs, tokens[..., None], -1)[..., 0]
    ended = np.cumsum(tokens == EOS_ID, 1) - (tokens == EOS_ID) > 0
    expected = np.where(ended, 0.0, chosen).sum(1)
    np.testing.assert_allclose(scores, expected, atol=0.05)
    assert attention.dtype == np.float32
    padded = data["source"][:3] == 0
    assert np.all(attention.transpose(1, 0, 2)[:, padded] == 0.0)


def test_save_and_load_keep_the_policy(tmp_path):
    model = build_model(**SMALL, attention="luong_general", mixed_precision="mixed_float16")
    inputs = _batch()
    before = ops.convert_to_numpy(model(inputs))
    model.save(tmp_path / "model.keras")
    loaded = kseq2seq.load_model(tmp_path / "model.keras", compile=False)
    assert model_config(loaded).mixed_precision == "mixed_float16"
    decoder = loaded.get_layer("decoder")
    assert decoder.dtype_policy.name == "mixed_float16"
    assert decoder.embedding.compute_dtype == "float16"
    assert decoder.output_projection.compute_dtype == "float32"
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(inputs)), before, atol=1e-6)
    compile_model(loaded)
    assert isinstance(loaded.optimizer, keras.optimizers.LossScaleOptimizer)


def test_the_global_policy_is_followed_and_recorded():
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = build_model(**SMALL)
        explicit = build_model(**SMALL, mixed_precision="float32")
    finally:
        keras.config.set_dtype_policy("float32")
    assert model_config(model).mixed_precision == "mixed_bfloat16"
    assert model.get_layer("encoder").embedding.compute_dtype == "bfloat16"
    assert explicit.get_layer("encoder").embedding.compute_dtype == "float32"


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="SavedModel export runs under TensorFlow"
)
def test_a_bfloat16_translator_decodes_saves_and_exports(tmp_path):
    """What `kseq2seq train` chooses on a CPU with bfloat16 instructions (auto_config) goes
    through the whole package: beam search, save/load, the SavedModel."""
    import tensorflow as tf

    from kseq2seq.datasets import default_corpus

    pairs = [(example.source, example.target) for example in default_corpus("train")[:200]]
    keras.utils.set_random_seed(4)
    translator = kseq2seq.Translator.from_pairs(
        pairs, embedding_dim=16, units=32, bidirectional=True, mixed_precision="mixed_bfloat16"
    )
    compile_model(translator.model, learning_rate=5e-3)
    history = translator.fit(pairs, epochs=2, batch_size=32, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]
    sources = [source for source, _ in pairs[:4]]
    greedy = translator.translate(sources, max_length=20)
    beam = translator.translate(sources, sampler="beam", max_length=20)
    assert len(greedy) == len(beam) == 4 and all(isinstance(text, str) for text in beam)

    translator.save(tmp_path / "saved")
    loaded = kseq2seq.Translator.load(tmp_path / "saved")
    assert loaded.config.mixed_precision == "mixed_bfloat16"
    assert loaded.translate(sources, max_length=20) == greedy
    loaded.export(tmp_path / "exported", max_length=20)
    served = tf.saved_model.load(str(tmp_path / "exported"))
    out = served.signatures["serving_default"](text=tf.constant(sources))
    assert [text.decode() for text in out["translation"].numpy()] == greedy


def test_additive_scores_sum_and_tanh_in_float32_on_a_cpu(monkeypatch):
    """Under a 16-bit policy with no GPU, the additive scores' elementwise work runs in
    float32 from the low-precision projections (faster on a CPU, and more precise)."""
    from kseq2seq.layers import BahdanauAttention, LuongAttention, attention_base
    from kseq2seq.layers.attention_base import additive_dtype

    monkeypatch.setattr(attention_base, "_gpu_in_use", lambda: True)
    assert additive_dtype("bfloat16") == "bfloat16" and additive_dtype("float16") == "float16"
    monkeypatch.setattr(attention_base, "_gpu_in_use", lambda: False)
    assert additive_dtype("float32") == "float32"
    assert additive_dtype("bfloat16") == additive_dtype("float16") == "float32"
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 3, 8)).astype("float32")
    memory = rng.normal(size=(2, 5, 8)).astype("float32")
    layers = {
        "bahdanau": lambda dtype: BahdanauAttention(units=6, dtype=dtype),
        "concat": lambda dtype: LuongAttention(score="concat", units=6, dtype=dtype),
        "general": lambda dtype: LuongAttention(score="general", dtype=dtype),
    }
    for name, make in layers.items():
        low, high = make("mixed_bfloat16"), make("float32")
        low([query, memory]), high([query, memory])
        high.set_weights(low.get_weights())
        keys = _KeysInCall(low)(memory)  # the weights autocast, as inside the decoder
        # The keys' dtype is the score's: float32 for the additive scores only.
        expected = "bfloat16" if name == "general" else "float32"
        assert ops.convert_to_numpy(keys).dtype.name == expected, name
        _, weights = low([query, memory], return_attention_scores=True)
        _, reference = high([query, memory], return_attention_scores=True)
        np.testing.assert_allclose(
            ops.convert_to_numpy(weights), ops.convert_to_numpy(reference), atol=0.05
        )


class _KeysInCall(keras.layers.Layer):
    """Calls `attention.project_keys` inside a mixed bfloat16 layer's call."""

    def __init__(self, attention):
        super().__init__(dtype="mixed_bfloat16")
        self.attention = attention

    def call(self, memory):
        return self.attention.project_keys(memory)


@pytest.mark.parametrize("attention", ["bahdanau", "normed_bahdanau", "luong_concat"])
def test_step_weights_are_read_once_in_the_compute_dtype(monkeypatch, attention):
    """The scanned decoders' loop-invariant weights (attention's query side, W_c) come cast
    from `step_weights`, outside any layer call: the RNN and attention kernels in bfloat16,
    the additive score vector in its score's dtype (float32 on a CPU)."""
    from kseq2seq.layers import attention_base

    monkeypatch.setattr(attention_base, "_gpu_in_use", lambda: False)
    options = dict(
        attention=attention, input_feeding=attention == "luong_concat", scale_attention=True
    )
    model = build_model(**SMALL, **options, mixed_precision="mixed_bfloat16")
    decoder = model.get_layer("decoder")
    weights = decoder.step_weights()

    def dtype(tensor):
        return keras.backend.standardize_dtype(tensor.dtype)

    assert dtype(weights["attentional"]) == "bfloat16"
    assert tuple(weights["attentional"].shape) == (2 * SMALL["units"], SMALL["units"])
    query_kernel, score_vector = weights["attention"][:2]
    assert dtype(query_kernel) == "bfloat16" and dtype(score_vector) == "float32"
    assert all(dtype(kernel) == "bfloat16" for kernel, _, _ in weights["layers"])
    if attention == "luong_concat":
        assert dtype(weights["attention"][-1]) == "bfloat16"  # the learned scale
    # The normalised score vector g v / ||v|| is computed from the float32 weights.
    if attention == "normed_bahdanau":
        layer = decoder.attention
        v = ops.convert_to_numpy(layer.score_vector)
        expected = ops.convert_to_numpy(layer.score_scale) * v / np.linalg.norm(v)
        np.testing.assert_allclose(ops.convert_to_numpy(score_vector), expected, rtol=1e-6)


def _bfloat16_values(rng, shape, scale=1.0):
    """Random float32 values that bfloat16 holds exactly."""
    values = (rng.normal(size=shape) * scale).astype("float32")
    return ops.convert_to_numpy(ops.cast(ops.cast(values, "bfloat16"), "float32"))


def _product_and_gradients(inputs, kernel, upstream):
    """`float32_product(inputs, kernel)` (bfloat16 arguments) and the gradients of
    `sum(product * upstream)` with respect to its two arguments, as NumPy float32."""
    from kseq2seq.layers.precision import float32_product

    inputs, kernel = (ops.cast(value, "bfloat16") for value in (inputs, kernel))
    if keras.backend.backend() == "jax":
        import jax

        def loss(inputs, kernel):
            product = float32_product(inputs, kernel)
            return (product * upstream).sum(), product

        (d_inputs, d_kernel), product = jax.grad(loss, argnums=(0, 1), has_aux=True)(inputs, kernel)
    else:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch([inputs, kernel])
            product = float32_product(inputs, kernel)
            total = tf.reduce_sum(product * upstream)
        d_inputs, d_kernel = tape.gradient(total, [inputs, kernel])
    return [
        np.asarray(ops.convert_to_numpy(ops.cast(x, "float32")))
        for x in (product, d_inputs, d_kernel)
    ]


@pytest.mark.skipif(
    keras.backend.backend() not in ("tensorflow", "jax"), reason="TensorFlow's and JAX's products"
)
def test_float32_product_accumulates_16_bit_inputs_in_float32():
    """The vocabulary projection's native 16-bit product: the exact products of the bfloat16
    inputs summed in float32 (NumPy float64 as the reference), not rounded to bfloat16; its
    gradients are the products with the upstream gradient rounded to bfloat16."""
    rng = np.random.default_rng(0)
    inputs = _bfloat16_values(rng, (3, 5, 64))
    kernel = _bfloat16_values(rng, (64, 300), scale=0.2)
    upstream = rng.normal(size=(3, 5, 300)).astype("float32")
    product, d_inputs, d_kernel = _product_and_gradients(inputs, kernel, upstream)

    expected = inputs.astype("float64") @ kernel.astype("float64")
    assert product.dtype == np.float32 and product.shape == (3, 5, 300)
    np.testing.assert_allclose(product, expected, rtol=1e-5, atol=1e-5)
    rounded = ops.convert_to_numpy(ops.cast(ops.cast(product, "bfloat16"), "float32"))
    assert np.mean(rounded != product) > 0.9  # a bfloat16 result would equal its rounding
    g = ops.convert_to_numpy(ops.cast(ops.cast(upstream, "bfloat16"), "float32"))
    expected_inputs = g.astype("float64") @ kernel.T.astype("float64")
    expected_kernel = inputs.reshape(-1, 64).T.astype("float64") @ g.reshape(-1, 300)
    # The gradients' own results are bfloat16 (8 bits): relative to their largest value.
    for value, target in ((d_inputs, expected_inputs), (d_kernel, expected_kernel)):
        assert value.shape == target.shape
        assert np.abs(value - target).max() <= 2**-7 * np.abs(target).max()


@pytest.mark.parametrize("tied", [False, True], ids=["projection", "tied"])
def test_native_16_bit_products_give_float32_logits_and_train(monkeypatch, tied):
    """Where `native_products` holds (a GPU, a CPU with AMX) the float32 logits of a mixed
    model's training step come from the 16-bit product with float32 accumulation: the same
    logits as the float32 product up to the kernel's bfloat16 rounding, still not bfloat16
    values, and the model trains. Inference (decoding) keeps the float32 product."""
    from kseq2seq.layers import precision

    options = dict(
        attention="luong_general",
        tie_embeddings=tied,
        embedding_dim=16,
        target_vocab_size=300,
        dropout=0.0,
    )
    options = {**SMALL, **options, "mixed_precision": "mixed_bfloat16"}
    monkeypatch.setattr(precision, "native_products", lambda dtype: False)
    reference = build_model(**options)
    inputs = _batch()
    expected = ops.convert_to_numpy(reference(inputs))
    monkeypatch.setattr(precision, "native_products", lambda dtype: dtype == "bfloat16")
    model = build_model(**options)
    model.set_weights(reference.get_weights())
    if not tied:
        assert model.get_layer("decoder").output_projection.compute_dtype == "float32"
    np.testing.assert_array_equal(ops.convert_to_numpy(model(inputs)), expected)
    logits = ops.convert_to_numpy(model(inputs, training=True))
    assert logits.dtype == np.float32
    error = np.abs(logits - expected).max()
    assert error <= TOLERANCE["mixed_bfloat16"] * np.abs(expected).max(), error
    if tied:  # the shared matrix is bfloat16 on both paths: only the summation order differs
        np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-6)
    else:
        assert error > 0  # the kernel rounded to bfloat16
    rounded = ops.convert_to_numpy(ops.cast(ops.cast(logits, "bfloat16"), "float32"))
    assert np.any(rounded != logits)

    compile_model(model, learning_rate=1e-2)
    targets = np.roll(inputs["target_in"], -1, axis=1)
    history = model.fit(inputs, targets, epochs=5, batch_size=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_native_products_only_where_16_bit_products_are_native(monkeypatch):
    from kseq2seq.layers import fused_lstm, precision

    monkeypatch.setattr(fused_lstm, "jax_on_gpu", lambda: False)
    monkeypatch.setattr(fused_lstm, "tensorflow_on_gpu", lambda: False)
    assert not precision.native_products("float32")
    for amx in (False, True):
        monkeypatch.setattr(precision, "_cpu_has_amx", lambda amx=amx: amx)
        assert not precision.native_products("float16")  # no CPU multiplies float16 natively
        expected = amx and keras.backend.backend() in ("tensorflow", "jax")
        assert precision.native_products("bfloat16") == expected
    gpu = "jax_on_gpu" if keras.backend.backend() == "jax" else "tensorflow_on_gpu"
    monkeypatch.setattr(fused_lstm, gpu, lambda: True)
    assert precision.native_products("float16") == (
        keras.backend.backend() in ("jax", "tensorflow")
    )
    assert not precision.native_products("float32")
