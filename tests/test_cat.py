"""The cat classifier: backends agree on the deep model, the training script runs end to end."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_datasets import needs_cat_files, real_data_folder

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


def test_training_script_reports_bad_flags_clearly(tmp_path):
    command = [sys.executable, str(ROOT / "examples/train_cat_classifier.py"), "--epochs", "-3",
               "--data", str(tmp_path)]
    env = {"PATH": "", "HOME": str(tmp_path), "FASTNN_CAT_URL": "http://127.0.0.1:9/none"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env,
                            cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.startswith("error: --epochs: must be >= 0, got -3")
    command[3] = "3"
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env,
                            cwd=tmp_path)
    assert result.stderr.startswith("error: train_catvnoncat.h5: not found")
    assert "Downloading them failed" in result.stderr and "Traceback" not in result.stderr
