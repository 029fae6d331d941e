"""Numba kernels, element by element: activations, losses, optimizer updates.

The per-sample helpers work on segments of 1-D buffers (see ``_numba_samples``); the 2-D kernels
of the backend contract call them row by row. They mirror ``_loop.py``.
"""

import math

import numpy as np

from .. import activations as act_codes
from .. import losses as loss_codes
from ._numba_jit import _jit

LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX = (
    act_codes.LINEAR, act_codes.SIGMOID, act_codes.TANH, act_codes.RELU, act_codes.LEAKY_RELU,
    act_codes.SOFTMAX,
)
MSE, SSE, BCE, CCE = loss_codes.MSE, loss_codes.SSE, loss_codes.BCE, loss_codes.CCE
LEAKY_SLOPE = act_codes.LEAKY_SLOPE
LOG_EPS = loss_codes.LOG_EPS


# ---------------------------------------------------------------- activations
# The per-sample helpers work on a segment [o, o + n) of 1-D buffers, so the compiled
# whole-network path can keep every layer of a sample in one flat buffer; the 2-D kernels of the
# contract call them row by row.

@_jit()
def _sigmoid(z):
    """1 / (1 + exp(-z)) for a float64 z, without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@_jit(inline="always")
def _activate_segment(act, Z, zo, A, ao, n):
    """A[ao:ao+n] = f(Z[zo:zo+n]): one sample's units of one layer."""
    if act == SOFTMAX:
        z_max = Z[zo]
        for j in range(1, n):
            z_max = max(z_max, Z[zo + j])
        total = Z.dtype.type(0)
        for j in range(n):
            A[ao + j] = np.exp(Z[zo + j] - z_max)
            total += A[ao + j]
        for j in range(n):
            A[ao + j] = A[ao + j] / total
        return
    slope = Z.dtype.type(LEAKY_SLOPE)
    for j in range(n):
        z = Z[zo + j]
        if act == LINEAR:
            A[ao + j] = z
        elif act == SIGMOID:
            A[ao + j] = _sigmoid(float(z))
        elif act == TANH:
            A[ao + j] = np.tanh(z)
        elif act == RELU:
            A[ao + j] = z if z > 0 else 0
        else:
            A[ao + j] = z if z > 0 else slope * z


@_jit(inline="always")
def _activation_backward_segment(act, Z, zo, A, ao, dZ, do, n):
    """dZ[do:do+n] *= f'(Z[zo:zo+n]) (in place: dZ holds dL/dA on entry).
    Softmax: dZ_j = A_j (dA_j - sum_k dA_k A_k)."""
    dA = dZ
    if act == SOFTMAX:
        s = Z.dtype.type(0)
        for j in range(n):
            s += dA[do + j] * A[ao + j]
        for j in range(n):
            dZ[do + j] = A[ao + j] * (dA[do + j] - s)
        return
    slope = Z.dtype.type(LEAKY_SLOPE)
    for j in range(n):
        z, a, g = Z[zo + j], A[ao + j], dA[do + j]
        if act == LINEAR:
            dZ[do + j] = g
        elif act == SIGMOID:
            dZ[do + j] = g * a * (1 - a)
        elif act == TANH:
            dZ[do + j] = g * (1 - a * a)
        elif act == RELU:
            dZ[do + j] = g if z > 0 else 0
        else:
            dZ[do + j] = g if z > 0 else slope * g


@_jit()
def _activate(act, Z, A):
    """A = f(Z) row by row, Z and A (m, n)."""
    for i in range(Z.shape[0]):
        _activate_segment(act, Z[i], 0, A[i], 0, Z.shape[1])


@_jit()
def _activation_backward(act, Z, A, dA, dZ):
    """dZ = dA * f'(Z) row by row."""
    dZ[...] = dA
    for i in range(Z.shape[0]):
        _activation_backward_segment(act, Z[i], 0, A[i], 0, dZ[i], 0, Z.shape[1])


# ---------------------------------------------------------------- losses
# Per sample: the output layer's k units sit at [o, o + k) of Z and A, the targets in Y[i].

@_jit()
def _loss_scale(loss, m, k):
    if loss == SSE:
        return 1.0
    if loss == CCE:
        return float(m)
    return float(m * k)


@_jit(inline="always")
def _sample_loss(loss, act, Z, zo, A, ao, Y, i, k):
    """One sample's loss before scaling; bce and cce from the logits when fused. The k output
    units sit at Z[zo:zo+k] and A[ao:ao+k]."""
    total = 0.0
    if loss == CCE:  # (always with a softmax output: losses.OUTPUTS)
        z_max = Z[zo]
        for j in range(1, k):
            z_max = max(z_max, Z[zo + j])
        sum_exp = 0.0
        for j in range(k):
            sum_exp += np.exp(Z[zo + j] - z_max)
        log_sum_exp = z_max + np.log(sum_exp)
        for j in range(k):
            total += Y[i, j] * (log_sum_exp - Z[zo + j])
        return total
    for j in range(k):
        a = float(A[ao + j])
        y = float(Y[i, j])
        if loss == MSE or loss == SSE:
            total += (a - y) ** 2
        elif loss == BCE and act == SIGMOID:
            z = float(Z[zo + j])
            total += max(z, 0.0) - z * y + np.log1p(np.exp(-abs(z)))
        else:  # bce on softmax outputs, clipped away from 0 and 1
            a = min(max(a, LOG_EPS), 1.0 - LOG_EPS)
            total -= y * np.log(a) + (1.0 - y) * np.log(1.0 - a)
    return total


