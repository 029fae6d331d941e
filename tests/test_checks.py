"""Bad input gets a clear error naming the argument, before any work starts."""

import numpy as np
import pytest

import fastnn


def model(loss_output="sigmoid", n_out=1):
    return fastnn.Sequential([fastnn.Dense(3, activation="relu"),
                              fastnn.Dense(n_out, activation=loss_output)],
                             input_dim=2, seed=0)


X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([0, 1, 1])


def fit(net, X=X, y=Y, **kwargs):
    options = {"loss": "bce", "epochs": 2, "backend": "numpy"}
    options.update(kwargs)
    return net.fit(X, y, **options)


def unchanged(net, before):
    for a, b in zip(before, net.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad,message", [
    (np.array([[0.0, np.nan], [1, 0], [1, 1]]), r"X: contains 1 NaN .*index \(0, 1\).*NaN"),
    (np.array([[0.0, np.inf], [1, 0], [1, 1]]), r"X: contains 1 NaN or infinite.*infinite"),
    (np.ones((3, 5)), r"X: expected 2 features per sample, got 5"),
    (np.ones(3), r"X: expected a 2-D array.*reshape"),
    (np.ones((0, 2)), r"X: is empty"),
])
def test_bad_X(bad, message):
    net = model()
    before = net.get_weights()
    with pytest.raises(ValueError, match=message):
        fit(net, X=bad, y=Y[:len(bad)] if len(bad) else Y)
    unchanged(net, before)


def test_strings_and_objects_are_type_errors():
    with pytest.raises(TypeError, match="X: expected real numbers.*strings"):
        fit(model(), X=[["a", "b"]] * 3)
    with pytest.raises(TypeError, match="y: expected real numbers.*objects"):
        fit(model(), y=np.array([None, 1, 0], dtype=object))
    with pytest.raises(TypeError, match=r"X: expected real numbers, got an array of dtype "
                                        r"complex128 \(complex numbers\)"):
        fit(model(), X=np.ones((3, 2)) * 1j)


@pytest.mark.parametrize("y,message", [
    (np.array([0, 1]), r"y: has 2 samples but X has 3"),
    (np.array([0, 2, 1]), r"y: labels for 'bce' must be 0 or 1, got 2"),
    (np.array([0.5, 1, 0]), r"y: labels for 'bce' must be 0 or 1, got 0.5"),
    (np.array([0, np.nan, 1]), r"y: contains 1 NaN"),
    (np.ones((3, 2)), r"y: expected 1 target value\(s\) per sample.*\(3, 2\)"),
])
def test_bad_y(y, message):
    with pytest.raises(ValueError, match=message):
        fit(model(), y=y)


def test_bad_cce_classes():
    net = model("softmax", n_out=3)
    with pytest.raises(ValueError, match=r"y: class labels must be integers in \[0, 2\].*got 3"):
        fit(net, y=np.array([0, 3, 1]), loss="cce")
    with pytest.raises(ValueError, match=r"y: class labels must be integers.*got -1"):
        fit(net, y=np.array([0, -1, 1]), loss="cce")
    with pytest.raises(ValueError, match=r"y: one-hot rows for 'cce'"):
        fit(net, y=np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]]), loss="cce")


@pytest.mark.parametrize("kwargs,error,message", [
    ({"loss": "hinge"}, ValueError, r"loss: unknown name 'hinge'; choose one of 'mse'"),
    ({"backend": "cuda"}, ValueError, r"backend: unknown name 'cuda'"),
    ({"optimizer": "adadelta"}, ValueError, r"optimizer: unknown name 'adadelta'"),
    ({"batch_size": 0}, ValueError, r"batch_size: must be > 0, got 0"),
    ({"batch_size": -4}, ValueError, r"batch_size: must be > 0, got -4"),
    ({"batch_size": 2.5}, TypeError, r"batch_size: expected an integer"),
    ({"epochs": -1}, ValueError, r"epochs: must be >= 0, got -1"),
    ({"epochs": "10"}, TypeError, r"epochs: expected an integer"),
    ({"shuffle": "yes"}, TypeError, r"shuffle: expected True or False"),
    ({"validation_data": np.ones(3)}, ValueError, r"validation_data: expected a pair"),
    ({"validation_data": (np.ones((2, 3)), [0, 1])}, ValueError, r"X_val: expected 2 features"),
])
def test_bad_fit_arguments(kwargs, error, message):
    net = model()
    before = net.get_weights()
    with pytest.raises(error, match=message):
        fit(net, **kwargs)
    unchanged(net, before)
    assert net.history.epoch == []


