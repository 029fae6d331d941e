"""The numba backend: the same kernels as loops compiled by Numba, and a compiled whole epoch.

Private ``_kernels`` are ``@njit``; the public functions of the backend contract are thin wrappers
that allocate outputs. ``train_epoch`` runs every batch, every layer and the optimizer of an epoch
in one compiled call. Parallel loops write disjoint outputs: no result depends on thread timing.
"""

import math
import warnings

import numpy as np
from numba import njit, prange

from .. import activations as act_codes
from .. import losses as loss_codes

# fastmath without "nnan"/"ninf": NaN and inf checks must keep working.
FASTMATH = frozenset({"contract", "arcp", "afn", "reassoc", "nsz"})

LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX = (
    act_codes.LINEAR, act_codes.SIGMOID, act_codes.TANH, act_codes.RELU, act_codes.LEAKY_RELU,
    act_codes.SOFTMAX,
)
MSE, SSE, BCE, CCE = loss_codes.MSE, loss_codes.SSE, loss_codes.BCE, loss_codes.CCE
LEAKY_SLOPE = act_codes.LEAKY_SLOPE
LOG_EPS = loss_codes.LOG_EPS


def _jit(parallel=False):
    """njit with the backend's options; caches on disk, or compiles in memory where it can't."""

    def decorate(func):
        options = dict(fastmath=set(FASTMATH), error_model="numpy", parallel=parallel)
        try:
            return njit(cache=True, **options)(func)
        except RuntimeError as error:  # "no locator available": read-only install, no cache dir
            warnings.warn(f"numba disk cache unavailable ({error}); kernels compile per process",
                          RuntimeWarning, stacklevel=2)
            return njit(**options)(func)

    return decorate


# ---------------------------------------------------------------- activations (row blocks)

@_jit()
def _sigmoid(z):
    """1 / (1 + exp(-z)) for a float64 z, without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@_jit()
def _activate(act, Z, A):
    """A = f(Z) row by row, Z and A (m, n)."""
    m, n = Z.shape
    slope = Z.dtype.type(LEAKY_SLOPE)
    for i in range(m):
        if act == SOFTMAX:
            z_max = Z[i, 0]
            for j in range(1, n):
                z_max = max(z_max, Z[i, j])
            total = Z.dtype.type(0)
            for j in range(n):
                A[i, j] = np.exp(Z[i, j] - z_max)
                total += A[i, j]
            for j in range(n):
                A[i, j] = A[i, j] / total
        elif act == LINEAR:
            for j in range(n):
                A[i, j] = Z[i, j]
        elif act == SIGMOID:
            for j in range(n):
                A[i, j] = _sigmoid(float(Z[i, j]))
        elif act == TANH:
            for j in range(n):
                A[i, j] = np.tanh(Z[i, j])
        elif act == RELU:
            for j in range(n):
                A[i, j] = Z[i, j] if Z[i, j] > 0 else 0
        else:
            for j in range(n):
                A[i, j] = Z[i, j] if Z[i, j] > 0 else slope * Z[i, j]


@_jit()
def _activation_backward(act, Z, A, dA, dZ):
    """dZ = dA * f'(Z) (dZ may be dA itself); softmax: dZ_j = A_j (dA_j - sum_k dA_k A_k)."""
    m, n = Z.shape
    slope = Z.dtype.type(LEAKY_SLOPE)
    for i in range(m):
        if act == SOFTMAX:
            s = Z.dtype.type(0)
            for j in range(n):
                s += dA[i, j] * A[i, j]
            for j in range(n):
                dZ[i, j] = A[i, j] * (dA[i, j] - s)
        elif act == LINEAR:
            for j in range(n):
                dZ[i, j] = dA[i, j]
        elif act == SIGMOID:
            for j in range(n):
                dZ[i, j] = dA[i, j] * A[i, j] * (1 - A[i, j])
        elif act == TANH:
            for j in range(n):
                dZ[i, j] = dA[i, j] * (1 - A[i, j] * A[i, j])
        elif act == RELU:
            for j in range(n):
                dZ[i, j] = dA[i, j] if Z[i, j] > 0 else 0
        else:
            for j in range(n):
                dZ[i, j] = dA[i, j] if Z[i, j] > 0 else slope * dA[i, j]


# ---------------------------------------------------------------- dense layer

@_jit(parallel=True)
def _dense_forward(X, rows, W, b, act, Z, A):
    """Z[r] = X[rows[r]] @ W + b;  A = f(Z).  Parallel over samples (disjoint rows of Z, A)."""
    m = rows.shape[0]
    n_in, n_out = W.shape
    for r in prange(m):
        i = rows[r]
        for j in range(n_out):
            Z[r, j] = b[j]
        for k in range(n_in):
            x = X[i, k]
            for j in range(n_out):
                Z[r, j] += x * W[k, j]
        _activate(act, Z[r:r + 1], A[r:r + 1])


