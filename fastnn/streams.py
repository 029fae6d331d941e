"""Samples that are read, not loaded: ``h5py.Dataset`` and ``numpy.memmap`` inputs, window by
window.

A stream reads rows in windows: a whole number of the file's chunks of rows, about WINDOW_BYTES,
and a multiple of the batch size, so that a batch never spans two windows. A background thread
reads the next window while the current one trains (h5py and NumPy release the GIL while they
copy, the kernels while they compute). Shuffling shuffles the order of the windows and the rows
within each window; with ``shuffle=False`` the batches are the rows in order, exactly those of an
in-memory fit. Each window is checked as it is read (NaN, infinities, values beyond float32 in a
float32 model): an error names X and the row, though the rows before it have trained already.
"""

import contextlib
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import checks, losses, objectives
from .network import Batches, aligned_empty, layer_views

WINDOW_BYTES = 8 * 2**20  # of rows per window (two are in memory at once: one read ahead)
DEFAULT_CHUNK_BYTES = 2**20  # a memmap's "chunk" of rows: it has none of its own


def is_stream(X) -> bool:
    """Whether X is read window by window: an h5py dataset or a numpy memmap."""
    if isinstance(X, np.memmap):
        return True
    return type(X).__module__.startswith("h5py") and hasattr(X, "chunks")