@pytest.mark.parametrize("make,error,message", [
    (lambda: fastnn.SGD(lr=0), ValueError, r"lr: must be a finite number > 0, got 0.0"),
    (lambda: fastnn.SGD(lr=-0.1), ValueError, r"lr: must be a finite number > 0"),
    (lambda: fastnn.SGD(lr=float("nan")), ValueError, r"lr: must be a finite number > 0"),
    (lambda: fastnn.SGD(lr=0.1, momentum=1.0), ValueError, r"momentum: must be < 1"),
    (lambda: fastnn.Adam(beta1=1.5), ValueError, r"beta1: must be < 1"),
    (lambda: fastnn.Adam(lr="fast"), TypeError, r"lr: expected a number"),
    (lambda: fastnn.Dense(0), ValueError, r"units: must be > 0, got 0"),
    (lambda: fastnn.Dense(3, activation="swish"), ValueError,
     r"activation: unknown name 'swish'; choose one of 'linear'"),
    (lambda: fastnn.Sequential([fastnn.Dense(1)], input_dim=2, init="uniform"), ValueError,
     r"init: unknown name 'uniform'"),
    (lambda: fastnn.Sequential([fastnn.Dense(1)], input_dim=0), ValueError,
     r"input_dim: must be > 0"),
    (lambda: fastnn.Sequential([fastnn.Dense(1)], input_dim=2, dtype="float16"), ValueError,
     r"dtype: 'float16' is not supported"),
    (lambda: fastnn.Sequential(["dense"]), TypeError, r"layers: expected fastnn.Dense"),
    (lambda: fastnn.Sequential([], input_dim=3), ValueError, r"layers: the model has no layers"),
])
def test_bad_constructor_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("loss,output", [("bce", "linear"), ("bce", "relu"), ("bce", "tanh"),
                                         ("bce", "leaky_relu"), ("cce", "sigmoid"),
                                         ("cce", "linear"), ("cce", "relu")])
def test_cross_entropy_needs_probability_outputs(loss, output):
    """bce and cce on outputs that are not probabilities are refused wherever a loss is used."""
    net = model(output, n_out=2)
    y = np.array([[0, 1], [1, 0], [1, 0]])
    message = rf"loss: '{loss}' needs probability outputs.*activation is '{output}'"
    calls = [lambda: net.fit(X, y, loss=loss, epochs=1), lambda: net.evaluate(X, y, loss=loss),
             lambda: net.gradients(X, y, loss=loss),
             lambda: fastnn.check_gradients(net, X, y, loss=loss)]
    for call in calls:
        with pytest.raises(ValueError, match=message):
            call()
    assert net.history.epoch == []
    net.fit(X, y, loss="mse", epochs=1)  # any output takes mse


def test_set_weights_checks_shapes_and_values():
    net = model()
    weights = net.get_weights()
    with pytest.raises(ValueError, match=r"weights: expected 4 arrays"):
        net.set_weights(weights[:2])
    weights[0] = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"weights\[0\]: expected shape \(2, 3\), got \(3, 2\)"):
        net.set_weights(weights)
    weights = net.get_weights()
    weights[3] = np.array([np.nan])
    with pytest.raises(ValueError, match=r"weights\[3\]: contains 1 NaN"):
        net.set_weights(weights)


