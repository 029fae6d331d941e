"""The loop backend: plain Python loops, sample by sample, neuron by neuron.

This is the readable reference, written the way the tutorials compute a network. No vectorized
NumPy inside the kernels: arrays are only used to hold numbers. It is slow on purpose; the numpy
and numba backends compute the same thing fast, and the tests compare them with this one.
"""

import math

import numpy as np

from .. import activations as act_codes
from .. import dropout
from .. import losses as loss_codes
from ..network import OPT_ADAGRAD, OPT_RMSPROP, OPT_SGD, adam_scalars
from . import _passes


def _sigmoid(z):
    """1 / (1 + exp(-z)), without overflow for any z."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _activate_row(act, z_row, a_row):
    """a_row[j] = f(z_row[j]) for one sample."""
    n = len(z_row)
    if act == act_codes.SOFTMAX:
        # softmax(z)_j = exp(z_j - max z) / sum_k exp(z_k - max z)
        z_max = z_row[0]
        for j in range(1, n):
            if z_row[j] > z_max:
                z_max = z_row[j]
        total = 0.0
        for j in range(n):
            a_row[j] = math.exp(z_row[j] - z_max)
            total += a_row[j]
        for j in range(n):
            a_row[j] = a_row[j] / total
        return
    for j in range(n):
        z = z_row[j]
        if act == act_codes.LINEAR:
            a_row[j] = z
        elif act == act_codes.SIGMOID:
            a_row[j] = _sigmoid(z)
        elif act == act_codes.TANH:
            a_row[j] = math.tanh(z)
        elif act == act_codes.RELU:
            a_row[j] = z if z > 0 else 0.0
        elif act == act_codes.LEAKY_RELU:
            a_row[j] = z if z > 0 else act_codes.LEAKY_SLOPE * z
        else:  # exp (overflows to inf beyond z ~ 709, as NumPy's)
            a_row[j] = math.exp(z) if z < 709.78 else math.inf


def prepare_inputs(X):
    """X itself: the loops read it as it is."""
    return X


def take_rows(X, rows):
    """The batch: a new array whose row r is X[rows[r]]."""
    batch = np.empty((len(rows), X.shape[1]), dtype=X.dtype)
    for r in range(len(rows)):
        for k in range(X.shape[1]):
            batch[r, k] = X[rows[r], k]
    return batch


def dropout_scales(key, step, layer, first, rate, M):
    """M (m, n) = each unit's factor in training, 0 (dropped) or 1 / (1 - rate) (kept), for
    the samples at batch positions first, first + 1, ... (``fastnn.dropout``)."""
    kept = dropout.scale(rate, M.dtype)
    with np.errstate(over="ignore"):  # (the generator's arithmetic wraps around)
        for r in range(M.shape[0]):
            stream = dropout.sample_stream(np.uint64(key), np.uint64(step), np.uint64(layer),
                                           np.uint64(first + r))
            for j in range(M.shape[1]):
                M[r, j] = kept if dropout.uniform(stream, np.uint64(j)) >= rate else 0


def dense_forward(X, W, b, act):
    """Z[i, j] = sum_k X[i, k] W[k, j] + b[j];  A = act(Z).  X (m, n_in) -> Z, A (m, n_out)."""
    m, n_in = X.shape
    n_out = W.shape[1]
    Z = np.empty((m, n_out), dtype=W.dtype)
    A = np.empty((m, n_out), dtype=W.dtype)
    for i in range(m):
        for j in range(n_out):
            z = b[j]
            for k in range(n_in):
                z += X[i, k] * W[k, j]
            Z[i, j] = z
        _activate_row(act, Z[i], A[i])
    return Z, A


def activation_backward(act, Z, A, dA):
    """dZ = dA * f'(Z); for softmax dZ_j = A_j (dA_j - sum_k dA_k A_k).  All (m, n)."""
    m, n = Z.shape
    dZ = np.empty_like(dA)
    for i in range(m):
        if act == act_codes.SOFTMAX:
            s = 0.0
            for j in range(n):
                s += dA[i, j] * A[i, j]
            for j in range(n):
                dZ[i, j] = A[i, j] * (dA[i, j] - s)
            continue
        for j in range(n):
            if act == act_codes.LINEAR:
                slope = 1.0
            elif act == act_codes.SIGMOID:
                slope = A[i, j] * (1.0 - A[i, j])
            elif act == act_codes.TANH:
                slope = 1.0 - A[i, j] * A[i, j]
            elif act == act_codes.RELU:
                slope = 1.0 if Z[i, j] > 0 else 0.0
            elif act == act_codes.LEAKY_RELU:
                slope = 1.0 if Z[i, j] > 0 else act_codes.LEAKY_SLOPE
            else:  # exp: its own derivative
                slope = A[i, j]
            dZ[i, j] = dA[i, j] * slope
    return dZ


