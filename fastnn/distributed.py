"""Data-parallel training over MPI (``fit(..., comm=MPI.COMM_WORLD)``, mpi4py).

Every rank passes the same X and y (arrays, or h5py datasets each rank reads itself) and holds
the same model: rank 0's weights, optimizer state and shuffling stream are broadcast when the
fit starts. ``batch_size`` is the global batch: each global batch (the rows a one-process fit
would take, in its order) is cut into one contiguous share per rank; each rank reads and
computes only its share, its gradient and loss weighted by its share of the batch, and one
``Allreduce`` adds the gradients, the losses and the correct predictions of all ranks. Every
rank then makes the same update, so the weights stay identical on every rank and equal a
one-process fit's up to rounding. Validation runs whole on every rank (so that early stopping
decides alike); only rank 0 logs.
"""

import sys
import traceback

import numpy as np

from . import losses, objectives, streams
from .network import layer_views


def check_comm(comm) -> None:
    """A TypeError unless ``comm`` looks like an mpi4py communicator."""
    needed = ("Get_rank", "Get_size", "Allreduce", "Bcast", "bcast", "allgather")
    missing = [name for name in needed if not hasattr(comm, name)]
    if missing:
        raise TypeError(f"comm: expected an mpi4py communicator (e.g. MPI.COMM_WORLD), got "
                        f"{type(comm).__name__} without {', '.join(missing)}")


def share_failures(comm, error: Exception | None) -> None:
    """One allgather of how each rank's checks went (``error``: this rank's, or None): where
    some rank failed, every rank raises the same ValueError naming that rank and the error (no
    rank is left waiting in a collective for one that failed)."""
    failure = None if error is None else f"{type(error).__name__}: {error}"
    failures = comm.allgather(failure)
    bad = [(rank, text) for rank, text in enumerate(failures) if text is not None]
    if bad:
        where = "; ".join(f"rank {rank}: {text}" for rank, text in bad)
        raise ValueError(f"comm: {len(bad)} of {len(failures)} ranks failed their checks "
                         f"before training: {where}")


def abort_on_error(comm, error: BaseException) -> None:
    """An exception inside a distributed fit on one rank would leave the others waiting in
    a collective: print it (with the rank) and end the whole job."""
    print(f"fastnn: rank {comm.Get_rank()} of {comm.Get_size()} failed during a "
          f"data-parallel fit; aborting the job:", file=sys.stderr)
    traceback.print_exception(error, file=sys.stderr)
    sys.stderr.flush()
    comm.Abort(1)


def agree(comm, **values) -> None:
    """A ValueError on every rank unless every rank has the same ``values``."""
    every = comm.allgather(tuple(values.values()))
    if any(theirs != every[0] for theirs in every):
        differing = [name for index, name in enumerate(values)
                     if len({theirs[index] for theirs in every}) > 1]
        raise ValueError(f"comm: the ranks differ in {', '.join(differing)} "
                         f"({[dict(zip(values, theirs)) for theirs in every]}); every rank must "
                         f"pass the same X, y and settings")


def synchronize(comm, flat, rule, shuffler) -> None:
    """Rank 0's weights, optimizer state and shuffling stream on every rank."""
    for array in (flat, rule.state1, rule.state2, rule.step):
        comm.Bcast(array, root=0)
    shuffler.set_state(comm.bcast(shuffler.get_state(), root=0))


def _windows(X, batch: int, shuffler, shuffle: bool) -> list:
    """``[(start, order), ...]`` as ``streams.window_orders``; X in memory is one window,
    shuffled as a one-process fit's."""
    if isinstance(X, streams.Stream):
        return streams.window_orders(X, batch, shuffler.rng, shuffle)
    n = X.shape[0]
    return [(0, shuffler.next(n).copy() if shuffle else np.arange(n))]


def epoch(fit, count, out, interrupted=None) -> int:
    """One epoch of ``fit`` (``fitting.Fit``), data-parallel over its communicator (``count``
    epochs asked: one runs); ``out[0] = (loss, correct)`` as for ``train_epochs``. Returns 1,
    or 0 where a batch's loss or update was not finite (on every rank alike). Each rank's loss
    and gradient count by its share of the batch's weight; the L2 penalty is added once, after
    the Allreduce."""
    kernels, objective, X, Y, rule = fit.kernels, fit.objective, fit.X, fit.Y, fit.rule
    batch, comm = fit.settings.batch, fit.comm
    rank, size = comm.Get_rank(), comm.Get_size()
    loss, weights = objective.loss, objective.sample_weights
    P = fit.flat.size
    grads = np.zeros_like(fit.flat)
    layers, grad_layers = layer_views(fit.flat, fit.net.sizes), layer_views(grads, fit.net.sizes)
    buffer = np.zeros(P + 2)  # float64: the gradient, the loss, the correct predictions
    total = losses.EpochLoss(loss)
    dropping = fit.net.dropping()
    windows = _windows(X, batch, fit.shuffler, fit.settings.shuffle)
    plans = []
    for start, order in windows:  # each window's batches, their shares, the rows this rank reads
        shares = []
        for begin in range(0, len(order), batch):
            rows = order[begin:begin + batch]
            cut = [len(rows) * r // size for r in range(size + 1)]
            shares.append((rows, rows[cut[rank]:cut[rank + 1]], cut[rank]))
        mine = np.unique(np.concatenate([share for _, share, _ in shares])) if shares else \
            np.empty(0, np.int64)
        plans.append((start, shares, mine))
    if isinstance(X, streams.Stream):
        by_start = {start: mine for start, _, mine in plans}
        read = lambda begin, _: X.read_rows(begin + by_start[begin])  # noqa: E731
        windows_read = X.windows([start for start, _, _ in plans], 0, read)
    else:
        windows_read = ((start, X) for start, _, _ in plans)
    for (start, shares, mine), (_, data) in zip(plans, windows_read):
        for batch_rows, share, first in shares:
            whole = objectives.weight_sum(loss, weights, start + batch_rows)
            if dropping:  # (this share's masks; a net without dropout shares its default)
                fit.net.masking[1:] = rule.step[0], first
            if len(share):
                local = data[np.searchsorted(mine, share)] if data is not X else _rows(X, share)
                part = objective.part(start + share, penalty=False)
                value, right = kernels.loss_and_gradients(fit.flat, fit.net, part, local,
                                                          Y[start + share], grads)
                weight = objectives.weight_sum(loss, weights, start + share) / whole
                buffer[:P] = grads
                buffer[:P] *= weight
                buffer[P:] = value * weight, right
            else:
                buffer[:] = 0
            comm.Allreduce(_IN_PLACE(), buffer)
            value, right = buffer[P], int(round(buffer[P + 1]))
            grads[:] = buffer[:P]
            value += losses.add_penalty(layers, grad_layers, objective.alpha, whole)
            if not np.isfinite(value):
                out[0] = value, total.correct
                return 0
            total.add(value, len(batch_rows), right)
            if not kernels.optimizer_step(rule, fit.flat, grads):
                out[0] = value, total.correct
                return 0
    out[0] = total.value, total.correct
    return 1


def _rows(X, rows):
    """X[rows]: a view where the rows are consecutive (no copy), else a copy."""
    if rows[-1] - rows[0] + 1 == len(rows) and np.all(np.diff(rows) == 1):
        return X[rows[0]:rows[-1] + 1]
    return X[rows]


def _IN_PLACE():
    from mpi4py import MPI

    return MPI.IN_PLACE
