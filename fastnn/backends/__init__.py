"""The backend registry: ``get(name)`` imports a backend lazily and caches it.

The rule for ``"auto"`` (``auto()``): ``numpy`` if Numba does not import here; otherwise
``numba``, except for mini-batches of large layers (batch x multiply-adds per sample of at least
``AUTO_NUMPY_MIN_WORK``, and fewer samples per batch than the data), where NumPy's BLAS measured
faster. Measured on the cat model (245,900 multiply-adds a sample), ms per epoch, numba / numpy:
batch 1: 63 / 216, batch 2: 48 / 65, batch 4: 41 / 29, batch 64: 0.5-0.9x (README table). The
loop backend is only used when asked for by name: it is the readable reference, not a fast path.
"""

import importlib

from ._ops import OPS

NAMES = ("loop", "numpy", "numba")
# Multiply-adds per batch below which the numba backend runs whole epochs compiled, sample by
# sample; from there on it runs layer by layer on threads.
COMPILED_MAX_WORK = 2_000_000
# Multiply-adds per mini-batch from which "auto" prefers numpy (see the rule above).
AUTO_NUMPY_MIN_WORK = 750_000
_MODULES = {"loop": "._loop", "numpy": "._numpy", "numba": "._numba"}
_cache: dict = {}
_failures: dict = {}


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


def auto(sizes=None, batch_size: int | None = None, n_samples: int | None = None) -> str:
    """The backend ``"auto"`` stands for; with a network's widths (input first) and a training
    batch it applies the measured rule of this module's docstring."""
    if "numba" not in available():
        return "numpy"
    if sizes is None or batch_size is None or n_samples is None:
        return "numba"
    macs = sum(int(a) * int(b) for a, b in zip(sizes[:-1], sizes[1:]))
    if batch_size < n_samples and batch_size * macs >= AUTO_NUMPY_MIN_WORK:
        return "numpy"
    return "numba"


__all__ = ["OPS", "NAMES", "COMPILED_MAX_WORK", "AUTO_NUMPY_MIN_WORK", "get", "available",
           "auto"]
