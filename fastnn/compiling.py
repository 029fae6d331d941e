"""The compiled kernels as a JIT keeps them: where they are cached, whether they are ready, and
compiling them ahead of time or in the background (tiered compilation).

The numba backend's kernels come in *sets*, one per dtype and kind of X (dense or sparse):
everything that fits, predictions, evaluations and gradients of that dtype run. A set is

- ``"loaded"``: run in this process already (nothing more to pay);
- ``"cached"``: compiled into the cache folder (``cache_folder``), where a marker file says the
  whole set was saved (loading it costs ``load_seconds()``: ~0.45 s in a fresh process, most of
  it Numba's own start);
- ``"missing"``: to be compiled (``COMPILE_SECONDS``).

``FASTNN_COMPILE`` says what may compile a missing set: ``background`` (the default: the
planner starts a compile in a background process, low priority, one BLAS thread, silent, one at
a time per cache folder, while the fit runs on NumPy; a fit still running when the set is
cached switches to it between epochs), ``foreground`` (compile in the process, before the
work that needs it, saying so on stderr) or ``off`` (never: numba runs only where cached).
``python -m fastnn compile`` compiles every set ahead (CI, container images, clusters).

Nothing here imports Numba: the planner asks these questions before anything pays for it.
"""

import contextlib
import functools
import hashlib
import importlib.metadata
import os
import subprocess
import sys
import tempfile
from pathlib import Path

MODES = ("background", "foreground", "off")
# What the tiers cost, measured by benchmarks/startup.py ("compile": 13.7-15.8 s for the
# float64 dense set on the 2-core dev machine; "load": 0.45-0.6 s in a fresh process, of which
# importing Numba 0.16 s and its first use 0.22 s, loading the set's kernels 0.06 s).
COMPILE_SECONDS = 15.0
NUMBA_START_SECONDS = 0.38  # importing Numba and readying its compiler, once per process
LOAD_SECONDS = 0.06  # loading a cached set into a process where Numba runs already
DTYPES = ("float64", "float32")
KINDS = ("dense", "sparse")
SOURCE = Path(__file__).parent / "backends" / "_numba_kernels.py"  # every compiled kernel
_loaded: set = set()  # the sets loaded in this process
_spent: dict = {}  # set -> seconds this process's fits spent on numpy that the set could run
_started: dict = {}  # set -> the background compile process this process started


def mode() -> str:
    """``$FASTNN_COMPILE``: "background" (default), "foreground" or "off"."""
    value = os.environ.get("FASTNN_COMPILE", "background").strip().lower() or "background"
    if value not in MODES:
        raise ValueError(f"FASTNN_COMPILE: unknown value {value!r}; choose one of "
                         + ", ".join(repr(m) for m in MODES))
    return value


def kernel_set(dtype, sparse: bool) -> str:
    """The name of a set: ``"float64-dense"``, ``"float32-sparse"``, ..."""
    return f"{str(dtype)}-{'sparse' if sparse else 'dense'}"


# ---------------------------------------------------------------- where the cache is

def _user_cache() -> Path:
    """The user's cache folder for fastnn's kernels (``$XDG_CACHE_HOME/fastnn/kernels``; the
    platform's own on macOS and Windows)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "fastnn" / "kernels"


def _subfolder() -> str:
    """Numba's name for the kernels' folder inside a shared cache folder: the source folder's
    name and a hash of its path (installs of fastnn do not share entries)."""
    folder = os.path.abspath(SOURCE.parent)
    return f"{os.path.basename(folder)}_{hashlib.sha1(folder.encode()).hexdigest()}"


def _usable(folder: Path, write: bool) -> bool:
    if write:
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
        return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
    return folder.is_dir() and os.access(folder, os.R_OK | os.X_OK) and \
        any(folder.glob("fastnn-ready-*"))


def cache_folder() -> Path | None:
    """The folder of the compiled kernels: ``$NUMBA_CACHE_DIR`` (a folder inside it) where set,
    and only there; else ``__pycache__`` beside the kernels' source where it is writable (or
    holds a compiled set, read-only); else the user's cache folder. None: nowhere usable."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        folder = Path(os.environ["NUMBA_CACHE_DIR"]) / _subfolder()
        return folder if _usable(folder, True) or folder.is_dir() else None
    in_tree = SOURCE.parent / "__pycache__"
    if _usable(in_tree, True) or _usable(in_tree, False):
        return in_tree
    user = _user_cache() / _subfolder()
    return user if _usable(user, True) or _usable(user, False) else None


def writable() -> bool:
    """Whether compiled kernels can be saved (a background compile needs that)."""
    folder = cache_folder()
    return folder is not None and _usable(folder, True)


# ---------------------------------------------------------------- whether a set is ready

