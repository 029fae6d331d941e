"""The backend registry: ``get(name)`` imports a backend lazily and caches it.

The rule for ``"auto"`` (``auto()``): ``numpy`` if Numba does not import here; otherwise
``numba``, except for float32 mini-batches (fewer samples per batch than the data) of at least
``AUTO_NUMPY_FLOAT32_MIN_WORK`` multiply-adds (batch x multiply-adds per sample): there NumPy's
BLAS measured faster, unless the first layer is wide (``WIDE_INPUTS_FLOAT32`` inputs or more, the
cat model's 12288) and the batch has ``AUTO_NUMBA_WIDE_MIN_WORK`` multiply-adds or more.
Measured, ms per epoch, numba / numpy, the better of two runs. Cat model (245,900 multiply-adds a
sample), float32: batch 1: 56 / 102, 2: 38 / 27, 4: 30 / 15, 8: 13 / 10, 16: 7.7 / 6.7,
32: 4.3 / 4.6, 64: 2.9 / 3.6, 128: 2.1 / 3.3; float64 numba as fast or faster at every batch
size but 4 (27 / 25). A [784, 128, 10] softmax net on 2000 samples: float32 batch 32: 77 / 52,
128: 27 / 21, full: 10 / 10; float64 batch 32: 97 / 100, 128: 36 / 41, full: 16 / 19. The loop
backend is only used when asked for by name: it is the readable reference, not a fast path.
"""

import importlib
import os

import numpy as np

from ._ops import OPS

NAMES = ("loop", "numpy", "numba")
# Multiply-adds per batch below which the numba backend runs whole epochs compiled, sample by
# sample; from there on it runs layer by layer on threads (cat model, ms per epoch, compiled /
# layer by layer: batch 4: 28 / 32 float64, 30 / 28 float32; batch 8: 24 / 16, 25 / 15).
COMPILED_MAX_WORK = 1_000_000
# The numbers of the rule for "auto" (see above).
AUTO_NUMPY_FLOAT32_MIN_WORK = 400_000
AUTO_NUMBA_WIDE_MIN_WORK = 6_000_000
WIDE_INPUTS_FLOAT32 = 4096
_MODULES = {"loop": "._loop", "numpy": "._numpy", "numba": "._numba"}
_cache: dict = {}
_failures: dict = {}


def thread_count() -> int:
    """Threads for large layers: ``$FASTNN_NUM_THREADS`` if set (a positive integer), else the
    machine's cores."""
    text = os.environ.get("FASTNN_NUM_THREADS", "").strip()
    if not text:
        return os.cpu_count() or 1
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"FASTNN_NUM_THREADS: expected a positive integer (the threads for "
                         f"large layers), got {text!r}")
    return count


thread_count()  # a bad $FASTNN_NUM_THREADS is an error at import, not at the first large layer


def get(name: str):
    """The backend module called ``name`` (``"loop"``, ``"numpy"``, ``"numba"`` or ``"auto"``)."""
    if name == "auto":
        name = auto()
    if name not in _MODULES:
        raise ValueError(f"backend: unknown name {name!r}; choose one of 'auto', "
                         + ", ".join(repr(n) for n in NAMES))
    if name not in _cache:
        try:
            _cache[name] = importlib.import_module(_MODULES[name], __name__)
        except ImportError as error:
            _failures[name] = error
            raise ImportError(f"backend {name!r} is not available here: {error}") from error
    return _cache[name]


def available() -> list:
    """The backends that import here, in the order loop, numpy, numba."""
    names = []
    for name in NAMES:
        try:
            get(name)
        except ImportError:
            continue
        names.append(name)
    return names


def auto(sizes=None, batch_size: int | None = None, n_samples: int | None = None,
         dtype="float64") -> str:
    """The backend ``"auto"`` stands for; with a network's widths (input first), a training
    batch and the dtype it applies the measured rule of this module's docstring."""
    if "numba" not in available():
        return "numpy"
    if sizes is None or batch_size is None or n_samples is None:
        return "numba"
    work = batch_size * sum(int(a) * int(b) for a, b in zip(sizes[:-1], sizes[1:]))
    if np.dtype(dtype) != np.float32 or batch_size >= n_samples:
        return "numba"
    wide = int(sizes[0]) >= WIDE_INPUTS_FLOAT32 and work >= AUTO_NUMBA_WIDE_MIN_WORK
    return "numpy" if work >= AUTO_NUMPY_FLOAT32_MIN_WORK and not wide else "numba"


__all__ = ["OPS", "NAMES", "COMPILED_MAX_WORK", "AUTO_NUMPY_FLOAT32_MIN_WORK",
           "AUTO_NUMBA_WIDE_MIN_WORK", "WIDE_INPUTS_FLOAT32", "get", "available", "auto",
           "thread_count"]
