"""Run under ``mpiexec -n N``: data-parallel fits against one-process fits, on every rank.

Prints one line ``ok <cases>`` from rank 0 when every case matched; raises otherwise.
"""

import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
from mpi4py import MPI

import fastnn

comm = MPI.COMM_WORLD
rng = np.random.default_rng(0)
X = rng.normal(size=(61, 7))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
folder = Path(comm.bcast(tempfile.mkdtemp() if comm.rank == 0 else None, root=0))
if comm.rank == 0:
    with h5py.File(folder / "data.h5", "w") as file:
        file.create_dataset("X", data=X, chunks=(8, 7))
comm.Barrier()

OPTIMIZERS = {"sgd": lambda: fastnn.SGD(0.1), "momentum": lambda: fastnn.SGD(0.1, momentum=0.9),
              "adam": lambda: fastnn.Adam(0.01)}


def model(rate=0.0):
    """With ``rate``: dropout on the inputs and the hidden layer (each rank draws its share of
    a batch's masks)."""
    dropout = [fastnn.Dropout(rate)] if rate else []
    return fastnn.Sequential([*dropout, fastnn.Dense(6, activation="tanh"), *dropout,
                              fastnn.Dense(1, activation="sigmoid")], input_dim=7, seed=3)


cases = 0
with h5py.File(folder / "data.h5", "r") as file:
    for source in ("memory", "hdf5"):
        data = X if source == "memory" else file["X"]
        for name, make in OPTIMIZERS.items():
            for batch, shuffle, rate in ((None, False, 0.0), (8, False, 0.0), (8, True, 0.0),
                                         (8, True, 0.3), (None, False, 0.3)):
                if source == "hdf5" and batch is None:
                    continue  # (a streamed X trains in mini-batches)
                options = dict(loss="bce", epochs=3, batch_size=batch, shuffle=shuffle, seed=5)
                expected = model(rate)
                expected.fit(X if source == "memory" else data, y, optimizer=make(), **options)
                got = model(rate)
                history = got.fit(data, y, optimizer=make(), comm=comm, **options)
                assert history.params["plan"].startswith("data-parallel"), history.params
                for e, g in zip(expected.get_weights(), got.get_weights()):
                    np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-13,
                                               err_msg=f"{source} {name} {batch} {shuffle} "
                                                       f"{rate}")
                np.testing.assert_allclose(history.history["loss"],
                                           expected.history.history["loss"], rtol=1e-10)
                everyone = comm.allgather(got._flat.tobytes())
                assert all(theirs == everyone[0] for theirs in everyone), "ranks differ"
                cases += 1
if comm.rank == 0:
    print(f"ok {cases} cases on {comm.size} ranks", flush=True)
sys.exit(0)
