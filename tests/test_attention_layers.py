"""BahdanauAttention and LuongAttention against NumPy references written from the papers.

The references below are written from the equations, not from the layers:
- Bahdanau, Cho and Bengio (2014), arXiv:1409.0473, Eq. 6 and A.1.2:
  e_j = v . tanh(W1 q + W2 k_j);
- tensorflow/nmt's normed_bahdanau: e_j = g * v / ||v|| . tanh(W1 q + W2 k_j + b);
- Luong, Pham and Manning (2015), arXiv:1508.04025, Eq. 8: dot q . k_j,
  general q . (W_a k_j), concat v . tanh(W_q q + W_k k_j); times g when scaled;
then a_j = softmax_j(e_j) over the unpadded source positions and c = sum_j a_j h_j.
"""

import json

import keras
import numpy as np
import pytest

from kseq2seq.layers import BahdanauAttention, LuongAttention

BATCH, TQ, S, DQ = 4, 3, 5, 4
UNITS = 5

VARIANTS = {
    "bahdanau": (BahdanauAttention, dict(units=UNITS)),
    "normed_bahdanau": (BahdanauAttention, dict(units=UNITS, normalize=True)),
    "luong_dot": (LuongAttention, dict(score="dot")),
    "luong_dot_scaled": (LuongAttention, dict(score="dot", scale=True)),
    "luong_general": (LuongAttention, dict(score="general")),
    "luong_general_scaled": (LuongAttention, dict(score="general", scale=True)),
    "luong_concat": (LuongAttention, dict(score="concat")),
    "luong_concat_scaled": (LuongAttention, dict(score="concat", scale=True)),
    "luong_concat_units_scaled": (LuongAttention, dict(score="concat", units=7, scale=True)),
}
NAMES = sorted(VARIANTS)

# Source padding: full row, trailing padding, holes, and a fully padded row.
VALUE_MASK = np.array(
    [
        [True, True, True, True, True],
        [True, True, True, False, False],
        [False, True, False, True, True],
        [False, False, False, False, False],
    ]
)
QUERY_MASK = np.array(
    [
        [True, True, True],
        [True, False, True],
        [False, False, False],
        [True, True, False],
    ]
)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _is_dot(name):
    return VARIANTS[name][1].get("score") == "dot"


# How the key is given: its own size, the value's size, or not at all (key = value).
KEY_MODES = ["key", "same_size_key", "key_is_value"]


def _dims(name, key_mode="key"):
    """(Dk, Dv): dot needs Dk == Dq; otherwise Dq, Dk and Dv differ where they can."""
    if key_mode == "key":
        return (DQ if _is_dot(name) else 3), 6
    dv = DQ if _is_dot(name) else 6
    return dv, dv


def _inputs(name, seed, key_mode="key", step=False):
    """Returns [query, value(, key)] as float32 NumPy arrays."""
    rng = np.random.default_rng(seed)
    dk, dv = _dims(name, key_mode)
    query_shape = (BATCH, DQ) if step else (BATCH, TQ, DQ)
    query = rng.normal(size=query_shape).astype("float32")
    value = rng.normal(size=(BATCH, S, dv)).astype("float32")
    if key_mode == "key_is_value":
        return [query, value]
    key = rng.normal(size=(BATCH, S, dk)).astype("float32")
    return [query, value, key]


def _expected_weight_shapes(name, dk):
    cls, kwargs = VARIANTS[name]
    if cls is BahdanauAttention:
        units = kwargs["units"]
        shapes = {
            "query_kernel": (DQ, units),
            "key_kernel": (dk, units),
            "score_vector": (units,),
        }
        if kwargs.get("normalize"):
            shapes.update(score_scale=(), score_bias=(units,))
        return shapes
    score = kwargs["score"]
    shapes = {}
    if score == "general":
        shapes["key_kernel"] = (dk, DQ)
    elif score == "concat":
        units = kwargs.get("units") or dk
        shapes.update(query_kernel=(DQ, units), key_kernel=(dk, units), score_vector=(units,))
    if kwargs.get("scale"):
        shapes["score_scale"] = ()
    return shapes


