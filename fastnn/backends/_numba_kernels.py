"""Every compiled kernel of the numba backend, and all they depend on, in one module.

Numba's disk cache keys a kernel by the source of the file that holds it, not by the files of
the kernels it calls or the constants it reads: a kernel here that called one in another file
would keep running the old callee after an edit. So every ``@njit`` function, the compile
options and the constants live in this one file (the constants are written out; a test checks
them against ``fastnn.activations`` and ``fastnn.losses``), and an edit anywhere in it reaches
every kernel. ``_numba.py`` runs them; ``_numba_threads.py`` holds the threads and aligned memory.

The kernels mirror ``_loop.py``. Sections: element-wise math (activations, losses, optimizer
rules); whole networks sample by sample (the compiled epochs); products of large layers in
register tiles (each call computes one fixed chunk of outputs, so that chunks can run on threads).
"""

import math
import warnings

import numpy as np
from numba import njit, uint64

# The codes of fastnn.activations and fastnn.losses, and the optimizer rules of _ops.
LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX = 0, 1, 2, 3, 4, 5
LEAKY_SLOPE = 0.01
MSE, SSE, BCE, CCE = 0, 1, 2, 3
LOG_EPS = 1e-7
OPT_SGD, OPT_ADAM = 0, 1
# fastmath without "nnan"/"ninf": NaN and inf checks must keep working. Nor "nsz": with
# "reassoc" it lets LLVM fold np.isfinite(x) to True in vectorized loops (x - x == 0).
FASTMATH = frozenset({"contract", "arcp", "afn", "reassoc"})
_no_disk_cache: list = []  # the reason, once a kernel could not be cached on disk


def _jit(inline="never"):
    """njit with the backend's options; caches on disk, or compiles in memory where it can't
    (then one warning says so, not one per kernel). ``inline="always"`` inlines a per-sample
    helper into its caller at Numba's level, so the reference counts of the arrays it touches
    cancel out there."""

    def decorate(func):
        options = dict(fastmath=set(FASTMATH), error_model="numpy", nogil=True, inline=inline)
        if _no_disk_cache:
            return njit(**options)(func)
        try:
            return njit(cache=True, **options)(func)
        except RuntimeError as error:  # "no locator available": read-only install, no cache dir
            _no_disk_cache.append(error)
            warnings.warn(f"numba disk cache unavailable ({error}); fastnn's kernels compile in "
                          f"every process (set NUMBA_CACHE_DIR to a writable folder)",
                          RuntimeWarning, stacklevel=2)
            return njit(**options)(func)

    return decorate


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
# Pairs (losses.OUTPUTS): cce has a softmax output; bce a sigmoid (fused) or a softmax one.

@_jit()
def _loss_scale(loss, m, k):
    if loss == SSE:
        return 1.0
    if loss == CCE:
        return float(m)
    return float(m * k)


@_jit(inline="always")
def _sample_loss(loss, act, Z, zo, A, ao, Y, i, k):
    """One sample's loss before scaling; bce on a sigmoid and cce from the logits."""
    total = 0.0
    if loss == CCE:
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
        elif act == SIGMOID:  # bce from the logit
            z = float(Z[zo + j])
            total += max(z, 0.0) - z * y + np.log1p(np.exp(-abs(z)))
        else:  # bce on softmax outputs, clipped away from 0 and 1
            a = min(max(a, LOG_EPS), 1.0 - LOG_EPS)
            total -= y * np.log(a) + (1.0 - y) * np.log(1.0 - a)
    return total


@_jit(inline="always")
def _sample_delta(loss, act, Z, zo, A, ao, Y, i, k, scale, D, do):
    """dL/dZ of one sample's output units into D[do:do+k]; ``scale`` divides the batch loss."""
    fused = (loss == BCE and act == SIGMOID) or loss == CCE
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
def _loss_value(loss, act, Z, A, Y):
    m, k = A.shape
    total = 0.0
    for r in range(m):
        total += _sample_loss(loss, act, Z[r], 0, A[r], 0, Y, r, k)
    return total / _loss_scale(loss, m, k)


@_jit()
def _output_delta(loss, act, Z, A, Y, dZ):
    m, k = A.shape
    scale = _loss_scale(loss, m, k)
    for r in range(m):
        _sample_delta(loss, act, Z[r], 0, A[r], 0, Y, r, k, scale, dZ[r], 0)


