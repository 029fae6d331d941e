"""The compiled engine calls NumPy's own BLAS (one thread pool in the process), and the fallback
through SciPy's BLAS computes the same."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn

pytestmark = pytest.mark.skipif("numba" not in fastnn.available_backends(),
                                reason="numba is not installed")

FIT = """
import json, numpy as np, fastnn
from fastnn.backends import _numba_kernels
rng = np.random.default_rng(0)
result = {"blas": _numba_kernels.BLAS}
for dtype in ("float64", "float32"):
    X, y = rng.random((90, 40)).astype(dtype), rng.integers(0, 3, 90)
    model = fastnn.Sequential([fastnn.Dense(30, activation="relu"),
                               fastnn.Dense(3, activation="softmax")], input_dim=40, seed=0,
                              dtype=dtype)
    model.fit(X, y, loss="cce", optimizer=fastnn.Adam(), epochs=3, batch_size=16,
              backend="numba", dual=False, seed=0)
    result[dtype] = [float(v) for w in model.get_weights() for v in w.ravel()]
print(json.dumps(result))
"""


def _fit(**env):
    done = subprocess.run([sys.executable, "-c", FIT], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, **env))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_engine_calls_the_gemm_numpy_calls():
    """The address the kernels' ``fastnn_dgemm`` resolves to is NumPy's OpenBLAS' dgemm, found
    independently (threadpoolctl lists the BLAS libraries loaded and their files), and not
    SciPy's."""
    import ctypes

    threadpoolctl = pytest.importorskip("threadpoolctl")
    import scipy.linalg  # noqa: F401 (loads SciPy's OpenBLAS, to tell the two apart)
    from llvmlite import binding

    from fastnn.backends import _blas, _numba_kernels

    if _blas.numpy_gemms() is None:
        pytest.skip("NumPy's BLAS exports no ILP64 CBLAS gemm here (the fallback runs)")
    assert _numba_kernels.BLAS == "numpy"
    np.ones((64, 64)) @ np.ones((64, 64))
    libraries = [info for info in threadpoolctl.threadpool_info()
                 if info["internal_api"] == "openblas"]
    numpys = [info["filepath"] for info in libraries if "numpy" in info["filepath"]]
    scipys = [info["filepath"] for info in libraries if "scipy" in info["filepath"]
              and "numpy" not in info["filepath"]]
    assert numpys, libraries
    numpy_dgemm = ctypes.cast(ctypes.CDLL(numpys[0]).scipy_cblas_dgemm64_, ctypes.c_void_p)
    assert binding.address_of_symbol("fastnn_dgemm") == numpy_dgemm.value
    for path in scipys:
        theirs = ctypes.CDLL(path)
        for name in ("scipy_cblas_dgemm", "cblas_dgemm"):
            if hasattr(theirs, name):
                address = ctypes.cast(getattr(theirs, name), ctypes.c_void_p).value
                assert binding.address_of_symbol("fastnn_dgemm") != address


def test_the_scipy_fallback_computes_the_same():
    """Where NumPy's BLAS has no ILP64 CBLAS gemm the engine calls np.dot (SciPy's BLAS)
    through a compiled function of the same signature: the same fit, the same weights."""
    expected, got = _fit(), _fit(FASTNN_BLAS="scipy")
    assert got["blas"] == "scipy"
    for dtype, rtol in (("float64", 1e-12), ("float32", 1e-5)):
        np.testing.assert_allclose(got[dtype], expected[dtype], rtol=rtol, atol=rtol)