@_jit(parallel=True)
def _dense_backward_weights(X, rows, dZ, dW, db):
    """dW[k] = sum_r X[rows[r], k] dZ[r];  db = sum_r dZ[r].  Parallel over inputs k (disjoint)."""
    m = rows.shape[0]
    n_in, n_out = dW.shape
    for k in prange(n_in):
        for j in range(n_out):
            dW[k, j] = 0
        for r in range(m):
            x = X[rows[r], k]
            for j in range(n_out):
                dW[k, j] += x * dZ[r, j]
    for j in range(n_out):
        db[j] = 0
    for r in range(m):
        for j in range(n_out):
            db[j] += dZ[r, j]


@_jit(parallel=True)
def _dense_backward_input(dZ, W, dX):
    """dX[r, k] = sum_j dZ[r, j] W[k, j].  Parallel over samples."""
    m, n_out = dZ.shape
    n_in = W.shape[0]
    for r in prange(m):
        for k in range(n_in):
            total = dX.dtype.type(0)
            for j in range(n_out):
                total += dZ[r, j] * W[k, j]
            dX[r, k] = total


# ---------------------------------------------------------------- losses

@_jit()
def _loss_scale(loss, m, k):
    if loss == SSE:
        return 1.0
    if loss == CCE:
        return float(m)
    return float(m * k)


@_jit()
def _loss_value(loss, act, Z, A, Y, rows):
    """The loss of a batch whose targets are Y[rows]; fused pairs from the logits."""
    m, k = A.shape
    total = 0.0
    for r in range(m):
        i = rows[r]
        if loss == CCE and act == SOFTMAX:
            z_max = Z[r, 0]
            for j in range(1, k):
                z_max = max(z_max, Z[r, j])
            sum_exp = 0.0
            for j in range(k):
                sum_exp += np.exp(Z[r, j] - z_max)
            log_sum_exp = z_max + np.log(sum_exp)
            for j in range(k):
                total += Y[i, j] * (log_sum_exp - Z[r, j])
            continue
        for j in range(k):
            a = float(A[r, j])
            y = float(Y[i, j])
            if loss == MSE or loss == SSE:
                total += (a - y) ** 2
            elif loss == BCE and act == SIGMOID:
                z = float(Z[r, j])
                total += max(z, 0.0) - z * y + np.log1p(np.exp(-abs(z)))
            elif loss == BCE:
                a = min(max(a, LOG_EPS), 1.0 - LOG_EPS)
                total -= y * np.log(a) + (1.0 - y) * np.log(1.0 - a)
            else:
                total -= y * np.log(min(max(a, LOG_EPS), 1.0 - LOG_EPS))
    return total / _loss_scale(loss, m, k)


@_jit()
def _output_delta(loss, act, Z, A, Y, rows, dZ):
    """dL/dZ of the output layer into dZ (m, k); targets Y[rows]."""
    m, k = A.shape
    fused = (loss == BCE and act == SIGMOID) or (loss == CCE and act == SOFTMAX)
    scale = _loss_scale(loss, m, k)
    for r in range(m):
        i = rows[r]
        for j in range(k):
            a = float(A[r, j])
            y = float(Y[i, j])
            if fused:
                dZ[r, j] = (a - y) / scale
            elif loss == MSE or loss == SSE:
                dZ[r, j] = 2.0 * (a - y) / scale
            elif loss == BCE:
                a = min(max(a, LOG_EPS), 1.0 - LOG_EPS)
                dZ[r, j] = (a - y) / (a * (1.0 - a)) / scale
            else:
                dZ[r, j] = -y / min(max(a, LOG_EPS), 1.0 - LOG_EPS) / scale
    if not fused:
        _activation_backward(act, Z, A, dZ, dZ)


@_jit()
def _correct_count(loss, A, Y, rows):
    """bce: outputs on the right side of 0.5; cce: rows whose largest output is the target."""
    m, k = A.shape
    correct = 0
    for r in range(m):
        i = rows[r]
        if loss == CCE:
            best = 0
            for j in range(1, k):
                if A[r, j] > A[r, best]:
                    best = j
            correct += 1 if Y[i, best] == 1 else 0
        elif loss == BCE:
            for j in range(k):
                predicted = 1.0 if A[r, j] > 0.5 else 0.0
                correct += 1 if predicted == Y[i, j] else 0
    return correct


# ---------------------------------------------------------------- optimizers

