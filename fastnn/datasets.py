"""Data sets: the Coursera cat images (HDF5, via h5py), its 2-D "football" data (the
regularization assignment's ``data.mat``) and the seed-003 planar "flower".

``load_cat`` reads ``train_catvnoncat.h5`` and ``test_catvnoncat.h5``, both from one folder:

1. the ``path`` argument, if given: both files from there, or an error naming it;
2. else the folder named by the environment variable ``FASTNN_DATA``, if set: the same;
3. else the first of ``$XDG_CACHE_HOME/fastnn/datasets`` (default ``~/.cache/fastnn/datasets``)
   and ``./datasets`` that holds both files; if neither does, ``fetch_cat`` downloads them into
   the first (with ``download=True``).

``load_football`` reads ``football.mat`` from the same places (``fetch_football``).
Each file must match its pinned SHA-256, or it is refused (``verify=False`` only warns).
``fetch_cat`` tries a list of public mirrors in turn until a file matches its sum.
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
from .io import open_hdf5

CAT_FILES = {
    "train_catvnoncat.h5": "fbe56ab67c3ae28d564e3a644189117976d6b31af0a3ce9bb17dbf22908af242",
    "test_catvnoncat.h5": "6a9d39ce52fa85953c5834695b8534a30ed8cfd54971fb2f080b5a24d002b951",
}
CAT_PREFIX = {"train_catvnoncat.h5": "train", "test_catvnoncat.h5": "test"}
# Public copies of the Coursera files, tried in order; any mirror is safe because the sums are
# pinned. (The first repository's top-level datasets/ folder holds saved web pages, not the files.)
CAT_MIRRORS = (
    "https://raw.githubusercontent.com/ramakris/coursera-deeplearning/master/neuralnetworks/week4/"
    "datasets",
    "https://raw.githubusercontent.com/Hiren2002/Logistic-Regression/main/datasets",
    "https://raw.githubusercontent.com/ramakris/coursera-deeplearning/master/Improving-DeepNN/"
    "datasets",
)
FOOTBALL_FILE = "football.mat"
FOOTBALL_SHA256 = "1218828095bf91d215622d00b2a5b8784c359e29d9d9c5734949b8e60c5bc231"
# The course's name for it on the mirrors (a folder of the user's may hold either name).
FOOTBALL_SOURCES = ("data.mat", FOOTBALL_FILE)
FOOTBALL_MIRRORS = (
    "https://raw.githubusercontent.com/ramakris/coursera-deeplearning/master/Improving-DeepNN/"
    "datasets",
)
DOWNLOAD_TIMEOUT = 30.0
IMAGE_SHAPE = (64, 64, 3)


class ChecksumWarning(UserWarning):
    """A data file differs from the known one and ``verify=False`` let it through."""


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/fastnn/datasets``, default ``~/.cache/fastnn/datasets``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fastnn" / "datasets"


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _known(name: str) -> str:
    """The pinned SHA-256 of the data file ``name``."""
    return {**CAT_FILES, FOOTBALL_FILE: FOOTBALL_SHA256}[name]


def _verify(path: Path, verify: bool) -> None:
    expected = _known(path.name)
    got = sha256(path)
    if got == expected:
        return
    message = f"{path}: SHA-256 {got} differs from the known {expected}; the file is modified, " \
              f"damaged or another one"
    if verify:
        raise ValueError(message + " (refused; verify=False or the scripts' --no-verify read "
                                   "it anyway)")
    warnings.warn(message, ChecksumWarning, stacklevel=3)


def _mirrors(url, default=None) -> list:
    """The base URLs to try: ``url`` (one or several), else ``$FASTNN_CAT_URL`` (separated by
    spaces), else ``default`` (``CAT_MIRRORS``)."""
    if url is None:
        url = os.environ.get("FASTNN_CAT_URL", "").split() or default or CAT_MIRRORS
    urls = [url] if isinstance(url, str) else list(url)
    if not urls or not all(isinstance(u, str) and u for u in urls):
        raise ValueError(f"url: expected a URL or a list of URLs, got {url!r}")
    return [u.rstrip("/") for u in urls]


def _download(source: str, folder: Path, name: str, timeout: float) -> str | None:
    """Fetch ``source`` into ``folder/name`` if it matches the pinned sum; else why not."""
    handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, \
                urllib.request.urlopen(source, timeout=timeout) as response:  # noqa: S310
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        got = sha256(temp)
        if got != _known(name):
            return f"{source}: SHA-256 {got} differs from the known {_known(name)} (refused)"
        os.replace(temp, folder / name)
        return None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return f"{source}: {getattr(error, 'reason', None) or error} (timeout {timeout:g} s)"
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def fetch_cat(url=None, dest=None, timeout: float = DOWNLOAD_TIMEOUT) -> Path:
    """Download the two cat files into ``dest``; returns the folder.

    Each file comes from the first mirror whose copy matches its pinned SHA-256. Files are
    written to a temporary name and moved into place, so an interrupted download never leaves a
    partial file under the real name.

    Parameters
    ----------
    url : str or list of str, optional
        Base URLs to try in turn (``file://`` works too); default ``$FASTNN_CAT_URL``, else
        ``CAT_MIRRORS``.
    dest : path-like, optional
        Default ``cache_dir()``.
    timeout : float
        Seconds to wait for each answer.

    Returns
    -------
    pathlib.Path
        The folder that holds both files.

    Raises
    ------
    OSError
        A file no mirror gives; the message lists what each mirror answered.
    """
    return _fetch({name: (name,) for name in CAT_FILES}, _mirrors(url), dest, timeout)


def fetch_football(url=None, dest=None, timeout: float = DOWNLOAD_TIMEOUT) -> Path:
    """Download ``football.mat`` into ``dest`` as ``fetch_cat`` does (the mirrors' ``data.mat``
    or ``football.mat``, default ``$FASTNN_CAT_URL``, else ``FOOTBALL_MIRRORS``); returns the
    folder."""
    return _fetch({FOOTBALL_FILE: FOOTBALL_SOURCES}, _mirrors(url, FOOTBALL_MIRRORS), dest,
                  timeout)


def _fetch(files: dict, urls: list, dest, timeout: float) -> Path:
    """Each file (local name: its names on the mirrors) from the first of ``urls`` whose copy
    matches its pinned sum, into ``dest`` (default ``cache_dir()``)."""
    timeout = checks.positive_float("timeout", timeout)
    dest = Path(dest) if dest is not None else cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    for name, sources in files.items():
        if (dest / name).is_file() and sha256(dest / name) == _known(name):
            continue
        failures = []
        for source in (f"{base}/{remote}" for base in urls for remote in sources):
            failure = _download(source, dest, name, timeout)
            if failure is None:
                break
            failures.append(failure)
        else:
            raise OSError(f"could not download {name} from any of {len(urls)} mirror(s):\n"
                          + "\n".join(f"  - {failure}" for failure in failures))
    return dest


def _missing(folder: Path, given_as: str, names) -> FileNotFoundError:
    absent = [name for name in names if not (folder / name).is_file()]
    where = "does not exist" if not folder.is_dir() else f"lacks {' and '.join(absent)}"
    return FileNotFoundError(
        f"{given_as}: the folder {folder} {where}; it must hold {' and '.join(names)} (from "
        f"the Coursera deep-learning course). Without a folder, fastnn downloads them into "
        f"{cache_dir()}.")


def _data_folder(path, download: bool, names=None, fetch=None) -> Path:
    """The folder to read the files ``names`` from (default the cat files; ``fetch``
    downloads them; see the module's docstring)."""
    names, fetch = list(names or CAT_FILES), fetch or fetch_cat
    what = "cat data" if fetch is fetch_cat else " and ".join(names)
    for folder, given_as in ((path, f"path {str(path)!r}"),
                             (os.environ.get("FASTNN_DATA") or None, "$FASTNN_DATA")):
        if folder is not None:
            if not all((Path(folder) / name).is_file() for name in names):
                raise _missing(Path(folder), given_as, names)
            return Path(folder)
    for folder in (cache_dir(), Path.cwd() / "datasets"):
        if all((folder / name).is_file() for name in names):
            return folder
    looked = f"they are in neither {cache_dir()} nor {Path.cwd() / 'datasets'}"
    if not download:
        raise FileNotFoundError(f"{what}: {looked}, and download=False. Pass the folder that "
                                f"holds them (path=..., --data DIR) or set FASTNN_DATA to it.")
    try:
        return fetch()
    except (OSError, ValueError) as error:
        raise FileNotFoundError(
            f"{what}: {looked}, and downloading them failed: {error}\nPass the folder that "
            f"holds them (path=..., --data DIR) or set FASTNN_DATA to it.") from error


def _read_split(path: Path, prefix: str, dtype: str):
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


def load_cat(path=None, dtype: str = "float64", download: bool = True, verify: bool = True):
    """The cat vs non-cat images of the Coursera course, flattened and scaled to [0, 1].

    Both files come from one folder: ``path``, else ``$FASTNN_DATA``, else the cache
    (downloaded there if ``download``) or ``./datasets``. Rows flatten each 64x64x3 image in
    (height, width, channel) order.

    Parameters
    ----------
    path : path-like, optional
        The folder of ``train_catvnoncat.h5`` and ``test_catvnoncat.h5``: the only place
        looked at when given.
    dtype : str
        ``"float64"`` or ``"float32"``.
    download : bool
        Fetch the files (``fetch_cat``) where no folder holds them.
    verify : bool
        Refuse a file whose SHA-256 differs from the pinned one (False: read it, with a
        ``ChecksumWarning``).

    Returns
    -------
    (X_train, y_train), (X_test, y_test), classes
        X (209, 12288) and (50, 12288) of ``dtype``, y int64 (n,) with 1 = cat, classes
        ``["non-cat", "cat"]``.

    Raises
    ------
    FileNotFoundError
        No folder holds both files (the message names where it looked).
    ValueError
        A file that is corrupt, not the cat data, or (with ``verify``) not the known one.
    """
    dtype = checks.dtype_name(dtype)
    folder = _data_folder(path, download)
    splits = []
    for name, prefix in CAT_PREFIX.items():
        _verify(folder / name, verify)
        splits.append(_read_split(folder / name, prefix, dtype))
    (X_train, y_train, classes), (X_test, y_test, _) = splits
    return (X_train, y_train), (X_test, y_test), classes


def load_football(path=None, download: bool = True, verify: bool = True):
    """The 2-D "football" data of the course's regularization assignment: where the French
    goalkeeper kicked the ball (x, y on the field) and whether a French player headed it (1)
    or the other team's (0).

    ``football.mat`` (the course's ``data.mat``) comes from ``path``, else ``$FASTNN_DATA``,
    else the cache (downloaded there if ``download``) or ``./datasets``, as the cat files.

    Parameters
    ----------
    path : path-like, optional
        The folder of ``football.mat``.
    download : bool
    verify : bool
        Refuse a file whose SHA-256 differs from the pinned one.

    Returns
    -------
    (X_train, y_train), (X_val, y_val)
        X float64 (211, 2) and (200, 2), y int64 (n,): the course's train and test sets.
    """
    import scipy.io  # (here: only this loader needs it)

    folder = _data_folder(path, download, [FOOTBALL_FILE], fetch_football)
    file = folder / FOOTBALL_FILE
    _verify(file, verify)
    try:
        data = scipy.io.loadmat(file)
    except (ValueError, OSError) as error:
        raise ValueError(f"{file}: not a readable MATLAB file ({error})") from error
    missing = [key for key in ("X", "y", "Xval", "yval") if key not in data]
    if missing:
        raise ValueError(f"{file}: lacks the variable(s) {missing}")
    return ((np.asarray(data["X"], np.float64), np.ravel(data["y"]).astype(np.int64)),
            (np.asarray(data["Xval"], np.float64), np.ravel(data["yval"]).astype(np.int64)))


def make_planar(n: int = 400, seed: int | None = 1):
    """The planar "flower": two classes of ``n / 2`` 2-D points in petals.

    Class c's points are at angles theta = linspace(3.12 c, 3.12 (c + 1)) + N(0, 0.2^2) and
    radii r = 4 sin(4 theta) + N(0, 0.2^2), at (r sin theta, r cos theta). With ``seed=1`` (the
    default, as the Coursera course's ``load_planar_dataset``) they are the course's points for
    ``n=400``.

    Parameters
    ----------
    n : int
        The number of points, even.
    seed : int, optional

    Returns
    -------
    X : ndarray (n, 2)
    y : ndarray (n,) of int64, the classes 0 and 1
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
    classifier: arm c at radii linspace(0, 1) and angles linspace(4 c, 4 (c + 1)) +
    N(0, 0.2^2).

    Parameters
    ----------
    n_per_class : int
    classes : int
    seed : int, optional

    Returns
    -------
    X : ndarray (n, 2), n = n_per_class * classes
    y : ndarray (n,) of int64
    """
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