@_jit()
def _correct_count(loss, A, Y):
    m, k = A.shape
    correct = 0
    for r in range(m):
        correct += _sample_correct(loss, A[r], 0, Y, r, k)
    return correct


# ---------------------------------------------------------------- optimizer rules
# ``rule`` is the contract's Rule. An element whose new value or new state would not be finite
# keeps the old ones (the update reports it and training stops): weights never become NaN.

@_jit()
def _rule_range(rule, params, grads, lo, hi):
    """One update of params[lo:hi] (``rule.step`` already advanced); 1 if all stayed finite."""
    ok = True
    typed = params.dtype.type
    if rule.code == OPT_SGD:
        for i in range(lo, hi):
            v = typed(rule.momentum * rule.first[i] - rule.lr * grads[i])
            w = params[i] + v
            good = np.isfinite(w) and np.isfinite(v)
            rule.first[i] = v if good else rule.first[i]
            params[i] = w if good else params[i]
            ok &= good
        return ok
    t = rule.step[0]
    correction1, correction2 = 1.0 - rule.beta1**t, 1.0 - rule.beta2**t
    for i in range(lo, hi):
        g = grads[i]
        m = typed(rule.beta1 * rule.first[i] + (1.0 - rule.beta1) * g)
        s = typed(rule.beta2 * rule.second[i] + (1.0 - rule.beta2) * g * g)
        w = typed(params[i] - rule.lr * (m / correction1) / (math.sqrt(s / correction2)
                                                            + rule.eps))
        good = np.isfinite(w) and np.isfinite(m) and np.isfinite(s)
        rule.first[i] = m if good else rule.first[i]
        rule.second[i] = s if good else rule.second[i]
        params[i] = w if good else params[i]
        ok &= good
    return ok


# ---------------------------------------------------------------- whole networks
# One int64 table describes the layers; parameters are read from ``flat`` by offset. Two engines
# run a batch through it in compiled code: sample by sample (loops over a layer's few units; one
# small buffer in L1, no allocation: per-sample SGD) and a batch at a time (loops over the batch,
# long and vectorized). The second also serves inference and the small layers after a wide one.

N_IN, N_OUT, ACT, BIAS, W_AT, U_AT = 0, 1, 2, 3, 4, 5  # columns of the layer table


@_jit()
def _layer_table(net):
    """(layers, 6) int64: n_in, n_out, activation, bias, offset of W in flat, offset of the
    layer's units among all units. A slice ``[first:]`` describes the layers from ``first`` on."""
    table = np.empty((net.acts.shape[0], 6), np.int64)
    w, u = 0, 0
    for layer in range(table.shape[0]):
        n_in, n_out = net.sizes[layer], net.sizes[layer + 1]
        table[layer] = (n_in, n_out, net.acts[layer], net.biases[layer], w, u)
        w += n_in * n_out + n_out
        u += n_out
    return table


@_jit(inline="always")
def _zero_gradients(table, grads):
    """grads = 0 for the table's layers (the parameters before them are left alone)."""
    for p in range(table[0, W_AT], grads.shape[0]):  # (a slice assignment would make a view)
        grads[p] = 0


# ---- sample by sample

@_jit()
def _scratch(table, example):
    """One buffer: Z and A of every unit, then two delta segments as wide as the widest layer.
    Returns (buffer, z_at, a_at, d_at, e_at)."""
    units = table[-1, U_AT] + table[-1, N_OUT]
    widest = max(table[:, N_OUT].max(), table[:, N_IN].max())
    buffer = np.empty(2 * units + 2 * widest, example.dtype)
    return buffer, 0, units, 2 * units, 2 * units + widest


@_jit(inline="always")
def _sample_forward(flat, table, X, i, S, z_at, a_at):
    """One sample, X[i], through every layer into S[z_at + unit], S[a_at + unit]."""
    for layer in range(table.shape[0]):
        n_in, n_out, act = table[layer, N_IN], table[layer, N_OUT], table[layer, ACT]
        wo, zo = table[layer, W_AT], table[layer, U_AT]
        io = a_at + table[layer - 1, U_AT] if layer > 0 else 0
        zs = uint64(z_at + zo)
        for j in range(uint64(n_out)):
            S[zs + j] = flat[uint64(wo + n_in * n_out) + j]
        for k in range(n_in):  # row k of W is contiguous: the j loop vectorizes (unsigned
            x = X[i, k] if layer == 0 else S[io + k]  # indices: no wraparound checks)
            w = uint64(wo + k * n_out)
            for j in range(uint64(n_out)):
                S[zs + j] += x * flat[w + j]
        _activate_segment(act, S, zs, S, a_at + zo, n_out)