@_jit()
def _sgd_step(params, grads, velocity, lr, momentum):
    for i in range(params.shape[0]):
        velocity[i] = momentum * velocity[i] - lr * grads[i]
        params[i] += velocity[i]


@_jit()
def _adam_step(params, grads, m, v, t, lr, beta1, beta2, eps):
    correction1 = 1.0 - beta1**t
    correction2 = 1.0 - beta2**t
    for i in range(params.shape[0]):
        g = grads[i]
        m[i] = beta1 * m[i] + (1.0 - beta1) * g
        v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
        m_hat = m[i] / correction1
        v_hat = v[i] / correction2
        params[i] -= lr * m_hat / (math.sqrt(v_hat) + eps)


# ---------------------------------------------------------------- whole network

@_jit()
def _workspace(net, batch, dtype_example):
    """Buffers for one batch size: Z and A of every layer, two delta buffers, sample indices."""
    sizes = net[0]
    units = 0
    widest = 0
    for layer in range(1, sizes.shape[0]):
        units += sizes[layer]
        widest = max(widest, sizes[layer])
    dtype = dtype_example.dtype
    return (np.empty(batch * units, dtype), np.empty(batch * units, dtype),
            np.empty(batch * widest, dtype), np.empty(batch * widest, dtype),
            np.arange(batch))


@_jit()
def _param_views(flat, sizes, layer):
    offset = 0
    for previous in range(layer):
        offset += sizes[previous] * sizes[previous + 1] + sizes[previous + 1]
    n_in, n_out = sizes[layer], sizes[layer + 1]
    W = flat[offset:offset + n_in * n_out].reshape((n_in, n_out))
    b = flat[offset + n_in * n_out:offset + n_in * n_out + n_out]
    return W, b


@_jit()
def _unit_view(buffer, sizes, layer, m):
    """Layer ``layer``'s (m, n_out) block of a Z or A buffer."""
    offset = 0
    for previous in range(1, layer + 1):
        offset += sizes[previous]
    n_out = sizes[layer + 1]
    return buffer[offset * m:(offset + n_out) * m].reshape((m, n_out))


@_jit()
def _net_forward(flat, net, X, rows, ws):
    """Forward through every layer into the workspace; returns the output layer index."""
    sizes, acts, _ = net
    Zbuf, Abuf, _, _, ident = ws
    m = rows.shape[0]
    n_layers = sizes.shape[0] - 1
    for layer in range(n_layers):
        W, b = _param_views(flat, sizes, layer)
        Z = _unit_view(Zbuf, sizes, layer, m)
        A = _unit_view(Abuf, sizes, layer, m)
        if layer == 0:
            _dense_forward(X, rows, W, b, acts[layer], Z, A)
        else:
            A_in = _unit_view(Abuf, sizes, layer - 1, m)
            _dense_forward(A_in, ident[:m], W, b, acts[layer], Z, A)
    return n_layers - 1


@_jit()
def _net_gradients(flat, net, loss, X, Y, rows, ws, grads):
    """``(loss, correct)`` of the batch X[rows], Y[rows]; fills ``grads`` by backpropagation."""
    sizes, acts, biases = net
    Zbuf, Abuf, D1, D2, ident = ws
    m = rows.shape[0]
    last = _net_forward(flat, net, X, rows, ws)
    Z = _unit_view(Zbuf, sizes, last, m)
    A = _unit_view(Abuf, sizes, last, m)
    value = _loss_value(loss, acts[last], Z, A, Y, rows)
    correct = _correct_count(loss, A, Y, rows)
    dZ = D1[:m * sizes[last + 1]].reshape((m, sizes[last + 1]))
    _output_delta(loss, acts[last], Z, A, Y, rows, dZ)
    for layer in range(last, -1, -1):
        W, _ = _param_views(flat, sizes, layer)
        dW, db = _param_views(grads, sizes, layer)
        if layer == 0:
            _dense_backward_weights(X, rows, dZ, dW, db)
        else:
            A_in = _unit_view(Abuf, sizes, layer - 1, m)
            _dense_backward_weights(A_in, ident[:m], dZ, dW, db)
        if biases[layer] == 0:
            db[:] = 0
        if layer == 0:
            break
        spare = D2 if layer % 2 == last % 2 else D1
        dX = spare[:m * sizes[layer]].reshape((m, sizes[layer]))
        _dense_backward_input(dZ, W, dX)
        Z_in = _unit_view(Zbuf, sizes, layer - 1, m)
        _activation_backward(acts[layer - 1], Z_in, A_in, dX, dX)
        dZ = dX
    return value, correct


