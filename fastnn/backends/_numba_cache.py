"""Numba's disk cache of fastnn's kernels, made safe to share between processes.

Numba 0.68 keeps, per kernel, an index file (signature -> data file) and one data file per
signature. Its index update is an unlocked read-modify-write, and it writes the index before
the data: two processes compiling into one folder lost entries (2 of 8 races, measured), could
pair an index entry with another signature's data file, and a reader could meet an entry whose
data file was not written yet (or was a stale one of the same number). ``KernelCache``:

- keeps the kernels in the folder ``fastnn.compiling.cache_folder`` names (the planner asks the
  same function whether a set is cached), and reads a folder it cannot write (a cache compiled
  ahead, in a read-only image) without trying to write to it;
- updates an index under a file lock (``fastnn-index.lock``), writing the data file first, so an
  index entry only ever names a complete data file of its own signature;
- treats a damaged entry (a killed process or a full disk leaves truncated files:
  ``UnpicklingError``, ``EOFError``) as absent: it is dropped, with one warning per process,
  and the kernel recompiles and rewrites it.
"""

import contextlib
import itertools
import os
import warnings
from pathlib import Path

from numba.core.caching import (
    CompileResultCacheImpl,
    FunctionCache,
    IndexDataCacheFile,
    _CacheLocator,
    _hash_source_file,
    _SourceFileBackedLocatorMixin,
)

from .. import compiling, dropout

_damaged: list = []  # the first damaged cache entry of this process (warned about once)
unsaved: list = []  # kernels whose entry could not be saved in this process


class _Locator(_SourceFileBackedLocatorMixin, _CacheLocator):
    """``compiling.cache_folder()``; Numba's source stamp (a hash of the file's contents) of
    the kernel's file and of ``fastnn/dropout.py``, whose functions the kernels compile too."""

    def __init__(self, py_func, py_file, folder):
        self._py_file, self._lineno, self._folder = py_file, py_func.__code__.co_firstlineno, \
            str(folder)

    def get_source_stamp(self):
        stat = os.stat(dropout.__file__)
        return super().get_source_stamp(), _hash_source_file(dropout.__file__, stat.st_mtime,
                                                             stat.st_size)

    def get_cache_path(self):
        return self._folder

    def ensure_cache_path(self):
        os.makedirs(self._folder, exist_ok=True)

    @classmethod
    def from_function(cls, py_func, py_file):
        folder = compiling.cache_folder()
        return None if folder is None else cls(py_func, py_file, folder)


class _Impl(CompileResultCacheImpl):
    _locator_classes = [_Locator]


class _IndexDataFile(IndexDataCacheFile):
    """Numba's index and data files, the data written before the index names it."""

    def save(self, key, data):
        overloads = self._load_index()
        name = overloads.get(key)
        if name is None:
            taken = set(overloads.values())
            name = next(n for n in map(self._data_name, itertools.count(1)) if n not in taken)
        self._save_data(name, data)
        overloads[key] = name
        self._save_index(overloads)


class KernelCache(FunctionCache):
    """The disk cache of one kernel (see the module's docstring)."""

    _impl_class = _Impl

    def __init__(self, py_func):
        super().__init__(py_func)
        self._cache_file = _IndexDataFile(self._cache_path, self._impl.filename_base,
                                          self._impl.locator.get_source_stamp())

    @property
    def index_path(self) -> Path:
        return Path(self._cache_file._index_path)

    def load_overload(self, sig, target_context):
        try:
            return super().load_overload(sig, target_context)
        except Exception as error:  # (any unreadable entry: never an error of the user's run)
            self._drop(error)
            return None

    def save_overload(self, sig, data):
        folder = Path(self._cache_path)
        if not compiling.writable():
            unsaved.append(self._name)
            return
        try:
            with compiling.file_lock(folder / "fastnn-index.lock"):
                super().save_overload(sig, data)
        except Exception as error:
            self._drop(error)
            try:
                with compiling.file_lock(folder / "fastnn-index.lock"):
                    super().save_overload(sig, data)
            except Exception:
                unsaved.append(self._name)

    def _drop(self, error):
        index = self._cache_file._index_path
        with contextlib.suppress(OSError):
            os.remove(index)
        if not _damaged:
            _damaged.append(index)
            warnings.warn(f"numba cache entry {index} was damaged ({type(error).__name__}: "
                          f"{error}); dropped it, fastnn's kernels recompile", RuntimeWarning,
                          stacklevel=2)


def enable(kernel) -> bool:
    """Give a dispatcher ``KernelCache``; False where no cache folder can be used (the kernel
    then compiles in memory, in every process)."""
    if compiling.cache_folder() is None:
        return False
    kernel._cache = KernelCache(kernel.py_func)
    return True