@_jit(inline="always")
def _row_dot(flat, w, S, d, n):
    """sum_j S[d + j] flat[w + j] for j < n: a row of W times a delta segment."""
    w, d = uint64(w), uint64(d)
    total = S.dtype.type(0)
    for j in range(uint64(n)):
        total += S[d + j] * flat[w + j]
    return total


@_jit(inline="always")
def _sample_backward(flat, table, dual, X, i, S, z_at, a_at, d_at, e_at, grads):
    """Add the gradients of sample X[i] to ``grads``; S[d_at:] holds dL/dZ of the output. In
    the dual form the first layer's weight gradient is dL/dZ on its row i (``dual_backward``)."""
    for layer in range(table.shape[0] - 1, -1, -1):
        n_in, n_out = table[layer, N_IN], table[layer, N_OUT]
        wo = table[layer, W_AT]
        io = table[layer - 1, U_AT] if layer > 0 else 0
        d = uint64(d_at)
        if layer == 0 and dual:
            w = uint64(wo + i * n_out)
            for j in range(uint64(n_out)):
                grads[w + j] += S[d + j]
        else:
            for k in range(n_in):
                a = X[i, k] if layer == 0 else S[a_at + io + k]
                w = uint64(wo + k * n_out)
                for j in range(uint64(n_out)):
                    grads[w + j] += a * S[d + j]
        if table[layer, BIAS]:
            w = uint64(wo + n_in * n_out)
            for j in range(uint64(n_out)):
                grads[w + j] += S[d + j]
        if layer == 0:
            break
        for k in range(n_in):
            S[e_at + k] = _row_dot(flat, wo + k * n_out, S, d, n_out)
        _activation_backward_segment(table[layer - 1, ACT], S, z_at + io, S, a_at + io, S, e_at,
                                     n_in)
        d_at, e_at = e_at, d_at


@_jit()
def _batch_gradients(flat, table, dual, loss, X, Y, rows, scratch, grads):
    """``(loss, correct)`` of the batch X[rows] with its targets Y[rows], sample by sample;
    its gradient into ``grads``."""
    S, z_at, a_at, d_at, e_at = scratch
    last = table.shape[0] - 1
    k, o, act = table[last, N_OUT], table[last, U_AT], table[last, ACT]
    scale = _loss_scale(loss, rows.shape[0], k)
    _zero_gradients(table, grads)
    value = 0.0
    correct = 0
    for r in range(rows.shape[0]):
        i = rows[r]
        _sample_forward(flat, table, X, i, S, z_at, a_at)
        value += _sample_loss(loss, act, S, z_at + o, S, a_at + o, Y, i, k)
        correct += _sample_correct(loss, S, a_at + o, Y, i, k)
        _sample_delta(loss, act, S, z_at + o, S, a_at + o, Y, i, k, scale, S, d_at)
        _sample_backward(flat, table, dual, X, i, S, z_at, a_at, d_at, e_at, grads)
    return value / scale, correct


# ---- a batch at a time, features first: Zt[unit, r], At[unit, r] for the batch's sample r

@_jit()
def _columns(table, example, batch):
    """The work arrays for batches of up to ``batch`` samples: Zt and At (units, batch), two
    delta blocks D and E (widest, batch), a column buffer, and, where the first layer is large,
    its weights transposed WT and the batch's first products Z1 (batch, n_1), made by tiles."""
    units = table[-1, U_AT] + table[-1, N_OUT]
    widest = max(table[:, N_OUT].max(), table[:, N_IN].max())
    Zt = np.empty((units, batch), example.dtype)
    D = np.empty((widest, batch), example.dtype)
    n_in, n_out = table[0, N_IN], table[0, N_OUT]
    tiles = batch >= 2 and n_in * n_out > SMALL_LAYER
    WT = np.empty((n_out if tiles else 0, n_in), example.dtype)
    Z1 = np.empty((batch if tiles else 0, n_out), example.dtype)
    return (Zt, np.empty_like(Zt), D, np.empty_like(D), np.empty(3 * widest, example.dtype),
            WT, Z1)