def dense_backward(dZ, X, W, need_dX):
    """dW[k, j] = sum_i X[i, k] dZ[i, j];  db[j] = sum_i dZ[i, j];
    dX[i, k] = sum_j dZ[i, j] W[k, j] (only if need_dX, else None)."""
    m, n_in = X.shape
    n_out = W.shape[1]
    dW = np.zeros_like(W)
    db = np.zeros(n_out, dtype=W.dtype)
    for i in range(m):
        for j in range(n_out):
            db[j] += dZ[i, j]
            for k in range(n_in):
                dW[k, j] += X[i, k] * dZ[i, j]
    if not need_dX:
        return None, dW, db
    dX = np.zeros((m, n_in), dtype=W.dtype)
    for i in range(m):
        for k in range(n_in):
            total = 0.0
            for j in range(n_out):
                total += dZ[i, j] * W[k, j]
            dX[i, k] = total
    return dX, dW, db


def _clip(a):
    """Keep a probability away from 0 and 1 before a logarithm (bce on softmax outputs)."""
    return min(max(a, loss_codes.LOG_EPS), 1.0 - loss_codes.LOG_EPS)


def _sample_loss(loss, act, Z, A, Y, i):
    """Sample i's loss, summed over its k outputs, before weighting and scaling."""
    k = A.shape[1]
    total = 0.0
    if loss == loss_codes.CCE:
        # -sum_j y_j log softmax(z)_j = sum_j y_j (logsumexp(z) - z_j)
        z_max = Z[i, 0]
        for j in range(1, k):
            z_max = max(z_max, Z[i, j])
        sum_exp = 0.0
        for j in range(k):
            sum_exp += math.exp(Z[i, j] - z_max)
        log_sum_exp = z_max + math.log(sum_exp)
        for j in range(k):
            total += Y[i, j] * (log_sum_exp - Z[i, j])
        return total
    for j in range(k):
        a, y, z = A[i, j], Y[i, j], Z[i, j]  # (NumPy scalars: inf, not an error, on overflow)
        if loss in (loss_codes.MSE, loss_codes.SSE):
            total += (a - y) ** 2
        elif loss == loss_codes.POISSON:  # a - y log a + y log y - y, with log a = z
            total += a - y * z + (y * math.log(y) if y > 0 else 0.0) - y
        elif act == act_codes.SIGMOID:  # bce from the logit:
            # -[y log s(z) + (1 - y) log(1 - s(z))] = max(z, 0) - z y + log(1 + exp(-|z|))
            total += max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))
        else:  # bce on softmax outputs, clipped away from 0 and 1
            a = _clip(a)
            total -= y * math.log(a) + (1.0 - y) * math.log(1.0 - a)
    return total


def loss_value(loss, act, Z, A, Y, sample_weights=None):
    """The loss of a batch (see ``fastnn.losses``): sample i's loss times its weight, summed,
    over the scale; bce, cce and poisson from the logits when fused."""
    m, k = A.shape
    total = 0.0
    for i in range(m):
        w = 1.0 if sample_weights is None else float(sample_weights[i])
        total += w * _sample_loss(loss, act, Z, A, Y, i)
    return float(total / loss_codes.divisor(loss, sample_weights, m, k))


def output_delta(loss, act, Z, A, Y, sample_weights=None):
    """dL/dZ of the output layer: w_i (A - Y) / scale for the fused pairs, else dL/dA through
    f'."""
    m, k = A.shape
    fused = loss_codes.fused(loss, act)
    scale = loss_codes.divisor(loss, sample_weights, m, k)
    dA = np.empty_like(A)
    for i in range(m):
        w = 1.0 if sample_weights is None else float(sample_weights[i])
        for j in range(k):
            a, y = A[i, j], Y[i, j]
            if fused:
                dA[i, j] = w * (a - y) / scale
            elif loss in (loss_codes.MSE, loss_codes.SSE):
                dA[i, j] = w * 2.0 * (a - y) / scale
            elif _clip(a) == a:  # bce on softmax outputs
                dA[i, j] = w * (a - y) / (a * (1.0 - a)) / scale
            else:  # clipped: the loss is flat in a there
                dA[i, j] = 0.0
    if fused:
        return dA
    return activation_backward(act, Z, A, dA)


def correct_count(loss, A, Y):
    """bce: outputs on the right side of 0.5; cce: rows whose largest output is the target."""
    m, k = A.shape
    correct = 0
    for i in range(m):
        if loss == loss_codes.CCE:
            best = 0
            for j in range(1, k):
                if A[i, j] > A[i, best]:
                    best = j
            correct += 1 if Y[i, best] == 1 else 0
        elif loss == loss_codes.BCE:
            for j in range(k):
                predicted = 1.0 if A[i, j] > 0.5 else 0.0
                correct += 1 if predicted == Y[i, j] else 0
    return correct


def dual_backward(dZ, rows, W):
    """dW[k, j] = sum of dZ[r, j] over the r with rows[r] == k (0 elsewhere);
    db[j] = sum_r dZ[r, j]: a first layer in the dual form, whose input for the gradient is the
    one-hot row of each sample."""
    dW = np.zeros_like(W)
    db = np.zeros(W.shape[1], dtype=W.dtype)
    for r in range(len(rows)):
        for j in range(W.shape[1]):
            dW[rows[r], j] += dZ[r, j]
            db[j] += dZ[r, j]
    return dW, db