def _make_layer(name, inputs, seed=0):
    """Builds the layer on `inputs` and gives it random weights; returns (layer, params)."""
    cls, kwargs = VARIANTS[name]
    layer = cls(**kwargs)
    layer(inputs)
    dk = inputs[-1].shape[-1]
    shapes = {w.name: tuple(w.shape) for w in layer.weights}
    assert shapes == _expected_weight_shapes(name, dk)
    assert len(layer.trainable_weights) == len(layer.weights)  # g, b, v, W: all learned
    rng = np.random.default_rng(1000 + seed)
    params = {}
    for weight in layer.weights:
        if weight.name == "score_scale":
            value = np.asarray(rng.uniform(0.5, 2.0), dtype="float32")
        else:
            value = (0.7 * rng.normal(size=tuple(weight.shape))).astype("float32")
        weight.assign(value)
        params[weight.name] = value
    return layer, params


# NumPy reference ------------------------------------------------------------
def _ref_score(name, params, q, k):
    """One score e(q, k) for a query vector q and a key vector k, in float64."""
    cls, kwargs = VARIANTS[name]
    p = {key: np.asarray(value, dtype="float64") for key, value in params.items()}
    q = np.asarray(q, dtype="float64")
    k = np.asarray(k, dtype="float64")
    if cls is BahdanauAttention:
        hidden = p["query_kernel"].T @ q + p["key_kernel"].T @ k
        v = p["score_vector"]
        if kwargs.get("normalize"):
            hidden = hidden + p["score_bias"]
            v = p["score_scale"] * v / np.sqrt(np.sum(v * v))
        return float(v @ np.tanh(hidden))
    score = kwargs["score"]
    if score == "dot":
        e = float(q @ k)
    elif score == "general":
        w_a = p["key_kernel"].T  # (Dq, Dk)
        e = float(q @ (w_a @ k))
    else:
        e = float(p["score_vector"] @ np.tanh(p["query_kernel"].T @ q + p["key_kernel"].T @ k))
    if kwargs.get("scale"):
        e = e * float(p["score_scale"])
    return e


def _ref_attention(name, params, inputs, query_mask=None, value_mask=None):
    """Loop-based reference: returns (context, weights) in float64."""
    query, value = inputs[0], inputs[1]
    key = inputs[2] if len(inputs) == 3 else value
    step = query.ndim == 2
    if step:
        query = query[:, None]
        if query_mask is not None:
            query_mask = query_mask[:, None]
    batch, tq = query.shape[:2]
    s = value.shape[1]
    weights = np.zeros((batch, tq, s))
    context = np.zeros((batch, tq, value.shape[-1]))
    for b in range(batch):
        kept = [j for j in range(s) if value_mask is None or value_mask[b, j]]
        for t in range(tq):
            if kept:
                scores = np.array([_ref_score(name, params, query[b, t], key[b, j]) for j in kept])
                exp = np.exp(scores - scores.max())
                for j, a in zip(kept, exp / exp.sum()):
                    weights[b, t, j] = a
            if query_mask is None or query_mask[b, t]:
                context[b, t] = sum(
                    weights[b, t, j] * value[b, j].astype("float64") for j in range(s)
                )
    if step:
        return context[:, 0], weights[:, 0]
    return context, weights


# 1. Against the paper equations ---------------------------------------------------
@pytest.mark.parametrize("key_mode", KEY_MODES)
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "masked"])
@pytest.mark.parametrize("step", [False, True], ids=["sequence", "step"])
@pytest.mark.parametrize("name", NAMES)
def test_matches_numpy_reference(name, step, masked, key_mode):
    inputs = _inputs(name, seed=1, key_mode=key_mode, step=step)
    layer, params = _make_layer(name, inputs)
    query_mask = value_mask = None
    mask = None
    if masked:
        query_mask = QUERY_MASK[:, 0] if step else QUERY_MASK
        value_mask = VALUE_MASK
        mask = [query_mask, value_mask]
    if key_mode == "same_size_key":  # The key, not the value, must give the scores.
        assert not np.allclose(
            _np(layer(inputs[:2], mask=mask)), _np(layer(inputs, mask=mask)), atol=1e-3
        )

    context, weights = layer(inputs, mask=mask, return_attention_scores=True)
    context, weights = _np(context), _np(weights)
    expected_context, expected_weights = _ref_attention(
        name, params, inputs, query_mask, value_mask
    )

    batch_shape = (BATCH,) if step else (BATCH, TQ)
    assert context.shape == batch_shape + (inputs[1].shape[-1],)
    assert weights.shape == batch_shape + (S,)
    assert context.dtype == np.float32 and weights.dtype == np.float32
    np.testing.assert_allclose(context, expected_context, rtol=1e-5, atol=1e-5)
    # Weights of query-masked rows are not part of the contract: compare the others.
    rows = np.ones(batch_shape, bool) if query_mask is None else query_mask
    np.testing.assert_allclose(weights[rows], expected_weights[rows], rtol=1e-5, atol=1e-5)


