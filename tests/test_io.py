"""Model files: save -> load gives the same model; bad files are clear errors; saves are atomic."""

import json
import multiprocessing
import os

import h5py
import numpy as np
import pytest
from conftest import small_model

import fastnn
from fastnn import io


def trained(dtype="float64"):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, 20)
    model = small_model((4, 6, 3), ("relu", "softmax"), dtype=dtype, seed=2)
    model.fit(X, y, loss="cce", optimizer=fastnn.Adam(0.01), epochs=5, batch_size=8, seed=1)
    return model, X, y


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip(tmp_path, dtype):
    model, X, y = trained(dtype)
    model.save(tmp_path / "m.h5")
    loaded = fastnn.load_model(tmp_path / "m.h5")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.dtype == dtype and loaded.loss == "cce"
    assert [repr(a) for a in loaded.layers] == [repr(a) for a in model.layers]
    assert loaded.history.history == model.history.history
    assert isinstance(loaded.optimizer, fastnn.Adam) and loaded.optimizer.lr == 0.01
    np.testing.assert_array_equal(loaded.optimizer.state2, model.optimizer.state2)
    assert loaded.optimizer.step[0] == model.optimizer.step[0] == 15


def test_resumed_training_equals_uninterrupted(tmp_path):
    """Optimizer state survives the file: fit 5 + save/load + fit 5 == fit 10."""
    model, X, y = trained()
    model.save(tmp_path / "m.h5")
    loaded = fastnn.load_model(tmp_path / "m.h5")
    model.fit(X, y, epochs=5, batch_size=8, seed=3)
    loaded.fit(X, y, epochs=5, batch_size=8, seed=3)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(loaded.history.epoch) == 10


def test_bad_files(tmp_path):
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(ValueError, match="text.h5 is not an HDF5 file"):
        fastnn.load_model(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as file:
        file["x"] = [1, 2]
    with pytest.raises(ValueError, match="other.h5 is an HDF5 file but not a fastnn model"):
        fastnn.load_model(tmp_path / "other.h5")
    model, _, _ = trained()
    model.save(tmp_path / "new.h5")
    with h5py.File(tmp_path / "new.h5", "a") as file:
        file.attrs["format_version"] = io.FORMAT_VERSION + 1
    with pytest.raises(ValueError, match="format version 2.*upgrade fastnn"):
        fastnn.load_model(tmp_path / "new.h5")
    with pytest.raises(FileNotFoundError, match="no model file"):
        fastnn.load_model(tmp_path / "absent.h5")


def test_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    model, X, _ = trained()
    path = tmp_path / "m.h5"
    model.save(path)
    before = path.read_bytes()

    def broken(file, model):
        file.attrs["format"] = "half"
        raise RuntimeError("disk full")

    monkeypatch.setattr(io, "_write", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.h5"]


def _save_and_die(path):
    """Child process: start a save, then get killed in the middle of writing."""
    model, _, _ = trained()
    real_write = io._write

    def write_then_die(file, model):
        real_write(file, model)
        file.flush()
        os.kill(os.getpid(), 9)

    io._write = write_then_die
    model.save(path)


def test_killed_save_leaves_the_old_file(tmp_path):
    model, X, _ = trained()
    path = tmp_path / "m.h5"
    model.save(path)
    before = path.read_bytes()
    child = multiprocessing.get_context("spawn").Process(target=_save_and_die, args=(str(path),))
    child.start()
    child.join(60)
    assert child.exitcode == -9
    assert path.read_bytes() == before
    np.testing.assert_array_equal(fastnn.load_model(path).predict(X), model.predict(X))


def test_file_layout_is_documented(tmp_path):
    model, _, _ = trained()
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as file:
        assert file.attrs["format"] == "fastnn-model"
        assert json.loads(file.attrs["layers"])[1]["activation"] == "softmax"
        assert sorted(file["weights"]) == ["W0", "W1", "b0", "b1"]
