"""fastnn's scikit-learn estimators: scikit-learn's own estimator checks, and what users do."""

import pickle
import re
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastnn.estimators import MLPClassifier, MLPRegressor  # noqa: E402

EXPECTED_FAILURES: dict = {}


@parametrize_with_checks([MLPClassifier(random_state=0), MLPRegressor(random_state=0)],
                         expected_failed_checks=lambda estimator: EXPECTED_FAILURES)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def blobs(n=120, centers=3, seed=0):
    from sklearn.datasets import make_blobs
    return make_blobs(n, n_features=4, centers=centers, random_state=seed)


def test_a_pipeline_with_grid_search_over_processes():
    """GridSearchCV with two worker processes: the estimator pickles and clones."""
    X, y = blobs()
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(random_state=0))
    search = GridSearchCV(pipeline, {"mlpclassifier__hidden_layer_sizes": [(5,), (20,)]}, cv=3,
                          n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert search.best_params_["mlpclassifier__hidden_layer_sizes"] in [(5,), (20,)]
    assert search.score(X, y) > 0.9
    scores = cross_val_score(MLPClassifier(max_iter=100, random_state=0), X, y, cv=3)
    assert scores.mean() > 0.9


def test_fitted_attributes_as_scikit_learn_names_them():
    X, y = blobs()
    model = MLPClassifier(hidden_layer_sizes=(8, 6), solver="sgd", learning_rate_init=0.1,
                          momentum=0.5, max_iter=30, random_state=1, tol=0.0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(30\\) reached"):
        model.fit(X, y)
    assert model.n_features_in_ == 4 and list(model.classes_) == [0, 1, 2]
    assert model.n_iter_ == 30 and len(model.loss_curve_) == 30
    assert model.loss_ == model.loss_curve_[-1] and model.best_loss_ == min(model.loss_curve_)
    assert [c.shape for c in model.coefs_] == [(4, 8), (8, 6), (6, 3)]
    assert [b.shape for b in model.intercepts_] == [(8,), (6,), (3,)]
    assert model.n_layers_ == 4 and model.n_outputs_ == 3 and model.out_activation_ == "softmax"
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    np.testing.assert_allclose(model.predict_log_proba(X), np.log(proba))
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])


def test_the_loss_stops_improving_and_fit_stops():
    X, y = blobs()
    model = MLPClassifier(max_iter=2000, tol=1e-2, n_iter_no_change=3, random_state=0)
    model.fit(X, y)
    assert model.n_iter_ < 2000
    assert not any(model.loss_curve_[-1 - i] < model.best_loss_ - 1e-2 for i in range(3))


