"""fastnn's scikit-learn estimators: scikit-learn's own estimator checks, and what users do."""

import pickle
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
    with pytest.warns(ConvergenceWarning, match="maximum iterations \\(30\\) reached"):
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


def test_partial_fit_and_warm_start_go_on_from_where_they_were():
    X, y = blobs()
    model = MLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes: must be passed on the first call"):
        model.partial_fit(X, y)
    for _ in range(3):
        model.partial_fit(X, y, classes=[0, 1, 2])
    assert model.n_iter_ == 3
    with pytest.raises(ValueError, match=r"y: has labels \[7\] that are not in classes_"):
        model.partial_fit(X[:3], [0, 1, 7])
    warm = MLPClassifier(max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(X, y)
        first = [c.copy() for c in warm.coefs_]
        warm.fit(X, y)
    assert warm.n_iter_ == 10 and not np.array_equal(first[0], warm.coefs_[0])


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
    ({"solver": "lbfgs"}, ValueError, "solver: unknown name 'lbfgs'; choose one of 'sgd', 'adam'"),
    ({"activation": "swish"}, ValueError, "activation: unknown name 'swish'"),
    ({"hidden_layer_sizes": (10, 0)}, ValueError, "hidden_layer_sizes: must be > 0"),
    ({"batch_size": 0}, ValueError, "batch_size: must be > 0"),
    ({"learning_rate_init": -1.0}, ValueError, "lr: must be a finite number > 0"),
    ({"validation_fraction": 1.5}, ValueError, "validation_fraction: must be < 1"),
    ({"dual": "maybe"}, ValueError, "dual: expected True, False or 'auto'"),
    ({"dtype": "float16"}, ValueError, "dtype: 'float16' is not supported"),
    ({"solver": "adam", "dual": True}, ValueError, "dual: the dual form needs SGD"),
])
def test_bad_parameters_are_named_at_fit(params, error, message):
    X, y = blobs(30)
    model = MLPClassifier(max_iter=5, **params)
    with pytest.raises(error, match=message.replace("(", "\\(").replace(")", "\\)")):
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
