"""X as an h5py dataset or a memmap: read window by window, the same numbers as in memory."""

import subprocess
import sys
import threading

import h5py
import numpy as np
import pytest
from helpers import small_model

import fastnn
from fastnn import streams


@pytest.fixture
def data(tmp_path):
    """An HDF5 file with X (300 x 12, chunks of 16 rows) and the same X as a memmap."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    with h5py.File(tmp_path / "data.h5", "w") as file:
        file.create_dataset("X", data=X, chunks=(16, 12))
    memmap = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="w+", shape=X.shape)
    memmap[:] = X
    memmap.flush()
    with h5py.File(tmp_path / "data.h5", "r") as file:
        yield X, y, {"hdf5": file["X"],
                     "memmap": np.memmap(tmp_path / "X.dat", np.float64, "r", shape=X.shape)}


@pytest.fixture(autouse=True)
def small_windows(monkeypatch):
    """Windows of 64 rows (4 chunks), so that a fit of 300 rows reads several."""
    monkeypatch.setattr(streams, "WINDOW_BYTES", 64 * 12 * 8)


def model():
    return small_model((12, 8, 1), ("relu", "sigmoid"), seed=1)


@pytest.mark.parametrize("kind", ["hdf5", "memmap"])
def test_unshuffled_streams_train_exactly_as_in_memory(backend, data, kind):
    X, y, sources = data
    expected, got = model(), model()
    options = dict(loss="bce", epochs=3, batch_size=16, shuffle=False, backend=backend)
    expected.fit(X, y, optimizer=fastnn.Adam(0.01), **options)
    history = got.fit(sources[kind], y, optimizer=fastnn.Adam(0.01), **options)
    for e, g in zip(expected.get_weights(), got.get_weights()):
        np.testing.assert_array_equal(g, e)
    # (the epoch's loss adds the windows' sums: equal up to rounding)
    np.testing.assert_allclose(history.history["loss"], expected.history.history["loss"],
                               rtol=1e-13)
    assert streams.Stream(sources[kind], 12, "float64").window_rows(16) == 64


def test_predict_evaluate_gradients_and_validation_read_streams(data):
    X, y, sources = data
    net = model()
    net.fit(X, y, loss="bce", epochs=2, batch_size=32, seed=0)
    source = sources["hdf5"]
    np.testing.assert_allclose(net.predict(source), net.predict(X), rtol=1e-12)
    assert net.evaluate(source, y) == pytest.approx(net.evaluate(X, y), rel=1e-12)
    for e, g in zip(net.gradients(X, y), net.gradients(source, y)):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-14)
    history = net.fit(X, y, epochs=2, batch_size=32, validation_data=(source, y))
    assert history.history["val_loss"][-1] == pytest.approx(net.evaluate(X, y)["loss"])


def test_shuffled_streams_visit_every_row_once_an_epoch(data):
    """Shuffled: the windows' order and the rows within each; every row once per epoch, so the
    epoch's accuracy counts each sample once and training converges as in memory."""
    X, y, sources = data
    net = model()
    history = net.fit(sources["hdf5"], y, loss="bce", optimizer=fastnn.Adam(0.02), epochs=30,
                      batch_size=16, seed=2)
    assert history.history["accuracy"][-1] > 0.95
    rng = np.random.RandomState(0)
    windows = streams.window_orders(streams.Stream(sources["hdf5"], 12, "float64"), 16, rng,
                                    True)
    rows = np.concatenate([start + order for start, order in windows])
    assert sorted(rows) == list(range(300)) and list(rows) != list(range(300))


