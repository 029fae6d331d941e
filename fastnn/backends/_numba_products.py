"""Numba kernels for the products of wide layers, in register tiles, one chunk of outputs each.

Every kernel computes a fixed chunk (rows of Z or dX, blocks of rows of dW, slabs of inputs)
serially and without the GIL; ``_run_chunks`` runs the chunks on threads.
"""

import numpy as np
from numba import uint64

from ._numba_jit import _aligned_matrix, _jit
from ._numba_math import _activate, _update_rows

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


@_jit(inline="always")
def _tile4x1(A, rows, i, B, j, t0, t1, C, c):
    """C[c+i:c+i+4, j] += A[rows[i:i+4], t0:t1] @ B[j, t0:t1]: an edge column, four sums."""
    a0, a1, a2, a3 = uint64(rows[i]), uint64(rows[i + 1]), uint64(rows[i + 2]), uint64(rows[i + 3])
    b = uint64(j)
    s0 = s1 = s2 = s3 = A.dtype.type(0)
    for t in range(uint64(t0), uint64(t1)):
        y = B[b, t]
        s0 += A[a0, t] * y
        s1 += A[a1, t] * y
        s2 += A[a2, t] * y
        s3 += A[a3, t] * y
    C[c + i, j] += s0
    C[c + i + 1, j] += s1
    C[c + i + 2, j] += s2
    C[c + i + 3, j] += s3


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
            _tile4x1(A, rows, i, B, edge, t0, t1, C, c)
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
            _gradient_tile6x1(X, rows, r, dZ, j, kb, w, G)
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
