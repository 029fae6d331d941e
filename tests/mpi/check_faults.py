"""Run under ``mpiexec -n 2``: faults on one rank must not leave the other waiting.

``check``: a NaN in rank 1's X only: every rank raises the same ValueError, naming rank 1 and
the row, before training; rank 0 prints ``ok check``.
``crash``: rank 1's gradients raise during training: the job ends (MPI Abort), it does not hang.
"""

import sys

import numpy as np
from mpi4py import MPI

import fastnn
from fastnn import backends

comm = MPI.COMM_WORLD
rng = np.random.default_rng(0)
X = rng.normal(size=(40, 5))
y = (X[:, 0] > 0).astype(int)
model = fastnn.Sequential([fastnn.Dense(4, activation="tanh"),
                           fastnn.Dense(1, activation="sigmoid")], input_dim=5, seed=3)
if sys.argv[1] == "check":
    if comm.rank == 1:
        X[5, 0] = np.nan
    try:
        model.fit(X, y, batch_size=8, epochs=2, comm=comm)
    except ValueError as error:
        message = str(error)
    else:
        raise SystemExit("fit did not raise")
    messages = comm.gather(message, root=0)
    if comm.rank == 0:
        assert len(set(messages)) == 1, messages
        assert "rank 1: ValueError: X: " in message and "(5, 0)" in message, message
        assert model.history.epoch == []
        print("ok check", flush=True)
else:
    if comm.rank == 1:
        def broken(*args):
            raise RuntimeError("injected fault on rank 1")

        for name in backends.available():  # (whichever the planner picks)
            backends.get(name).loss_and_gradients = broken
    model.fit(X, y, batch_size=8, epochs=50, comm=comm)
    print("the fit ended", flush=True)