def test_streams_refuse_what_they_cannot_do(data, tmp_path):
    X, y, sources = data
    with pytest.raises(ValueError, match="batch_size: X is read window by window"):
        model().fit(sources["hdf5"], y)
    with pytest.raises(ValueError, match="dual: the dual form needs X in memory"):
        model().fit(sources["hdf5"], y, batch_size=8, dual=True)
    bad = X.copy()
    bad[130, 3] = np.nan
    with h5py.File(tmp_path / "bad.h5", "w") as file:
        file.create_dataset("X", data=bad, chunks=(16, 12))
    with h5py.File(tmp_path / "bad.h5", "r") as file:
        net = model()
        with pytest.raises(ValueError, match=r"X: contains 1 NaN .*index \(130, 3\).*read "
                                             r"window by window"):
            net.fit(file["X"], y, batch_size=16, shuffle=False)
        with pytest.raises(ValueError, match=r"X: expected 12 features per sample, got 5"):
            net.predict(np.memmap(tmp_path / "m.dat", np.float64, "w+", shape=(4, 5)))
    with h5py.File(tmp_path / "flat.h5", "w") as file:
        file.create_dataset("X", data=X.reshape(-1))
        file.create_dataset("E", shape=(0, 12), dtype="f8")
    with h5py.File(tmp_path / "flat.h5", "r") as file:
        with pytest.raises(ValueError, match=r"X: expected a 2-D dataset \(n_samples, "
                                             r"n_features\), got shape \(\d+,\)$"):
            model().fit(file["X"], y, batch_size=16)
        with pytest.raises(ValueError, match=r"X: is empty \(0 samples\)"):
            model().predict(file["E"])


MEMORY_SCRIPT = """
import resource, sys, h5py, numpy as np, fastnn
path, rows = sys.argv[1], int(sys.argv[2])
layers = [fastnn.Dense(64, activation="relu"), fastnn.Dense(1, activation="sigmoid")]
net = fastnn.Sequential(layers, input_dim=2000, dtype="float32", seed=0)
rng = np.random.default_rng(0)
y = rng.integers(0, 2, rows)
net.fit(rng.random((512, 2000), dtype=np.float32), y[:512], batch_size=256, epochs=1)  # compile
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with h5py.File(path, "r") as file:
    net.fit(file["X"], y, batch_size=256, epochs=1, seed=0)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) / 1024)
"""


def test_a_stream_grows_the_process_by_a_fraction_of_the_dataset(tmp_path):
    """A 98 MB float32 file (12,288 x 2,000, chunks of 256 rows): the fit's peak memory grows
    by less than a third of it."""
    rows = 12288
    with h5py.File(tmp_path / "big.h5", "w") as file:
        dataset = file.create_dataset("X", (rows, 2000), np.float32, chunks=(256, 2000))
        rng = np.random.default_rng(1)
        for start in range(0, rows, 2048):
            dataset[start:start + 2048] = rng.random((2048, 2000), dtype=np.float32)
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path / "big.h5"),
                           str(rows)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    grown_mb = float(done.stdout.strip().splitlines()[-1])
    assert grown_mb < rows * 2000 * 4 / 2**20 / 3


def test_a_damaged_chunk_names_the_file_the_dataset_and_the_rows(tmp_path):
    """A scribbled gzip chunk: the streamed fit's error names where, the model keeps the
    weights of its last completed epoch, and no reader thread is left running."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 8))
    y = (X[:, 0] > 0).astype(int)
    path = tmp_path / "damaged.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("X", data=X, chunks=(32, 8), compression="gzip")
        info = file["X"].id.get_chunk_info(3)
    with open(path, "r+b") as raw:
        raw.seek(info.byte_offset)
        raw.write(b"\xff" * info.size)
    model = fastnn.Sequential([fastnn.Dense(3, activation="tanh"),
                               fastnn.Dense(1, activation="sigmoid")], input_dim=8, seed=0)
    before = model.get_weights()
    with h5py.File(path, "r") as file:
        with pytest.raises(OSError, match=r"X: reading rows \d+:\d+ of dataset /X in file "
                                          r".*damaged\.h5 failed"):
            model.fit(file["X"], y, batch_size=32, epochs=1, shuffle=False)
    for e, g in zip(before, model.get_weights()):  # no epoch completed: the starting weights
        np.testing.assert_array_equal(g, e)
    assert model.history.epoch == []
    assert not [t for t in threading.enumerate() if t.name.startswith("fastnn-read")]