@functools.cache
def _stamp() -> str:
    """What a cached kernel depends on besides its types, as Numba keys its cache: the
    kernels' source, the versions of Numba and Python, the CPU Numba compiles for."""
    from llvmlite import binding  # (~30 ms; numba needs it anyway)

    cpu = os.environ.get("NUMBA_CPU_NAME") or binding.get_host_cpu_name()
    features = os.environ.get("NUMBA_CPU_FEATURES") or binding.get_host_cpu_features().flatten()
    parts = [hashlib.sha256(SOURCE.read_bytes()).hexdigest(), importlib.metadata.version("numba"),
             sys.version, cpu, features]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def marker(name: str) -> Path | None:
    """The file that says the set ``name`` is compiled into the cache folder."""
    folder = cache_folder()
    return None if folder is None else folder / f"fastnn-ready-{name}-{_stamp()}"


def state(name: str) -> str:
    """``"loaded"``, ``"cached"`` or ``"missing"`` (see the module's docstring)."""
    if name in _loaded:
        return "loaded"
    path = marker(name)
    return "cached" if path is not None and path.is_file() else "missing"


def load_seconds() -> float:
    """What loading a cached set costs this process: Numba's start where it has not started."""
    return LOAD_SECONDS + (0.0 if "numba" in sys.modules else NUMBA_START_SECONDS)


def mark_loaded(name: str) -> None:
    _loaded.add(name)


def spend(name: str, seconds: float) -> None:
    """A fit spent ``seconds`` on numpy that the set ``name`` could have run (a JIT compiles
    what is hot: once these add up to more than a compile, the planner starts one)."""
    _spent[name] = _spent.get(name, 0.0) + seconds


def spent(name: str) -> float:
    return _spent.get(name, 0.0)


def mark_cached(name: str, entries: list) -> None:
    """Write the set's marker (atomically): its kernels are saved in the cache folder
    (``entries``: their index files, listed in it)."""
    path = marker(name)
    if path is None or not _usable(path.parent, True):
        return
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False,
                                     prefix=".fastnn-ready-") as file:
        file.write("\n".join(str(entry) for entry in entries) + "\n")
    os.replace(file.name, path)


# ---------------------------------------------------------------- locks

@contextlib.contextmanager
def file_lock(path: Path, blocking: bool = True):
    """An exclusive lock on ``path`` (created if needed) between processes; yields whether it
    was taken (False only when not ``blocking`` and another process holds it)."""
    with open(path, "a+b") as file:
        if sys.platform == "win32":
            import msvcrt

            mode_ = msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK
            try:
                file.seek(0)
                msvcrt.locking(file.fileno(), mode_, 1)
            except OSError:
                yield False
                return
            try:
                yield True
            finally:
                file.seek(0)
                msvcrt.locking(file.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)


def compile_lock_path(folder: Path) -> Path:
    return folder / "fastnn-compile.lock"


def compiling_now() -> bool:
    """Whether some process is compiling into the cache folder now (holds its compile lock)."""
    folder = cache_folder()
    if folder is None or not compile_lock_path(folder).exists():
        return False
    with file_lock(compile_lock_path(folder), blocking=False) as taken:
        return not taken


# ---------------------------------------------------------------- compiling in the background

def start_background(names: list) -> bool:
    """Start a background process that compiles the sets ``names`` into the cache folder;
    False where none may start (``FASTNN_COMPILE`` is not "background", the folder is not
    writable, or another process is compiling into it)."""
    names = [name for name in names if state(name) == "missing"]
    if not names or mode() != "background" or not writable() or compiling_now():
        return False
    running = [_started[name] for name in names if name in _started]
    if any(process.poll() is None for process in running):
        return True
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1", FASTNN_COMPILE="foreground")
    command = [sys.executable, "-m", "fastnn", "compile", "--background", "--sets", *names]
    # A process group of its own (Ctrl-C in the terminal is the fit's, not the compile's), in
    # the fit's session: a new session is a new scheduler autogroup on Linux, which gets a
    # fair share of the CPU whatever its priority (the fit's epochs ran 4-10x slower beside it).
    if sys.platform == "win32":
        options = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP
                   | getattr(subprocess, "IDLE_PRIORITY_CLASS", 0)}
    elif sys.version_info >= (3, 11):
        options = {"process_group": 0}
    else:
        options = {"preexec_fn": os.setpgrp}
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=str(Path(__file__).parent.parent), **options)
    for name in names:
        _started[name] = process
    return True


def background_processes() -> list:
    """The background compiles this process started that are still running."""
    return [p for p in set(_started.values()) if p.poll() is None]


def wait_for_background(timeout: float | None = None) -> None:
    """Wait until the background compiles this process started have ended."""
    for process in set(_started.values()):
        process.wait(timeout)
