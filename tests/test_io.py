"""Model files: save -> load gives the same model; bad files are clear errors; saves are atomic."""

import json
import multiprocessing
import os

import h5py
import numpy as np
import pytest
from helpers import small_model

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

    def broken(file, record):
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

    def write_then_die(file, record):
        real_write(file, record)
        file.flush()
        os.kill(os.getpid(), 9)

    io._write = write_then_die
    model.save(path)


def test_killed_save_leaves_the_old_file_and_its_litter_is_swept(tmp_path):
    model, X, _ = trained()
    path = tmp_path / "m.h5"
    model.save(path)
    before = path.read_bytes()
    for _ in range(2):
        child = multiprocessing.get_context("spawn").Process(target=_save_and_die,
                                                             args=(str(path),))
        child.start()
        child.join(60)
        assert child.exitcode == -9
    assert path.read_bytes() == before
    litter = sorted(p.name for p in tmp_path.iterdir() if p.name != "m.h5")
    # the second save swept the first one's temporary; its own is left until the next load
    assert len(litter) == 1 and litter[0].startswith(".m.h5.fastnn-")
    np.testing.assert_array_equal(fastnn.load_model(path).predict(X), model.predict(X))
    assert sorted(os.listdir(tmp_path)) == ["m.h5"]  # the load removed the dead writers' files


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    model, _, _ = trained()
    live = tmp_path / f".m.h5.fastnn-{io._host()}-{os.getpid()}-abcd.tmp"
    dead_pid = _a_dead_pid()
    dead = tmp_path / f".m.h5.fastnn-{io._host()}-{dead_pid}-efgh.tmp"
    other_host = tmp_path / f".m.h5.fastnn-elsewhere-{dead_pid}-ijkl.tmp"
    for file in (live, dead, other_host):
        file.write_bytes(b"partial")
    model.save(tmp_path / "m.h5")
    assert live.exists() and other_host.exists() and not dead.exists()


def _a_dead_pid():
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


def test_file_modes_follow_the_umask_and_an_overwrite_keeps_the_mode(tmp_path):
    model, _, _ = trained()
    old_mask = os.umask(0o027)
    try:
        model.save(tmp_path / "new.h5")
        assert os.stat(tmp_path / "new.h5").st_mode & 0o777 == 0o640
        shared = tmp_path / "shared.h5"
        model.save(shared)
        os.chmod(shared, 0o644)
        model.save(shared)
        assert os.stat(shared).st_mode & 0o777 == 0o644
    finally:
        os.umask(old_mask)


def test_saving_to_a_symlink_replaces_its_target(tmp_path):
    model, X, _ = trained()
    (tmp_path / "store").mkdir()
    target = tmp_path / "store/real.h5"
    model.save(target)
    link = tmp_path / "latest.h5"
    link.symlink_to(target)
    model.fit(X, np.zeros(len(X), int), epochs=1)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(fastnn.load_model(target).predict(X), model.predict(X))
    assert sorted(os.listdir(tmp_path / "store")) == ["real.h5"]


def test_a_fit_resumed_from_a_file_continues_the_shuffle_as_if_never_stopped(tmp_path):
    """fit(6) equals fit(3), save, load_model, fit(3): shuffled mini-batches, momentum."""
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, 30)
    one = small_model((4, 6, 3), ("relu", "softmax"), seed=2)
    two = small_model((4, 6, 3), ("relu", "softmax"), seed=2)
    options = {"loss": "cce", "batch_size": 7, "shuffle": True}
    one.fit(X, y, optimizer=fastnn.SGD(0.1, momentum=0.9), epochs=6, **options)
    two.fit(X, y, optimizer=fastnn.SGD(0.1, momentum=0.9), epochs=3, **options)
    two.save(tmp_path / "m.h5")
    resumed = fastnn.load_model(tmp_path / "m.h5")
    resumed.fit(X, y, epochs=3, **options)
    for a, b in zip(one.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(b, a)
    assert resumed.history.history["loss"] == one.history.history["loss"]


def _damaged(tmp_path, change):
    model, _, _ = trained()
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as file:
        change(file)
    return tmp_path / "m.h5"


@pytest.mark.parametrize("change,message", [
    (lambda f: f.attrs.__delitem__("format_version"),
     r"field 'format_version' is missing"),
    (lambda f: f.attrs.__setitem__("format_version", "one"),
     r"field 'format_version' is not a valid int: 'one'"),
    (lambda f: f.attrs.__setitem__("layers", "[{"), r"field 'layers' is not valid JSON"),
    (lambda f: f.attrs.__setitem__("layers", '[{"units": 0}]'),
     r"field 'layers' does not describe Dense and Dropout layers: units: must be > 0"),
    (lambda f: f.attrs.__delitem__("dtype"), r"field 'dtype' is missing"),
    (lambda f: (f["weights"].__delitem__("W0"),
                f["weights"].create_dataset("W0", data=np.ones((5, 6)))),
     r"field 'weights/W0' has shape \(5, 6\), expected \(4, 6\)"),
    (lambda f: f["weights"].__delitem__("b1"), r"field 'weights/b1' is missing"),
    (lambda f: f["optimizer"].attrs.__setitem__("name", "adadelta"),
     r"field 'optimizer/name' is 'adadelta'"),
    (lambda f: f["history"].__delitem__("epoch"), r"field 'history/epoch' is missing"),
    (lambda f: f.attrs.__setitem__("loss", "hinge"), r"field 'loss' loss: unknown name"),
])
def test_damaged_files_name_the_file_and_the_field(tmp_path, change, message):
    path = _damaged(tmp_path, change)
    with pytest.raises(ValueError, match=rf"path: {path}: {message}"):
        fastnn.load_model(path)


def test_file_layout_is_documented(tmp_path):
    model, _, _ = trained()
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as file:
        assert file.attrs["format"] == "fastnn-model"
        assert json.loads(file.attrs["layers"])[1]["activation"] == "softmax"
        assert sorted(file["weights"]) == ["W0", "W1", "b0", "b1"]


def test_a_save_into_a_missing_folder_names_it(tmp_path):
    model = small_model((3, 2), ("linear",))
    with pytest.raises(FileNotFoundError, match="the folder .*absent does not exist"):
        model.save(tmp_path / "absent" / "m.h5")
    (tmp_path / "file").write_text("")
    with pytest.raises(FileNotFoundError, match=r"does not exist \(it is a file\)"):
        model.save(tmp_path / "file" / "m.h5")
