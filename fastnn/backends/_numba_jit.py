"""The numba backend's groundwork: compile options, the thread pool, aligned memory.

``_jit`` compiles with the backend's options and caches on disk (compiling in memory where it
can't). ``_run_chunks`` splits a kernel's outputs into fixed chunks, one per thread. Large
inputs and work arrays are aligned to 64 bytes.
"""

import os
import queue
import threading
import warnings

import numpy as np
from numba import njit

from . import thread_count

# fastmath without "nnan"/"ninf": NaN and inf checks must keep working.
FASTMATH = frozenset({"contract", "arcp", "afn", "reassoc", "nsz"})
PARALLEL_MIN_WORK = 200_000  # multiply-adds of a layer from which threads pay off


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


class _Workers:
    """Threads that run kernel chunks handed to them through one queue: lighter than a
    ThreadPoolExecutor (no futures; measured 46 vs 60 µs a dispatch, mostly the wake-up)."""

    def __init__(self, count):
        self.pid = os.getpid()
        self.count = count
        self.tasks = queue.SimpleQueue()
        for index in range(count):
            threading.Thread(target=self._serve, name=f"fastnn-{index}", daemon=True).start()

    def _serve(self):
        while True:
            kernel, args, done, errors = self.tasks.get()
            try:
                kernel(*args)
            except BaseException as error:  # re-raised in the thread that waits for it
                errors.append(error)
            finally:
                done.release()

    def submit(self, kernel, args, errors):
        """Queue kernel(*args); returns a lock that is released when it has run."""
        done = threading.Lock()
        done.acquire()
        self.tasks.put((kernel, args, done, errors))
        return done


_workers: list = []


def _run_chunks(kernel, args, n, work, align=1):
    """kernel(*args, lo, hi) over [0, n): one chunk per thread when ``work`` is large. Chunk
    bounds are multiples of ``align`` (the kernel's tile or block), so every element is computed
    by the same tile whatever the number of threads: results do not depend on it."""
    threads = min(thread_count(), n) if work >= PARALLEL_MIN_WORK else 1
    if threads == 1:
        kernel(*args, 0, n)
        return
    if not _workers or _workers[0].pid != os.getpid() or _workers[0].count < threads - 1:
        _workers[:] = [_Workers(threads - 1)]  # (a forked child needs its own threads)
    bounds = [min(n, (n * c // threads + align - 1) // align * align) for c in range(threads)]
    bounds.append(n)
    errors: list = []
    waits = [_workers[0].submit(kernel, (*args, lo, hi), errors)
             for lo, hi in zip(bounds[:-2], bounds[1:-1]) if lo < hi]
    try:
        # The calling thread takes the last chunk: what it read last, before (the end of the
        # arrays), is still in its cache; the first chunk measured 9-13 % slower on a worker.
        kernel(*args, bounds[-2], bounds[-1])
    finally:
        for done in waits:
            done.acquire()
    if errors:
        raise errors[0]


ALIGN = 64  # bytes: a cache line, one 512-bit vector. Vector loads from data aligned to it
# never straddle two lines (a misaligned X measured up to 30 % slower per thread).


@_jit(inline="always")
def _aligned_matrix(rows, cols, example):
    """An empty (rows, cols) array like ``example``'s dtype, its data aligned to ALIGN bytes."""
    size = example.itemsize
    raw = np.empty(rows * cols + ALIGN // size, example.dtype)
    offset = (ALIGN - raw.ctypes.data % ALIGN) % ALIGN // size
    return raw[offset:offset + rows * cols].reshape((rows, cols))


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