@_jit()
def _activate_rows(act, Zt, At, u, n, m, col):
    """At[u:u+n, :m] = f(Zt[u:u+n, :m]): row by row, but softmax sample by sample."""
    if act != SOFTMAX:
        for j in range(n):
            _activate_segment(act, Zt[u + j], 0, At[u + j], 0, m)
        return
    for r in range(m):
        for j in range(n):
            col[j] = Zt[u + j, r]
        _activate_segment(act, col, 0, col, n, n)
        for j in range(n):
            At[u + j, r] = col[n + j]


@_jit()
def _backward_rows(act, Zt, At, u, E, n, m, col):
    """E[:n, :m] *= f'(Zt[u:u+n, :m]) (E holds dL/dA): row by row, but softmax by samples."""
    if act != SOFTMAX:
        for j in range(n):
            _activation_backward_segment(act, Zt[u + j], 0, At[u + j], 0, E[j], 0, m)
        return
    for r in range(m):
        for j in range(n):
            col[j], col[n + j] = At[u + j, r], E[j, r]
        _activation_backward_segment(act, col, 0, col, 0, col, n, n)
        for j in range(n):
            E[j, r] = col[n + j]


@_jit()
def _columns_forward(flat, table, X, rows, work):
    """Zt, At of every layer for the batch X[rows]."""
    Zt, At, _, _, col, WT, Z1 = work
    m = rows.shape[0]
    n_in, n_out, wo, u = table[0, N_IN], table[0, N_OUT], table[0, W_AT], table[0, U_AT]
    if Z1.shape[0] > 0:  # the first layer by tiles
        for k in range(n_in):
            for j in range(n_out):
                WT[j, k] = flat[wo + k * n_out + j]
        for r in range(m):
            for j in range(n_out):
                Z1[r, j] = flat[wo + n_in * n_out + j]
        _matmul_nt_rows(X, rows, WT, Z1)
        for r in range(m):
            for j in range(n_out):
                Zt[u + j, r] = Z1[r, j]
    else:  # sample by sample, W's rows contiguous
        for r in range(m):
            i = rows[r]
            for j in range(n_out):
                col[j] = flat[wo + n_in * n_out + j]
            for k in range(n_in):
                x, w = X[i, k], uint64(wo + k * n_out)
                for j in range(uint64(n_out)):
                    col[j] += x * flat[w + j]
            for j in range(n_out):
                Zt[u + j, r] = col[j]
    _activate_rows(table[0, ACT], Zt, At, u, n_out, m, col)
    for layer in range(1, table.shape[0]):
        n_in, n_out, wo = table[layer, N_IN], table[layer, N_OUT], table[layer, W_AT]
        u, p = table[layer, U_AT], table[layer - 1, U_AT]
        for j in range(n_out):
            bias = flat[wo + n_in * n_out + j]
            for r in range(m):
                Zt[u + j, r] = bias
            for k in range(n_in):
                w = flat[wo + k * n_out + j]
                for r in range(m):
                    Zt[u + j, r] += w * At[p + k, r]
        _activate_rows(table[layer, ACT], Zt, At, u, n_out, m, col)


@_jit()
def _columns_loss(loss, table, Y, rows, work, each):
    """``(loss, correct)`` of the batch (targets Y[rows]) from the last layer's Zt, At, sample
    by sample; dL/dZ of the output into D; each sample's loss (unscaled) into ``each`` if it
    has room."""
    Zt, At, D, _, col, _, _ = work
    m = rows.shape[0]
    last = table.shape[0] - 1
    k, o, act = table[last, N_OUT], table[last, U_AT], table[last, ACT]
    scale = _loss_scale(loss, m, k)
    value = 0.0
    correct = 0
    for r in range(m):
        i = rows[r]
        for j in range(k):
            col[j], col[k + j] = Zt[o + j, r], At[o + j, r]
        sample = _sample_loss(loss, act, col, 0, col, k, Y, i, k)
        value += sample
        if each.shape[0] > 0:
            each[r] = sample
        correct += _sample_correct(loss, col, k, Y, i, k)
        _sample_delta(loss, act, col, 0, col, k, Y, i, k, scale, col, 2 * k)
        for j in range(k):
            D[j, r] = col[2 * k + j]
    return value / scale, correct


