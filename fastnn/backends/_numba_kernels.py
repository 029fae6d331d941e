"""Every compiled kernel of the numba backend, and all they depend on, in one module.

Numba's disk cache keys a kernel by the source of the file that holds it, not by the files of
the kernels it calls or the constants it reads: a kernel here that called one in another file
would keep running the old callee after an edit. So every ``@njit`` function, the compile
options and the constants live in this one file (the constants are written out; a test checks
them against ``fastnn.activations`` and ``fastnn.losses``), and an edit anywhere in it reaches
every kernel. The one exception is dropout's generator, written once for every backend in
``fastnn/dropout.py`` and compiled from there (``register_jitable``): that file is part of
every kernel's cache key (``_numba_cache``). ``_numba.py`` runs them.

One engine: a batch at a time, samples as rows (like the numpy backend), every product through
``_product`` (BLAS from compiled code: NumPy's own gemm, ``_blas``; plain loops for tiny ones), the
element-wise work (bias, activation and its derivative, loss and its delta, bias sums, the
optimizer's update) in loops around the products. The same batch step serves training (whole
epochs in one call), inference, evaluation and gradients. The kernels mirror ``_loop.py``.
"""

import inspect
import warnings

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic, overload, register_jitable
from numba.np.arrayobj import make_array, populate_array

from .. import dropout
from . import _blas, _numba_cache

for _generator in (dropout.mix, dropout.sample_stream, dropout.uniform):
    register_jitable(_generator)  # (compiled where a kernel calls it; still plain Python)

# The codes of fastnn.activations and fastnn.losses, and the optimizer rules of fastnn.network.
LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX, EXP = 0, 1, 2, 3, 4, 5, 6
LEAKY_SLOPE = 0.01
MSE, SSE, BCE, CCE, POISSON = 0, 1, 2, 3, 4
LOG_EPS = 1e-7
OPT_SGD, OPT_ADAM, OPT_RMSPROP, OPT_ADAGRAD, OPT_ADAMW, OPT_NADAM = 0, 1, 2, 3, 4, 5
# fastmath without "nnan"/"ninf": NaN and inf checks must keep working. Nor "nsz": with
# "reassoc" it lets LLVM fold np.isfinite(x) to True in vectorized loops (x - x == 0).
FASTMATH = frozenset({"contract", "arcp", "afn", "reassoc"})
# Multiply-adds of a product below which compiled loops beat a BLAS call (its fixed cost).
BLAS_MIN_WORK = 512
CHUNK_ROWS = 1024  # rows per batch when inference and evaluation walk through X
# Flags and indices that a kernel passes to another as constants. A literal (0, False) is a
# type of its own to Numba: a function called with one and elsewhere with a variable compiles
# twice. NumPy scalars are typed as plain int64.
NO, YES = np.int64(0), np.int64(1)
_no_disk_cache: list = []  # once no cache folder can be used: warned about once


def _jit(func=None, inline="never", nrt=False):
    """njit with the backend's options, cached on disk (``_numba_cache.KernelCache``), or
    compiled in memory where no cache folder can be used (then one warning says so).

    ``nrt``: Numba's reference counting of arrays. Only the entry points allocate (their work
    arrays, ``np.arange``): the kernels below them take those arrays and views of them, which
    live as long as the entry point's call, and count nothing (an atomic increment and
    decrement per array argument of each call and per view took ~40 % of a per-sample step)."""
    if func is None:
        return lambda f: _jit(f, inline, nrt)
    kernel = njit(fastmath=set(FASTMATH), error_model="numpy", nogil=True, inline=inline,
                  _nrt=nrt)(func)
    if not _numba_cache.enable(kernel) and not _no_disk_cache:
        _no_disk_cache.append(func.__name__)
        warnings.warn("no folder for the numba disk cache can be used here; fastnn's kernels "
                      "compile in every process (set NUMBA_CACHE_DIR to a writable folder)",
                      RuntimeWarning, stacklevel=2)
    return kernel


# ---------------------------------------------------------------- products
# C = A @ B, C = A.T @ B, C = A @ B.T on C-contiguous 2-D arrays of one dtype, by the gemm of
# NumPy's own BLAS (``_blas``: one thread pool in the process), declared here as external
# functions by name (which keeps the kernels cacheable): the ILP64 CBLAS signature.

def _gemm_signature(real):
    i32, i64, ptr = types.int32, types.int64, types.voidptr
    return types.void(i32, i32, i32, i64, i64, i64, real, ptr, i64, ptr, i64, real, ptr, i64)


_DGEMM = types.ExternalFunction("fastnn_dgemm", _gemm_signature(types.float64))
_SGEMM = types.ExternalFunction("fastnn_sgemm", _gemm_signature(types.float32))
BLAS = _blas.register(_DGEMM, _SGEMM)  # whose BLAS the kernels call: "numpy" or "scipy"
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS' enums


@intrinsic
def _address(typingctx, array):
    """The address of an array's first element (a void pointer, for BLAS)."""
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        data = make_array(signature.args[0])(context, builder, args[0]).data
        return builder.bitcast(data, cgutils.voidptr_t)

    return types.voidptr(array), codegen