def test_predict_checks_X():
    with pytest.raises(ValueError, match=r"X: expected 2 features per sample, got 4"):
        model().predict(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"the model is not built yet"):
        fastnn.Sequential([fastnn.Dense(1)]).get_weights()


def test_divergence_stops_with_the_epoch_and_keeps_finite_weights(backend):
    """A huge learning rate makes the loss infinite; fit names the epoch, weights stay finite."""
    rng = np.random.default_rng(0)
    Xr = rng.normal(size=(20, 3)) * 100
    yr = rng.normal(size=20) * 100
    net = fastnn.Sequential([fastnn.Dense(8, activation="relu"), fastnn.Dense(1)], input_dim=3,
                            seed=1)
    with pytest.raises(fastnn.TrainingDivergedError, match=r"diverged at epoch \d+ of 50"):
        net.fit(Xr, yr, loss="sse", optimizer=fastnn.SGD(lr=10.0), epochs=50, backend=backend)
    assert all(np.isfinite(w).all() for w in net.get_weights())
    epochs_done = len(net.history.epoch)
    assert 0 <= epochs_done < 50
    assert issubclass(fastnn.TrainingDivergedError, ValueError)


def test_a_bad_first_fit_leaves_an_unbuilt_model_unbuilt():
    net = fastnn.Sequential([fastnn.Dense(2, activation="sigmoid")])
    with pytest.raises(ValueError, match="y: labels for 'bce' must be 0 or 1"):
        net.fit(np.ones((3, 4)), [[0, 1], [5, 0], [1, 1]], loss="bce")
    assert not net.built
    net.fit(np.ones((3, 7)), [[0, 1], [1, 0], [1, 1]], loss="bce")
    assert net.input_dim == 7


def test_values_beyond_float32_are_named_not_cast_to_infinity():
    net = fastnn.Sequential([fastnn.Dense(1, activation="sigmoid")], input_dim=2, dtype="float32")
    big = np.array([[1.0, 2.0], [3.0, 1e39]])
    message = r"X: the value 1e\+39 at index \(1, 1\) is beyond the range of float32"
    with pytest.raises(ValueError, match=message):
        net.predict(big)
    with pytest.raises(ValueError, match=message):
        net.fit(big, [0, 1], loss="bce")
    wide = fastnn.Sequential([fastnn.Dense(1)], input_dim=2)  # float64 takes it
    assert np.isfinite(wide.predict(big)).all()


def test_an_empty_model_ragged_X_and_huge_seeds_are_named():
    with pytest.raises(ValueError, match="layers: the model has no layers"):
        fastnn.Sequential([]).fit(X, Y)
    with pytest.raises(ValueError, match="layers: the model has no layers"):
        fastnn.Sequential([]).predict(X)
    with pytest.raises(ValueError, match="X: cannot be made into an array: its rows have "
                                         "different lengths"):
        fit(model(), X=[[0.0, 1.0], [1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"seed: must be < 2\*\*32"):
        fastnn.Sequential([fastnn.Dense(1)], input_dim=2, seed=2**32)
    with pytest.raises(ValueError, match=r"seed: must be < 2\*\*32"):
        fit(model(), seed=2**40)


def test_divergence_names_the_weights_when_the_loss_was_still_finite(backend):
    """One full-batch step with an enormous (finite) lr: the epoch's loss, from before the
    update, is finite; the weights it leaves are not."""
    net = fastnn.Sequential([fastnn.Dense(1)], input_dim=2, seed=0)
    before = net.get_weights()
    with pytest.raises(fastnn.TrainingDivergedError,
                       match=r"diverged at epoch 1 of 3: an update would have made weights NaN "
                             r"or infinite \(the loss was still [\d.e+]+\)"):
        net.fit(X, [100.0, -100.0, 100.0], loss="sse", optimizer=fastnn.SGD(lr=1e307),
                epochs=3, backend=backend)
    after = net.get_weights()
    assert all(np.isfinite(w).all() for w in after) and net.history.epoch == []
    assert after[1][0] == before[1][0]  # the bias' update overflowed: it kept its value