# 2. LuongAttention(dot) against keras.layers.Attention --------------------------
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "masked"])
@pytest.mark.parametrize("key_mode", KEY_MODES)
@pytest.mark.parametrize("scale", [False, True], ids=["unscaled", "scaled"])
def test_luong_dot_matches_keras_attention(scale, key_mode, masked):
    inputs = _inputs("luong_dot", seed=3, key_mode=key_mode)
    mask = None
    if masked:
        # keras.layers.Attention requires at least one unpadded position per row.
        value_mask = VALUE_MASK.copy()
        value_mask[3, 2] = True
        mask = [QUERY_MASK, value_mask]
    ours = LuongAttention(score="dot", scale=scale)
    theirs = keras.layers.Attention(use_scale=scale, score_mode="dot")
    ours(inputs)
    theirs(inputs)
    if scale:
        ours.score_scale.assign(np.float32(1.7))
        theirs.scale.assign(np.float32(1.7))
    context, weights = ours(inputs, mask=mask, return_attention_scores=True)
    keras_context, keras_weights = theirs(inputs, mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(_np(context), _np(keras_context), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(weights), _np(keras_weights), rtol=1e-5, atol=1e-5)
    # The scale must matter (else this test could not tell the two variants apart).
    if scale:
        plain = keras.layers.Attention(score_mode="dot")(inputs, mask=mask)
        assert not np.allclose(_np(plain), _np(context), atol=1e-3)


# 3. Masking ---------------------------------------------------------------------------
@pytest.mark.parametrize("step", [False, True], ids=["sequence", "step"])
@pytest.mark.parametrize("name", NAMES)
def test_masking_properties(name, step):
    inputs = _inputs(name, seed=4, step=step)
    # Large queries give large scores: padding must still get exactly zero weight.
    inputs[0] = inputs[0] * 30.0
    layer, _ = _make_layer(name, inputs)
    query_mask = QUERY_MASK[:, 0] if step else QUERY_MASK
    context, weights = layer(inputs, mask=[query_mask, VALUE_MASK], return_attention_scores=True)
    context, weights = _np(context), _np(weights)
    padded = ~VALUE_MASK if step else np.broadcast_to(~VALUE_MASK[:, None], weights.shape)
    assert np.all(weights[padded] == 0.0)
    assert np.all(weights >= 0.0)
    sums = weights.sum(-1)
    np.testing.assert_allclose(sums[:3], 1.0, atol=1e-6)  # rows with unpadded positions
    # The fully padded sentence: all-zero weights and a zero context.
    assert np.all(weights[3] == 0.0)
    assert np.all(context[3] == 0.0)
    assert np.all(np.isfinite(context)) and np.all(np.isfinite(weights))
    # Query-masked rows have a zero context.
    assert np.all(context[~query_mask] == 0.0)
    assert np.any(context[query_mask] != 0.0)

    # Whatever sits at padded positions does not change the result.
    garbage = [x.copy() for x in inputs]
    rng = np.random.default_rng(5)
    for x in garbage[1:]:
        x[~VALUE_MASK] = rng.normal(scale=100.0, size=x[~VALUE_MASK].shape)
    context2, weights2 = layer(garbage, mask=[query_mask, VALUE_MASK], return_attention_scores=True)
    np.testing.assert_allclose(_np(context2), context, rtol=0, atol=1e-6)
    np.testing.assert_allclose(_np(weights2), weights, rtol=0, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_no_mask_equals_all_true_mask(name):
    inputs = _inputs(name, seed=6)
    layer, _ = _make_layer(name, inputs)
    plain_context, plain_weights = layer(inputs, return_attention_scores=True)
    all_true = [np.ones((BATCH, TQ), bool), np.ones((BATCH, S), bool)]
    context, weights = layer(inputs, mask=all_true, return_attention_scores=True)
    np.testing.assert_allclose(_np(context), _np(plain_context), atol=1e-6)
    np.testing.assert_allclose(_np(weights), _np(plain_weights), atol=1e-6)


@pytest.mark.parametrize("scale", [False, True], ids=["unscaled", "scaled"])
def test_masking_with_extreme_scores(scale):
    """Padding must win over any realistic score, however negative the unpadded ones."""
    rng = np.random.default_rng(15)
    key = rng.normal(size=(BATCH, S, DQ)).astype("float32")
    key[VALUE_MASK] = 1.0  # unpadded keys: all ones
    query = np.full((BATCH, TQ, DQ), -100.0, dtype="float32")  # scores of -400 there
    value = rng.normal(size=(BATCH, S, 6)).astype("float32")
    layer = LuongAttention(score="dot", scale=scale)
    layer([query, value, key])
    if scale:
        layer.score_scale.assign(np.float32(50.0))
    weights = _np(
        layer([query, value, key], mask=[None, VALUE_MASK], return_attention_scores=True)[1]
    )
    np.testing.assert_allclose(weights.sum(-1)[:3], 1.0, atol=1e-6)
    assert np.all(weights[np.broadcast_to(~VALUE_MASK[:, None], weights.shape)] == 0.0)
    # Equal scores at the unpadded positions: uniform weights over them.
    expected = VALUE_MASK[:3, None] / VALUE_MASK[:3].sum(-1)[:, None, None]
    np.testing.assert_allclose(weights[:3], np.broadcast_to(expected, weights[:3].shape), atol=1e-6)


# 4. Precomputed keys and single steps -------------------------------------------------
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "masked"])
@pytest.mark.parametrize("name", NAMES)
def test_project_keys_and_steps_equal_call(name, masked):
    query, value, key = _inputs(name, seed=7)
    layer, _ = _make_layer(name, [query, value, key])
    value_mask = VALUE_MASK if masked else None
    mask = [None, value_mask] if masked else None
    context, weights = layer([query, value, key], mask=mask, return_attention_scores=True)
    context, weights = _np(context), _np(weights)

    projected = layer.project_keys(key)
    attended_context, attended_weights = layer.attend(query, value, projected, value_mask)
    np.testing.assert_allclose(_np(attended_context), context, atol=1e-6)
    np.testing.assert_allclose(_np(attended_weights), weights, atol=1e-6)

    for t in range(TQ):
        step_context, step_weights = layer(
            [query[:, t], value, key], mask=mask, return_attention_scores=True
        )
        assert tuple(step_context.shape) == (BATCH, value.shape[-1])
        assert tuple(step_weights.shape) == (BATCH, S)
        np.testing.assert_allclose(_np(step_context), context[:, t], atol=1e-6)
        np.testing.assert_allclose(_np(step_weights), weights[:, t], atol=1e-6)
        # Decoding-time use: the keys projected once, reused at each step.
        reused_context, reused_weights = layer.attend(query[:, t], value, projected, value_mask)
        np.testing.assert_allclose(_np(reused_context), context[:, t], atol=1e-6)
        np.testing.assert_allclose(_np(reused_weights), weights[:, t], atol=1e-6)


