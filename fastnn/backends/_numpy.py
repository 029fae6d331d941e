"""The numpy backend: each kernel is a few vectorized NumPy expressions (BLAS for the products)."""

import numpy as np

from .. import activations as act_codes
from .. import dropout
from .. import losses as loss_codes
from ..network import OPT_ADAGRAD, OPT_RMSPROP, OPT_SGD, adam_scalars, issparse
from . import _passes


def _sigmoid(Z):
    """1 / (1 + exp(-Z)) without overflow: exp is only taken of -|Z|."""
    E = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E)).astype(Z.dtype, copy=False)


def _softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _activate(act, Z):
    if act == act_codes.LINEAR:
        return Z.copy()
    if act == act_codes.SIGMOID:
        return _sigmoid(Z)
    if act == act_codes.TANH:
        return np.tanh(Z)
    if act == act_codes.RELU:
        return np.maximum(Z, 0)
    if act == act_codes.LEAKY_RELU:
        return np.where(Z > 0, Z, Z * Z.dtype.type(act_codes.LEAKY_SLOPE))
    if act == act_codes.EXP:
        with np.errstate(over="ignore"):  # (inf beyond z ~ 709: the loss reports it)
            return np.exp(Z)
    return _softmax(Z)


def prepare_inputs(X):
    """X itself: BLAS reads it as it is."""
    return X


def take_rows(X, rows):
    """The batch: X[rows] (a copy, by fancy indexing)."""
    return X[rows]


def dropout_scales(key, step, layer, first, rate, M):
    """M (m, n) = each unit's factor, 0 or 1 / (1 - rate), at batch positions first, ...
    (the generator of ``fastnn.dropout`` on arrays)."""
    m, n = M.shape
    positions = np.arange(first, first + m, dtype=np.uint64)[:, None]
    with np.errstate(over="ignore"):  # (the generator's arithmetic wraps around)
        streams = dropout.sample_stream(np.uint64(key), np.uint64(step), np.uint64(layer),
                                        positions)
        kept = dropout.uniform(streams, np.arange(n, dtype=np.uint64)) >= rate
    M[...] = np.where(kept, dropout.scale(rate, M.dtype), M.dtype.type(0))


def dense_forward(X, W, b, act):
    """Z = X @ W + b;  A = act(Z).  X (m, n_in) -> Z, A (m, n_out)."""
    Z = X @ W
    Z += b
    return Z, _activate(act, Z)


def activation_backward(act, Z, A, dA):
    """dZ = dA * f'(Z); for softmax dZ = A * (dA - sum(dA * A, axis=1))."""
    if act == act_codes.LINEAR:
        return dA.copy()
    if act == act_codes.SIGMOID:
        return dA * A * (1 - A)
    if act == act_codes.TANH:
        return dA * (1 - A * A)
    if act == act_codes.RELU:
        return np.where(Z > 0, dA, 0).astype(dA.dtype, copy=False)
    if act == act_codes.LEAKY_RELU:
        return np.where(Z > 0, dA, dA * dA.dtype.type(act_codes.LEAKY_SLOPE))
    if act == act_codes.EXP:
        return dA * A
    return A * (dA - (dA * A).sum(axis=1, keepdims=True))


def dense_backward(dZ, X, W, need_dX):
    """dW = X.T @ dZ;  db = dZ summed over samples;  dX = dZ @ W.T (only if need_dX)."""
    dX = dZ @ W.T if need_dX else None
    return dX, X.T @ dZ, dZ.sum(axis=0)


def _sample_losses(loss, act, Z, A, Y):
    """Each sample's loss summed over its outputs, (m,), before weighting and scaling."""
    if loss in (loss_codes.MSE, loss_codes.SSE):
        return np.sum((A - Y) ** 2, axis=1, dtype=np.float64)
    if loss == loss_codes.POISSON:  # a - y log a + y log y - y, with log a = z
        y_log_y = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1)), 0)
        return np.sum(A - Y * Z + y_log_y - Y, axis=1, dtype=np.float64)
    if loss == loss_codes.BCE and act == act_codes.SIGMOID:
        terms = np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))
        return np.sum(terms, axis=1, dtype=np.float64)
    if loss == loss_codes.BCE:  # on softmax outputs, clipped away from 0 and 1
        Ac = np.clip(A, loss_codes.LOG_EPS, 1 - loss_codes.LOG_EPS)
        return -np.sum(Y * np.log(Ac) + (1 - Y) * np.log(1 - Ac), axis=1, dtype=np.float64)
    z_max = Z.max(axis=1, keepdims=True)  # cce, from the logits of the softmax
    log_sum_exp = z_max + np.log(np.exp(Z - z_max).sum(axis=1, keepdims=True))
    return np.sum(Y * (log_sum_exp - Z), axis=1, dtype=np.float64)


def loss_value(loss, act, Z, A, Y, sample_weights=None):
    """The loss of a batch (see ``fastnn.losses``); bce, cce and poisson from the logits when
    fused."""
    m, k = A.shape
    each = _sample_losses(loss, act, Z, A, Y)
    total = each.sum() if sample_weights is None else np.dot(sample_weights, each)
    return float(total / loss_codes.divisor(loss, sample_weights, m, k))


