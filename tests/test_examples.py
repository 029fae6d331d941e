"""Every tutorial example runs on every backend and prints the tutorial's numbers."""

import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import BACKENDS, needs_cat_files, needs_football, real_data_folder

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))

import gender  # noqa: E402
import learning_rates  # noqa: E402
import linear_net  # noqa: E402
import neuron_and_network  # noqa: E402
import planar  # noqa: E402
import regularization  # noqa: E402
import softmax_classifier  # noqa: E402
import xor_table  # noqa: E402


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def test_neuron_and_network(backend, capsys):
    result = neuron_and_network.main(["--backend", backend])
    assert result["neuron"] == pytest.approx(0.9990889488055994, rel=1e-15)
    assert result["network"] == pytest.approx(0.7216325609518421, rel=1e-15)
    assert result["dL_dw1"] == pytest.approx(0.0214695, abs=5e-8)
    assert "0.99908894880559" in capsys.readouterr().out


def test_gender(backend, capsys):
    result = gender.main(["--backend", backend])
    losses = result["losses"]
    printed = losses[::10]
    assert all(b <= a for a, b in zip(printed[5:], printed[6:]))  # falls steadily after a start
    assert printed[-1] < printed[0] / 50
    assert result["emily"] == pytest.approx(0.95, abs=0.01)
    assert result["frank"] == pytest.approx(0.04, abs=0.01)
    out = capsys.readouterr().out
    assert "Epoch 990 loss:" in out and "Emily: 0.9" in out


def test_xor_table(backend):
    result = xor_table.main(["--backend", backend])
    np.testing.assert_allclose(result["predictions"], [0, 1, 1, 0], atol=0.1)
    assert result["losses"][-1] < result["losses"][0]


def test_linear_net_matches_the_seed(backend):
    """The seed's own loop, in its (n_out, n_in) layout, against the example's weights."""
    X, Y = np.array([[1], [2], [3], [4]], float), np.array([[100], [200]], float)
    W1, W2 = np.ones((3, 4)), np.ones((2, 3))
    for _ in range(100):
        h = W1 @ X
        y = W2 @ h
        S2 = y - Y
        S1 = W2.T @ S2
        W1, W2 = W1 - 0.0001 * (S1 @ X.T), W2 - 0.0001 * (S2 @ h.T)
    result = linear_net.main(["--backend", backend])
    np.testing.assert_allclose(result["W1"], W1, rtol=1e-12)
    np.testing.assert_allclose(result["W2"], W2, rtol=1e-12)
    np.testing.assert_allclose(result["output"], [100, 200], atol=0.01)


def test_planar_backends_agree_on_a_short_run():
    results = [planar.main(["--backend", b, "--epochs", "100", "--sizes", "3",
                            "--sizes-epochs", "50"]) for b in BACKENDS]
    for result in results[1:]:
        assert result["accuracy"] == results[0]["accuracy"]
        assert result["by_hidden_size"] == results[0]["by_hidden_size"]


def test_planar_reaches_the_course_accuracy(tmp_path):
    result = planar.main(["--backend", "numba", "--sizes", "1", "5",
                          "--plot", str(tmp_path / "flower.png")])
    assert result["accuracy"] == pytest.approx(0.905, abs=0.01)  # the course: 90.5 %
    assert result["by_hidden_size"][1] < 0.7 < 0.9 < result["by_hidden_size"][5]


def test_softmax_classifier(backend):
    epochs = "3" if backend == "loop" else "300"
    result = softmax_classifier.main(["--backend", backend, "--epochs", epochs])
    if backend == "loop":
        expected = softmax_classifier.main(["--backend", "numpy", "--epochs", epochs])
        np.testing.assert_allclose(result["losses"], expected["losses"], rtol=1e-10)
    else:
        assert result["accuracy"] >= 0.95


@needs_cat_files
def test_learning_rates(backend):
    options = ["--data", str(real_data_folder()), "--backend", backend]
    if backend == "loop":
        options += ["--train-samples", "4", "--epochs", "2"]
        expected = learning_rates.main(options[:2] + ["--backend", "numpy"] + options[4:])
    else:
        options += ["--epochs", "150"]
    result = learning_rates.main(options)
    costs = [result[lr]["costs"][-1] for lr in learning_rates.RATES]
    if backend == "loop":
        for lr in learning_rates.RATES:
            np.testing.assert_allclose(result[lr]["costs"], expected[lr]["costs"], rtol=1e-10)
    else:
        assert costs[0] < costs[1] < costs[2]  # the larger rate learns faster here


@needs_cat_files
def test_sklearn_comparison_on_the_cat_data(capsys):
    pytest.importorskip("sklearn")
    import sklearn_comparison

    result = sklearn_comparison.main(["--data", str(real_data_folder()), "--max-iter", "30",
                                      "--no-search"])
    ours = result["fastnn.estimators.MLPClassifier"]
    theirs = result["sklearn.neural_network.MLPClassifier"]
    assert 0.5 <= ours["train"] <= 1 and ours["train"] == theirs["train"]
    assert result["weights"] < 1e-8  # the same steps from the same weights
    assert "| fastnn.estimators.MLPClassifier |" in capsys.readouterr().out


@needs_football
def test_regularization_reproduces_the_course():
    """No regularization and L2: the course's printed costs and accuracies (30,000 iterations);
    dropout (other masks than the course's fixed ones): the best test accuracy of the three."""
    results = regularization.main(["--backend", "numba"])
    for way in ("none", "l2"):
        course, result = regularization.COURSE[way], results[way]
        np.testing.assert_allclose([result["costs"][i] for i in (0, 10000, 20000)],
                                   course["costs"], rtol=1e-6)
        assert result["train_accuracy"] == course["train"]
        assert result["test_accuracy"] == course["test"]
    dropped = results["dropout"]
    assert dropped["costs"][0] == pytest.approx(0.6557, abs=0.01)
    assert 0.92 <= dropped["train_accuracy"] <= results["none"]["train_accuracy"] + 0.02
    assert dropped["test_accuracy"] >= max(results["l2"]["test_accuracy"], 0.925)


@needs_football
def test_regularization_backends_agree_on_a_short_run():
    results = [regularization.main(["--backend", b, "--epochs", "30"]) for b in BACKENDS]
    for result in results[1:]:
        for way in regularization.WAYS:
            np.testing.assert_allclose(result[way]["costs"], results[0][way]["costs"],
                                       rtol=1e-12)
