"""Input validation: the checks of user input that several modules share (shapes, NaN, labels,
numbers, names), each run once, before any work starts. A setting that belongs to one object
is checked where that object is made, with these (a layer's in ``layers``, an optimizer's in
``optimizers``, a fit's in ``Sequential._settings``, an estimator's parameters by
scikit-learn's ``_parameter_constraints``).

Errors name the argument and say what was wrong: ``ValueError`` for bad values and shapes,
``TypeError`` for values of the wrong kind.
"""

import numbers

import numpy as np

from . import activations, losses
from .network import issparse

DTYPES = ("float64", "float32")


def choice(name: str, value, registry: dict, aliases: dict | None = None) -> str:
    """The canonical name of ``value`` in ``registry`` (a dict of names), or a ValueError."""
    if isinstance(value, str):
        key = value.lower()
    elif value is None:
        key = None
    else:
        raise TypeError(f"{name}: expected a name (str), got {type(value).__name__} {value!r}")
    key = (aliases or {}).get(key, key)
    if key not in registry:
        known = ", ".join(repr(k) for k in registry)
        raise ValueError(f"{name}: unknown name {value!r}; choose one of {known}")
    return key


def dtype_name(dtype) -> str:
    """'float64' or 'float32' from a name or NumPy dtype; anything else is a ValueError."""
    try:
        name = np.dtype(dtype).name
    except TypeError as error:
        raise ValueError(f"dtype: {dtype!r} is not a dtype; use 'float64' or 'float32'") from error
    if name not in DTYPES:
        raise ValueError(f"dtype: {dtype!r} is not supported; use 'float64' or 'float32'")
    return name


def positive_int(name: str, value, allow_zero: bool = False) -> int:
    """An int > 0 (or >= 0 with allow_zero); bools and floats are a TypeError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: must be {bound}, got {value}")
    return int(value)


def flag(name: str, value) -> bool:
    """True or False (NumPy's bools too); anything else is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def positive_float(name: str, value, allow_zero: bool = False, below_one: bool = False) -> float:
    """A finite real > 0 (or >= 0), optionally < 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: must be a finite number {bound}, got {value}")
    if below_one and value >= 1:
        raise ValueError(f"{name}: must be < 1, got {value}")
    return value


def seed(name: str, value) -> int:
    """A seed for NumPy's RandomState: an int in [0, 2**32)."""
    value = positive_int(name, value, allow_zero=True)
    if value >= 2**32:
        raise ValueError(f"{name}: must be < 2**32 (a NumPy RandomState seed), got {value}")
    return value


def _numeric(name: str, values) -> np.ndarray:
    try:
        array = np.asarray(values)
    except ValueError as error:  # NumPy's "inhomogeneous shape" for ragged lists
        raise ValueError(f"{name}: cannot be made into an array: its rows have different "
                         f"lengths or shapes ({error})") from error
    if array.dtype.kind not in "biuf":
        kind = {"c": "complex numbers", "U": "strings", "S": "strings", "a": "strings",
                "M": "dates", "m": "time spans"}.get(array.dtype.kind, "objects")
        raise TypeError(f"{name}: expected real numbers, got an array of dtype {array.dtype} "
                        f"({kind})")
    return array


def _all_finite(name: str, array: np.ndarray, row_offset: int = 0) -> None:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        kind = "NaN" if np.isnan(array[tuple(bad)]) else "infinite"
        count = int((~np.isfinite(array)).sum())
        index = (int(bad[0]) + row_offset, *(int(i) for i in bad[1:]))
        raise ValueError(f"{name}: contains {count} NaN or infinite value(s); the first, "
                         f"at index {index}, is {kind}")


def features(X, n_features: int | None, dtype: str, name: str = "X",
             row_offset: int = 0) -> np.ndarray:
    """X as a C-contiguous, writeable ``(n_samples, n_features)`` array of ``dtype``, checked
    (``row_offset``: the row of X[0] in a larger dataset, for the error messages). Sparse X
    (``scipy.sparse``) comes back as compressed rows of ``dtype``, never made dense."""
    if issparse(X):
        return _sparse_features(X, n_features, dtype, name)
    X = _numeric(name, X)
    samples_shape(name, X.shape, n_features)
    _all_finite(name, X, row_offset)
    _fits(name, X, dtype, row_offset)
    X = np.ascontiguousarray(X, dtype=dtype)
    return X if X.flags.writeable else X.copy()  # (read-only arrays: one compiled kernel less)


def samples_shape(name: str, shape: tuple, n_features: int | None, kind: str = "array") -> None:
    """A ValueError unless ``shape`` (of an array, or another ``kind`` of data such as a file's
    dataset) is (n_samples > 0, n_features)."""
    if len(shape) != 2:
        hint = " (one sample? use X.reshape(1, -1))" if len(shape) == 1 and kind == "array" else ""
        raise ValueError(f"{name}: expected a 2-D {kind} (n_samples, n_features), "
                         f"got shape {shape}{hint}")
    if shape[0] == 0:
        raise ValueError(f"{name}: is empty (0 samples)")
    if n_features is not None and shape[1] != n_features:
        raise ValueError(f"{name}: expected {n_features} features per sample, got {shape[1]} "
                         f"(shape {shape})")


def _sparse_features(X, n_features: int | None, dtype: str, name: str):
    """Sparse X as CSR of ``dtype`` with sorted, unique indices, checked on its nonzeros."""
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected real numbers, got a sparse matrix of dtype {X.dtype}")
    samples_shape(name, X.shape, n_features)
    X = X.tocsr()
    where = lambda p: (int(np.searchsorted(X.indptr, p, side="right") - 1),  # noqa: E731
                       int(X.indices[p]))
    if X.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(X.data))
        if bad.size:
            kind = "NaN" if np.isnan(X.data[bad[0]]) else "infinite"
            raise ValueError(f"{name}: contains {bad.size} NaN or infinite value(s); the "
                             f"first, at index {where(bad[0])}, is {kind}")
        if np.finfo(X.dtype).max > np.finfo(dtype).max:
            big = np.flatnonzero(np.abs(X.data) > np.finfo(dtype).max)
            if big.size:
                raise ValueError(f"{name}: the value {X.data[big[0]].item()!r} at index "
                                 f"{where(big[0])} is beyond the range of {dtype} "
                                 f"(+-{np.finfo(dtype).max:.4g}); this model computes in "
                                 f"{dtype}")
    X = X.astype(dtype)  # (a copy: what is sorted below is not the caller's)
    X.sum_duplicates()
    return X