@_jit()
def _columns_backward(flat, table, dual, X, rows, work, grads, dX):
    """The gradients of the table's layers into ``grads`` (zero before), from dL/dZ of the
    output in D; in the dual form the first layer's goes to the samples' rows. dX[r] =
    dL/dX[rows[r]] if dX has rows."""
    Zt, At, D, E, col, _, _ = work
    m = rows.shape[0]
    _zero_gradients(table, grads)
    for layer in range(table.shape[0] - 1, -1, -1):
        n_in, n_out, wo = table[layer, N_IN], table[layer, N_OUT], table[layer, W_AT]
        if table[layer, BIAS]:
            for j in range(n_out):
                total = D.dtype.type(0)
                for r in range(m):
                    total += D[j, r]
                grads[wo + n_in * n_out + j] = total
        if layer == 0:
            for r in range(m):
                i = rows[r]
                if dual:  # the gradient goes to the sample's row of C
                    for j in range(n_out):
                        grads[wo + i * n_out + j] += D[j, r]
                    continue
                for j in range(n_out):
                    col[j] = D[j, r]
                for k in range(n_in):
                    x, w = X[i, k], uint64(wo + k * n_out)
                    for j in range(uint64(n_out)):
                        grads[w + j] += x * col[j]
                if dX.shape[0] > 0:
                    for k in range(n_in):
                        dX[r, k] = _row_dot(flat, wo + k * n_out, col, 0, n_out)
            return
        p = table[layer - 1, U_AT]
        for kk in range(n_in):
            for j in range(n_out):
                total = D.dtype.type(0)
                for r in range(m):
                    total += At[p + kk, r] * D[j, r]
                grads[wo + kk * n_out + j] = total
            for r in range(m):
                E[kk, r] = 0
            for j in range(n_out):
                w = flat[wo + kk * n_out + j]
                for r in range(m):
                    E[kk, r] += w * D[j, r]
        _backward_rows(table[layer - 1, ACT], Zt, At, p, E, n_in, m, col)
        D, E = E, D


@_jit()
def _forward_chunk(flat, net, X, Z, A, lo, hi):
    """Z[r], A[r] = the output layer's Z and A for X[r], lo <= r < hi, a batch at a time."""
    table = _layer_table(net)
    rows = np.arange(lo, hi)
    work = _columns(table, flat, hi - lo)
    _columns_forward(flat, table, X, rows, work)
    o, k = table[-1, U_AT], table[-1, N_OUT]
    for r in range(hi - lo):
        for j in range(k):
            Z[lo + r, j], A[lo + r, j] = work[0][o + j, r], work[1][o + j, r]


@_jit()
def _evaluate_chunk(flat, net, loss, X, Y, each, lo, hi):
    """The loss of each sample lo <= r < hi into each[r] (unscaled); returns their correct
    predictions."""
    table = _layer_table(net)
    rows = np.arange(lo, hi)
    work = _columns(table, flat, hi - lo)
    _columns_forward(flat, table, X, rows, work)
    return _columns_loss(loss, table, Y, rows, work, each[lo:hi])[1]


@_jit()
def _gradients_columns(flat, net, first, loss, X, rows, Y, grads, dX):
    """``(loss, correct)`` of the batch X[rows], Y[rows] through the layers from ``first`` on (X
    their input): their gradients into ``grads``, dL/dX into dX (m, n) if it has rows."""
    table = _layer_table(net)[first:]
    m = rows.shape[0]
    work = _columns(table, flat, m)
    _columns_forward(flat, table, X, rows, work)
    value, correct = _columns_loss(loss, table, Y, rows, work, np.empty(0))
    _columns_backward(flat, table, net.dual if first == 0 else 0, X, rows, work, grads, dX)
    return value, correct


# ---- whole epochs

