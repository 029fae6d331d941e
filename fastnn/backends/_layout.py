"""Where each layer's W and b live inside the flat parameter vector."""

import numpy as np


def param_count(sizes) -> int:
    """Number of parameters of a network with layer widths ``sizes`` (input first)."""
    return int(sum(sizes[i] * sizes[i + 1] + sizes[i + 1] for i in range(len(sizes) - 1)))


def layer_views(flat: np.ndarray, sizes) -> list:
    """``[(W1, b1), (W2, b2), ...]`` as views into ``flat``: W (n_in, n_out), b (n_out,)."""
    views = []
    offset = 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        n_in, n_out = int(n_in), int(n_out)
        W = flat[offset:offset + n_in * n_out].reshape(n_in, n_out)
        offset += n_in * n_out
        b = flat[offset:offset + n_out]
        offset += n_out
        views.append((W, b))
    return views


ALIGN = 64  # bytes: a cache line, one 512-bit vector. Vector loads from data aligned to it
# never straddle two lines (a misaligned X measured up to 30 % slower per thread).


def aligned_empty(shape, dtype):
    """np.empty(shape, dtype) with its data aligned to ALIGN bytes."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGN, np.uint8)
    offset = -raw.ctypes.data % ALIGN
    return raw[offset:offset + nbytes].view(dtype).reshape(shape)


def aligned(X):
    """X, C-contiguous and aligned to ALIGN bytes (a copy only if it is not)."""
    X = np.ascontiguousarray(X)
    if X.ctypes.data % ALIGN == 0:
        return X
    copy = aligned_empty(X.shape, X.dtype)
    copy[...] = X
    return copy
