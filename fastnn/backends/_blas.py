"""The BLAS the compiled engine calls: NumPy's own, so a process has one BLAS thread pool.

NumPy and SciPy each bundle an OpenBLAS with its own thread pool, and each pool's threads spin
for a while after a call. Numba's ``np.dot`` in compiled code calls SciPy's; the user's NumPy
(and the numpy backend) calls NumPy's: on a small machine the two pools starve each other
(a compiled fit measured 4-5x slower right after NumPy products, NumPy 2-18x slower right
after a compiled fit). So the engine calls NumPy's gemm instead.

The kernels (``_numba_kernels``) declare two external functions, ``fastnn_dgemm`` and
``fastnn_sgemm``, with the CBLAS signature of 64-bit integers (ILP64):
``(order, trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)``. Compiled code
refers to them by name, so it stays cacheable on disk ("dynamic globals", a ctypes pointer
held by a kernel, would not be); ``register`` tells LLVM their addresses in each process when
the kernels are imported, before any of them runs:

- NumPy's bundled OpenBLAS (``scipy_cblas_dgemm64_``: NumPy 2's wheels; ``cblas_dgemm64_``:
  NumPy 1's), found through the handle of NumPy's extension module, whose dependencies the
  dynamic linker searches, else in the wheel's library folder;
- where NumPy's BLAS exports neither (Accelerate, MKL, a system BLAS with 32-bit integers),
  a compiled function with the same signature that calls ``np.dot``: SciPy's BLAS, as before.

``FASTNN_BLAS=scipy`` takes the second path on purpose (for tests and comparisons).
"""

import ctypes
import glob
import os
from pathlib import Path

import numpy as np
from llvmlite import binding
from numba import carray, cfunc

# NumPy's names of the ILP64 CBLAS gemms: NumPy 2's wheels, NumPy 1's.
NAMES = {"d": ("scipy_cblas_dgemm64_", "cblas_dgemm64_"),
         "s": ("scipy_cblas_sgemm64_", "cblas_sgemm64_")}
TRANS = 112  # CBLAS' enum


def _libraries():
    """ctypes handles in which NumPy's BLAS symbols may be found, most likely first."""
    module = np._core._multiarray_umath if hasattr(np, "_core") else np.core._multiarray_umath
    yield module.__file__  # (dlsym searches its dependencies: the bundled OpenBLAS)
    root = Path(np.__file__).parent
    for folder in (root.parent / "numpy.libs", root / ".libs", root / ".dylibs"):
        yield from sorted(glob.glob(str(folder / "*openblas*")))


def numpy_gemms() -> tuple | None:
    """The addresses of NumPy's ILP64 CBLAS dgemm and sgemm, or None where not found."""
    for path in _libraries():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for which in range(len(NAMES["d"])):
            try:
                return tuple(ctypes.cast(getattr(library, NAMES[kind][which]),
                                         ctypes.c_void_p).value for kind in "ds")
            except AttributeError:
                continue
    return None


def _through_numpy_dot(declared):
    """A compiled function of the declared gemm's signature (row-major, alpha 1, beta 0,
    each operand stored contiguously with its leading dimension as its row length, as the
    kernels call it) that calls ``np.dot``: SciPy's BLAS. Its address."""
    dtype = np.float64 if declared.sig.args[6].bitwidth == 64 else np.float32

    def gemm(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        A = carray(a, (k, lda) if trans_a == TRANS else (m, lda), dtype)
        B = carray(b, (n, ldb) if trans_b == TRANS else (k, ldb), dtype)
        C = carray(c, (m, ldc), dtype)
        if trans_a == TRANS and trans_b == TRANS:
            np.dot(A.T, B.T, C)
        elif trans_a == TRANS:
            np.dot(A.T, B, C)
        elif trans_b == TRANS:
            np.dot(A, B.T, C)
        else:
            np.dot(A, B, C)

    return cfunc(declared.sig, cache=True)(gemm).address


def register(dgemm, sgemm) -> str:
    """Tell LLVM the addresses of the kernels' declared gemms (numba ``ExternalFunction``
    types, float64 and float32): NumPy's, else ``np.dot``'s. Returns whose BLAS they call,
    ``"numpy"`` or ``"scipy"``."""
    found = None if os.environ.get("FASTNN_BLAS") == "scipy" else numpy_gemms()
    which = "numpy" if found is not None else "scipy"
    if found is None:
        found = _through_numpy_dot(dgemm), _through_numpy_dot(sgemm)
    for declared, address in zip((dgemm, sgemm), found):
        binding.add_symbol(declared.symbol, address)
    return which