@_jit(inline="always")
def _epochs(flat, net, loss, X, Y, orders, batch_size, rule, out, columns):
    """One epoch of updates per row of ``orders``, batches, layers and optimizer in one
    compiled call: the contract's ``train_epochs``, a batch at a time (``columns``) or sample
    by sample. ``columns`` is a constant in each caller, so each compiles one engine only."""
    table = _layer_table(net)
    batch = min(batch_size, orders.shape[1])
    scratch = _scratch(table, flat)
    work = _columns(table, flat, batch if columns else 0)
    grads = np.empty_like(flat)
    no_input_gradient = np.empty((0, 0), flat.dtype)
    no_losses = np.empty(0)  # (float64, as evaluate's: one compiled _columns_loss)
    n = orders.shape[1]
    for e in range(orders.shape[0]):
        total = 0.0
        correct = 0
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            rows = orders[e][start:stop]
            if columns:
                _columns_forward(flat, table, X, rows, work)
                value, batch_correct = _columns_loss(loss, table, Y, rows, work, no_losses)
                _columns_backward(flat, table, net.dual, X, rows, work, grads, no_input_gradient)
            else:
                value, batch_correct = _batch_gradients(flat, table, net.dual, loss, X, Y, rows,
                                                        scratch, grads)
            if not np.isfinite(value):  # stop before this batch's update
                out[e, 0], out[e, 1] = value, correct
                return e
            correct += batch_correct
            total += value if loss == SSE else value * (stop - start)
            rule.step[0] += 1
            if not _rule_range(rule, flat, grads, 0, flat.shape[0]):
                out[e, 0], out[e, 1] = value, correct
                return e
        out[e, 0], out[e, 1] = (total if loss == SSE else total / n), correct
    return orders.shape[0]


@_jit()
def _train_epochs_samples(flat, net, loss, X, Y, orders, batch_size, rule, out):
    return _epochs(flat, net, loss, X, Y, orders, batch_size, rule, out, False)


@_jit()
def _train_epochs_columns(flat, net, loss, X, Y, orders, batch_size, rule, out):
    return _epochs(flat, net, loss, X, Y, orders, batch_size, rule, out, True)


# ---------------------------------------------------------------- products (register tiles)
# C[i, j] += sum_t A[rows[i], t] B[j, t]: both operands are read along contiguous rows, and a
# 2 x 4 tile of C stays in registers over a block of t (8 independent sums that LLVM vectorizes
# along t), so each loaded value feeds two or four multiply-adds. (Measured on AVX2: 2 x 4 tiles
# 11.7 GMAC/s a core in float64, 23 in float32, against 9.4 and 20.5 for 4 x 4, whose 16 sums
# and 8 loads outgrow the 16 vector registers; blocks of 2048 values of t best of 128-12288.)
# One routine serves the forward product (A = inputs, B = W transposed) and the input gradient
# (A = dZ, B = W); the weight gradient has tiles of its own (``_gradient_block``). Indices are
# unsigned so that Numba adds no negative-index wraparound, which would stop the vectorizer; no
# views are made, since two threads taking views of one array contend for its reference count.

T_BLOCK = 2048  # values of a row of A and B per block of the reduction
SMALL_LAYER = 256  # n_in * n_out up to which plain loops beat the tiles
BLOCK_BYTES = 2048  # of a row of X per block of inputs (256 float64 or 512 float32 values)
ALIGN = 64  # bytes: a cache line, one 512-bit vector


