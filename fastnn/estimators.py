"""scikit-learn estimators over fastnn's engine: ``MLPClassifier`` and ``MLPRegressor``.

They take scikit-learn's MLP parameter names where the meaning is the same, and fastnn's own
(``backend``, ``dtype``, ``dual``), so they drop into ``Pipeline``, ``GridSearchCV`` and
``cross_val_score``, pickle and clone. Needs the optional extra: ``pip install 'fastnn[sklearn]'``
(``import fastnn`` never does).

Where they differ from ``sklearn.neural_network``: no ``alpha`` (no L2 penalty) and no
``lbfgs``; ``momentum`` is classical (heavy-ball) momentum, not Nesterov's; weights start from
Glorot uniform (``init="glorot_uniform"``, scikit-learn's for every hidden activation but the
logistic); ``loss_`` is fastnn's loss (``"mse"``, the mean squared
error over every output, for the regressor, where scikit-learn reports half of it).
"""

import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state, column_or_1d
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as error:  # pragma: no cover - the extra is missing
    raise ImportError("fastnn.estimators needs scikit-learn: pip install 'fastnn[sklearn]' "
                      "(or scikit-learn itself)") from error

from . import checks
from .layers import Dense
from .model import Sequential
from .optimizers import SGD, Adam
from .training import EarlyStopping

ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu")
SOLVERS = ("sgd", "adam")
DTYPES = ("float64", "float32")


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, the network, the fit."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 batch_size="auto", learning_rate_init=0.001, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, backend="auto", dtype="float64",
                 dual="auto"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.backend = backend
        self.dtype = dtype
        self.dual = dual

    # ---------------------------------------------------------------- parameters
    def _checked_params(self) -> dict:
        """Every parameter checked, before any work: a ValueError or TypeError naming it."""
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, (int, np.integer)) else tuple(sizes)
        for size in sizes:
            checks.positive_int("hidden_layer_sizes", size)
        activation = checks.choice("activation", self.activation, dict.fromkeys(ACTIVATIONS))
        solver = checks.choice("solver", self.solver, dict.fromkeys(SOLVERS))
        if self.batch_size != "auto":
            checks.positive_int("batch_size", self.batch_size)
        checks.positive_int("max_iter", self.max_iter)
        checks.positive_int("n_iter_no_change", self.n_iter_no_change)
        checks.positive_float("tol", self.tol, allow_zero=True)
        fraction = checks.positive_float("validation_fraction", self.validation_fraction,
                                         below_one=True)
        for name in ("shuffle", "warm_start", "early_stopping"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name}: expected True or False, got {getattr(self, name)!r}")
        if self.dual not in (True, False, "auto"):
            raise ValueError(f"dual: expected True, False or 'auto', got {self.dual!r}")
        if solver == "sgd":
            optimizer = SGD(lr=self.learning_rate_init, momentum=self.momentum)
        else:
            optimizer = Adam(lr=self.learning_rate_init, beta1=self.beta_1, beta2=self.beta_2,
                             eps=self.epsilon)
        return {"sizes": sizes, "activation": activation, "optimizer": optimizer,
                "fraction": fraction, "dtype": checks.dtype_name(self.dtype)}

    # ---------------------------------------------------------------- fitting
    def fit(self, X, y):
        """Train for up to ``max_iter`` epochs (fewer when the loss, or with
        ``early_stopping`` the validation score, stops improving by ``tol`` for
        ``n_iter_no_change`` epochs). Returns self."""
        return self._fit(X, y, incremental=False)

    def _validate(self, X, y, reset: bool):
        X, y = validate_data(self, X, y, reset=reset, multi_output=True,
                             dtype=(np.float64, np.float32), y_numeric=self._regressor)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _fit(self, X, y, incremental: bool, classes=None):
        params = self._checked_params()
        fresh = not hasattr(self, "model_") or not (incremental or self.warm_start)
        X, y = self._validate(X, y, reset=fresh)
        Y = self._encode(y, fresh, classes)
        rng = check_random_state(self.random_state)
        if fresh:
            self.model_ = self._network(params, X.shape[1], Y.shape[1],
                                        int(rng.randint(np.iinfo(np.int32).max)))
            self.model_.optimizer = params["optimizer"]
            self.n_iter_, self.loss_curve_, self.t_ = 0, [], 0
            self.best_loss_ = None if self.early_stopping else np.inf
            self.validation_scores_ = [] if self.early_stopping else None
            self.best_validation_score_ = -np.inf if self.early_stopping else None
        elif Y.shape[1] != self.model_.output_dim:
            raise ValueError(f"y: has {Y.shape[1]} outputs, the network has "
                             f"{self.model_.output_dim}")
        before = len(self.model_.history.epoch)
        batch = min(200, X.shape[0]) if self.batch_size == "auto" else self.batch_size
        options = {"loss": self._loss(), "batch_size": min(batch, X.shape[0]),
                   "shuffle": bool(self.shuffle), "backend": self.backend, "dual": self.dual,
                   "verbose": int(bool(self.verbose)),
                   "seed": None if incremental else int(rng.randint(np.iinfo(np.int32).max))}
        if incremental:
            history = self.model_.fit(X, Y, epochs=1, **options)
        elif self.early_stopping:
            history = self._fit_validated(X, Y, y, params, rng, options, before)
        else:
            stopper = EarlyStopping(patience=self.n_iter_no_change, monitor="loss",
                                    min_delta=self.tol, restore_best_weights=False)
            history = self.model_.fit(X, Y, epochs=self.max_iter, early_stopping=stopper,
                                      **options)
        self._record(history.history["loss"][before:], X.shape[0], incremental)
        return self

    def _fit_validated(self, X, Y, y, params, rng, options, before: int):
        """``early_stopping``: a held-out ``validation_fraction``, stratified for classifiers;
        the best epoch's weights are kept."""
        stratify = y if not self._regressor and np.ndim(y) == 1 else None
        X, X_val, Y, Y_val = train_test_split(X, Y, test_size=params["fraction"],
                                              random_state=rng.randint(np.iinfo(np.int32).max),
                                              stratify=stratify)
        monitor = "val_loss" if self._regressor else "val_accuracy"
        stopper = EarlyStopping(patience=self.n_iter_no_change, monitor=monitor,
                                min_delta=self.tol, restore_best_weights=True)
        history = self.model_.fit(X, Y, epochs=self.max_iter, validation_data=(X_val, Y_val),
                                  early_stopping=stopper, **options)
        if self._regressor:  # R^2 over every output (variance-weighted) from the mean error
            total = float(np.sum((Y_val - Y_val.mean(axis=0)) ** 2)) / Y_val.size
            scores = [1 - loss / total if total else 0.0
                      for loss in history.history["val_loss"][before:]]
        else:
            scores = history.history["val_accuracy"][before:]
        self.validation_scores_ += [float(s) for s in scores]
        self.best_validation_score_ = max(self.validation_scores_)
        return history

    def _record(self, losses: list, n_samples: int, incremental: bool) -> None:
        """The fitted attributes after a fit whose epochs had these losses."""
        self.loss_curve_ += [float(value) for value in losses]
        self.n_iter_ = len(self.loss_curve_)
        self.t_ += len(losses) * n_samples
        self.loss_ = self.loss_curve_[-1]
        if not self.early_stopping:
            self.best_loss_ = min(self.loss_curve_)
        weights = self.model_.get_weights()
        self.coefs_, self.intercepts_ = weights[0::2], weights[1::2]
        self.n_layers_ = len(self.coefs_) + 1  # (the input layer counts, as in scikit-learn)
        self.n_outputs_ = self.coefs_[-1].shape[1]
        stopped = len(losses) < self.max_iter
        if not incremental and not stopped:
            warnings.warn(f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached "
                          f"and the optimization hasn't converged yet.", ConvergenceWarning,
                          stacklevel=3)

    def _network(self, params, n_features: int, n_outputs: int, seed: int) -> Sequential:
        layers = [Dense(units, activation=params["activation"]) for units in params["sizes"]]
        layers.append(Dense(n_outputs, activation=self._output_activation(n_outputs)))
        return Sequential(layers, input_dim=n_features, init="glorot_uniform", seed=seed,
                          dtype=params["dtype"])

    @property
    def out_activation_(self) -> str:
        check_is_fitted(self)
        return {"sigmoid": "logistic", "linear": "identity"}.get(
            self.model_.layers[-1].activation, self.model_.layers[-1].activation)

    def _outputs(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self.model_.predict(X, backend=self.backend)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multi-layer perceptron classifier trained by fastnn: a sigmoid output with binary
    cross-entropy for two classes and for multilabel targets, a softmax output with categorical
    cross-entropy for more classes. Parameters as ``sklearn.neural_network.MLPClassifier``
    (see the module's docstring for the differences), plus ``backend``, ``dtype`` and ``dual``.
    """

    _regressor = False

    def _encode(self, y, fresh: bool, classes=None) -> np.ndarray:
        """The targets as the network's outputs: 0/1 columns (one for two classes)."""
        check_classification_targets(y)
        if fresh:
            kind = type_of_target(y)
            self._binarizer = LabelBinarizer()
            self._binarizer.fit(y if classes is None else classes)
            self.classes_ = self._binarizer.classes_
            self._multilabel = kind == "multilabel-indicator"
            if len(self.classes_) < 2:
                raise ValueError(f"y: has only one class ({self.classes_[0]!r}); a classifier "
                                 f"needs at least two")
        elif not self._multilabel and not np.isin(y, self.classes_).all():
            unseen = np.setdiff1d(y, self.classes_)
            raise ValueError(f"y: has labels {unseen.tolist()} that are not in classes_ "
                             f"{self.classes_.tolist()}")
        return self._binarizer.transform(y).astype(np.float64)

    def _loss(self) -> str:
        return "cce" if len(self.classes_) > 2 and not self._multilabel else "bce"

    def _output_activation(self, n_outputs: int) -> str:
        return "softmax" if self._loss() == "cce" else "sigmoid"

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), from where the last fit left off. The first call needs
        ``classes``, every label y may hold."""
        if not hasattr(self, "model_"):
            if classes is None:
                raise ValueError("classes: must be passed on the first call to partial_fit")
            return self._fit(X, y, incremental=True, classes=classes)
        if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes: {list(classes)} differs from the first call's "
                             f"{self.classes_.tolist()}")
        return self._fit(X, y, incremental=True)

    def predict_proba(self, X) -> np.ndarray:
        """(n_samples, n_classes) probabilities (multilabel: each label's, independently)."""
        A = self._outputs(X).astype(np.float64)
        if len(self.classes_) == 2 and not self._multilabel:
            return np.hstack([1 - A, A])
        return A

    def predict_log_proba(self, X) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        A = self._outputs(X)
        if self._multilabel:
            return (A > 0.5).astype(int)
        return self._binarizer.inverse_transform(A.astype(np.float64))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multi-layer perceptron regressor trained by fastnn: a linear output, mean squared
    error, one or more outputs. Parameters as ``sklearn.neural_network.MLPRegressor`` (see the
    module's docstring for the differences), plus ``backend``, ``dtype`` and ``dual``."""

    _regressor = True

    def _encode(self, y, fresh: bool, classes=None) -> np.ndarray:
        if fresh:
            self._one_output = y.ndim == 1
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    def _loss(self) -> str:
        return "mse"

    def _output_activation(self, n_outputs: int) -> str:
        return "linear"

    def partial_fit(self, X, y):
        """One epoch over (X, y), from where the last fit left off."""
        return self._fit(X, y, incremental=True)

    def predict(self, X) -> np.ndarray:
        A = self._outputs(X)
        return A[:, 0] if self._one_output else A