def l2_penalty(W, K):
    """sum_kj W[k, j]^2; with K (a dual first layer's Gram matrix):
    sum_j sum_kl W[k, j] K[k, l] W[l, j], the squared entries of the primal weights."""
    n_in, n_out = W.shape
    total = 0.0
    for j in range(n_out):
        for k in range(n_in):
            if K is None:
                total += float(W[k, j]) ** 2
                continue
            for i in range(n_in):
                total += float(W[k, j]) * float(K[k, i]) * float(W[i, j])
    return total


def optimizer_step(rule, params, grads):
    """One update of every parameter, in place; ``rule.step`` (t) advances first. Each new value
    is rounded to the parameters' dtype; the step's scalars are float64.

    SGD:     v = momentum v - lr g;  w = w + v   (Keras' momentum; plain when momentum is 0)
             Nesterov's: the same v, then w = w + momentum v - lr g
    Adam:    m = b1 m + (1 - b1) g;  s = b2 s + (1 - b2) g^2;
             w = w - lr_t m / (sqrt(s) + eps),  lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)
             (the bias corrections folded into the rate: Kingma & Ba's efficient form)
    AdamW:   w = (1 - lr wd) w, then Adam's step
    Nadam:   Adam's m and s; u_t = b1 (1 - 0.96^t / 2), P_t = u_1 ... u_t;
             w = w - lr [u_(t+1) m / (1 - P_t u_(t+1)) + (1 - u_t) g / (1 - P_t)]
                     / (sqrt(s / (1 - b2^t)) + eps)
    RMSprop: s = rho s + (1 - rho) g^2  (centered: a = rho a + (1 - rho) g, and s - a^2 under
             the root);  step = lr g / sqrt(s + eps);  p = momentum p + step, w = w - p
             (without momentum: w = w - step)
    Adagrad: s = s + g^2;  w = w - lr g / sqrt(s + eps)
    A parameter whose new value or state would not be finite keeps the old ones; the result
    says whether all were finite.
    """
    rule.step[0] += 1
    typed = params.dtype.type
    if rule.code not in (OPT_SGD, OPT_RMSPROP, OPT_ADAGRAD):
        c1, c2, c3, shrink = adam_scalars(rule)
    arrays = (params, rule.state1) + (() if rule.code == OPT_SGD else (rule.state2,)) + \
        ((rule.state3,) if len(rule.state3) else ())  # (what the rule updates)
    all_finite = True
    for i in range(len(params)):
        g, w = float(grads[i]), float(params[i])
        old = [float(array[i]) for array in arrays[1:]]
        if rule.code == OPT_SGD:
            v = _rounded(typed, rule.momentum * old[0] - rule.lr * g)
            step = _rounded(typed, rule.momentum * v - rule.lr * g) if rule.nesterov else v
            new = (_rounded(typed, w + step), v)
        elif rule.code in (OPT_RMSPROP, OPT_ADAGRAD):
            if rule.code == OPT_ADAGRAD:
                s = _rounded(typed, old[0] + g * g)
            else:
                s = _rounded(typed, rule.rho * old[0] + (1.0 - rule.rho) * g * g)
            a = _rounded(typed, rule.rho * old[1] + (1.0 - rule.rho) * g) if rule.centered \
                else old[1]
            under = _rounded(typed, (s - a * a if rule.centered else s) + rule.eps)
            step = _rounded(typed, rule.lr * g / math.sqrt(under)) if under >= 0 else math.nan
            p = _rounded(typed, rule.momentum * old[2] + step) if len(arrays) > 3 else step
            new = (_rounded(typed, w - p), s, a) + ((p,) if len(arrays) > 3 else ())
        else:
            m = _rounded(typed, rule.beta1 * old[0] + (1.0 - rule.beta1) * g)
            s = _rounded(typed, rule.beta2 * old[1] + (1.0 - rule.beta2) * g * g)
            root = _rounded(typed, _rounded(typed, math.sqrt(s / c3)) + rule.eps)
            new = (_rounded(typed, shrink * w - (c1 * m + c2 * g) / root), m, s)
        if not all(math.isfinite(x) for x in new):
            all_finite = False
            continue
        for array, value in zip(arrays, new):
            array[i] = value
    return all_finite


def _rounded(typed, x):
    """x rounded to the parameters' dtype (inf where it is beyond its range)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(typed(x))


def gram(A, B):
    """G[i, j] = sum_k A[i, k] B[j, k], in Python floats (float64)."""
    G = np.empty((A.shape[0], B.shape[0]), dtype=A.dtype)
    for i in range(A.shape[0]):
        for j in range(B.shape[0]):
            total = 0.0
            for k in range(A.shape[1]):
                total += float(A[i, k]) * float(B[j, k])
            G[i, j] = total
    return G


forward, evaluate, loss_and_gradients, train_epochs = _passes.bind(globals())


def compile_kernels(name, progress=None):
    """Nothing to compile (see the contract): returns {}."""
    return {}
