"""The backend registry: ``get(name)`` imports a backend lazily and caches it.

It takes names only: which backend ``"auto"`` stands for, and how a computation runs on it, is
decided in ``fastnn.plans``. The loop backend is only used when asked for by name: it is the
readable reference, not a fast path.
"""

import importlib
import importlib.util

from ._ops import OPS

NAMES = ("loop", "numpy", "numba")
_MODULES = {"loop": "._loop", "numpy": "._numpy", "numba": "._numba"}
_cache: dict = {}
_NEEDS = {"numba": "numba"}  # the package a backend needs beyond NumPy


def get(name: str):
    """The backend module called ``name``: ``"loop"``, ``"numpy"`` or ``"numba"``."""
    if name not in _MODULES:
        raise ValueError(f"backend: unknown name {name!r}; choose one of "
                         + ", ".join(repr(n) for n in NAMES))
    if name not in _cache:
        try:
            _cache[name] = importlib.import_module(_MODULES[name], __name__)
        except ImportError as error:
            raise ImportError(f"backend {name!r} is not available here: {error}") from error
    return _cache[name]


def installed(name: str) -> bool:
    """Whether the backend ``name`` can be imported here, judged without importing it (numba
    takes 0.1 s to import: only a plan that runs it pays that)."""
    if name in _cache:
        return True
    needs = _NEEDS.get(name)
    return needs is None or importlib.util.find_spec(needs) is not None


def available() -> list:
    """The backends that import here (``fastnn.available_backends``).

    Returns
    -------
    list of str
        In the order ``"loop"``, ``"numpy"``, ``"numba"``.
    """
    names = []
    for name in NAMES:
        try:
            get(name)
        except ImportError:
            continue
        names.append(name)
    return names


__all__ = ["OPS", "NAMES", "get", "available", "installed"]