def _fits(name: str, array: np.ndarray, dtype: str, row_offset: int = 0) -> None:
    """A ValueError if a value of ``array`` would overflow to infinity in ``dtype``."""
    limit = np.finfo(dtype).max
    if array.dtype.kind == "f" and np.finfo(array.dtype).max > limit:
        too_big = np.abs(array) > limit
        if too_big.any():
            bad = tuple(int(i) for i in np.argwhere(too_big)[0])
            bad = (bad[0] + row_offset, *bad[1:])
            value = array[(bad[0] - row_offset, *bad[1:])].item()
            raise ValueError(f"{name}: the value {value!r} at index {bad} is beyond "
                             f"the range of {dtype} (+-{limit:.4g}); this model computes in "
                             f"{dtype}")


def targets(y, n_samples: int, n_out: int, loss: int, dtype: str, name: str = "y") -> np.ndarray:
    """y as a C-contiguous ``(n_samples, n_out)`` array of ``dtype``, checked for ``loss``.

    Integer class labels ``(n,)`` become one-hot rows for ``cce``; ``bce`` labels must be 0 or 1.
    """
    y = _numeric(name, y)
    if y.ndim == 0 or y.ndim > 2:
        raise ValueError(f"{name}: expected shape ({n_samples},) or ({n_samples}, {n_out}), "
                         f"got {y.shape}")
    if y.shape[0] != n_samples:
        raise ValueError(f"{name}: has {y.shape[0]} samples but X has {n_samples}")
    _all_finite(name, y)
    if loss == losses.CCE and (y.ndim == 1 or (y.shape[1] == 1 and n_out > 1)):
        labels = y.reshape(-1)
        if (labels != np.round(labels)).any() or labels.min() < 0 or labels.max() >= n_out:
            bad = labels[(labels != np.round(labels)) | (labels < 0) | (labels >= n_out)][0].item()
            raise ValueError(f"{name}: class labels must be integers in [0, {n_out - 1}] for "
                             f"'cce' with {n_out} outputs, got {bad!r}")
        one_hot = np.zeros((n_samples, n_out), dtype=dtype)
        one_hot[np.arange(n_samples), labels.astype(np.int64)] = 1
        return one_hot
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.shape[1] != n_out:
        raise ValueError(f"{name}: expected {n_out} target value(s) per sample to match the "
                         f"output layer, got shape {y.shape}")
    if loss == losses.BCE and not np.isin(y, (0, 1)).all():
        bad = y[~np.isin(y, (0, 1))][0].item()
        raise ValueError(f"{name}: labels for 'bce' must be 0 or 1, got {bad!r}")
    if loss == losses.POISSON and (y < 0).any():
        raise ValueError(f"{name}: targets for 'poisson' must be >= 0 (counts or rates), got "
                         f"{y[y < 0][0].item()!r}")
    if loss == losses.CCE and not (np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
        raise ValueError(f"{name}: one-hot rows for 'cce' must hold a single 1 and zeros elsewhere")
    return np.ascontiguousarray(y, dtype=dtype)


def sample_weight(values, n_samples: int, name: str = "sample_weight") -> np.ndarray:
    """One weight per sample, float64 ``(n_samples,)``, each finite and >= 0."""
    weights = _numeric(name, values)
    if weights.shape != (n_samples,):
        raise ValueError(f"{name}: expected shape ({n_samples},), one weight per sample, got "
                         f"{weights.shape}")
    _all_finite(name, weights)
    weights = weights.astype(np.float64)
    if (weights < 0).any():
        raise ValueError(f"{name}: weights must be >= 0, got {weights[weights < 0][0]!r}")
    return weights


def activation_name(value) -> str:
    return choice("activation", value, activations.ACTIVATIONS, activations.ALIASES)


def loss_name(value) -> str:
    return choice("loss", value, losses.LOSSES, losses.ALIASES)


def loss_output(loss: str, activation: str) -> None:
    """A ValueError unless the output layer's activation gives what ``loss`` needs."""
    allowed = losses.OUTPUTS.get(losses.LOSSES[loss])
    if allowed is None or activations.ACTIVATIONS[activation] in allowed:
        return
    names = " or ".join(repr(name) for name, code in activations.ACTIVATIONS.items()
                        if code in allowed)
    what = "a positive rate" if loss == "poisson" else "probability outputs"
    raise ValueError(f"loss: {loss!r} needs {what}, an output layer with "
                     f"activation {names}; this model's output activation is {activation!r} "
                     f"(use 'mse', or change the last layer's activation)")