@_jit(inline="always")
def _aligned_matrix(rows, cols, example):
    """An empty (rows, cols) array like ``example``'s dtype, its data aligned to ALIGN bytes."""
    size = example.itemsize
    raw = np.empty(rows * cols + ALIGN // size, example.dtype)
    offset = (ALIGN - raw.ctypes.data % ALIGN) % ALIGN // size
    return raw[offset:offset + rows * cols].reshape((rows, cols))


@_jit(inline="always")
def _tile2x4(A, rows, i, B, j, t0, t1, C):
    """C[i:i+2, j:j+4] += A[rows[i:i+2], t0:t1] @ B[j:j+4, t0:t1].T"""
    a0, a1 = uint64(rows[i]), uint64(rows[i + 1])
    b0, b1, b2, b3 = uint64(j), uint64(j + 1), uint64(j + 2), uint64(j + 3)
    z = A.dtype.type(0)
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = z
    for t in range(uint64(t0), uint64(t1)):
        x0, x1 = A[a0, t], A[a1, t]
        y0, y1, y2, y3 = B[b0, t], B[b1, t], B[b2, t], B[b3, t]
        s00 += x0 * y0
        s01 += x0 * y1
        s02 += x0 * y2
        s03 += x0 * y3
        s10 += x1 * y0
        s11 += x1 * y1
        s12 += x1 * y2
        s13 += x1 * y3
    C[i, j] += s00
    C[i, j + 1] += s01
    C[i, j + 2] += s02
    C[i, j + 3] += s03
    C[i + 1, j] += s10
    C[i + 1, j + 1] += s11
    C[i + 1, j + 2] += s12
    C[i + 1, j + 3] += s13


@_jit(inline="always")
def _dot1(A, a, B, b, t0, t1):
    """sum_t A[a, t] B[b, t] over t0 <= t < t1."""
    a, b = uint64(a), uint64(b)
    total = A.dtype.type(0)
    for t in range(uint64(t0), uint64(t1)):
        total += A[a, t] * B[b, t]
    return total


@_jit(inline="always")
def _tile2x1(A, rows, i, B, j, t0, t1, C):
    """C[i:i+2, j] += A[rows[i:i+2], t0:t1] @ B[j, t0:t1]: an edge column, two sums."""
    a0, a1, b = uint64(rows[i]), uint64(rows[i + 1]), uint64(j)
    s0 = s1 = A.dtype.type(0)
    for t in range(uint64(t0), uint64(t1)):
        y = B[b, t]
        s0 += A[a0, t] * y
        s1 += A[a1, t] * y
    C[i, j] += s0
    C[i + 1, j] += s1


@_jit()
def _matmul_nt_rows(A, rows, B, C):
    """C[i, :] += A[rows[i]] @ B.T for every i (2 x 4 tiles, then edges), the reduction in
    blocks of T_BLOCK."""
    n, width = B.shape
    m = rows.shape[0]
    for t0 in range(0, width, T_BLOCK):
        t1 = min(t0 + T_BLOCK, width)
        i = 0
        while i + 2 <= m:
            j = 0
            while j + 4 <= n:
                _tile2x4(A, rows, i, B, j, t0, t1, C)
                j += 4
            for edge in range(j, n):
                _tile2x1(A, rows, i, B, edge, t0, t1, C)
            i += 2
        for rest in range(i, m):
            for j in range(n):
                C[rest, j] += _dot1(A, rows[rest], B, j, t0, t1)


@_jit()
def _transpose_into(W, WT, lo, hi):
    """WT[:, lo:hi] = W[lo:hi].T, in blocks of 64 rows of W, so reads and writes stay in cache."""
    n_out = W.shape[1]
    for k0 in range(lo, hi, 64):
        k1 = min(k0 + 64, hi)
        for j in range(n_out):
            for k in range(k0, k1):
                WT[j, k] = W[k, j]


@_jit()
def _dense_forward_chunk(X, rows, W, b, act, WT, Z, A, r0, r1):
    """Z[r] = X[rows[r]] @ W + b;  A = f(Z), for r0 <= r < r1. Large layers read WT, W
    transposed (n_out, n_in), so both tile operands are read along rows."""
    n_in, n_out = W.shape
    if n_in * n_out <= SMALL_LAYER:
        for r in range(r0, r1):
            x = X[rows[r]]
            for j in range(n_out):
                z = b[j]
                for k in range(n_in):
                    z += x[k] * W[k, j]
                Z[r, j] = z
    else:
        for r in range(r0, r1):
            Z[r] = b
        _matmul_nt_rows(X, rows[r0:r1], WT, Z[r0:r1])
    _activate(act, Z[r0:r1], A[r0:r1])


@_jit()
def _dense_backward_input_chunk(dZ, W, dX, ident, r0, r1):
    """dX[r] = dZ[r] @ W.T for r0 <= r < r1: the forward's tiles, with W's rows as the second
    operand (``ident`` = arange(m): the tiles read their first operand through a row index)."""
    n_in, n_out = W.shape
    if n_in * n_out <= SMALL_LAYER:
        for r in range(r0, r1):
            for k in range(n_in):
                total = dX.dtype.type(0)
                for j in range(n_out):
                    total += dZ[r, j] * W[k, j]
                dX[r, k] = total
    else:
        dX[r0:r1] = 0
        _matmul_nt_rows(dZ, ident[r0:r1], W, dX[r0:r1])


@_jit(inline="always")
def _gradient_tile6x2(X, rows, r, dZ, j, kb, w, G):
    """G[j:j+2, t] += sum over six samples X[rows[r+s], kb+t] dZ[r+s, j:j+2], t < w: twelve
    multiply-adds per six loads of X and two of G, vectorized along t."""
    i0, i1, i2 = uint64(rows[r]), uint64(rows[r + 1]), uint64(rows[r + 2])
    i3, i4, i5 = uint64(rows[r + 3]), uint64(rows[r + 4]), uint64(rows[r + 5])
    a0, b0, a1, b1 = dZ[r, j], dZ[r, j + 1], dZ[r + 1, j], dZ[r + 1, j + 1]
    a2, b2, a3, b3 = dZ[r + 2, j], dZ[r + 2, j + 1], dZ[r + 3, j], dZ[r + 3, j + 1]
    a4, b4, a5, b5 = dZ[r + 4, j], dZ[r + 4, j + 1], dZ[r + 5, j], dZ[r + 5, j + 1]
    g0, g1 = uint64(j), uint64(j + 1)
    k = uint64(kb)
    for t in range(w):
        x0, x1, x2 = X[i0, k + t], X[i1, k + t], X[i2, k + t]
        x3, x4, x5 = X[i3, k + t], X[i4, k + t], X[i5, k + t]
        G[g0, t] += x0 * a0 + x1 * a1 + x2 * a2 + x3 * a3 + x4 * a4 + x5 * a5
        G[g1, t] += x0 * b0 + x1 * b1 + x2 * b2 + x3 * b3 + x4 * b4 + x5 * b5


@_jit(inline="always")
def _gradient_tile6x1(X, rows, r, dZ, j, kb, w, G):
    """G[j, t] += sum over six samples X[rows[r+s], kb+t] dZ[r+s, j]: an odd last output."""
    i0, i1, i2 = uint64(rows[r]), uint64(rows[r + 1]), uint64(rows[r + 2])
    i3, i4, i5 = uint64(rows[r + 3]), uint64(rows[r + 4]), uint64(rows[r + 5])
    a0, a1, a2 = dZ[r, j], dZ[r + 1, j], dZ[r + 2, j]
    a3, a4, a5 = dZ[r + 3, j], dZ[r + 4, j], dZ[r + 5, j]
    g, k = uint64(j), uint64(kb)
    for t in range(w):
        G[g, t] += (X[i0, k + t] * a0 + X[i1, k + t] * a1 + X[i2, k + t] * a2
                    + X[i3, k + t] * a3 + X[i4, k + t] * a4 + X[i5, k + t] * a5)


@_jit(inline="always")
def _gradient_block(X, rows, dZ, G, kb, w):
    """G[:, :w] = (X[rows, kb:kb+w].T @ dZ).T: the weight gradient of w inputs, transposed
    (n_out, w), so that 6 x 2 tiles of samples x outputs add into it along the inputs."""
    m, n_out = dZ.shape
    w = uint64(w)
    for j in range(n_out):
        for t in range(w):
            G[j, t] = 0
    r = 0
    while r + 6 <= m:
        j = 0
        while j + 2 <= n_out:
            _gradient_tile6x2(X, rows, r, dZ, j, kb, w, G)
            j += 2
        if j < n_out:
            _gradient_tile6x1(X, rows, r, dZ, j, kb, w, G)
        r += 6
    for s in range(r, m):
        i, k = uint64(rows[s]), uint64(kb)
        for j in range(n_out):
            d, g = dZ[s, j], uint64(j)
            for t in range(w):
                G[g, t] += X[i, k + t] * d


@_jit()
def _dense_backward_weights_chunk(X, rows, dZ, dW, b0, b1):
    """dW[k] = sum_r X[rows[r], k] dZ[r] for the inputs k of blocks b0 <= blk < b1 (a block:
    BLOCK_BYTES of a row of X). X is read in place, whatever the rows; G stays in cache."""
    n_in, n_out = dW.shape
    width = BLOCK_BYTES // X.itemsize
    G = _aligned_matrix(n_out, width, dW)
    for blk in range(b0, b1):
        kb = blk * width
        w = min(width, n_in - kb)
        _gradient_block(X, rows, dZ, G, kb, w)
        for t in range(w):
            for j in range(n_out):
                dW[kb + t, j] = G[j, t]


@_jit()
def _rows_gradient(dZ, rows, dW):
    """dW = 0;  dW[rows[r]] += dZ[r]: the dual form's first-layer weight gradient."""
    dW[...] = 0
    for r in range(dZ.shape[0]):
        for j in range(dZ.shape[1]):
            dW[rows[r], j] += dZ[r, j]


@_jit()
def _column_sums_into(dZ, db):
    db[:] = 0
    for r in range(dZ.shape[0]):
        db += dZ[r]