def test_early_stopping_keeps_the_best_validation_epoch():
    X, y = blobs(200)
    X = StandardScaler().fit_transform(X)
    model = MLPClassifier(early_stopping=True, validation_fraction=0.2, n_iter_no_change=5,
                          learning_rate_init=0.01, max_iter=500, random_state=0).fit(X, y)
    assert model.best_loss_ is None and len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_) > 0.9
    regressor = MLPRegressor(early_stopping=True, max_iter=300, random_state=0)
    Xr = np.random.default_rng(0).normal(size=(200, 3))
    regressor.fit(Xr, Xr @ [1.0, -2.0, 0.5])
    assert -1 < regressor.best_validation_score_ <= 1


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_the_validation_loss_curve_is_scikit_learns_loss_on_the_held_out_split(name,
                                                                              monkeypatch):
    """validation_loss_curve_[best epoch] (whose weights the fit ends with) == scikit-learn's
    own log_loss / half mean squared error of the final model on the held-out split."""
    from sklearn import metrics

    import fastnn.estimators

    held_out = []

    def recorded(*arrays, **options):
        parts = sklearn.model_selection.train_test_split(*arrays, **options)
        held_out.append(parts[1::2])
        return parts

    monkeypatch.setattr(fastnn.estimators, "train_test_split", recorded)
    X, y = blobs(200)
    X = StandardScaler().fit_transform(X)
    if name == "MLPRegressor":
        y = X[:, 0] - 2 * X[:, 1] + 0.3 * np.sin(3 * X[:, 2])
        model = MLPRegressor(early_stopping=True, max_iter=60, n_iter_no_change=5,
                             random_state=1, alpha=0.1)
    else:
        model = MLPClassifier(early_stopping=True, max_iter=60, n_iter_no_change=5,
                              random_state=1, learning_rate_init=0.01, alpha=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    X_val, Y_val = held_out[0][:2]
    curve = model.validation_loss_curve_
    assert len(curve) == len(model.validation_scores_) == model.n_iter_
    best = int(np.argmax(model.validation_scores_))
    if name == "MLPRegressor":
        expected = metrics.mean_squared_error(Y_val.ravel(), model.predict(X_val)) / 2
    else:
        expected = metrics.log_loss(model._label_binarizer.inverse_transform(Y_val),
                                    model.predict_proba(X_val), labels=model.classes_)
    assert curve[best] == pytest.approx(expected, rel=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert MLPClassifier(max_iter=5).fit(X, y > 0).validation_loss_curve_ is None


def test_partial_fit_and_warm_start_go_on_from_where_they_were():
    X, y = blobs()
    model = MLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, y)
    for _ in range(3):
        model.partial_fit(X, y, classes=[0, 1, 2])
    assert model.n_iter_ == 1 and len(model.loss_curve_) == 3 and model.t_ == 3 * len(X)
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`"):
        model.partial_fit(X[:3], [0, 1, 7])
    warm = MLPClassifier(max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(X, y)
        first = [c.copy() for c in warm.coefs_]
        warm.fit(X, y)
    assert warm.n_iter_ == 5 and len(warm.loss_curve_) == 10  # (scikit-learn: n_iter_ per fit)
    assert not np.array_equal(first[0], warm.coefs_[0])


def test_binary_multilabel_and_string_classes():
    X, y = blobs(centers=2)
    labels = np.array(["no", "yes"])[y]
    model = MLPClassifier(max_iter=100, random_state=0).fit(X, labels)
    assert model.out_activation_ == "logistic" and model.predict_proba(X).shape == (120, 2)
    assert set(model.predict(X)) <= {"no", "yes"} and model.score(X, labels) > 0.9
    Y = np.column_stack([y, 1 - y, X[:, 0] > 0]).astype(int)
    multi = MLPClassifier(max_iter=200, random_state=0).fit(X, Y)
    assert multi.predict(X).shape == (120, 3) and multi.out_activation_ == "logistic"
    assert multi.score(X, Y) > 0.6


def test_regression_one_and_several_outputs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    Y = np.column_stack([X @ [1.0, -1.0, 0.5], X[:, 0] * 2])
    model = MLPRegressor(hidden_layer_sizes=(20,), max_iter=500, random_state=0).fit(X, Y)
    assert model.predict(X).shape == (150, 2) and model.score(X, Y) > 0.9
    single = MLPRegressor(max_iter=300, random_state=0).fit(X, Y[:, 0])
    assert single.predict(X).shape == (150,) and single.out_activation_ == "identity"


def test_fastnn_parameters_and_speed_paths_give_the_same_model():
    """dtype float32, and the dual form on and off (SGD), through the estimator."""
    X, y = blobs(centers=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        models = [MLPClassifier(solver="sgd", batch_size=len(X), shuffle=False, max_iter=40,
                                random_state=0, tol=0, dual=dual).fit(X, y)
                  for dual in (False, True)]
        small = MLPClassifier(dtype="float32", max_iter=20, random_state=0).fit(X, y)
    for a, b in zip(models[0].coefs_, models[1].coefs_):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
    assert models[1].model_.history.params["dual"] and not models[0].model_.history.params["dual"]
    assert small.coefs_[0].dtype == np.float32


@pytest.mark.parametrize("params,error,message", [
    ({"solver": "newton"}, ValueError,
     "The 'solver' parameter of MLPClassifier must be a str among"),
    ({"activation": "swish"}, ValueError, "The 'activation' parameter of MLPClassifier must"),
    ({"hidden_layer_sizes": (10, 0)}, ValueError, "hidden_layer_sizes: must be > 0"),
    ({"batch_size": 0}, ValueError, "The 'batch_size' parameter of MLPClassifier must be"),
    ({"learning_rate_init": -1.0}, ValueError,
     "The 'learning_rate_init' parameter of MLPClassifier must be a float in the range (0.0"),
    ({"learning_rate": "cosine"}, ValueError, "The 'learning_rate' parameter of MLPClassifier"),
    ({"n_iter_no_change": 0}, ValueError, "The 'n_iter_no_change' parameter of MLPClassifier"),
    ({"alpha": -1.0}, ValueError, "The 'alpha' parameter of MLPClassifier must be a float in"),
    ({"class_weight": {"cat": 2.0}}, ValueError, r"class_weight: labels \['cat'\] are not"),
    ({"class_weight": "even"}, ValueError, "The 'class_weight' parameter of MLPClassifier"),
    ({"validation_fraction": 1.5}, ValueError,
     "The 'validation_fraction' parameter of MLPClassifier must be a float in the range [0.0, "
     "1.0)"),
    ({"momentum": 1.0}, ValueError, "The 'momentum' parameter of MLPClassifier must be a float"),
    ({"dual": "maybe"}, ValueError, "The 'dual' parameter of MLPClassifier must be"),
    ({"dtype": "float16"}, ValueError, "The 'dtype' parameter of MLPClassifier must be"),
    ({"backend": "cuda"}, ValueError, "The 'backend' parameter of MLPClassifier must be"),
    ({"solver": "adam", "dual": True}, ValueError, "dual: the dual form needs SGD"),
])
def test_bad_parameters_are_named_at_fit(params, error, message):
    X, y = blobs(30)
    model = MLPClassifier(max_iter=5, **params)
    with pytest.raises(error, match=re.escape(message) if "\\[" not in message else message):
        model.fit(X, y)
    assert not hasattr(model, "model_") or params.get("dual") is True


def test_a_pickled_and_cloned_estimator_predicts_the_same():
    X, y = blobs()
    model = MLPClassifier(max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    assert clone(model).get_params() == model.get_params()


# ---------------------------------------------------------------- scikit-learn's numbers

def digits(n_class=3, n=240):
    from sklearn.datasets import load_digits
    X, y = load_digits(n_class=n_class, return_X_y=True)
    return X[:n] / 16, y[:n]


def _both(name, **params):
    """The same estimator fitted by scikit-learn and by fastnn: (theirs, ours)."""
    from sklearn import neural_network

    import fastnn.estimators as ours
    return getattr(neural_network, name)(**params), getattr(ours, name)(**params)


def _relative(expected, got) -> float:
    return max(float(np.abs(e - g).max() / np.abs(e).max()) for e, g in zip(expected, got))


CASES = {
    "sgd, nesterov, invscaling, alpha": ("MLPClassifier", {
        "solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.3,
        "power_t": 0.3, "alpha": 1e-2, "batch_size": 32}),
    "sgd, classical momentum, binary": ("MLPClassifier", {
        "solver": "sgd", "nesterovs_momentum": False, "learning_rate_init": 0.1,
        "n_class": 2}),
    "adam, early stopping": ("MLPClassifier", {"early_stopping": True,
                                               "learning_rate_init": 0.01}),
    "adaptive": ("MLPClassifier", {"solver": "sgd", "learning_rate": "adaptive", "tol": 0.05,
                                   "n_iter_no_change": 2, "learning_rate_init": 0.2}),
    "multilabel": ("MLPClassifier", {"solver": "sgd", "learning_rate_init": 0.2,
                                     "multilabel": True}),
    "squared error, sample weights": ("MLPRegressor", {"solver": "sgd", "alpha": 0.1,
                                                       "learning_rate_init": 0.01,
                                                       "weighted": True}),
    "poisson, adam": ("MLPRegressor", {"loss": "poisson", "learning_rate_init": 0.01}),
    "regressor, early stopping": ("MLPRegressor", {"early_stopping": True, "solver": "sgd",
                                                   "learning_rate_init": 0.01}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_fit_follows_scikit_learns_trajectory(case):
    """The same parameters and random_state as scikit-learn's MLP: the same starting weights,
    validation split, shuffling, steps and stopping rule, so the same weights (float64, up
    to rounding), loss curve and iteration count: scikit-learn's implementation is the check
    written apart."""
    name, params = CASES[case]
    params = dict(params)
    X, y = digits(params.pop("n_class", 3))
    weights = np.linspace(0.5, 2, len(X)) if params.pop("weighted", False) else None
    if params.pop("multilabel", False):
        y = np.column_stack([y == 0, y == 1, X[:, 10] > 0.3]).astype(int)
    elif name == "MLPRegressor":
        y = X[:, 20] * 3 + X[:, 30] + (y if params.get("loss") == "poisson" else 0)
    theirs, ours = _both(name, hidden_layer_sizes=(12, 6), max_iter=30, random_state=3,
                         **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y, sample_weight=weights)
        ours.fit(X, y, sample_weight=weights)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    assert _relative(theirs.coefs_ + theirs.intercepts_, ours.coefs_ + ours.intercepts_) < 1e-9
    if theirs.validation_scores_ is not None:
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_,
                                   rtol=1e-9)
    np.testing.assert_allclose(ours.predict(X) if name == "MLPRegressor"
                               else ours.predict_proba(X),
                               theirs.predict(X) if name == "MLPRegressor"
                               else theirs.predict_proba(X), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel", "regression",
                                    "poisson"])
def test_the_lbfgs_objective_and_gradient_are_scikit_learns(target):
    """At the same weights, fastnn's objective (loss, sample weights, alpha) and gradient in
    scikit-learn's packing equal scikit-learn's own ``_loss_grad_lbfgs``."""
    X, y = digits(2 if target == "binary" else 3, n=60)
    name = "MLPRegressor" if target in ("regression", "poisson") else "MLPClassifier"
    if target == "multilabel":
        y = np.column_stack([y == 0, y == 1, X[:, 10] > 0.3]).astype(int)
    elif name == "MLPRegressor":
        y = X[:, 20] * 3 + X[:, 30]
    extra = {"loss": "poisson"} if target == "poisson" else {}
    theirs, ours = _both(name, hidden_layer_sizes=(5,), solver="lbfgs", alpha=0.3, max_iter=3,
                         random_state=0, activation="tanh", **extra)
    weights = np.linspace(0.2, 3, len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y)
        ours.fit(X, y)
    Y = theirs._label_binarizer.transform(y) if name == "MLPClassifier" else y.reshape(-1, 1)
    packed = np.hstack([w.ravel() for w in theirs.coefs_ + theirs.intercepts_])
    units = [X.shape[1], 5, Y.shape[1]]
    work = ([X] + [None] * 2, [None] * 2, [np.empty((a, b)) for a, b in zip(units, units[1:])],
            [np.empty(b) for b in units[1:]])  # (scikit-learn's lists to fill)
    expected = theirs._loss_grad_lbfgs(packed, X, Y.astype(float), weights, *work)
    got = ours._loss_grad_lbfgs(packed.copy(), X, Y.astype(float), weights)
    assert got[0] == pytest.approx(expected[0], rel=1e-12)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-10, atol=1e-13)


def test_lbfgs_reaches_scikit_learns_solution():
    X, y = digits(3, n=150)
    y = X[:, 20] * 3 + X[:, 30]
    theirs, ours = _both("MLPRegressor", hidden_layer_sizes=(8,), solver="lbfgs", alpha=1e-3,
                         max_iter=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y)
        ours.fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ and ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- inputs and options

@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_sparse_X_gives_the_dense_fit(backend, solver):
    import scipy.sparse

    X, y = digits(3, n=120)
    results = []
    for data in (X, scipy.sparse.csr_matrix(X), scipy.sparse.csc_matrix(X)):
        model = MLPClassifier(hidden_layer_sizes=(10,), solver=solver, max_iter=15,
                              random_state=0, backend=backend, alpha=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(data, y)
        results.append((model.coefs_, model.predict_proba(data)))
    for coefs, proba in results[1:]:
        assert _relative(results[0][0], coefs) < 1e-10
        np.testing.assert_allclose(proba, results[0][1], rtol=1e-9, atol=1e-12)


def test_class_weight_is_sample_weight_by_class():
    from sklearn.utils.class_weight import compute_sample_weight

    X, y = digits(3, n=150)
    y = np.where(y == 2, 1, y)  # two classes of unequal size
    fits = []
    for options, weights in (({"class_weight": "balanced"}, None),
                             ({}, compute_sample_weight("balanced", y)),
                             ({"class_weight": {1: 3.0}}, None),
                             ({}, np.where(y == 1, 3.0, 1.0))):
        model = MLPClassifier(hidden_layer_sizes=(6,), solver="sgd", max_iter=10,
                              random_state=0, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append(model.fit(X, y, sample_weight=weights).coefs_)
    assert _relative(fits[1], fits[0]) < 1e-12 and _relative(fits[3], fits[2]) < 1e-12
    assert _relative(fits[0], fits[2]) > 1e-3


def test_dtype_follows_X_unless_given():
    X, y = digits(2, n=80)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        follows = MLPRegressor(max_iter=5, random_state=0).fit(X.astype(np.float32), y)
        given = MLPRegressor(max_iter=5, random_state=0, dtype="float64").fit(
            X.astype(np.float32), y)
    assert follows.coefs_[0].dtype == np.float32 and follows.predict(X).dtype == np.float32
    assert given.coefs_[0].dtype == np.float64


def test_partial_fit_on_a_multilabel_indicator():
    """The bug of issue 17: it said the object was not fitted with multilabel input."""
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    model = MLPClassifier(random_state=0).partial_fit(X, Y, classes=[0, 1])
    model.partial_fit(X, Y)
    assert model.predict(X).shape == (4, 2) and model.n_outputs_ == 2


def test_one_class_is_learned_as_scikit_learn_does():
    X = np.random.default_rng(0).normal(size=(10, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(max_iter=20, random_state=0).fit(X, ["cat"] * 10)
    assert list(model.predict(X)) == ["cat"] * 10


@pytest.mark.parametrize("call,message", [
    (lambda X, y: MLPClassifier(early_stopping=True, max_iter=5, random_state=0).fit(X, y)
     .partial_fit(X, y), "partial_fit does not support early_stopping=True"),
    (lambda X, y: MLPRegressor(early_stopping=True).fit(X[:2], y[:2]),
     "The validation set is too small"),
    (lambda X, y: MLPClassifier(warm_start=True, max_iter=5, random_state=0).fit(X, y)
     .fit(X, np.where(y == 2, 5, y)), "warm_start can only be used where `y` has the same"),
    (lambda X, y: MLPRegressor(loss="poisson", max_iter=5).fit(X, -np.ones(len(y))),
     "y: targets for 'poisson' must be >= 0"),
    (lambda X, y: MLPClassifier(class_weight="balanced", max_iter=5).fit(
        X, np.column_stack([y == 0, y == 1])), "class_weight: needs one class per sample"),
])
def test_errors_scikit_learns_way(call, message):
    X, y = digits(3, n=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match=message):
            call(X, y)


def test_lbfgs_has_no_partial_fit_and_warns_when_it_stops_short():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPRegressor(solver="sgd"), "partial_fit")
    X, y = digits(3, n=90)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge after 4 iteration"):
        model = MLPClassifier(solver="lbfgs", max_iter=4, random_state=0).fit(X, y)
    assert model.n_iter_ == 4 and len(model.loss_curve_) == 4


def test_verbose_prints_scikit_learns_lines(capsys):
    X, y = digits(2, n=40)
    MLPClassifier(solver="sgd", max_iter=3, verbose=True, random_state=0, tol=10,
                  n_iter_no_change=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Iteration 1, loss = ") and len(lines[0].split("= ")[1]) == 10
    assert lines[-1] == ("Training loss did not improve more than tol=10.000000 for 1 "
                         "consecutive epochs. Stopping.")


def test_the_dual_form_carries_alpha_and_nesterov_through_the_estimator():
    X, y = digits(2, n=100)
    fits = []
    for dual in (False, True):
        model = MLPClassifier(solver="sgd", alpha=1e-2, batch_size=100, max_iter=30,
                              learning_rate_init=0.1, random_state=0, dual=dual, tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        assert model.model_.history.params["dual"] is dual
        fits.append(model.coefs_ + model.intercepts_)
    assert _relative(fits[0], fits[1]) < 1e-10


@pytest.mark.parametrize("solver", ["adamw", "nadam", "rmsprop", "adagrad"])
def test_fastnns_solvers_beyond_scikit_learns(solver):
    """solver="adamw" | "nadam" | "rmsprop" | "adagrad": each trains with its rule on
    scikit-learn's objective (a multilabel target of 2 outputs: c = 2, so epsilon is over 2 for
    the Adam family and over 4 under RMSprop's and Adagrad's root), learns, and goes on with
    partial_fit."""
    X, y = blobs(80)
    Y = np.column_stack([y == 0, y == 1]).astype(int)  # (multilabel: scale 2)
    model = MLPClassifier(hidden_layer_sizes=(8,), solver=solver, max_iter=40,
                          learning_rate_init=0.01, random_state=0, n_iter_no_change=np.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, Y)
    optimizer = model.model_.optimizer
    assert optimizer.name == solver and model.n_iter_ == 40
    eps = 1e-8 / (2.0 if solver in ("adamw", "nadam") else 4.0)
    assert optimizer.eps == pytest.approx(eps)
    assert model.loss_curve_[-1] < 0.6 * model.loss_curve_[0] and model.score(X, Y) > 0.6
    model.partial_fit(X, Y)
    assert model.n_iter_ == 1
