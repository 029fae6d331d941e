"""Data sets: the Coursera cat images (HDF5, via h5py) and the seed-003 planar "flower".

``load_cat`` looks for ``train_catvnoncat.h5`` and ``test_catvnoncat.h5`` in, in order:

1. the ``path`` argument;
2. the folder named by the environment variable ``FASTNN_DATA``;
3. ``$XDG_CACHE_HOME/fastnn/datasets`` (default ``~/.cache/fastnn/datasets``), where
   ``fetch_cat`` downloads them;
4. ``./datasets`` in the current folder;
5. ``../shared/datasets``, the project's shared data folder beside a source checkout.

Files whose SHA-256 differs from the pinned sums warn (or raise with ``strict=True``).
"""

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np

from . import checks

CAT_FILES = {
    "train_catvnoncat.h5": "fbe56ab67c3ae28d564e3a644189117976d6b31af0a3ce9bb17dbf22908af242",
    "test_catvnoncat.h5": "6a9d39ce52fa85953c5834695b8534a30ed8cfd54971fb2f080b5a24d002b951",
}
CAT_PREFIX = {"train_catvnoncat.h5": "train", "test_catvnoncat.h5": "test"}
# A public mirror of the Coursera files; any mirror is safe because the checksums are pinned.
DEFAULT_CAT_URL = "https://raw.githubusercontent.com/ramakris/coursera-deeplearning/master/datasets"
DOWNLOAD_TIMEOUT = 30.0
IMAGE_SHAPE = (64, 64, 3)


class ChecksumWarning(UserWarning):
    """A data file differs from the known one (its SHA-256 does not match)."""


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/fastnn/datasets``, default ``~/.cache/fastnn/datasets``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fastnn" / "datasets"


def _search_folders(path) -> list:
    folders = []
    if path is not None:
        folders.append(Path(path))
    if os.environ.get("FASTNN_DATA"):
        folders.append(Path(os.environ["FASTNN_DATA"]))
    folders += [cache_dir(), Path.cwd() / "datasets", Path.cwd().parent / "shared" / "datasets"]
    return folders


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, strict: bool) -> None:
    expected = CAT_FILES[path.name]
    got = sha256(path)
    if got != expected:
        message = (f"{path}: SHA-256 {got} differs from the known {expected}; the file may be "
                   f"modified or damaged")
        if strict:
            raise ValueError(message)
        warnings.warn(message, ChecksumWarning, stacklevel=3)


