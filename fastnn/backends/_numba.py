"""The numba backend: the same kernels as loops compiled by Numba, and a compiled whole epoch.

Private ``_kernels`` are ``@njit``; the public functions of the backend contract are thin wrappers
that allocate outputs. Small batches (per-sample SGD) run whole epochs — every batch, layer and
update — in one compiled call. Large batches run the wide layers layer by layer, each product
split into fixed chunks computed on several threads (no result depends on thread timing or
count), and the small layers after them sample by sample in one compiled call; a full-batch
step reads the training inputs once (the first layer's gradient, update and the next step's
product, block by block). The kernels mirror ``_loop.py``; they are written out again here (not
compiled from it) because Numba's disk cache only follows the file that holds a kernel.
"""

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit, uint64

from .. import activations as act_codes
from .. import backends
from .. import losses as loss_codes
from . import _network
from ._layout import layer_views
from ._ops import OPT_SGD

# fastmath without "nnan"/"ninf": NaN and inf checks must keep working.
FASTMATH = frozenset({"contract", "arcp", "afn", "reassoc", "nsz"})

LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX = (
    act_codes.LINEAR, act_codes.SIGMOID, act_codes.TANH, act_codes.RELU, act_codes.LEAKY_RELU,
    act_codes.SOFTMAX,
)
MSE, SSE, BCE, CCE = loss_codes.MSE, loss_codes.SSE, loss_codes.BCE, loss_codes.CCE
LEAKY_SLOPE = act_codes.LEAKY_SLOPE
LOG_EPS = loss_codes.LOG_EPS


