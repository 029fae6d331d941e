"""Run under ``mpiexec -n 2``: the test sends SIGINT to rank 1 only during a long fit; every
rank must stop after the same epoch with KeyboardInterrupt (none left waiting), its history and
weights those of that epoch. Each rank prints ``pid <pid>`` when its fit starts, then one line
``done <rank> <epochs> <checksum>``."""

import os

import numpy as np
from mpi4py import MPI

import fastnn

comm = MPI.COMM_WORLD
rng = np.random.default_rng(0)
X = rng.normal(size=(64, 50))
y = (X[:, 0] > 0).astype(int)
model = fastnn.Sequential([fastnn.Dense(8, activation="tanh"),
                           fastnn.Dense(1, activation="sigmoid")], input_dim=50, seed=3)
model.fit(X, y, batch_size=16, epochs=2, comm=comm)  # compiles
print(f"pid {comm.rank} {os.getpid()}", flush=True)
try:
    model.fit(X, y, batch_size=16, epochs=10**8, optimizer=fastnn.Adam(1e-5), comm=comm)
except KeyboardInterrupt:
    epochs = len(model.history.epoch)
    print(f"done {comm.rank} {epochs} {float(np.sum(model.get_weights()[0])):.17g}", flush=True)
