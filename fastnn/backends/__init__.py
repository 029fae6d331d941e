"""The backend registry: ``get(name)`` imports a backend lazily and caches it.

Which backend ``"auto"`` stands for, and how a fit runs on it, is decided in ``fastnn.plans``.
The loop backend is only used when asked for by name: it is the readable reference, not a fast
path.
"""

import importlib
import os

from ._ops import OPS

NAMES = ("loop", "numpy", "numba")
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
        name = "numba" if "numba" in available() else "numpy"
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


__all__ = ["OPS", "NAMES", "get", "available", "thread_count"]