def fetch_cat(url: str | None = None, dest=None, timeout: float = DOWNLOAD_TIMEOUT) -> Path:
    """Download the two cat files into ``dest`` (default: ``cache_dir()``); returns the folder.

    The source is ``url``, else ``$FASTNN_CAT_URL``, else a public mirror; each file must match
    its pinned SHA-256, and is written to a temporary file then moved into place, so an
    interrupted download never leaves a partial file under the real name.
    """
    url = (url or os.environ.get("FASTNN_CAT_URL") or DEFAULT_CAT_URL).rstrip("/")
    timeout = checks.positive_float("timeout", timeout)
    dest = Path(dest) if dest is not None else cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    for name, expected in CAT_FILES.items():
        target = dest / name
        if target.exists() and sha256(target) == expected:
            continue
        source = f"{url}/{name}"
        handle, temp = tempfile.mkstemp(dir=dest, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out, \
                    urllib.request.urlopen(source, timeout=timeout) as response:  # noqa: S310
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
            got = sha256(temp)
            if got != expected:
                raise ValueError(f"download of {source}: SHA-256 {got} differs from the known "
                                 f"{expected}; refusing the file")
            os.replace(temp, target)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise OSError(f"could not download {source} (timeout {timeout:g} s): {error}") \
                from error
        finally:
            if os.path.exists(temp):
                os.remove(temp)
    return dest


def _find(name: str, folders: list) -> Path | None:
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    return None


def _missing_error(name: str, folders: list, reason: str) -> FileNotFoundError:
    looked = "\n".join(f"  - {folder}" for folder in folders)
    return FileNotFoundError(
        f"{name}: not found. Looked in:\n{looked}\n{reason}Get the files (train_catvnoncat.h5 and "
        f"test_catvnoncat.h5, from the Coursera deep-learning course) with "
        f"fastnn.datasets.fetch_cat(), or put them in a folder and set FASTNN_DATA to it "
        f"(or pass path=...).")


def _read_split(path: Path, prefix: str, dtype: str):
    from .io import open_hdf5

    with open_hdf5(path, f"{path}: not a readable HDF5 file (truncated or corrupt?)") as file:
        wanted = [f"{prefix}_set_x", f"{prefix}_set_y", "list_classes"]
        missing = [key for key in wanted if key not in file]
        if missing:
            raise ValueError(f"{path}: lacks the dataset(s) {missing}; found {sorted(file)}")
        try:
            images = file[wanted[0]][()]
            labels = file[wanted[1]][()]
            classes = [c.decode() if isinstance(c, bytes) else str(c)
                       for c in file["list_classes"][()]]
        except OSError as error:
            raise ValueError(f"{path}: could not read its data (truncated or corrupt?): "
                             f"{error}") from error
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE or labels.shape != images.shape[:1]:
        raise ValueError(f"{path}: expected {wanted[0]} of shape (n, 64, 64, 3) and "
                         f"{wanted[1]} of shape (n,), got {images.shape} and {labels.shape}")
    X = images.reshape(images.shape[0], -1).astype(dtype) / np.array(255, dtype=dtype)
    return X, labels.astype(np.int64), classes


def load_cat(path=None, dtype: str = "float64", download: bool = True, strict: bool = False):
    """The cat vs non-cat images of the Coursera course, flattened and scaled to [0, 1].

    Returns ``(X_train, y_train), (X_test, y_test), classes``: X (209, 12288) and (50, 12288) of
    ``dtype``, y int64 (n,) with 1 = cat, classes ``["non-cat", "cat"]``. Rows flatten each
    64x64x3 image in (height, width, channel) order. Where the files are nowhere local and
    ``download`` is true, they are fetched into ``cache_dir()`` first.
    """
    dtype = checks.dtype_name(dtype)
    folders = _search_folders(path)
    found = {name: _find(name, folders) for name in CAT_FILES}
    if any(location is None for location in found.values()):
        reason = ""
        if download:
            try:
                fetch_cat()
                found = {name: _find(name, folders) for name in CAT_FILES}
            except (OSError, ValueError) as error:
                reason = f"Downloading them failed: {error}\n"
        else:
            reason = "download=False, so nothing was fetched.\n"
        for name, location in found.items():
            if location is None:
                raise _missing_error(name, folders, reason)
    splits = []
    for name, location in found.items():
        _verify(location, strict)
        splits.append(_read_split(location, CAT_PREFIX[name], dtype))
    (X_train, y_train, classes), (X_test, y_test, _) = splits
    return (X_train, y_train), (X_test, y_test), classes


def make_planar(n: int = 400, seed: int | None = 1):
    """The seed-003 "flower": two classes of ``n`` 2-D points in petals. X (n, 2), y (n,) int64.

    With ``seed=1`` (the default, as in the course's ``load_planar_dataset``) it draws the
    course's exact points for ``n=400``.
    """
    n = checks.positive_int("n", n)
    if n % 2:
        raise ValueError(f"n: must be even (two classes of n/2 points), got {n}")
    rng = np.random.RandomState(seed)
    half = n // 2
    X = np.zeros((n, 2))
    y = np.zeros(n, dtype=np.int64)
    for label in range(2):
        rows = slice(half * label, half * (label + 1))
        theta = np.linspace(label * 3.12, (label + 1) * 3.12, half) + rng.randn(half) * 0.2
        radius = 4 * np.sin(4 * theta) + rng.randn(half) * 0.2
        X[rows] = np.c_[radius * np.sin(theta), radius * np.cos(theta)]
        y[rows] = label
    return X, y


def make_spiral(n_per_class: int = 100, classes: int = 3, seed: int | None = 0):
    """The CS231n spiral: ``classes`` arms of ``n_per_class`` 2-D points each, for a softmax
    classifier. X (n, 2), y (n,) int64 with n = n_per_class * classes."""
    n_per_class = checks.positive_int("n_per_class", n_per_class)
    classes = checks.positive_int("classes", classes)
    rng = np.random.RandomState(seed)
    X = np.zeros((n_per_class * classes, 2))
    y = np.zeros(n_per_class * classes, dtype=np.int64)
    for label in range(classes):
        rows = slice(n_per_class * label, n_per_class * (label + 1))
        radius = np.linspace(0.0, 1, n_per_class)
        theta = (np.linspace(label * 4, (label + 1) * 4, n_per_class)
                 + rng.randn(n_per_class) * 0.2)
        X[rows] = np.c_[radius * np.sin(theta), radius * np.cos(theta)]
        y[rows] = label
    return X, y