class Stream:
    """A 2-D dataset (n_samples, n_features) read by windows of rows, in ``dtype``."""

    def __init__(self, source, n_features: int | None, dtype: str, name: str = "X"):
        shape, kind = tuple(source.shape), np.dtype(source.dtype).kind
        if kind not in "biuf":
            raise TypeError(f"{name}: expected numbers, got a dataset of dtype {source.dtype}")
        checks.samples_shape(name, shape, n_features, "dataset")
        self.source, self.name, self.dtype = source, name, dtype
        self.shape = shape
        row_bytes = shape[1] * np.dtype(source.dtype).itemsize
        chunks = getattr(source, "chunks", None)
        self.chunk = chunks[0] if chunks else max(1, DEFAULT_CHUNK_BYTES // row_bytes)
        self.row_bytes = row_bytes

    def __len__(self) -> int:
        return self.shape[0]

    def window_rows(self, batch: int) -> int:
        """Rows per window: a multiple of the batch and, where it fits, of the chunk."""
        step = batch * self.chunk // math.gcd(batch, self.chunk)
        if step * self.row_bytes > 4 * WINDOW_BYTES:
            step = batch  # (chunks and batches that share no multiple of a sensible size)
        return step * max(1, WINDOW_BYTES // (step * self.row_bytes))

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows start:stop as a checked, aligned C-contiguous array of the model's dtype (read
        straight into it where the file holds that dtype)."""
        with self._reading(start, stop):
            if np.dtype(self.source.dtype) != np.dtype(self.dtype):
                return self._checked(self.source[start:stop], start)
            rows = aligned_empty((stop - start, self.shape[1]), self.dtype)
            if hasattr(self.source, "read_direct"):  # h5py: no temporary array
                self.source.read_direct(rows, np.s_[start:stop])
            else:
                rows[...] = self.source[start:stop]
        return self._checked(rows, start)

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """The rows ``rows`` (sorted, unique) as a checked array."""
        window = np.empty((len(rows), self.shape[1]), self.dtype)
        for start, stop, at in _runs(rows):  # contiguous runs: one read each
            with self._reading(start, stop):
                window[at:at + stop - start] = self.source[start:stop]
        return self._checked(window, int(rows[0]) if len(rows) else 0)

    @contextlib.contextmanager
    def _reading(self, start: int, stop: int):
        """A failed read (h5py's bare ``OSError`` for a damaged chunk) as an OSError that names
        the file, the dataset and the rows."""
        try:
            yield
        except OSError as error:
            file = getattr(getattr(self.source, "file", None), "filename", None) or \
                getattr(self.source, "filename", None) or "?"
            dataset = getattr(self.source, "name", None) or "(memmap)"
            raise OSError(f"{self.name}: reading rows {start}:{stop} of dataset {dataset} in "
                          f"file {file} failed: {error}") from error

    def _checked(self, rows, offset: int) -> np.ndarray:
        try:
            return checks.features(np.asarray(rows), self.shape[1], self.dtype, self.name,
                                   row_offset=offset)
        except ValueError as error:
            raise ValueError(f"{error} (read window by window: the rows before it have been "
                             f"used)") from None

    def windows(self, starts, rows: int, read=None):
        """Yield ``(start, array)`` for each window start in ``starts``, reading the next window
        on a background thread. ``read(start, stop)`` replaces ``self.read``."""
        read = read or self.read
        starts = [int(s) for s in starts]
        if not starts:
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fastnn-read") as reader:
            pending = reader.submit(read, starts[0], min(starts[0] + rows, len(self)))
            for index, start in enumerate(starts):
                window = pending.result()
                if index + 1 < len(starts):
                    following = starts[index + 1]
                    pending = reader.submit(read, following, min(following + rows, len(self)))
                yield start, window


def _runs(rows: np.ndarray):
    """(start, stop, position) of each run of consecutive values in the sorted ``rows``."""
    if len(rows) == 0:
        return
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    for begin, end in zip(np.r_[0, breaks], np.r_[breaks, len(rows)]):
        yield int(rows[begin]), int(rows[end - 1]) + 1, int(begin)


def window_orders(stream, batch: int, rng, shuffle: bool) -> list:
    """An epoch's windows in the order they train: ``[(start, order), ...]``, ``order`` the
    window's rows (0-based) in the order they train. Shuffled: the windows' order and the rows
    within each, every draw made here, up front."""
    rows = stream.window_rows(batch)
    starts = np.arange(0, len(stream), rows)
    if shuffle:
        starts = starts[rng.permutation(len(starts))]
    sizes = [min(rows, len(stream) - start) for start in starts]
    return [(int(start), rng.permutation(m) if shuffle else np.arange(m))
            for start, m in zip(starts, sizes)]


def epoch(fit, count, out, interrupted=lambda: False) -> int:
    """One epoch of ``fit`` (``fitting.Fit``) over its stream X, window by window (``count``
    epochs asked: one runs); ``out[0] = (loss, correct)`` as for ``train_epochs``. Returns 1,
    or 0 if it diverged (``out[0, 0]`` the failing batch's loss). Where a read fails (or Ctrl-C
    comes) mid-epoch, the weights and optimizer state are put back as the epoch found them: the
    model keeps its last completed epoch. ``interrupted()`` is asked between windows (a pending
    Ctrl-C: KeyboardInterrupt there)."""
    kernels, objective, stream, Y, rule = fit.kernels, fit.objective, fit.X, fit.Y, fit.rule
    batch = fit.settings.batch
    windows = window_orders(stream, batch, fit.shuffler.rng, fit.settings.shuffle)
    orders = dict(windows)
    total = losses.EpochLoss(objective.loss)
    state = (fit.flat, rule.state1, rule.state2, rule.step)
    saved = [array.copy() for array in state]
    try:
        for start, X in stream.windows([start for start, _ in windows],
                                       stream.window_rows(batch)):
            if interrupted():  # (before a window: after the last, the epoch is whole)
                raise KeyboardInterrupt
            m = X.shape[0]
            order = orders[start].reshape(1, -1)
            window_out = np.zeros((1, 2))
            part = objective.part(slice(start, start + m))
            batches = Batches(kernels.prepare_inputs(X), Y[start:start + m], order, batch)
            done = kernels.train_epochs(fit.flat, fit.net, part, batches, rule, window_out)
            if not done:
                out[0] = window_out[0]
                return 0
            total.add(window_out[0, 0], m, window_out[0, 1])
    except BaseException:
        for array, copy in zip(state, saved):
            array[...] = copy
        raise
    out[0] = total.value, total.correct
    return 1


def evaluate(kernels, flat, net, loss, stream, Y) -> tuple:
    """``(loss, correct)`` of the network over a stream, window by window."""
    rows = stream.window_rows(1)
    total = losses.EpochLoss(loss)
    for start, X in stream.windows(range(0, len(stream), rows), rows):
        value, correct = kernels.evaluate(flat, net, loss, X, Y[start:start + X.shape[0]])
        total.add(value, X.shape[0], correct)
    return total.value, total.correct


def forward(kernels, flat, net, stream) -> np.ndarray:
    """The network's outputs for every row of a stream (n, k)."""
    rows = stream.window_rows(1)
    parts = [kernels.forward(flat, net, X)[1]
             for _, X in stream.windows(range(0, len(stream), rows), rows)]
    return np.concatenate(parts)


def gradients(kernels, flat, net, objective, stream, Y, grads) -> float:
    """The gradient of the objective over the whole stream into ``grads``, window by window
    (each window's loss weighted by its share of the samples' weight; the L2 penalty once);
    returns the objective's value."""
    rows = stream.window_rows(1)
    weights = objective.sample_weights
    everything = objectives.weight_sum(objective.loss, weights, np.arange(len(stream)))
    part = np.empty_like(grads)
    grads[:] = 0
    total = 0.0
    for start, X in stream.windows(range(0, len(stream), rows), rows):
        these = np.arange(start, start + X.shape[0])
        window = objective.part(these, penalty=False)
        share = objectives.weight_sum(objective.loss, weights, these) / everything
        total += share * kernels.loss_and_gradients(flat, net, window, X, Y[these], part)[0]
        grads += share * part
    return total + losses.add_penalty(layer_views(flat, net.sizes), layer_views(grads, net.sizes),
                                      objective.alpha, everything)
