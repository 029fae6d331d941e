"""model.to_onnx: the exported graph, run by ONNX Runtime, gives what predict gives."""

import sys

import numpy as np
import pytest

import fastnn

onnx = pytest.importorskip("onnx")  # both in the [test] extra: CI runs these
onnxruntime = pytest.importorskip("onnxruntime")

ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "exp")
TOLERANCE = {"float32": 1e-6, "float64": 1e-12}


def _run(path, X):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": X})[0]


def _assert_close(got, want, dtype):
    """Relative to the largest output: outputs near zero carry the others' rounding."""
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.max(np.abs(got - want)) <= TOLERANCE[dtype] * np.max(np.abs(want))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_as_hidden_and_output(tmp_path, dtype, activation):
    model = fastnn.Sequential([fastnn.Dense(9, activation=activation), fastnn.Dropout(0.3),
                               fastnn.Dense(6, activation="tanh", use_bias=False),
                               fastnn.Dense(4, activation=activation)],
                              input_dim=5, seed=0, dtype=dtype)
    X = np.random.default_rng(1).normal(size=(64, 5)).astype(dtype)
    model.fit(X, np.abs(X[:, :4]) if activation == "exp" else X[:, :4] > 0,
              loss="poisson" if activation == "exp" else "mse", epochs=3, batch_size=16,
              optimizer=fastnn.Adam(lr=0.01))  # trained weights, every b nonzero
    path = model.to_onnx(tmp_path / "model.onnx")
    _assert_close(_run(path, X), model.predict(X), dtype)


def test_the_graph_is_what_the_docs_say(tmp_path):
    model = fastnn.Sequential([fastnn.Dropout(0.2), fastnn.Dense(3, activation="relu"),
                               fastnn.Dense(2, activation="softmax")], input_dim=4, seed=0)
    model.to_onnx(tmp_path / "m.onnx")
    proto = onnx.load(tmp_path / "m.onnx")
    onnx.checker.check_model(proto, full_check=True)
    assert [node.op_type for node in proto.graph.node] == ["Gemm", "Relu", "Gemm", "Softmax"]
    assert proto.producer_name == "fastnn" and proto.opset_import[0].version == 17
    (given,), (made,) = proto.graph.input, proto.graph.output
    assert given.name == "X" and made.name == "Y"
    assert given.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert [d.dim_param or d.dim_value for d in given.type.tensor_type.shape.dim] == [
        "n_samples", 4]
    W, b = (onnx.numpy_helper.to_array(t) for t in proto.graph.initializer[:2])
    np.testing.assert_array_equal(W, model.get_weights()[0])
    np.testing.assert_array_equal(b, model.get_weights()[1])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimators_export_their_model(tmp_path):
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris

    from fastnn.estimators import MLPClassifier

    X, y = load_iris(return_X_y=True)
    estimator = MLPClassifier((8,), max_iter=50, random_state=0).fit(X, y)
    path = estimator.model_.to_onnx(tmp_path / "iris.onnx")
    probabilities = _run(path, X)
    np.testing.assert_allclose(probabilities, estimator.predict_proba(X), rtol=1e-12, atol=1e-15)
    assert (estimator.classes_[probabilities.argmax(1)] == estimator.predict(X)).all()


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    model = fastnn.Sequential([fastnn.Dense(2)], input_dim=3, seed=0)
    path = model.to_onnx(tmp_path / "m.onnx")
    before = path.read_bytes()

    def broken(proto, where):
        with open(where, "wb") as file:
            file.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(onnx, "save_model", broken)
    model.set_weights([w + 1 for w in model.get_weights()])
    with pytest.raises(OSError, match="disk full"):
        model.to_onnx(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_errors_before_any_work(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="not built"):
        fastnn.Sequential([fastnn.Dense(2)]).to_onnx(tmp_path / "m.onnx")
    model = fastnn.Sequential([fastnn.Dense(2)], input_dim=3, seed=0)
    with pytest.raises(FileNotFoundError, match="the folder .*absent does not exist"):
        model.to_onnx(tmp_path / "absent" / "m.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'fastnn\[onnx\]'"):
        model.to_onnx(tmp_path / "m.onnx")
    assert not list(tmp_path.iterdir())