def _jit(inline="never"):
    """njit with the backend's options; caches on disk, or compiles in memory where it can't.
    ``inline="always"`` inlines a per-sample helper into its caller at Numba's level, so the
    reference counts of the arrays it touches cancel out there."""

    def decorate(func):
        options = dict(fastmath=set(FASTMATH), error_model="numpy", nogil=True, inline=inline)
        try:
            return njit(cache=True, **options)(func)
        except RuntimeError as error:  # "no locator available": read-only install, no cache dir
            warnings.warn(f"numba disk cache unavailable ({error}); kernels compile per process",
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


# ---------------------------------------------------------------- products (register tiles)
# C[i, j] += sum_t A[rows[i], t] B[j, t]: both operands are read along contiguous rows, and a
# 4 x 4 tile of C stays in registers over the whole t loop (16 independent sums that LLVM
# vectorizes along t), so each loaded value feeds four multiply-adds. One routine serves the
# forward product (A = inputs, B = W transposed) and the input gradient (A = dZ, B = W); the
# weight gradient has tiles of its own (``_gradient_block``). Indices are unsigned
# so that Numba adds no negative-index wraparound, which would stop the vectorizer; no views are
# made, since two threads taking views of one array contend for its reference count.

@_jit(inline="always")
def _tile4x4(A, rows, i, B, j, t0, t1, C, c):
    """C[c+i:c+i+4, j:j+4] += A[rows[i:i+4], t0:t1] @ B[j:j+4, t0:t1].T"""
    a0, a1, a2, a3 = uint64(rows[i]), uint64(rows[i + 1]), uint64(rows[i + 2]), uint64(rows[i + 3])
    b0, b1, b2, b3 = uint64(j), uint64(j + 1), uint64(j + 2), uint64(j + 3)
    z = A.dtype.type(0)
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = z
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = z
    for t in range(uint64(t0), uint64(t1)):
        x0, x1, x2, x3 = A[a0, t], A[a1, t], A[a2, t], A[a3, t]
        y0, y1, y2, y3 = B[b0, t], B[b1, t], B[b2, t], B[b3, t]
        s00 += x0 * y0
        s01 += x0 * y1
        s02 += x0 * y2
        s03 += x0 * y3
        s10 += x1 * y0
        s11 += x1 * y1
        s12 += x1 * y2
        s13 += x1 * y3
        s20 += x2 * y0
        s21 += x2 * y1
        s22 += x2 * y2
        s23 += x2 * y3
        s30 += x3 * y0
        s31 += x3 * y1
        s32 += x3 * y2
        s33 += x3 * y3
    ci = c + i
    C[ci, j] += s00
    C[ci, j + 1] += s01
    C[ci, j + 2] += s02
    C[ci, j + 3] += s03
    C[ci + 1, j] += s10
    C[ci + 1, j + 1] += s11
    C[ci + 1, j + 2] += s12
    C[ci + 1, j + 3] += s13
    C[ci + 2, j] += s20
    C[ci + 2, j + 1] += s21
    C[ci + 2, j + 2] += s22
    C[ci + 2, j + 3] += s23
    C[ci + 3, j] += s30
    C[ci + 3, j + 1] += s31
    C[ci + 3, j + 2] += s32
    C[ci + 3, j + 3] += s33


@_jit(inline="always")
def _dot1(A, a, B, b, t0, t1):
    """sum_t A[a, t] B[b, t] over t0 <= t < t1."""
    a, b = uint64(a), uint64(b)
    total = A.dtype.type(0)
    for t in range(uint64(t0), uint64(t1)):
        total += A[a, t] * B[b, t]
    return total


@_jit()
def _matmul_nt_rows(A, rows, i0, i1, B, C, t0, t1, c):
    """C[c + i, :] += A[rows[i], t0:t1] @ B[:, t0:t1].T for i0 <= i < i1 (4 x 4 tiles, then
    edges)."""
    n = B.shape[0]
    i = i0
    while i + 4 <= i1:
        j = 0
        while j + 4 <= n:
            _tile4x4(A, rows, i, B, j, t0, t1, C, c)
            j += 4
        for edge in range(j, n):
            for di in range(4):
                C[c + i + di, edge] += _dot1(A, rows[i + di], B, edge, t0, t1)
        i += 4
    for rest in range(i, i1):
        for j in range(n):
            C[c + rest, j] += _dot1(A, rows[rest], B, j, t0, t1)


# ---------------------------------------------------------------- dense layer
# Each kernel computes one chunk of disjoint outputs (rows r0:r1 of Z or dX, blocks of rows of
# dW, slabs of inputs), serially and without the GIL. Large layers split into one chunk per
# thread of a Python thread pool (``_run_chunks``); small ones run as one chunk. Numba's own
# parallel=True is not used: a compiled function that calls it cannot be cached on disk
# (numba/numba#9938), and cached parallel=True code runs about half as fast here
# (numba/numba#8085). Fixed chunks: no result depends on thread timing.

PARALLEL_MIN_WORK = 200_000  # multiply-adds of a layer from which threads pay off
T_BLOCK = 4096  # a block of the reduction: the tile's rows of A and B stay in L1/L2
SMALL_LAYER = 256  # n_in * n_out up to which plain loops beat the tiles
BLOCK_BYTES = 2048  # of a row of X per block of inputs (256 float64 or 512 float32 values)


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
        Z[r0:r1] = 0
        for t0 in range(0, n_in, T_BLOCK):
            _matmul_nt_rows(X, rows, r0, r1, WT, Z, t0, min(t0 + T_BLOCK, n_in), 0)
        for r in range(r0, r1):
            Z[r] += b
    _activate(act, Z[r0:r1], A[r0:r1])


ALIGN = 64  # bytes: a cache line, one 512-bit vector. Vector loads from data aligned to it
# never straddle two lines (a misaligned X measured up to 30 % slower per thread).


@_jit(inline="always")
def _aligned_matrix(rows, cols, example):
    """An empty (rows, cols) array like ``example``'s dtype, its data aligned to ALIGN bytes."""
    size = example.itemsize
    raw = np.empty(rows * cols + ALIGN // size, example.dtype)
    offset = (ALIGN - raw.ctypes.data % ALIGN) % ALIGN // size
    return raw[offset:offset + rows * cols].reshape((rows, cols))


@_jit(inline="always")
def _gradient_tile6x2(X, rows, r, dZ, j, kb, w, G):
    """G[j:j+2, t] += sum over six samples X[rows[r+s], kb+t] dZ[r+s, j:j+2], t < w: twelve
    multiply-adds per six loads of X and two of G, vectorized along t (of the tile shapes
    measured, 6 x 2 was the fastest: 4 x 4 needs as many loads and stores of G as of X)."""
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
def _gradient_axpy(X, i, d, g, kb, w, G):
    """G[g, t] += X[i, kb+t] d for t < w: one sample and one output, for the tiles' edges."""
    i, g, k = uint64(i), uint64(g), uint64(kb)
    for t in range(w):
        G[g, t] += X[i, k + t] * d


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
            for s in range(r, r + 6):
                _gradient_axpy(X, rows[s], dZ[s, j], j, kb, w, G)
        r += 6
    for s in range(r, m):
        for j in range(n_out):
            _gradient_axpy(X, rows[s], dZ[s, j], j, kb, w, G)


@_jit(inline="always")
def _store_transposed(G, dW, kb, w):
    """dW[kb:kb+w] = G[:, :w].T"""
    for t in range(w):
        for j in range(dW.shape[1]):
            dW[kb + t, j] = G[j, t]


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
        _store_transposed(G, dW, kb, w)


# Wide layers (at least 2 * SLABS blocks of inputs) split their products by inputs instead of by
# samples: the inputs fall into SLABS fixed slabs, each thread takes whole slabs, and the partial
# products P of the slabs are summed in slab order. This way the first layer's weight gradient,
# its update and the next step's product (from the updated weights) can all be made block by
# block while the block of X is in cache (``_first_layer_step_chunk``): X is read once a step.
# The slabs do not depend on the number of threads, so neither do the results.

SLABS = 4


@_jit(inline="always")
def _slab(n_blocks, s):
    """The blocks [first, stop) of slab s."""
    return n_blocks * s // SLABS, n_blocks * (s + 1) // SLABS


@_jit(inline="always")
def _zero_rows(P, r0, r1):
    for r in range(r0, r1):
        for j in range(P.shape[1]):
            P[r, j] = 0


@_jit()
def _forward_slabs_chunk(X, rows, W, WT, P, s0, s1):
    """P[s m + r] = X[rows[r], slab s] @ W[slab s] for slabs s0 <= s < s1 (m = len(rows));
    W's rows transposed into WT block by block on the way."""
    m = rows.shape[0]
    n_in = W.shape[0]
    width = BLOCK_BYTES // X.itemsize
    n_blocks = (n_in + width - 1) // width
    for s in range(s0, s1):
        _zero_rows(P, s * m, (s + 1) * m)
        first, stop = _slab(n_blocks, s)
        for blk in range(first, stop):
            kb, ke = blk * width, min(blk * width + width, n_in)
            _transpose_into(W, WT, kb, ke)
            _matmul_nt_rows(X, rows, 0, m, WT, P, kb, ke, s * m)


@_jit()
def _sum_slabs(P, pos, b, act, Z, A):
    """Z[r] = b + the slabs' partial products of sample pos[r], in slab order;  A = f(Z)."""
    mp = P.shape[0] // SLABS
    for r in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            z = b[j]
            for s in range(SLABS):
                z += P[s * mp + pos[r], j]
            Z[r, j] = z
    _activate(act, Z, A)


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
        _matmul_nt_rows(dZ, ident, r0, r1, W, dX, 0, n_out, 0)


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
def _column_sums_into(dZ, db):
    db[:] = 0
    for r in range(dZ.shape[0]):
        db += dZ[r]


def _num_threads() -> int:
    """Threads for large layers: ``$FASTNN_NUM_THREADS``, else the machine's cores."""
    return max(1, int(os.environ.get("FASTNN_NUM_THREADS") or _CORES))


_CORES = os.cpu_count() or 1


_pool: list = []


def _run_chunks(kernel, args, n, work, align=1):
    """kernel(*args, lo, hi) over [0, n): one chunk per thread when ``work`` is large. Chunk
    bounds are multiples of ``align`` (the kernel's tile or block), so every element is computed
    by the same tile whatever the number of threads: results do not depend on it."""
    threads = min(_num_threads(), n) if work >= PARALLEL_MIN_WORK else 1
    if threads == 1:
        kernel(*args, 0, n)
        return
    if not _pool or _pool[1] != (threads - 1, os.getpid()):  # a forked child needs its own
        _pool[:] = [ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="fastnn"),
                    (threads - 1, os.getpid())]
    bounds = [min(n, (n * c // threads + align - 1) // align * align) for c in range(threads)]
    bounds.append(n)
    futures = [_pool[0].submit(kernel, *args, lo, hi)
               for lo, hi in zip(bounds[1:-1], bounds[2:]) if lo < hi]
    kernel(*args, bounds[0], bounds[1])  # the calling thread takes the first chunk
    for future in futures:
        future.result()


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
    if loss == CCE and act == SOFTMAX:
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
        elif loss == BCE:
            a = min(max(a, LOG_EPS), 1.0 - LOG_EPS)
            total -= y * np.log(a) + (1.0 - y) * np.log(1.0 - a)
        else:
            total -= y * np.log(min(max(a, LOG_EPS), 1.0 - LOG_EPS))
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
        elif loss == BCE:
            a = min(max(a, LOG_EPS), 1.0 - LOG_EPS)
            D[do + j] = (a - y) / (a * (1.0 - a)) / scale
        else:
            D[do + j] = -y / min(max(a, LOG_EPS), 1.0 - LOG_EPS) / scale
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
    gradient transposed, G[:, :w] (n_out, w)."""
    code, hyper, state1, state2, step = opt
    n_out = G.shape[0]
    if code == 0:
        for t in range(w):
            for j in range(n_out):
                _sgd_one(flat, state1, lo + t * n_out + j, G[j, t], hyper[0], hyper[1])
    else:
        correction1, correction2 = 1.0 - hyper[2] ** step[0], 1.0 - hyper[3] ** step[0]
        for t in range(w):
            for j in range(n_out):
                _adam_one(flat, state1, state2, lo + t * n_out + j, G[j, t], hyper[0], hyper[2],
                          hyper[3], hyper[4], correction1, correction2)


@_jit()
def _update_chunk(opt, flat, grads, base, lo, hi):
    _update(opt, flat, grads, base + lo, base + hi)


@_jit()
def _first_layer_step_chunk(X, rows, dZ, W, flat, opt, WT, P, snapshot, s0, s1):
    """The first layer's training step for the inputs of slabs s0 <= s < s1, block by block:
    the weight gradient, straight into the optimizer's update of those weights (W =
    flat[:W.size]; the gradient itself is not kept),
    and if P has rows (a full-batch step) the next step's partial products of every sample, in
    the order of X, from the updated weights (exactly as ``_forward_slabs_chunk`` would make
    them), with a copy of the updated weights in ``snapshot`` to check them against."""
    m = rows.shape[0]
    every = np.arange(X.shape[0])
    n_in, n_out = W.shape
    width = BLOCK_BYTES // X.itemsize
    n_blocks = (n_in + width - 1) // width
    G = _aligned_matrix(n_out, width, W)
    following = P.shape[0] > 0
    for s in range(s0, s1):
        if following:
            _zero_rows(P, s * m, (s + 1) * m)
        first, stop = _slab(n_blocks, s)
        for blk in range(first, stop):
            kb, ke = blk * width, min(blk * width + width, n_in)
            _gradient_block(X, rows, dZ, G, kb, ke - kb)
            _update_rows(opt, flat, G, kb * n_out, ke - kb)
            if following:
                _transpose_into(W, WT, kb, ke)
                _matmul_nt_rows(X, every, 0, m, WT, P, kb, ke, s * m)
                for p in range(kb * n_out, ke * n_out):
                    snapshot[p] = flat[p]


@_jit()
def _unchanged(flat, snapshot):
    """Whether flat[:len(snapshot)] still equals snapshot (no early exit: the loop vectorizes)."""
    differ = False
    for p in range(snapshot.shape[0]):
        differ |= flat[p] != snapshot[p]
    return not differ


# ---------------------------------------------------------------- whole network, sample by sample
# For small batches: one int64 table describes the layers, one float buffer holds every unit of
# one sample (Z, A) and two delta segments, parameters are read from ``flat`` by offset, and the
# gradients of a batch add up sample by sample. Few arrays, no views, no allocation inside the
# epoch: per-sample SGD stays in L1 and pays almost no reference counting.

N_IN, N_OUT, ACT, BIAS, W_AT, U_AT = 0, 1, 2, 3, 4, 5  # columns of the layer table


@_jit()
def _layer_table(net):
    """(layers, 6) int64: n_in, n_out, activation, bias, offset of W in flat, offset of units."""
    sizes, acts, biases = net
    table = np.empty((sizes.shape[0] - 1, 6), np.int64)
    w, u = 0, 0
    for layer in range(table.shape[0]):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        table[layer] = (n_in, n_out, acts[layer], biases[layer], w, u)
        w += n_in * n_out + n_out
        u += n_out
    return table


@_jit()
def _scratch(table, dtype_example):
    """One buffer: Z and A of every unit, then two delta segments as wide as the widest layer.
    Returns (buffer, z_at, a_at, d_at, e_at)."""
    units = table[-1, U_AT] + table[-1, N_OUT]
    widest = max(table[:, N_OUT].max(), table[:, N_IN].max())
    buffer = np.empty(2 * units + 2 * widest, dtype_example.dtype)
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
def _sample_backward(flat, table, X, i, S, z_at, a_at, d_at, e_at, grads, dX):
    """Add the gradients of sample X[i] to ``grads``; S[d_at:] holds dL/dZ of the output. If dX
    has rows, dX[i] = dL/dX[i], the gradient of the first layer's input."""
    for layer in range(table.shape[0] - 1, -1, -1):
        n_in, n_out = table[layer, N_IN], table[layer, N_OUT]
        wo = table[layer, W_AT]
        io = table[layer - 1, U_AT] if layer > 0 else 0
        d = uint64(d_at)
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
            if dX.shape[0] > 0:
                for k in range(n_in):
                    dX[i, k] = _row_dot(flat, wo + k * n_out, S, d, n_out)
            break
        for k in range(n_in):
            S[e_at + k] = _row_dot(flat, wo + k * n_out, S, d, n_out)
        _activation_backward_segment(table[layer - 1, ACT], S, z_at + io, S, a_at + io, S, e_at,
                                     n_in)
        d_at, e_at = e_at, d_at


@_jit(inline="always")
def _batch_gradients(flat, table, loss, X, Y, rows, scratch, grads, dX):
    """``(loss, correct)`` of the batch X[rows], Y[rows]; the gradient of the table's layers
    into ``grads`` (the parameters before them are left alone), dL/dX[rows] into dX if it has
    rows. ``rows = (order, start, stop)``: the batch is order[start:stop], without a view."""
    order, start, stop = rows
    S, z_at, a_at, d_at, e_at = scratch
    last = table.shape[0] - 1
    k, o, act = table[last, N_OUT], table[last, U_AT], table[last, ACT]
    scale = _loss_scale(loss, stop - start, k)
    for p in range(table[0, W_AT], grads.shape[0]):  # (a slice assignment would make a view)
        grads[p] = 0
    value = 0.0
    correct = 0
    for r in range(start, stop):
        i = order[r]
        _sample_forward(flat, table, X, i, S, z_at, a_at)
        value += _sample_loss(loss, act, S, z_at + o, S, a_at + o, Y, i, k)
        correct += _sample_correct(loss, S, a_at + o, Y, i, k)
        _sample_delta(loss, act, S, z_at + o, S, a_at + o, Y, i, k, scale, S, d_at)
        _sample_backward(flat, table, X, i, S, z_at, a_at, d_at, e_at, grads, dX)
    return value / scale, correct


@_jit()
def _forward_samples(flat, net, first, X, Z, A):
    """The output layer's Z and A (m, k) for every row of X, the input of layer ``first``:
    layers first, first + 1, ... sample by sample."""
    table = _layer_table(net)[first:]
    S, z_at, a_at, _, _ = _scratch(table, flat)
    k, o = table[-1, N_OUT], table[-1, U_AT]
    for i in range(X.shape[0]):
        _sample_forward(flat, table, X, i, S, z_at, a_at)
        for j in range(k):
            Z[i, j] = S[z_at + o + j]
            A[i, j] = S[a_at + o + j]


@_jit()
def _gradients_samples(flat, net, first, loss, X, Y, grads, dX):
    """``(loss, correct)`` of the layers from ``first`` on, sample by sample, X their input
    (m, n): their gradients into ``grads``, dL/dX into dX if it has rows."""
    table = _layer_table(net)[first:]
    rows = (np.arange(X.shape[0]), 0, X.shape[0])
    return _batch_gradients(flat, table, loss, X, Y, rows, _scratch(table, flat), grads, dX)


@_jit()
def _first_layer_middle(flat, net, loss, P, pos, Y, Z, A, dZ, grads, opt):
    """A batch between its two passes over X, when only the first layer is wide, in one call:
    Z = b + the slabs' products P of sample pos[r] and A = f(Z) (``_sum_slabs``); the layers
    after it sample by sample (loss, correct, their gradients); dZ = dL/dZ of the first layer,
    its bias gradient, and the optimizer's update of every parameter but the first layer's W
    (Adam's step already counted). Returns ``(loss, correct)``."""
    sizes, acts, biases = net
    w_size, n_out = sizes[0] * sizes[1], sizes[1]
    _sum_slabs(P, pos, flat[w_size:w_size + n_out], acts[0], Z, A)
    value, correct = _gradients_samples(flat, net, 1, loss, A, Y, grads, dZ)
    _activation_backward(acts[0], Z, A, dZ, dZ)
    db = grads[w_size:w_size + n_out]
    _column_sums_into(dZ, db)
    if not biases[0]:
        db[:] = 0
    _update(opt, flat, grads, w_size, flat.shape[0])
    return value, correct


@_jit()
def _train_epoch(flat, net, loss, X, Y, order, batch_size, opt):
    """One epoch of updates, batches, layers and optimizer in one compiled call."""
    code, step = opt[0], opt[4]
    table = _layer_table(net)
    scratch = _scratch(table, flat)
    grads = np.empty_like(flat)
    no_input_gradient = np.empty((0, 0), flat.dtype)
    n = order.shape[0]
    total = 0.0
    correct = 0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        value, batch_correct = _batch_gradients(flat, table, loss, X, Y, (order, start, stop),
                                                scratch, grads, no_input_gradient)
        correct += batch_correct
        total += value if loss == SSE else value * (stop - start)
        if code != 0:
            step[0] += 1
        _update(opt, flat, grads, 0, flat.shape[0])
    return (total if loss == SSE else total / n), correct


# ---------------------------------------------------------------- the backend contract
# Small batches run whole epochs in one compiled call, sample by sample (COMPILED_MAX_WORK
# multiply-adds per batch decide). Large ones split the network in two: the head, up to the last
# layer with more than TAIL_MAX_WEIGHTS weights, runs layer by layer, each product split over
# threads; the small layers after it (the tail, with the loss) run in one compiled call, sample by
# sample, which also returns the gradient the head's backward pass starts from.

COMPILED_MAX_WORK = backends.COMPILED_MAX_WORK
TAIL_MAX_WEIGHTS = 4096


def _aligned_empty(shape, dtype):
    """np.empty(shape, dtype) with its data aligned to ALIGN bytes."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGN, np.uint8)
    offset = -raw.ctypes.data % ALIGN
    return raw[offset:offset + nbytes].view(dtype).reshape(shape)


def _aligned(X):
    """X, C-contiguous and aligned to ALIGN bytes (a copy only if it is not)."""
    X = np.ascontiguousarray(X)
    if X.ctypes.data % ALIGN == 0:
        return X
    copy = _aligned_empty(X.shape, X.dtype)
    copy[...] = X
    return copy


class _Inputs:
    """The training inputs of one fit, X (C-contiguous, aligned), and what a full-batch step
    leaves for the next: ``pending = (P, snapshot)``, the first layer's partial products of all
    of X with the weights it updated, and a copy of those weights (see ``_layered_step``)."""

    def __init__(self, X):
        self.X = X
        self.pending = None
        self.workspace = {}

    def buffer(self, name, shape, dtype):
        """An aligned work array of this fit, reused from step to step."""
        key = (name, shape, np.dtype(dtype))
        if key not in self.workspace:
            self.workspace[key] = _aligned_empty(shape, dtype)
        return self.workspace[key]


def prepare_inputs(X):
    """X as the kernels read it fastest (C-contiguous, aligned; copied once per fit if it is
    not), with room for what one step leaves the next."""
    return _Inputs(_aligned(X))


def take_rows(X, rows):
    """The batch as (X, rows): the kernels read X[rows[r]] in place, nothing is copied."""
    X = X.X if isinstance(X, _Inputs) else X
    return (X, np.ascontiguousarray(rows, dtype=np.int64))


def _samples(X):
    """(X, rows) from an array, from prepare_inputs' object or from take_rows' pair."""
    if isinstance(X, tuple):
        return X
    X = X.X if isinstance(X, _Inputs) else np.ascontiguousarray(X)
    return X, np.arange(X.shape[0])


def _by_slabs(W) -> bool:
    """Whether a layer splits its products by inputs (see SLABS): only its shape decides."""
    return W.shape[0] >= 2 * SLABS * (BLOCK_BYTES // W.itemsize)


def _forward_into(X, rows, W, b, act, Z, A):
    """Z = X[rows] @ W + b;  A = act(Z), large layers on several threads."""
    m = rows.shape[0]
    WT = _aligned_empty((W.shape[1], W.shape[0]), W.dtype)
    if _by_slabs(W):
        P = np.empty((SLABS * m, W.shape[1]), W.dtype)
        _run_chunks(_forward_slabs_chunk, (X, rows, W, WT, P), SLABS, m * W.size)
        _sum_slabs(P, np.arange(m), b, act, Z, A)
        return
    if W.size > SMALL_LAYER:
        _run_chunks(_transpose_into, (W, WT), W.shape[0], W.size)
    _run_chunks(_dense_forward_chunk, (X, rows, W, b, act, WT, Z, A), m, m * W.size, align=4)


def _backward_into(dZ, X, rows, W, dW, db, dX):
    """dW = X[rows].T @ dZ;  db = column sums of dZ;  dX = dZ @ W.T unless dX is None."""
    m = rows.shape[0]
    _run_chunks(_dense_backward_weights_chunk, (X, rows, dZ, dW), _blocks(W), m * W.size)
    _column_sums_into(dZ, db)
    if dX is not None:
        _run_chunks(_dense_backward_input_chunk, (dZ, W, dX, np.arange(m)), m, m * W.size,
                    align=4)


def dense_forward(X, W, b, act):
    """Z = X @ W + b;  A = act(Z).  X (m, n_in) (or take_rows' pair) -> Z, A (m, n_out)."""
    (X, rows), W = _samples(X), np.ascontiguousarray(W)
    Z = _aligned_empty((rows.shape[0], W.shape[1]), W.dtype)
    A = _aligned_empty(Z.shape, W.dtype)
    _forward_into(X, rows, W, b, act, Z, A)
    return Z, A


def activation_backward(act, Z, A, dA):
    """dZ = dA * f'(Z); for softmax dZ_j = A_j (dA_j - sum_k dA_k A_k).  All (m, n)."""
    dZ = np.empty_like(dA)
    _activation_backward(act, Z, A, dA, dZ)
    return dZ


def dense_backward(dZ, X, W, need_dX):
    """dW = X.T @ dZ;  db = column sums of dZ;  dX = dZ @ W.T (only if need_dX)."""
    (X, rows), dZ, W = _samples(X), np.ascontiguousarray(dZ), np.ascontiguousarray(W)
    dW, db = np.empty_like(W), np.empty(W.shape[1], W.dtype)
    dX = _aligned_empty((rows.shape[0], W.shape[0]), W.dtype) if need_dX else None
    _backward_into(dZ, X, rows, W, dW, db, dX)
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
    _run_chunks(_sgd_step, (params, grads, velocity, float(lr), float(momentum)), params.size,
                params.size)


def adam_step(params, grads, m, v, t, lr, beta1, beta2, eps):
    """Adam (Kingma & Ba): bias-corrected first and second moments; step number t >= 1."""
    hyper = (int(t), float(lr), float(beta1), float(beta2), float(eps))
    _run_chunks(_adam_step, (params, grads, m, v) + hyper, params.size, params.size)


def _compiled(net, batch) -> bool:
    """Whether a batch is small enough for the compiled, serial whole-network path."""
    sizes = net[0]
    return batch * int(np.sum(sizes[:-1] * sizes[1:])) < COMPILED_MAX_WORK


def _head(net) -> int:
    """How many layers run layer by layer: up to the last one with more than TAIL_MAX_WEIGHTS
    weights, at least one."""
    sizes = net[0]
    large = np.flatnonzero(sizes[:-1] * sizes[1:] > TAIL_MAX_WEIGHTS)
    return int(large[-1]) + 1 if large.size else 1


def _head_forward(flat, net, X, rows, first=None):
    """The head's layers on X[rows]: ``[(input, rows), ...]`` and ``[(Z, A), ...]`` per layer.
    ``first``: the first layer's (Z, A) when they are known already."""
    sizes, acts, _ = net
    inputs, outputs = [], []
    for (W, b), act in zip(layer_views(flat, sizes)[:_head(net)], acts):
        if first is None:
            Z = _aligned_empty((rows.shape[0], W.shape[1]), W.dtype)
            A = _aligned_empty(Z.shape, W.dtype)
            _forward_into(X, rows, W, b, int(act), Z, A)
        else:
            (Z, A), first = first, None
        inputs.append((X, rows))
        outputs.append((Z, A))
        X, rows = A, np.arange(rows.shape[0])
    return inputs, outputs


def _backpropagate(flat, net, loss, X, rows, Y, grads, first=None):
    """Forward and back through a large batch X[rows] with targets Y: the head layer by layer,
    the tail sample by sample. Fills ``grads``, all but the first layer's W; returns
    ``(loss, correct, dZ)``, dZ = dL/dZ of the first layer (m, n_1)."""
    sizes, acts, biases = net
    head = _head(net)
    inputs, outputs = _head_forward(flat, net, X, rows, first)
    Z, A = outputs[-1]
    act = int(acts[head - 1])
    if head < len(acts):
        dA = np.empty_like(A)
        value, correct = _gradients_samples(flat, net, head, int(loss), A, Y, grads, dA)
        dZ = activation_backward(act, Z, A, dA)
    else:
        value, correct = loss_value(loss, act, Z, A, Y), correct_count(loss, A, Y)
        dZ = output_delta(loss, act, Z, A, Y)
    layers, grad_layers = layer_views(flat, sizes), layer_views(grads, sizes)
    for layer in range(head - 1, 0, -1):
        (W, _), (dW, db) = layers[layer], grad_layers[layer]
        dX = _aligned_empty((dZ.shape[0], W.shape[0]), W.dtype)
        _backward_into(dZ, *inputs[layer], W, dW, db, dX)
        dZ = activation_backward(int(acts[layer - 1]), *outputs[layer - 1], dX)
    for layer, (_, db) in enumerate(grad_layers[:head]):
        if layer == 0:
            _column_sums_into(dZ, db)
        if not biases[layer]:
            db[:] = 0
    return float(value), int(correct), dZ


def _layered_gradients(flat, net, loss, X, Y, grads):
    """``(loss, correct)`` of a large batch X, Y; fills ``grads``."""
    (X, rows), Y = _samples(X), np.ascontiguousarray(Y)
    value, correct, dZ = _backpropagate(flat, net, loss, X, rows, Y, grads)
    W, dW = layer_views(flat, net[0])[0][0], layer_views(grads, net[0])[0][0]
    _run_chunks(_dense_backward_weights_chunk, (X, rows, dZ, dW), _blocks(W), dZ.shape[0] * W.size)
    return value, correct


def _blocks(W) -> int:
    """Blocks of BLOCK_BYTES in a row of the layer's input."""
    width = BLOCK_BYTES // W.itemsize
    return -(-W.shape[0] // width)


def _first_products(inputs, flat, W):
    """The slabs' partial products of every sample of X with the first layer's W, in the order
    of X: from what the previous full-batch step left if W has not changed since, else afresh."""
    pending, inputs.pending = inputs.pending, None
    if pending is not None:
        P, snapshot = pending
        if snapshot.shape[0] == W.size and _unchanged(flat, snapshot):
            return P
    X = inputs.X
    every = np.arange(X.shape[0])
    P = inputs.buffer("P", (SLABS * X.shape[0], W.shape[1]), W.dtype)
    WT = inputs.buffer("WT", (W.shape[1], W.shape[0]), W.dtype)
    _run_chunks(_forward_slabs_chunk, (X, every, W, WT, P), SLABS, X.shape[0] * W.size)
    return P


def _layered_step(flat, net, loss, X, Y, rows, grads, opt):
    """One training step on a large batch X[rows] (``rows`` a slice or indices): gradients,
    the first layer's update made block by block with its gradient, then the others' update.

    When only the first layer is wide (``_by_slabs``), a step is three calls: its products
    (threads), the rest of the batch (``_first_layer_middle``), its gradient and update
    (threads). A full-batch step also computes the next step's first products from the updated
    weights while each block of X is in cache (``_first_layer_step_chunk``), kept in ``inputs``
    and used by the next step if the weights have not changed since."""
    inputs = X if isinstance(X, _Inputs) else _Inputs(np.ascontiguousarray(X))
    X = inputs.X
    n = X.shape[0]
    rows = np.arange(n)[rows] if isinstance(rows, slice) else np.ascontiguousarray(rows, np.int64)
    m = rows.shape[0]
    (W, b), (dW, _) = layer_views(flat, net[0])[0], layer_views(grads, net[0])[0]
    n_out = W.shape[1]
    wide = _by_slabs(W)
    fuse = wide and m == n and np.bincount(rows, minlength=n).max() == 1
    if wide and _head(net) == 1 < len(net[1]):
        Z, A, dZ = (inputs.buffer(name, (m, n_out), W.dtype) for name in ("Z", "A", "dZ"))
        if fuse:  # the first products of all of X, in its order, taken in the batch's order
            P, pos = _first_products(inputs, flat, W), rows
        else:
            P, pos = inputs.buffer("P", (SLABS * m, n_out), W.dtype), np.arange(m)
            WT = inputs.buffer("WT", (n_out, W.shape[0]), W.dtype)
            _run_chunks(_forward_slabs_chunk, (X, rows, W, WT, P), SLABS, m * W.size)
        if opt[0] != OPT_SGD:
            opt[4][0] += 1
        value, correct = _first_layer_middle(flat, net, int(loss), P, pos, Y[rows], Z, A, dZ,
                                             grads, opt)
    else:
        first = None
        if fuse:
            first = tuple(inputs.buffer(name, (n, n_out), W.dtype) for name in ("Z", "A"))
            _sum_slabs(_first_products(inputs, flat, W), rows, b, int(net[1][0]), *first)
        value, correct, dZ = _backpropagate(flat, net, loss, X, rows, Y[rows], grads, first)
        if opt[0] != OPT_SGD:
            opt[4][0] += 1
        _run_chunks(_update_chunk, (opt, flat, grads, W.size), flat.size - W.size,
                    flat.size - W.size)
    if wide:
        P = inputs.buffer("P", (SLABS * m if fuse else 0, n_out), W.dtype)
        WT = inputs.buffer("WT", (n_out, W.shape[0]) if fuse else (0, 0), W.dtype)
        snapshot = inputs.buffer("snapshot", (W.size if fuse else 0,), W.dtype)
        _run_chunks(_first_layer_step_chunk,
                    (X, rows, dZ, W, flat, opt, WT, P, snapshot), SLABS, m * W.size)
        inputs.pending = (P, snapshot) if fuse else None
    else:
        _run_chunks(_dense_backward_weights_chunk, (X, rows, dZ, dW), _blocks(W), m * W.size)
        _run_chunks(_update_chunk, (opt, flat, grads, 0), W.size, W.size)
    return float(value), int(correct)


_, _, _layered_epoch = _network.bind(globals(), step=_layered_step)


def forward(flat, net, X):
    """The output layer's Z and A for X (m, n_in), each (m, k)."""
    X = np.ascontiguousarray(X)
    m, first = X.shape[0], 0
    if not _compiled(net, m):
        _, outputs = _head_forward(flat, net, X, np.arange(m))
        first = _head(net)
        if first == len(net[1]):
            return outputs[-1]
        X = outputs[-1][1]
    Z = np.empty((m, int(net[0][-1])), flat.dtype)
    A = np.empty_like(Z)
    _forward_samples(flat, net, first, X, Z, A)
    return Z, A


def loss_and_gradients(flat, net, loss, X, Y, grads):
    """Forward, loss, then backpropagation; fills ``grads`` (flat); returns the loss."""
    X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)
    if not _compiled(net, X.shape[0]):
        return _layered_gradients(flat, net, loss, X, Y, grads)[0]
    no_input_gradient = np.empty((0, 0), flat.dtype)
    return float(_gradients_samples(flat, net, 0, loss, X, Y, grads, no_input_gradient)[0])


def train_epoch(flat, net, loss, X, Y, order, batch_size, opt):
    """One epoch of updates over ``order`` in batches; ``(loss, correct)``.

    Small batches: the whole epoch (batches, layers, optimizer) in one compiled call. Large
    ones: batch by batch, the head's kernels on several threads (see above).
    """
    if not _compiled(net, min(batch_size, len(order))):
        return _layered_epoch(flat, net, loss, X, Y, order, batch_size, opt)
    X = X.X if isinstance(X, _Inputs) else X
    value, correct = _train_epoch(flat, net, loss, X, Y, order, batch_size, opt)
    return float(value), int(correct)