@_jit(inline="always")
def _sample_delta(loss, act, Z, zo, A, ao, Y, i, k, scale, D, do):
    """dL/dZ of one sample's output units into D[do:do+k]; ``scale`` divides the batch loss."""
    fused = (loss == BCE and act == SIGMOID) or (loss == CCE and act == SOFTMAX)
    for j in range(k):
        a = float(A[ao + j])
        y = float(Y[i, j])
        if fused:
            D[do + j] = (a - y) / scale
        elif loss == MSE or loss == SSE:
            D[do + j] = 2.0 * (a - y) / scale
        elif LOG_EPS <= a <= 1.0 - LOG_EPS:  # bce on softmax outputs
            D[do + j] = (a - y) / (a * (1.0 - a)) / scale
        else:  # clipped: the loss is flat in a there
            D[do + j] = 0.0
    if not fused:
        _activation_backward_segment(act, Z, zo, A, ao, D, do, k)


@_jit(inline="always")
def _sample_correct(loss, A, o, Y, i, k):
    """bce: outputs on the right side of 0.5; cce: 1 if the largest output is the target."""
    correct = 0
    if loss == CCE:
        best = 0
        for j in range(1, k):
            if A[o + j] > A[o + best]:
                best = j
        correct = 1 if Y[i, best] == 1 else 0
    elif loss == BCE:
        for j in range(k):
            predicted = 1.0 if A[o + j] > 0.5 else 0.0
            correct += 1 if predicted == Y[i, j] else 0
    return correct


@_jit()
def _loss_value(loss, act, Z, A, Y, rows):
    """The loss of a batch whose targets are Y[rows]."""
    m, k = A.shape
    total = 0.0
    for r in range(m):
        total += _sample_loss(loss, act, Z[r], 0, A[r], 0, Y, rows[r], k)
    return total / _loss_scale(loss, m, k)


@_jit()
def _output_delta(loss, act, Z, A, Y, rows, dZ):
    """dL/dZ of the output layer into dZ (m, k); targets Y[rows]."""
    m, k = A.shape
    scale = _loss_scale(loss, m, k)
    for r in range(m):
        _sample_delta(loss, act, Z[r], 0, A[r], 0, Y, rows[r], k, scale, dZ[r], 0)


@_jit()
def _correct_count(loss, A, Y, rows):
    m, k = A.shape
    correct = 0
    for r in range(m):
        correct += _sample_correct(loss, A[r], 0, Y, rows[r], k)
    return correct


# ---------------------------------------------------------------- optimizers

@_jit(inline="always")
def _sgd_one(params, velocity, i, g, lr, momentum):
    """SGD on params[i] with gradient g: velocity = momentum velocity - lr g; params += it."""
    velocity[i] = momentum * velocity[i] - lr * g
    params[i] += velocity[i]


@_jit(inline="always")
def _adam_one(params, m, v, i, g, lr, beta1, beta2, eps, correction1, correction2):
    """Adam on params[i] with gradient g; ``correction`` = 1 - beta**t."""
    m[i] = beta1 * m[i] + (1.0 - beta1) * g
    v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
    m_hat = m[i] / correction1
    v_hat = v[i] / correction2
    params[i] -= lr * m_hat / (math.sqrt(v_hat) + eps)


@_jit(inline="always")
def _sgd_step(params, grads, velocity, lr, momentum, lo, hi):
    for i in range(lo, hi):
        _sgd_one(params, velocity, i, grads[i], lr, momentum)


@_jit(inline="always")
def _adam_step(params, grads, m, v, t, lr, beta1, beta2, eps, lo, hi):
    correction1 = 1.0 - beta1**t
    correction2 = 1.0 - beta2**t
    for i in range(lo, hi):
        _adam_one(params, m, v, i, grads[i], lr, beta1, beta2, eps, correction1, correction2)


@_jit(inline="always")
def _update(opt, flat, grads, lo, hi):
    """The optimizer's step on flat[lo:hi]; ``opt`` as in the backend contract, Adam's step
    counter already advanced for this batch."""
    code, hyper, state1, state2, step = opt
    if code == 0:
        _sgd_step(flat, grads, state1, hyper[0], hyper[1], lo, hi)
    else:
        _adam_step(flat, grads, state1, state2, step[0], hyper[0], hyper[2], hyper[3], hyper[4],
                   lo, hi)


@_jit(inline="always")
def _update_rows(opt, flat, G, lo, w):
    """The optimizer's step on w rows of a W, flat[lo:lo + w n_out], straight from their
    gradient transposed, G[:, :w] (n_out, w); output by output, G read along its rows."""
    code, hyper, state1, state2, step = opt
    n_out = G.shape[0]
    if code == 0:
        for j in range(n_out):
            for t in range(w):
                _sgd_one(flat, state1, lo + t * n_out + j, G[j, t], hyper[0], hyper[1])
    else:
        correction1, correction2 = 1.0 - hyper[2] ** step[0], 1.0 - hyper[3] ** step[0]
        for j in range(n_out):
            for t in range(w):
                _adam_one(flat, state1, state2, lo + t * n_out + j, G[j, t], hyper[0], hyper[2],
                          hyper[3], hyper[4], correction1, correction2)


@_jit()
def _update_chunk(opt, flat, grads, base, lo, hi):
    _update(opt, flat, grads, base + lo, base + hi)