def output_delta(loss, act, Z, A, Y, sample_weights=None):
    """dL/dZ of the output layer: w_i (A - Y) / scale for the fused pairs, else dL/dA through
    f'."""
    m, k = A.shape
    scale = A.dtype.type(loss_codes.divisor(loss, sample_weights, m, k))
    w = 1 if sample_weights is None else np.asarray(sample_weights, A.dtype).reshape(-1, 1)
    if loss_codes.fused(loss, act):
        return w * (A - Y) / scale
    if loss in (loss_codes.MSE, loss_codes.SSE):
        dA = w * 2 * (A - Y) / scale
    else:  # bce on softmax outputs: where the log's argument is clipped, the loss is flat
        inside = (A >= loss_codes.LOG_EPS) & (A <= 1 - loss_codes.LOG_EPS)
        dA = np.zeros_like(A)
        np.divide(w * (A - Y), A * (1 - A) * scale, out=dA, where=inside)
    return activation_backward(act, Z, A, dA.astype(A.dtype, copy=False))


def correct_count(loss, A, Y):
    """bce: outputs on the right side of 0.5; cce: rows whose largest output is the target."""
    if loss == loss_codes.CCE:
        return int((Y[np.arange(len(A)), A.argmax(axis=1)] == 1).sum())
    if loss == loss_codes.BCE:
        return int(((A > 0.5) == (Y == 1)).sum())
    return 0


def dual_backward(dZ, rows, W):
    """dW = 0 but dW[rows[r]] += dZ[r];  db = dZ summed over samples (a dual first layer)."""
    dW = np.zeros_like(W)
    np.add.at(dW, rows, dZ)
    return dW, dZ.sum(axis=0)


def l2_penalty(W, K):
    """The sum of W's squared entries; with K (a dual first layer's Gram matrix), of the
    primal weights': sum_j W[:, j] . K W[:, j]."""
    if K is None:
        return float(np.dot(W.ravel(), W.ravel()))
    return float(np.sum(W * (K @ W), dtype=np.float64))


def optimizer_step(rule, params, grads):
    """One update of params in place (``rule.step`` advances first), by the rule's formulas
    (``fastnn.optimizers``: SGD, Nesterov's, Adam, AdamW, Nadam, RMSprop, Adagrad). Elements
    whose new value or state would not be finite keep the old ones; returns whether all were
    finite."""
    rule.step[0] += 1
    g, code = grads, rule.code
    with np.errstate(over="ignore", invalid="ignore"):  # (reported by the result)
        if code == OPT_SGD:
            velocity = rule.momentum * rule.state1 - rule.lr * g
            new = params + (rule.momentum * velocity - rule.lr * g if rule.nesterov
                            else velocity)
            targets, values = (params, rule.state1), (new, velocity)
        elif code in (OPT_RMSPROP, OPT_ADAGRAD):
            s = rule.state1 + g * g if code == OPT_ADAGRAD else \
                rule.rho * rule.state1 + (1.0 - rule.rho) * g * g
            a = rule.rho * rule.state2 + (1.0 - rule.rho) * g if rule.centered else rule.state2
            step = rule.lr * g / np.sqrt((s - a * a if rule.centered else s) + rule.eps)
            moving = len(rule.state3) > 0
            p = rule.momentum * rule.state3 + step if moving else step
            targets = (params, rule.state1, rule.state2) + ((rule.state3,) if moving else ())
            values = (params - p, s, a) + ((p,) if moving else ())
        else:
            c1, c2, c3, shrink = adam_scalars(rule)
            m = rule.beta1 * rule.state1 + (1.0 - rule.beta1) * g
            v = rule.beta2 * rule.state2 + (1.0 - rule.beta2) * g * g
            new = shrink * params - (c1 * m + c2 * g) / (np.sqrt(v / c3) + rule.eps)
            targets, values = (params, rule.state1, rule.state2), (new, m, v)
    finite = np.isfinite(values[0])
    for value in values[1:]:
        finite &= np.isfinite(value)
    everywhere = bool(finite.all())
    for target, value in zip(targets, values):
        np.copyto(target, value, where=True if everywhere else finite, casting="unsafe")
    return everywhere


def _float64(A):
    """A in float64: itself where it is (no copy of a dense X), else converted."""
    if issparse(A):
        return A.astype(np.float64, copy=False)
    return np.asarray(A, np.float64)


def gram(A, B):
    """A @ B.T in float64 (BLAS; SciPy's sparse products for sparse A or B), returned in A's
    dtype."""
    product = _float64(A) @ _float64(B).T
    if issparse(product):
        product = product.toarray()
    return np.ascontiguousarray(product, dtype=A.dtype)


forward, evaluate, loss_and_gradients, train_epochs = _passes.bind(globals())


def compile_kernels(name, progress=None):
    """Nothing to compile (see the contract): returns {}."""
    return {}