@pytest.mark.parametrize("step", [False, True], ids=["sequence", "step"])
@pytest.mark.parametrize("name", ["bahdanau", "luong_general_scaled", "luong_concat"])
def test_symbolic_shapes(name, step):
    dk, dv = _dims(name)
    query = keras.Input((DQ,) if step else (None, DQ))
    value = keras.Input((None, dv))
    key = keras.Input((None, dk))
    cls, kwargs = VARIANTS[name]
    context, weights = cls(**kwargs)([query, value, key], return_attention_scores=True)
    batch = (None,) if step else (None, None)
    assert tuple(context.shape) == batch + (dv,)
    assert tuple(weights.shape) == batch + (None,)


# 5. Serialisation ---------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    cls, kwargs = VARIANTS[name]
    inputs = _inputs(name, seed=8)
    layer, _ = _make_layer(name, inputs)
    config = layer.get_config()
    for key, value in kwargs.items():
        assert config[key] == value
    rebuilt = cls.from_config(config)
    assert type(rebuilt) is cls
    assert rebuilt.get_config() == config
    rebuilt(inputs)
    rebuilt.set_weights(layer.get_weights())
    mask = [QUERY_MASK, VALUE_MASK]
    expected = layer(inputs, mask=mask, return_attention_scores=True)
    got = rebuilt(inputs, mask=mask, return_attention_scores=True)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-7)

    assert keras.saving.get_registered_name(cls) == f"kseq2seq>{cls.__name__}"
    assert keras.saving.get_registered_object(f"kseq2seq>{cls.__name__}") is cls
    serialized = json.loads(json.dumps(keras.layers.serialize(layer)))
    assert serialized["registered_name"] == f"kseq2seq>{cls.__name__}"
    restored = keras.layers.deserialize(serialized)
    assert type(restored) is cls
    assert restored.get_config() == config