@_jit()
def _train_epoch(flat, net, loss, X, Y, order, batch_size, opt):
    code, hyper, state1, state2, step = opt
    lr, momentum, beta1, beta2, eps = hyper[0], hyper[1], hyper[2], hyper[3], hyper[4]
    ws = _workspace(net, min(batch_size, order.shape[0]), flat)
    grads = np.empty_like(flat)
    n = order.shape[0]
    total = 0.0
    correct = 0
    for start in range(0, n, batch_size):
        rows = order[start:min(start + batch_size, n)]
        value, batch_correct = _net_gradients(flat, net, loss, X, Y, rows, ws, grads)
        correct += batch_correct
        total += value if loss == SSE else value * rows.shape[0]
        if code == 0:
            _sgd_step(flat, grads, state1, lr, momentum)
        else:
            step[0] += 1
            _adam_step(flat, grads, state1, state2, step[0], lr, beta1, beta2, eps)
    return (total if loss == SSE else total / n), correct


# ---------------------------------------------------------------- the backend contract

def dense_forward(X, W, b, act):
    """Z = X @ W + b;  A = act(Z).  X (m, n_in) -> Z, A (m, n_out)."""
    X = np.ascontiguousarray(X)
    Z = np.empty((X.shape[0], W.shape[1]), W.dtype)
    A = np.empty_like(Z)
    _dense_forward(X, np.arange(X.shape[0]), np.ascontiguousarray(W), b, act, Z, A)
    return Z, A


def activation_backward(act, Z, A, dA):
    """dZ = dA * f'(Z); for softmax dZ_j = A_j (dA_j - sum_k dA_k A_k).  All (m, n)."""
    dZ = np.empty_like(dA)
    _activation_backward(act, Z, A, dA, dZ)
    return dZ


def dense_backward(dZ, X, W, need_dX):
    """dW = X.T @ dZ;  db = column sums of dZ;  dX = dZ @ W.T (only if need_dX)."""
    dZ, X = np.ascontiguousarray(dZ), np.ascontiguousarray(X)
    dW = np.empty_like(W)
    db = np.empty(W.shape[1], W.dtype)
    _dense_backward_weights(X, np.arange(X.shape[0]), dZ, dW, db)
    dX = None
    if need_dX:
        dX = np.empty((dZ.shape[0], W.shape[0]), W.dtype)
        _dense_backward_input(dZ, np.ascontiguousarray(W), dX)
    return dX, dW, db


def loss_value(loss, act, Z, A, Y):
    """The loss of a batch (see ``fastnn.losses``); bce and cce from the logits when fused."""
    return float(_loss_value(loss, act, Z, A, np.ascontiguousarray(Y), np.arange(A.shape[0])))


def output_delta(loss, act, Z, A, Y):
    """dL/dZ of the output layer: (A - Y) / scale for the fused pairs, else dL/dA through f'."""
    dZ = np.empty_like(A)
    _output_delta(loss, act, Z, A, np.ascontiguousarray(Y), np.arange(A.shape[0]), dZ)
    return dZ


def correct_count(loss, A, Y):
    """bce: outputs on the right side of 0.5; cce: rows whose largest output is the target."""
    return int(_correct_count(loss, A, np.ascontiguousarray(Y), np.arange(A.shape[0])))


def sgd_step(params, grads, velocity, lr, momentum):
    """velocity = momentum velocity - lr grad;  params += velocity (Keras' momentum)."""
    _sgd_step(params, grads, velocity, float(lr), float(momentum))


def adam_step(params, grads, m, v, t, lr, beta1, beta2, eps):
    """Adam (Kingma & Ba): bias-corrected first and second moments; step number t >= 1."""
    _adam_step(params, grads, m, v, int(t), float(lr), float(beta1), float(beta2), float(eps))


def forward(flat, net, X):
    """The output layer's Z and A for X (m, n_in), each (m, k)."""
    X = np.ascontiguousarray(X)
    rows = np.arange(X.shape[0])
    ws = _workspace(net, X.shape[0], flat)
    last = _net_forward(flat, net, X, rows, ws)
    m = X.shape[0]
    return _unit_view(ws[0], net[0], last, m).copy(), _unit_view(ws[1], net[0], last, m).copy()


def loss_and_gradients(flat, net, loss, X, Y, grads):
    """Forward, loss, then backpropagation; fills ``grads`` (flat); returns the loss."""
    X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)
    rows = np.arange(X.shape[0])
    ws = _workspace(net, X.shape[0], flat)
    return float(_net_gradients(flat, net, loss, X, Y, rows, ws, grads)[0])


def train_epoch(flat, net, loss, X, Y, order, batch_size, opt):
    """One epoch of updates over ``order`` in batches, compiled whole; ``(loss, correct)``."""
    value, correct = _train_epoch(flat, net, loss, X, Y, order, batch_size, opt)
    return float(value), int(correct)