@_jit
def _gemm(A, trans_a, B, trans_b, C):
    """C = op(A) @ op(B), op(M) = M.T where asked (1) else M (0): A, B and C row-major, each
    row stored contiguously (C-contiguous arrays, or row ranges of one)."""
    m, n = C.shape
    k = A.shape[0] if trans_a else A.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:
        _zero(C)
        return
    lda, ldb = max(1, A.strides[0] // A.itemsize), max(1, B.strides[0] // B.itemsize)
    ldc = max(1, C.strides[0] // C.itemsize)
    ta, tb = TRANS if trans_a else NO_TRANS, TRANS if trans_b else NO_TRANS
    if C.itemsize == 8:
        _DGEMM(ROW_MAJOR, ta, tb, m, n, k, 1.0, _address(A), lda, _address(B), ldb, 0.0,
               _address(C), ldc)
    else:
        _SGEMM(ROW_MAJOR, ta, tb, m, n, k, np.float32(1), _address(A), lda, _address(B), ldb,
               np.float32(0), _address(C), ldc)


@_jit
def _zero(C):
    """C = 0, C (m, n)."""
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            C[i, j] = 0


@_jit
def _column_sums(D, db, bias):
    """db = the column sums of D (m, n) where the layer has a bias (``bias``), else 0."""
    for j in range(db.shape[0]):
        db[j] = 0
    if bias:
        for r in range(D.shape[0]):
            for j in range(db.shape[0]):
                db[j] += D[r, j]


@_jit
def _product(A, B, C):
    """C = A @ B: A (m, k), B (k, n), C (m, n)."""
    m, k = A.shape
    n = B.shape[1]
    if m * k * n >= BLAS_MIN_WORK:
        _gemm(A, NO, B, NO, C)
        return
    for i in range(m):
        for j in range(n):
            C[i, j] = 0
        for t in range(k):
            a = A[i, t]
            for j in range(n):
                C[i, j] += a * B[t, j]


@_jit
def _product_tn(A, B, C):
    """C = A.T @ B: A (m, k), B (m, n), C (k, n) (a weight gradient)."""
    m, k = A.shape
    n = B.shape[1]
    if m * k * n >= BLAS_MIN_WORK:
        _gemm(A, YES, B, NO, C)
        return
    _zero(C)
    for i in range(m):
        for t in range(k):
            a = A[i, t]
            for j in range(n):
                C[t, j] += a * B[i, j]


@_jit
def _product_nt(A, B, C):
    """C = A @ B.T: A (m, n), B (k, n), C (m, k) (an input gradient)."""
    m, n = A.shape
    k = B.shape[0]
    if m * k * n >= BLAS_MIN_WORK:
        _gemm(A, NO, B, YES, C)
        return
    for i in range(m):
        for t in range(k):
            total = A.dtype.type(0)
            for j in range(n):
                total += A[i, j] * B[t, j]
            C[i, t] = total


# ---------------------------------------------------------------- activations
# Each branches once on the code, then loops over the block's rows r and units j (indexing the
# 2-D arrays: no row views, whose reference counts cost more than the work on small layers).

@_jit
def _sigmoid(z):
    """1 / (1 + exp(-z)) for a float64 z, without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@_jit
def _activate(act, Z, A):
    """A = f(Z), Z and A (m, n); softmax: A_rj = exp(Z_rj - max_k Z_rk) / sum_k exp(...)."""
    m, n = Z.shape
    if act == SOFTMAX:
        for r in range(m):
            z_max = Z[r, 0]
            for j in range(1, n):
                z_max = max(z_max, Z[r, j])
            total = Z.dtype.type(0)
            for j in range(n):
                A[r, j] = np.exp(Z[r, j] - z_max)
                total += A[r, j]
            for j in range(n):
                A[r, j] = A[r, j] / total
    elif act == LINEAR:
        for r in range(m):
            for j in range(n):
                A[r, j] = Z[r, j]
    elif act == SIGMOID:
        for r in range(m):
            for j in range(n):
                A[r, j] = _sigmoid(float(Z[r, j]))
    elif act == TANH:
        for r in range(m):
            for j in range(n):
                A[r, j] = np.tanh(Z[r, j])
    elif act == RELU:
        for r in range(m):
            for j in range(n):
                A[r, j] = Z[r, j] if Z[r, j] > 0 else 0
    elif act == LEAKY_RELU:
        slope = Z.dtype.type(LEAKY_SLOPE)
        for r in range(m):
            for j in range(n):
                A[r, j] = Z[r, j] if Z[r, j] > 0 else slope * Z[r, j]
    else:  # exp
        for r in range(m):
            for j in range(n):
                A[r, j] = np.exp(Z[r, j])


@_jit
def activation_backward(act, Z, A, D):
    """D *= f'(Z) in place, all (m, n) (D holds dL/dA on entry); softmax:
    D_rj = A_rj (D_rj - sum_k D_rk A_rk)."""
    m, n = Z.shape
    if act == SOFTMAX:
        for r in range(m):
            s = D.dtype.type(0)
            for j in range(n):
                s += D[r, j] * A[r, j]
            for j in range(n):
                D[r, j] = A[r, j] * (D[r, j] - s)
    elif act == SIGMOID:
        for r in range(m):
            for j in range(n):
                D[r, j] *= A[r, j] * (1 - A[r, j])
    elif act == TANH:
        for r in range(m):
            for j in range(n):
                D[r, j] *= 1 - A[r, j] * A[r, j]
    elif act == RELU:
        for r in range(m):
            for j in range(n):
                D[r, j] = D[r, j] if Z[r, j] > 0 else 0
    elif act == LEAKY_RELU:
        slope = D.dtype.type(LEAKY_SLOPE)
        for r in range(m):
            for j in range(n):
                D[r, j] = D[r, j] if Z[r, j] > 0 else slope * D[r, j]
    elif act == EXP:
        for r in range(m):
            for j in range(n):
                D[r, j] *= A[r, j]


# ---------------------------------------------------------------- losses
# A batch's sample r: its output units Z[r], A[r], its targets Y[rows[r]] and weight
# weights[rows[r]] (weights empty: all 1). Each function branches once on the loss, then loops.
# Pairs (losses.OUTPUTS): cce has a softmax output; bce a sigmoid (fused, from the logits) or a
# softmax one (clipped); poisson an exp one (fused).

@_jit
def _weight_sum(loss, weights, rows):
    """s of fastnn.losses: the batch's summed weights (its size without weights); 1 for sse,
    and 1 for a batch whose weights add up to 0 (its loss is then 0)."""
    if loss == SSE:
        return 1.0
    if weights.shape[0] == 0:
        return float(rows.shape[0])
    total = 0.0
    for r in range(rows.shape[0]):
        total += weights[rows[r]]
    return total if total > 0 else 1.0


@_jit
def _loss_scale(loss, s, k):
    """What a batch's weighted sum of sample losses is divided by: s, times k for the losses
    that average over the outputs."""
    return s if loss == CCE or loss == SSE else s * k


@_jit
def _sample_losses(loss, act, Z, A, Y, rows, each):
    """each[r] = sample r's loss summed over its k outputs, before weighting (float64)."""
    m, k = Z.shape
    if loss == CCE:  # from the logits: log sum exp z - z_target, where log sum exp z is
        # z_top - log a_top at the top output (the softmax A of Z: a_top >= 1 / k, exact)
        for r in range(m):
            i = rows[r]
            top = 0
            for j in range(1, k):
                top = j if Z[r, j] > Z[r, top] else top
            log_sum_exp = float(Z[r, top]) - np.log(float(A[r, top]))
            total = 0.0
            for j in range(k):
                total += Y[i, j] * (log_sum_exp - Z[r, j])
            each[r] = total
    elif loss == MSE or loss == SSE:
        for r in range(m):
            i = rows[r]
            total = 0.0
            for j in range(k):
                total += (float(A[r, j]) - float(Y[i, j])) ** 2
            each[r] = total
    elif loss == POISSON:  # a - y log a + y log y - y, with log a = z
        for r in range(m):
            i = rows[r]
            total = 0.0
            for j in range(k):
                y = float(Y[i, j])
                total += float(A[r, j]) - y * float(Z[r, j]) - y
                if y > 0:
                    total += y * np.log(y)
            each[r] = total
    elif act == SIGMOID:  # bce from the logit
        for r in range(m):
            i = rows[r]
            total = 0.0
            for j in range(k):
                z = float(Z[r, j])
                total += max(z, 0.0) - z * Y[i, j] + np.log1p(np.exp(-abs(z)))
            each[r] = total
    else:  # bce on softmax outputs, clipped away from 0 and 1
        for r in range(m):
            i = rows[r]
            total = 0.0
            for j in range(k):
                a = min(max(float(A[r, j]), LOG_EPS), 1.0 - LOG_EPS)
                total -= Y[i, j] * np.log(a) + (1.0 - Y[i, j]) * np.log(1.0 - a)
            each[r] = total


@_jit
def _fused(loss, act):
    """Whether dL/dZ of the output is w (A - Y) / scale (``losses.fused``)."""
    return ((loss == BCE and act == SIGMOID) or (loss == CCE and act == SOFTMAX)
            or (loss == POISSON and act == EXP))


@_jit
def _output_deltas(loss, act, A, Y, rows, weights, scale, D):
    """D[r] = dL/dZ of sample r (the fused pairs: w_r (A - Y) / scale), or else dL/dA."""
    m, k = A.shape
    weighted = weights.shape[0] > 0
    if _fused(loss, act):
        for r in range(m):
            c = (weights[rows[r]] if weighted else 1.0) / scale
            for j in range(k):
                D[r, j] = c * (A[r, j] - Y[rows[r], j])
    elif loss == MSE or loss == SSE:
        for r in range(m):
            c = 2.0 * (weights[rows[r]] if weighted else 1.0) / scale
            for j in range(k):
                D[r, j] = c * (A[r, j] - Y[rows[r], j])
    else:  # bce on softmax outputs: flat where the log's argument is clipped
        for r in range(m):
            c = (weights[rows[r]] if weighted else 1.0) / scale
            for j in range(k):
                a = float(A[r, j])
                inside = LOG_EPS <= a <= 1.0 - LOG_EPS
                D[r, j] = c * (a - Y[rows[r], j]) / (a * (1.0 - a)) if inside else 0.0


@_jit
def _correct_count(loss, A, Y, rows):
    """bce: outputs on the right side of 0.5; cce: rows whose largest output is the target."""
    m, k = A.shape
    correct = 0
    if loss == CCE:
        for r in range(m):
            best = 0
            for j in range(1, k):
                if A[r, j] > A[r, best]:
                    best = j
            correct += 1 if Y[rows[r], best] == 1 else 0
    elif loss == BCE:
        for r in range(m):
            for j in range(k):
                predicted = 1.0 if A[r, j] > 0.5 else 0.0
                correct += 1 if predicted == Y[rows[r], j] else 0
    return correct


@_jit
def _batch_loss(loss, act, Z, A, Y, rows, weights, D, each):
    """``(loss, correct, s)`` of a batch: Z, A (m, k) its outputs, rows[r] the index of sample
    r's targets and weight, s the batch's weight sum (fastnn.losses); each sample's
    unweighted loss into ``each`` (room for m); dL/dZ into D (m, k) if it has rows."""
    m, k = A.shape
    s = _weight_sum(loss, weights, rows)
    _sample_losses(loss, act, Z, A, Y, rows, each)
    value = 0.0
    if weights.shape[0] > 0:
        for r in range(m):
            value += weights[rows[r]] * each[r]
    else:
        for r in range(m):
            value += each[r]
    scale = _loss_scale(loss, s, k)
    if D.shape[0] > 0:
        _output_deltas(loss, act, A, Y, rows, weights, scale, D)
        if not _fused(loss, act):
            activation_backward(act, Z, A, D)
    return value / scale, _correct_count(loss, A, Y, rows), s


# ---------------------------------------------------------------- optimizer rules
# ``rule`` is the contract's Rule. An element whose new value or new state would not be finite
# keeps the old ones (the update reports it and training stops): weights never become NaN.
# One pass per rule: each element's new values are computed, then stored where all are finite
# (a select, which vectorizes), and the non-finite ones counted.

@_jit
def _sgd_update(params, grads, v, lr, momentum, nesterov):
    """SGD with momentum (Keras'): v = momentum v - lr g, then w = w + v, or Nesterov's w = w +
    momentum v - lr g. Returns the count of elements left as they were (not finite)."""
    bad = 0
    for i in range(params.shape[0]):
        velocity = momentum * v[i] - lr * grads[i]
        w = params[i] + (momentum * velocity - lr * grads[i] if nesterov else velocity)
        ok = np.isfinite(w) and np.isfinite(velocity)
        params[i], v[i] = (w, velocity) if ok else (params[i], v[i])
        bad += not ok
    return bad


@_jit
def _adam_update(params, grads, m1, m2, scalars):
    """The Adam family (``fastnn.optimizers``): moments m, s of g, then w = shrink w - (c1 m + c2
    g) / (sqrt(s / c3) + eps). ``scalars`` (each computed in float64, then cast): rate-free
    (beta1, beta2, 1 - beta1, 1 - beta2, eps, shrink, c1, c2, c3): Adam's c1 = lr_t, c2 = 0,
    c3 = 1; Nadam's from its momentum schedule; AdamW's shrink = 1 - lr weight_decay (else 1).
    Returns the count of elements left as they were."""
    beta1, beta2, decay1, decay2, eps, shrink, c1, c2, c3 = scalars
    bad = 0
    for i in range(params.shape[0]):
        m = beta1 * m1[i] + decay1 * grads[i]
        s = beta2 * m2[i] + decay2 * grads[i] * grads[i]
        w = shrink * params[i] - (c1 * m + c2 * grads[i]) / (np.sqrt(s / c3) + eps)
        ok = np.isfinite(w) and np.isfinite(m) and np.isfinite(s)
        params[i], m1[i], m2[i] = (w, m, s) if ok else (params[i], m1[i], m2[i])
        bad += not ok
    return bad


@_jit
def _rms_update(params, grads, s1, s2, s3, scalars):
    """RMSprop and Adagrad (``fastnn.optimizers``) as one branch-free loop (it vectorizes):
    s = keep s + gain g^2, a = keep_a a + gain_a g, step = lr g / sqrt(s - centered a^2 + eps),
    p = momentum p + step, w -= p. ``scalars`` = (keep, gain, keep_a, gain_a, centered, lr,
    eps, momentum): RMSprop's (rho, 1 - rho, and for the mean rho, 1 - rho where centered, else
    1, 0), Adagrad's (1, 1, 1, 0, 0, lr, eps, 0). Returns the count of elements left as they
    were."""
    keep, gain, keep_a, gain_a, centered, lr, eps, momentum = scalars
    bad = 0
    for i in range(params.shape[0]):
        g = grads[i]
        s = keep * s1[i] + gain * g * g
        a = keep_a * s2[i] + gain_a * g
        p = momentum * s3[i] + lr * g / np.sqrt(s - centered * a * a + eps)
        w = params[i] - p
        ok = np.isfinite(w) and np.isfinite(s) and np.isfinite(a) and np.isfinite(p)
        params[i], s1[i], s2[i], s3[i] = (w, s, a, p) if ok else \
            (params[i], s1[i], s2[i], s3[i])
        bad += not ok
    return bad


@_jit
def update(rule, params, grads):
    """One update of params (``rule.step`` already advanced); True if all stayed finite.
    Hyperparameters are cast to params' dtype: float32 computes in float32, as the numpy
    backend does; a step's scalars (1 - beta, the bias corrections, the momentum schedule) are
    computed in float64, then cast (in float32, 1 - 0.9999 keeps 3 digits)."""
    typed = params.dtype.type
    lr = typed(rule.lr)
    code = rule.code
    if code == OPT_SGD:
        return _sgd_update(params, grads, rule.state1, lr, typed(rule.momentum),
                           rule.nesterov) == 0
    if code == OPT_RMSPROP or code == OPT_ADAGRAD:
        adagrad, centered = code == OPT_ADAGRAD, rule.centered == 1
        scalars = (typed(1.0 if adagrad else rule.rho), typed(1.0 if adagrad else 1.0 - rule.rho),
                   typed(rule.rho if centered else 1.0), typed(1.0 - rule.rho if centered else 0.0),
                   typed(1.0 if centered else 0.0), lr, typed(rule.eps), typed(rule.momentum))
        return _rms_update(params, grads, rule.state1, rule.state2, rule.state3, scalars) == 0
    t = float(rule.step[0])
    c1, c2, c3, shrink = rule.lr * np.sqrt(1.0 - rule.beta2**t) / (1.0 - rule.beta1**t), 0.0, \
        1.0, 1.0
    if code == OPT_ADAMW:
        shrink = 1.0 - rule.lr * rule.weight_decay
    elif code == OPT_NADAM:
        u = rule.beta1 * (1.0 - 0.5 * 0.96**t)
        u_next = rule.beta1 * (1.0 - 0.5 * 0.96**(t + 1.0))
        rule.product[0] *= u
        product = rule.product[0]
        c1 = rule.lr * u_next / (1.0 - product * u_next)
        c2 = rule.lr * (1.0 - u) / (1.0 - product)
        c3 = 1.0 - rule.beta2**t
    scalars = (typed(rule.beta1), typed(rule.beta2), typed(1.0 - rule.beta1),
               typed(1.0 - rule.beta2), typed(rule.eps), typed(shrink), typed(c1), typed(c2),
               typed(c3))
    return _adam_update(params, grads, rule.state1, rule.state2, scalars) == 0


# ---------------------------------------------------------------- the batch step
# One int64 table describes the layers; W and b are views of ``flat`` at their offsets. The
# work arrays hold, for a batch of up to ``batch`` samples, every layer's Z and A (rows of
# samples, layer after layer), two delta blocks and the gathered inputs of a shuffled batch.

N_IN, N_OUT, ACT, BIAS, W_AT, U_AT = 0, 1, 2, 3, 4, 5  # columns of the layer table


@_jit(nrt=True)
def _layer_table(net):
    """(layers, 6) int64: n_in, n_out, activation, bias, offset of W in flat, offset of the
    layer's units among all units."""
    table = np.empty((net.acts.shape[0], 6), np.int64)
    w, u = 0, 0
    for layer in range(table.shape[0]):
        n_in, n_out = net.sizes[layer], net.sizes[layer + 1]
        table[layer, N_IN], table[layer, N_OUT] = n_in, n_out
        table[layer, ACT], table[layer, BIAS] = net.acts[layer], net.biases[layer]
        table[layer, W_AT], table[layer, U_AT] = w, u
        w += n_in * n_out + n_out
        u += n_out
    return table


@_jit(nrt=True)
def _work(table, example, batch, gather, dual, rates):
    """(Z, A, D, E, Xb, L, P, Dr, M): Z and A of every unit of ``batch`` samples, two delta
    blocks as wide as the widest layer, room for ``gather`` rows of inputs, for each sample's
    loss (float64), (``dual``) for K W1, the product behind a dual first layer's L2 penalty,
    and (dropout ``rates``) for the dropped inputs of every layer and their factors
    (``_drop_at``)."""
    units, widest = 0, 0
    for layer in range(table.shape[0]):
        units += table[layer, N_OUT]
        widest = max(widest, table[layer, N_OUT], table[layer, N_IN] if layer > 0 else 0)
    dtype = example.dtype
    input_weights = table[0, N_IN] * table[0, N_OUT]
    dropped = 0
    if rates.shape[0] > 0:
        dropped = batch * (units + (table[0, N_IN] if rates[0] > 0 else 0))
    return (np.empty(batch * units, dtype), np.empty(batch * units, dtype),
            np.empty(batch * widest, dtype), np.empty(batch * widest, dtype),
            np.empty(gather * table[0, N_IN], dtype), np.empty(batch),
            np.empty(input_weights if dual else 0, dtype), np.empty(dropped, dtype),
            np.empty(dropped, dtype))


@intrinsic
def _view(typingctx, buffer, at, m, n):
    """buffer[at:at + m n] (buffer 1-D, C-contiguous) as a C-contiguous (m, n) view: what
    ``buffer[at:at + m * n].reshape((m, n))`` makes, without reshape's call into Numba's
    general-case helper, which also keeps the views' reference counting from being pruned: a
    per-sample step makes some 40 views, and they took 35-40 % of its time (perf), 50 ns each
    against 5 ns this way."""
    if not (isinstance(buffer, types.Array) and buffer.ndim == 1 and buffer.layout == "C"):
        return None

    def codegen(context, builder, signature, args):
        source = make_array(signature.args[0])(context, builder, args[0])
        at, m, n = (context.cast(builder, value, kind, types.intp)
                    for value, kind in zip(args[1:], signature.args[1:]))
        view = make_array(signature.return_type)(context, builder)
        populate_array(view, data=builder.gep(source.data, [at]), shape=[m, n],
                       strides=[builder.mul(n, source.itemsize), source.itemsize],
                       itemsize=source.itemsize, meminfo=source.meminfo, parent=source.parent)
        return impl_ret_borrowed(context, builder, signature.return_type, view._getvalue())

    return types.Array(buffer.dtype, 2, "C")(buffer, at, m, n), codegen


@_jit(inline="always", nrt=True)  # (callable alone; inlined, its caller's flags hold)
def _block(buffer, at, m, n):
    """buffer[at:at + m n] as an (m, n) array (a view)."""
    if at < 0 or m < 0 or n < 0 or at + m * n > buffer.shape[0]:
        raise IndexError("a block reaches outside its buffer")
    return _view(buffer, at, m, n)


@_jit(inline="always", nrt=True)  # (callable alone; inlined, its caller's flags hold)
def _layer_params(flat, table, layer):
    """(W, b) of a layer: views of flat, W (n_in, n_out), b (n_out,)."""
    n_in, n_out, wo = table[layer, N_IN], table[layer, N_OUT], table[layer, W_AT]
    return _block(flat, wo, n_in, n_out), flat[wo + n_in * n_out:wo + n_in * n_out + n_out]


# ---------------------------------------------------------------- the first layer's inputs
# X is a C-contiguous 2-D array, or, for sparse X, a CSR record (``_numba.CSR``: each row's
# nonzeros). A batch of it is an array (m, n_in) for dense X, and (X, rows) for sparse X. The
# functions below are the only ones that read X; each has a dense and a sparse version, and
# Numba compiles the one X's type asks for (``overload``), so a sparse first layer's products
# touch only the nonzeros and X is never made dense.

def _batch_inputs(X, rows, Xb):
    """X[rows] (m, n_in) as the first layer reads it: dense X: a view where the rows are
    consecutive, else gathered into Xb; sparse X: (X, rows)."""


def _first_product(X_batch, W, Z):
    """Z = X_batch @ W: X_batch (m, n_in), W (n_in, n_out), Z (m, n_out)."""


def _first_gradient(X_batch, dZ, dW):
    """dW = X_batch.T @ dZ: dZ (m, n_out), dW (n_in, n_out)."""


def _input_rows(X, batch):
    """The rows of inputs a batch gathers: ``batch`` for dense X, 0 for sparse X."""


def _gram_of(X, dual, work):
    """A dual first layer's Gram matrix K (X itself), else an array without rows (of the work
    buffer ``work``)."""


def _dense_batch(X, rows, Xb):
    m, n_in = rows.shape[0], X.shape[1]
    begin = rows[0] if m else 0
    consecutive = begin + m <= X.shape[0]
    for r in range(m):
        if rows[r] != begin + r:
            consecutive = False
            break
    if consecutive:
        return X[begin:begin + m]
    batch = _block(Xb, 0, m, n_in)
    for r in range(m):
        i = rows[r]
        for k in range(n_in):
            batch[r, k] = X[i, k]
    return batch


def _sparse_first_product(X_batch, W, Z):
    X, rows = X_batch
    for r in range(rows.shape[0]):
        for j in range(Z.shape[1]):
            Z[r, j] = 0
        for p in range(X.indptr[rows[r]], X.indptr[rows[r] + 1]):
            k, value = X.indices[p], X.data[p]
            for j in range(Z.shape[1]):
                Z[r, j] += value * W[k, j]


def _sparse_first_gradient(X_batch, dZ, dW):
    X, rows = X_batch
    _zero(dW)
    for r in range(rows.shape[0]):
        for p in range(X.indptr[rows[r]], X.indptr[rows[r] + 1]):
            k, value = X.indices[p], X.data[p]
            for j in range(dZ.shape[1]):
                dW[k, j] += value * dZ[r, j]


def _dense_or_sparse(stub, dense, sparse, nrt=False):
    """Compile ``dense`` where the stub's first argument is an array, else ``sparse`` (both
    with the stub's arguments; ``nrt`` for those that return a view: see ``_jit``)."""
    def choose(*args):
        return dense if isinstance(args[0], types.Array) else sparse
    choose.__signature__ = inspect.signature(stub)
    overload(stub, jit_options={"fastmath": set(FASTMATH), "error_model": "numpy",
                                "_nrt": nrt})(choose)


_dense_or_sparse(_batch_inputs, _dense_batch, lambda X, rows, Xb: (X, rows), nrt=True)
_dense_or_sparse(_first_product, lambda X_batch, W, Z: _product(X_batch, W, Z),
                 _sparse_first_product)
_dense_or_sparse(_first_gradient, lambda X_batch, dZ, dW: _product_tn(X_batch, dZ, dW),
                 _sparse_first_gradient)
_dense_or_sparse(_input_rows, lambda X, batch: batch, lambda X, batch: NO)
_dense_or_sparse(_gram_of, lambda X, dual, work: X if dual else X[:0],
                 lambda X, dual, work: _block(work, 0, 0, 0), nrt=True)


@_jit
def _layer_output(table, layer, Z, A, b):
    """Z += b, then A = f(Z): a layer's output from its product, Z and A (m, n_out)."""
    for r in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            Z[r, j] += b[j]
    _activate(table[layer, ACT], Z, A)


# ---------------------------------------------------------------- dropout
# ``drop`` = (rates, key, step, first): the dropout rate of each layer's inputs (float64; empty:
# none, as in inference), the masks' key, the update's step and the batch position of the
# first sample (``fastnn.dropout``). A layer's dropped inputs and their factors live in the
# work arrays Dr and M: the network's inputs first (where they are dropped), then the units of
# each layer, as in Z and A.

@_jit
def _drop(A, M, D, key, step, layer, first, rate):
    """D = A M: M the factors (0: dropped, 1 / (1 - rate): kept) of dropout on ``layer``'s
    inputs A (m, n), the samples at batch positions first, first + 1, ... of update ``step``."""
    kept, zero = A.dtype.type(1.0 / (1.0 - rate)), A.dtype.type(0)
    for r in range(A.shape[0]):
        stream = dropout.sample_stream(np.uint64(key), np.uint64(step), np.uint64(layer),
                                       np.uint64(first + r))
        for j in range(A.shape[1]):
            M[r, j] = kept if dropout.uniform(stream, np.uint64(j)) >= rate else zero
            D[r, j] = A[r, j] * M[r, j]


@_jit(inline="always", nrt=True)  # (callable alone; inlined, its caller's flags hold)
def _drop_at(table, layer, m, work, rates):
    """(Dr, M) of ``layer``'s inputs (m, n_in): views of the work arrays."""
    batch = work[0].shape[0] // (table[-1, U_AT] + table[-1, N_OUT])
    head = table[0, N_IN] if rates[0] > 0 else 0
    at = 0 if layer == 0 else batch * (head + table[layer - 1, U_AT])
    n = table[layer, N_IN]
    return _block(work[7], at, m, n), _block(work[8], at, m, n)


@_jit(inline="always", nrt=True)  # (callable alone; inlined, its caller's flags hold)
def _dropped(table, layer, A, work, drop):
    """``layer``'s inputs A (m, n_in) as it reads them in training: A itself, or (dropout)
    A times its factors, in the work arrays."""
    rates = drop[0]
    if rates.shape[0] == 0 or rates[layer] == 0:
        return A
    D, M = _drop_at(table, layer, A.shape[0], work, rates)
    _drop(A, M, D, drop[1], drop[2], layer, drop[3], rates[layer])
    return D


def _input_dropout(X_batch, table, work, drop):
    """The first layer's inputs as it reads them in training (dense X: dropped where the
    network's inputs are; sparse X is never: ``Sequential.fit`` refuses it)."""


_dense_or_sparse(_input_dropout,
                 lambda X_batch, table, work, drop: _dropped(table, NO, X_batch, work, drop),
                 lambda X_batch, table, work, drop: X_batch, nrt=True)


@_jit
def _forward(flat, table, X_batch, m, work, drop):
    """Z and A of every layer for the batch X_batch of m samples (its first layer's inputs as
    it reads them), into the work arrays (the output layer's: ``_output``); the inputs of the
    layers after it dropped by ``drop`` (see above)."""
    Zs, As = work[0], work[1]
    batch = Zs.shape[0] // (table[-1, U_AT] + table[-1, N_OUT])
    W, b = _layer_params(flat, table, 0)
    A = _block(As, 0, m, table[0, N_OUT])
    Z = _block(Zs, 0, m, table[0, N_OUT])
    _first_product(X_batch, W, Z)
    _layer_output(table, NO, Z, A, b)
    for layer in range(1, table.shape[0]):
        inputs = _dropped(table, layer, A, work, drop)
        n_out, at = table[layer, N_OUT], batch * table[layer, U_AT]
        W, b = _layer_params(flat, table, layer)
        Z, A = _block(Zs, at, m, n_out), _block(As, at, m, n_out)
        _product(inputs, W, Z)
        _layer_output(table, layer, Z, A, b)


@_jit(inline="always", nrt=True)  # (callable alone; inlined, its caller's flags hold)
def _output(table, work, m):
    """(Z, A) of the output layer for a batch of m samples."""
    batch = work[0].shape[0] // (table[-1, U_AT] + table[-1, N_OUT])
    k, at = table[-1, N_OUT], batch * table[-1, U_AT]
    return _block(work[0], at, m, k), _block(work[1], at, m, k)


@_jit
def _backward(flat, table, dual, X_batch, rows, work, grads, rates):
    """The gradients of every layer into ``grads`` from dL/dZ of the output (in work's first
    delta block), the inputs dropped by ``rates`` as ``_forward`` left them. In the dual form
    the first layer's weight gradient is 0 but for the batch's rows: dW[rows[r]] = dL/dZ1 of
    sample r (``dual_backward``)."""
    Zs, As, D, E = work[0], work[1], work[2], work[3]
    batch = Zs.shape[0] // (table[-1, U_AT] + table[-1, N_OUT])
    m = rows.shape[0]
    dropping = rates.shape[0] > 0
    for layer in range(table.shape[0] - 1, -1, -1):
        n_in, n_out = table[layer, N_IN], table[layer, N_OUT]
        W, _ = _layer_params(flat, table, layer)
        dW, db = _layer_params(grads, table, layer)
        dZ = _block(D, 0, m, n_out)
        if layer == 0 and dual:
            _zero(dW)
            for r in range(m):
                for j in range(n_out):
                    dW[rows[r], j] += dZ[r, j]
        elif layer == 0:
            _first_gradient(X_batch, dZ, dW)
        elif dropping and rates[layer] > 0:
            _product_tn(_drop_at(table, layer, m, work, rates)[0], dZ, dW)
        else:
            _product_tn(_block(As, batch * table[layer - 1, U_AT], m, n_in), dZ, dW)
        _column_sums(dZ, db, table[layer, BIAS])
        if layer > 0:
            at = batch * table[layer - 1, U_AT]
            dA = _block(E, 0, m, n_in)
            _product_nt(dZ, W, dA)
            if dropping and rates[layer] > 0:  # (dropped units pass no gradient back)
                M = _drop_at(table, layer, m, work, rates)[1]
                for r in range(m):
                    for j in range(n_in):
                        dA[r, j] *= M[r, j]
            activation_backward(table[layer - 1, ACT], _block(Zs, at, m, n_in),
                                 _block(As, at, m, n_in), dA)
            D, E = E, D


@_jit
def _squared_sum(W, K, P):
    """The sum of W's squared entries; with K (rows: a dual first layer's Gram matrix), those
    of the primal weights: sum_j W[:, j] . (K W)[:, j], K W into P (room for W's size)."""
    total = 0.0
    if K.shape[0] == 0:
        for k in range(W.shape[0]):
            for j in range(W.shape[1]):
                total += float(W[k, j]) * float(W[k, j])
        return total
    KW = _block(P, 0, W.shape[0], W.shape[1])
    _product(K, W, KW)
    for k in range(W.shape[0]):
        for j in range(W.shape[1]):
            total += float(W[k, j]) * float(KW[k, j])
    return total


@_jit
def _l2(flat, table, K, c, work, grads):
    """The L2 penalty's share of a batch whose weight sum is s, c = alpha / s: adds c W to
    every layer's weight gradient, returns c / 2 times the squared weights (a dual first
    layer's through K, its Gram matrix; K without rows: not dual)."""
    total = 0.0
    for layer in range(table.shape[0]):
        W, _ = _layer_params(flat, table, layer)
        dW, _ = _layer_params(grads, table, layer)
        total += _squared_sum(W, K if layer == 0 else K[:0], work[6])
        decay = W.dtype.type(c)
        for k in range(W.shape[0]):
            for j in range(W.shape[1]):
                dW[k, j] += decay * W[k, j]
    return c / 2 * total


@_jit
def _step(flat, table, dual, objective, inputs, Y, rows, work, grads, drop):
    """``(loss, correct)`` of the batch X[rows], Y[rows] (``objective``: the loss, the samples'
    weights and the L2 penalty); its gradient into ``grads``. ``inputs``: (X_batch, K), the
    batch's inputs as the first layer reads them (``_batch_inputs``) and a dual first layer's
    Gram matrix (``_gram_of``), views its caller holds; ``drop``: dropout (see above)."""
    X_batch, K = inputs
    m = rows.shape[0]
    X_batch = _input_dropout(X_batch, table, work, drop)
    _forward(flat, table, X_batch, m, work, drop)
    Z, A = _output(table, work, m)
    value, correct, s = _batch_loss(objective.loss, table[-1, ACT], Z, A, Y, rows,
                                    objective.sample_weights, _block(work[2], 0, m, Z.shape[1]),
                                    work[5])
    _backward(flat, table, dual, X_batch, rows, work, grads, drop[0])
    if objective.alpha > 0:
        value += _l2(flat, table, K, objective.alpha / s, work, grads)
    return value, correct


# ---------------------------------------------------------------- entry points

@_jit(nrt=True)
def train_epochs(flat, net, objective, X, Y, orders, batch_size, rule, out):
    """One epoch of updates per row of ``orders`` (the samples in that order, in batches), the
    contract's ``train_epochs`` in one call. ``out[e] = (loss, correct)`` of epoch e (the batch
    losses weighted by batch size over the sample count; sse: added). Returns the epochs
    completed: fewer when a batch's loss (its update not applied) or an update is not finite."""
    table = _layer_table(net)
    n = orders.shape[1]
    batch = min(batch_size, n)
    work = _work(table, flat, batch, _input_rows(X, batch), net.dual, net.drops)
    grads = np.empty_like(flat)
    loss, K = objective.loss, _gram_of(X, net.dual, work[6])
    for e in range(orders.shape[0]):
        total = 0.0
        correct = 0
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            rows = orders[e, start:stop]
            value, batch_correct = _step(flat, table, net.dual, objective,
                                         (_batch_inputs(X, rows, work[4]), K), Y, rows, work,
                                         grads, (net.drops, net.masking[0], rule.step[0], NO))
            if not np.isfinite(value):  # stop before this batch's update
                out[e, 0], out[e, 1] = value, correct
                return e
            correct += batch_correct
            total += value if loss == SSE else value * (stop - start)
            rule.step[0] += 1
            if not update(rule, flat, grads):
                out[e, 0], out[e, 1] = value, correct
                return e
        out[e, 0], out[e, 1] = (total if loss == SSE else total / n), correct
    return orders.shape[0]


@_jit(nrt=True)
def gradients(flat, net, objective, X, Y, grads):
    """``(loss, correct)`` of the samples X, Y as one batch; its gradient into ``grads`` (a
    dual net's X is its Gram matrix K: the samples are its first Y.shape[0] rows)."""
    table = _layer_table(net)
    m = Y.shape[0]
    work, rows = _work(table, flat, m, NO, net.dual, net.drops), np.arange(m)
    return _step(flat, table, net.dual, objective,
                 (_batch_inputs(X, rows, work[4]), _gram_of(X, net.dual, work[6])), Y, rows,
                 work, grads, (net.drops, net.masking[0], net.masking[1], net.masking[2]))


@_jit(nrt=True)
def forward_rows(flat, net, X, Z, A):
    """Z, A (m, k) = the output layer's Z and A for X (m, n_in), CHUNK_ROWS at a time."""
    table = _layer_table(net)
    m = Z.shape[0]
    rates = np.empty(0)  # (no dropout)
    work = _work(table, flat, min(m, CHUNK_ROWS), NO, NO, rates)
    for start in range(0, m, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, m)
        _forward(flat, table, _batch_inputs(X, np.arange(start, stop), work[4]), stop - start,
                 work, (rates, NO, NO, NO))
        Z_out, A_out = _output(table, work, stop - start)
        for r in range(stop - start):
            for j in range(Z.shape[1]):
                Z[start + r, j], A[start + r, j] = Z_out[r, j], A_out[r, j]


@_jit(nrt=True)
def evaluate(flat, net, loss, X, Y):
    """``(loss, correct)`` of the network on X, Y, CHUNK_ROWS at a time (float64 sums)."""
    table = _layer_table(net)
    m, k = Y.shape[0], Y.shape[1]
    rates = np.empty(0)  # (no dropout)
    work = _work(table, flat, min(m, CHUNK_ROWS), NO, NO, rates)
    each, no_weights = work[5], np.empty(0)
    no_delta = np.empty((0, k), flat.dtype)
    total = 0.0
    correct = 0
    for start in range(0, m, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, m)
        _forward(flat, table, _batch_inputs(X, np.arange(start, stop), work[4]), stop - start,
                 work, (rates, NO, NO, NO))
        Z, A = _output(table, work, stop - start)
        correct += _batch_loss(loss, table[-1, ACT], Z, A, Y, np.arange(start, stop),
                               no_weights, no_delta, each)[1]
        for r in range(stop - start):
            total += each[r]
    return total / _loss_scale(loss, 1.0 if loss == SSE else float(m), k), correct


# ---------------------------------------------------------------- one layer (the contract's ops)

@_jit(nrt=True)
def dropout_scales(key, step, layer, first, rate, M):
    """M (m, n) = dropout's factors on ``layer``'s inputs (``_drop``)."""
    _drop(np.ones_like(M), M, np.empty_like(M), key, step, layer, first, rate)


@_jit(nrt=True)
def dense_forward(X, W, b, act, Z, A):
    """Z = X @ W + b;  A = f(Z) (X dense or sparse, as the engine's first layer reads it)."""
    _first_product(_batch_inputs(X, np.arange(Z.shape[0]), np.empty(0, W.dtype)), W, Z)
    for r in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            Z[r, j] += b[j]
    _activate(act, Z, A)


@_jit(nrt=True)
def dense_backward(dZ, X, W, dW, db, dX):
    """dW = X.T @ dZ (as the engine's first layer makes it);  db = column sums of dZ;
    dX = dZ @ W.T if dX has rows."""
    _first_gradient(_batch_inputs(X, np.arange(dZ.shape[0]), np.empty(0, W.dtype)), dZ, dW)
    _column_sums(dZ, db, YES)
    if dX.shape[0] > 0:
        _product_nt(dZ, W, dX)


@_jit(nrt=True)
def dual_backward(dZ, rows, dW, db):
    """dW = 0 but dW[rows[r]] += dZ[r];  db = column sums of dZ."""
    _zero(dW)
    for r in range(dZ.shape[0]):
        for j in range(dZ.shape[1]):
            dW[rows[r], j] += dZ[r, j]
    _column_sums(dZ, db, YES)


@_jit(nrt=True)
def loss_and_deltas(loss, act, Z, A, Y, weights, dZ):
    """``(loss, correct)`` of a batch of outputs (m, k); dL/dZ into dZ if it has rows."""
    value, correct, _ = _batch_loss(loss, act, Z, A, Y, np.arange(Z.shape[0]), weights, dZ,
                                    np.empty(Z.shape[0]))
    return value, correct


@_jit(nrt=True)
def l2_penalty(W, K):
    """The sum of W's squared entries (K with no rows), or of a dual first layer's primal
    weights (K its Gram matrix)."""
    return _squared_sum(W, K, np.empty(W.size if K.shape[0] else 0, W.dtype))