@pytest.mark.parametrize("name", NAMES)
def test_saved_model_file_round_trip(name, tmp_path):
    dk, dv = _dims(name)
    query_in = keras.Input((None, DQ))
    value_in = keras.Input((None, dv))
    key_in = keras.Input((None, dk))
    cls, kwargs = VARIANTS[name]
    layer = cls(**kwargs, name="attention")
    model = keras.Model([query_in, value_in, key_in], layer([query_in, value_in, key_in]))
    inputs = _inputs(name, seed=9)
    for i, weight in enumerate(layer.weights):  # non-default weights, so loading matters
        weight.assign(np.random.default_rng(i).normal(size=tuple(weight.shape)).astype("float32"))
    expected = _np(model(inputs))
    path = tmp_path / "attention.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.get_layer("attention")) is cls
    np.testing.assert_allclose(_np(loaded(inputs)), expected, atol=1e-6)


# 6. Invalid arguments -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "kwargs", "argument"),
    [
        (LuongAttention, dict(score="bogus"), "score"),
        (LuongAttention, dict(score="Dot"), "score"),
        (LuongAttention, dict(score=None), "score"),
        (LuongAttention, dict(score="concat", units=0), "units"),
        (LuongAttention, dict(score="concat", units=-3), "units"),
        (LuongAttention, dict(score="concat", units=2.5), "units"),
        (BahdanauAttention, dict(units=0), "units"),
        (BahdanauAttention, dict(units=-1), "units"),
        (BahdanauAttention, dict(units=2.5), "units"),
        (BahdanauAttention, dict(units="8"), "units"),
        (BahdanauAttention, dict(units=True), "units"),
        (LuongAttention, dict(score="concat", units=True), "units"),
    ],
)
def test_invalid_constructor_arguments(cls, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        cls(**kwargs)


@pytest.mark.parametrize("separate_key", [True, False], ids=["key", "key_is_value"])
def test_dot_score_rejects_mismatching_sizes(separate_key):
    rng = np.random.default_rng(10)
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    value = rng.normal(size=(2, 5, 4 if separate_key else 6)).astype("float32")
    inputs = [query, value]
    if separate_key:
        inputs.append(rng.normal(size=(2, 5, 3)).astype("float32"))
    with pytest.raises(ValueError, match="dot"):
        LuongAttention(score="dot")(inputs)
    # The other scores accept different sizes.
    for score in ("general", "concat"):
        assert _np(LuongAttention(score=score)(inputs)).shape == (2, 3, value.shape[-1])


def _bad_calls():
    rng = np.random.default_rng(11)
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    value = rng.normal(size=(2, 5, 4)).astype("float32")
    return {
        "four_inputs": ((lambda layer: layer([query, value, value, value])), "inputs"),
        "mask_not_list": (
            (lambda layer: layer([query, value], mask=np.ones((2, 5), bool))),
            "mask",
        ),
        "query_rank_4": ((lambda layer: layer([query[None], value])), "query"),
        "value_rank_2": ((lambda layer: layer([query, value[:, 0]])), "value"),
        "single_tensor": ((lambda layer: layer(query)), "inputs"),
        "one_input": ((lambda layer: layer([query])), "inputs"),
    }


@pytest.mark.parametrize("built", [True, False], ids=["built", "unbuilt"])
@pytest.mark.parametrize("case", sorted(_bad_calls()))
@pytest.mark.parametrize("name", ["bahdanau", "luong_general"])
def test_invalid_call_arguments(name, case, built):
    cls, kwargs = VARIANTS[name]
    layer = cls(**kwargs)
    if built:
        rng = np.random.default_rng(12)
        layer(
            [
                rng.normal(size=(2, 3, 4)).astype("float32"),
                rng.normal(size=(2, 5, 4)).astype("float32"),
            ]
        )
    call, argument = _bad_calls()[case]
    with pytest.raises(ValueError, match=argument):
        call(layer)


# 7. Gradients -------------------------------------------------------------------------
def _layer_gradients(layer, inputs, mask, cotangent):
    """d sum(context * cotangent) / d (trainable weights..., value, key)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.constant(x) for x in inputs]
        with tf.GradientTape() as tape:
            tape.watch(tensors)
            loss = tf.reduce_sum(layer(tensors, mask=mask) * cotangent)
        grads = tape.gradient(loss, list(layer.trainable_variables) + tensors[1:])
    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        def loss_fn(variables, value, key):
            context, _ = layer.stateless_call(variables, fixed, [inputs[0], value, key], mask=mask)
            return jnp.sum(context * cotangent)

        variables = [v.value for v in layer.trainable_variables]
        fixed = [v.value for v in layer.non_trainable_variables]
        dw, dv, dk = jax.jit(jax.grad(loss_fn, argnums=(0, 1, 2)))(variables, inputs[1], inputs[2])
        grads = list(dw) + [dv, dk]
    else:
        pytest.skip(f"no gradient helper for the {backend} backend")
    return [_np(g) for g in grads]


def _numerical_gradient(fn, array, eps=1e-6):
    grad = np.zeros(array.shape)
    flat = array.reshape(-1)
    assert np.shares_memory(flat, array)  # perturbs `array` in place
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = fn()
        flat[i] = old - eps
        minus = fn()
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("name", NAMES)
def test_gradients_match_reference(name):
    inputs = _inputs(name, seed=13)
    # Two sentences, two query steps: keeps the finite differences cheap.
    inputs = [inputs[0][:2, :2]] + [x[:2] for x in inputs[1:]]
    value_mask = VALUE_MASK[1:3]
    layer, params = _make_layer(name, inputs)
    cotangent = np.random.default_rng(14).normal(size=(2, 2, inputs[1].shape[-1]))
    cotangent = cotangent.astype("float32")
    grads = _layer_gradients(layer, inputs, [None, value_mask], cotangent)

    ref_params = {k: np.array(v, dtype="float64") for k, v in params.items()}
    ref_inputs = [x.astype("float64") for x in inputs]

    def ref_loss():
        context, _ = _ref_attention(name, ref_params, ref_inputs, None, value_mask)
        return float(np.sum(context * cotangent))

    targets = [ref_params[w.name] for w in layer.trainable_variables] + ref_inputs[1:]
    assert len(grads) == len(targets)
    for grad, target in zip(grads, targets):
        assert np.all(np.isfinite(grad))
        expected = _numerical_gradient(ref_loss, target)
        np.testing.assert_allclose(grad, expected, rtol=1e-3, atol=1e-4)
    # Padded source positions receive exactly no gradient.
    for grad in grads[-2:]:
        assert np.all(grad[~value_mask] == 0.0)
    assert any(np.any(g != 0.0) for g in grads[:-2]) or not layer.trainable_variables


@pytest.mark.parametrize("name", ["bahdanau", "normed_bahdanau"])
def test_recomputed_tanh_gives_the_kept_tanhs_gradients_in_the_decoder_loop(name, monkeypatch):
    """Under JAX the additive score's tanh is recomputed in the backward pass (`keras.remat`),
    also inside the scanned decoder's compiled time loop: one SGD step of learning rate 1 (so
    the weights move by exactly the gradient) from the same weights moves every weight as the
    plain formula's gradient does, under the backend's compiled train step."""
    import kseq2seq
    from kseq2seq.layers import attention_base, bahdanau_attention

    if attention_base.additive_scores_recomputed is attention_base.additive_scores:
        pytest.skip("this backend keeps the tanh: the plain formula, nothing to compare")

    rng = np.random.default_rng(21)
    source = rng.integers(4, 12, (6, 7)).astype("int32")
    source[1, 4:] = 0  # padded source positions
    target = rng.integers(4, 12, (6, 5)).astype("int32")
    inputs = {"source": source, "target_in": target}

    def moved_weights(start=None):
        keras.utils.set_random_seed(3)
        model = kseq2seq.build_model(
            source_vocab_size=12, target_vocab_size=12, embedding_dim=6, units=8, attention=name
        )
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=1.0),
            loss=kseq2seq.MaskedSparseCategoricalCrossentropy(),
        )
        if start is not None:
            model.set_weights(start)
        before = model.get_weights()
        model.train_on_batch(inputs, target)
        return before, [a - b for a, b in zip(before, model.get_weights())]

    start, recomputed = moved_weights()
    monkeypatch.setattr(
        bahdanau_attention, "additive_scores_recomputed", attention_base.additive_scores
    )
    _, kept = moved_weights(start)
    assert any(np.abs(step).max() > 1e-4 for step in kept)
    for step_recomputed, step_kept in zip(recomputed, kept):
        np.testing.assert_allclose(step_recomputed, step_kept, rtol=1e-4, atol=1e-6)
