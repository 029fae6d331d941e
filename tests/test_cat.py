"""The cat classifier: backends agree on the deep model, the training script runs end to end."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import needs_cat_files, real_data_folder

import fastnn

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def cat():
    return fastnn.datasets.load_cat(real_data_folder(), download=False)


def deep_model(dtype="float64"):
    layers = [fastnn.Dense(n, activation="relu") for n in (20, 7, 5)]
    layers.append(fastnn.Dense(1, activation="sigmoid"))
    return fastnn.Sequential(layers, input_dim=12288, init="lecun", seed=1, dtype=dtype)


@needs_cat_files
def test_deep_model_30_iterations_same_on_numpy_and_numba(cat):
    (X, y), _, _ = cat
    weights = {}
    for backend in ("numpy", "numba"):
        model = deep_model()
        history = model.fit(X, y, loss="bce", optimizer=fastnn.SGD(lr=0.0075), epochs=30,
                            backend=backend, shuffle=False)
        weights[backend] = model.get_weights()
        assert history.history["loss"][0] == pytest.approx(0.771749, abs=5e-7)  # the course's
    for expected, got in zip(weights["numpy"], weights["numba"]):
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-12)


@needs_cat_files
def test_training_script_end_to_end(tmp_path):
    metrics_path, model_path = tmp_path / "metrics.json", tmp_path / "cat.h5"
    command = [sys.executable, str(ROOT / "examples/train_cat_classifier.py"), "--epochs", "20",
               "--data", str(real_data_folder()), "--save", str(model_path),
               "--metrics-json", str(metrics_path), "--log-every", "10"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    assert "epoch 10/20" in result.stdout and "test accuracy" in result.stdout
    metrics = json.loads(metrics_path.read_text())
    for key in ("train_accuracy", "test_accuracy", "final_loss", "epochs", "backend", "dtype",
                "seconds"):
        assert key in metrics
    assert metrics["epochs"] == 20 and metrics["dtype"] == "float64"
    model = fastnn.load_model(model_path)
    (X, y), _, _ = fastnn.datasets.load_cat(real_data_folder(), download=False)
    assert model.evaluate(X, y)["accuracy"] == pytest.approx(metrics["train_accuracy"])


@needs_cat_files
def test_logreg_preset_matches_the_course_start(cat):
    """Zeros init: the first cost is log 2 exactly, as in the course's logistic regression."""
    (X, y), _, _ = cat
    model = fastnn.Sequential([fastnn.Dense(1, activation="sigmoid")], input_dim=12288,
                              init="zeros")
    history = model.fit(X, y, loss="bce", optimizer=fastnn.SGD(lr=0.005), epochs=3)
    assert history.history["loss"][0] == pytest.approx(np.log(2), rel=1e-12)


@needs_cat_files
def test_predict_image_on_a_training_picture(tmp_path, cat, capsys):
    """A 64x64 training image saved as PNG gets the probability the model gives its row."""
    from PIL import Image

    sys.path.insert(0, str(ROOT / "examples"))
    import predict_image

    (X, y), _, _ = cat
    model = deep_model()
    model.fit(X, y, loss="bce", optimizer=fastnn.SGD(lr=0.0075), epochs=5)
    model.save(tmp_path / "cat.h5")
    index = int(np.argmax(y))  # the first cat
    pixels = np.rint(X[index].reshape(64, 64, 3) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "cat.png")
    probability = predict_image.main([str(tmp_path / "cat.h5"), str(tmp_path / "cat.png")])
    assert probability == pytest.approx(model.predict(X[index:index + 1])[0, 0], rel=1e-12)
    assert "probability of cat" in capsys.readouterr().out


def _script(name, *args, tmp_path, data=None):
    """Run an example script with no data folder of its own and no reachable mirror."""
    env = {"PATH": "", "HOME": str(tmp_path), "FASTNN_CAT_URL": "http://127.0.0.1:9/none"}
    if data is not None:
        env["FASTNN_DATA"] = str(data)
    command = [sys.executable, str(ROOT / "examples" / name), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env,
                          cwd=tmp_path)


def test_training_script_reports_bad_flags_clearly(tmp_path):
    result = _script("train_cat_classifier.py", "--epochs", "-3", "--data", str(tmp_path),
                     tmp_path=tmp_path)
    assert result.returncode != 0
    assert result.stderr.startswith("error: --epochs: must be >= 0, got -3")
    result = _script("train_cat_classifier.py", "--epochs", "3", "--data", str(tmp_path),
                     tmp_path=tmp_path)
    assert result.stderr.startswith(f"error: path '{tmp_path}': the folder {tmp_path} lacks "
                                    f"train_catvnoncat.h5 and test_catvnoncat.h5")
    for name in ("train_cat_classifier.py", "learning_rates.py"):
        result = _script(name, "--epochs", "3", tmp_path=tmp_path)
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert result.stderr.startswith("error: cat data: they are in neither")
        assert "downloading them failed" in result.stderr and "--data DIR" in result.stderr


@pytest.mark.parametrize("flag", ["--save", "--metrics-json", "--plot"])
def test_training_script_checks_output_paths_before_training(tmp_path, flag):
    result = _script("train_cat_classifier.py", flag, str(tmp_path / "missing/dir/out"),
                     tmp_path=tmp_path, data=real_data_folder() or tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {flag}: the folder {tmp_path}/missing/dir does not "
                                    f"exist")
    assert "iterations" not in result.stdout  # it stopped before loading data and training


def test_training_script_names_a_file_where_a_folder_should_be(tmp_path):
    (tmp_path / "x").write_text("a file")
    result = _script("train_cat_classifier.py", "--save", str(tmp_path / "x" / "m.h5"),
                     tmp_path=tmp_path, data=real_data_folder() or tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: --save: {tmp_path}/x is a file, not a folder")


def test_distributed_with_one_rank_says_how_to_start_more(tmp_path):
    pytest.importorskip("mpi4py", reason="mpi4py is not installed: pip install -e '.[mpi]'")
    result = _script("train_cat_classifier.py", "--distributed", tmp_path=tmp_path,
                     data=real_data_folder() or tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: --distributed: this is the only MPI rank")
    assert "mpiexec -n 2" in result.stderr


@needs_cat_files
def test_training_script_with_zero_epochs_reports_the_initial_model(tmp_path):
    metrics_path = tmp_path / "metrics.json"
    result = _script("train_cat_classifier.py", "--epochs", "0", "--metrics-json",
                     str(metrics_path), tmp_path=tmp_path, data=real_data_folder())
    assert result.returncode == 0, result.stderr
    metrics = json.loads(metrics_path.read_text())
    assert metrics["epochs"] == 0 and metrics["ms_per_iteration"] is None
    assert metrics["final_loss"] == pytest.approx(0.771749, abs=5e-7)  # the course's first cost
