"""scikit-learn estimators over fastnn's engine: ``MLPClassifier`` and ``MLPRegressor``.

Every parameter of scikit-learn's MLPs, with its default and meaning (``alpha``, ``solver``
"lbfgs"/"sgd"/"adam", ``learning_rate`` schedules, ``nesterovs_momentum``, ``max_fun``,
``n_iter_no_change`` (``np.inf`` too), the regressor's ``loss``, ...), plus fastnn's own:
``backend``, ``dtype`` (None: X's float dtype), ``dual``, ``dropout`` (one rate, or one per
hidden layer: a ``Dropout`` after each hidden layer), the classifier's ``class_weight``, and
the solvers scikit-learn's MLP has not: ``"adamw"``, ``"nadam"`` (with ``beta_1``, ``beta_2``,
``epsilon``; AdamW's weight decay Keras' 0.004), ``"rmsprop"`` (rho 0.9, no momentum) and
``"adagrad"`` (its accumulator starting at 0.1), Keras' definitions, at
``learning_rate_init``.
They take dense or sparse X (CSR, CSC), ``sample_weight``, drop into ``Pipeline``,
``GridSearchCV`` and ``cross_val_score``, pickle and clone. Needs the optional extra:
``pip install 'fastnn[sklearn]'`` (``import fastnn`` never does).

The objective is scikit-learn's: its loss (half the squared error; the log loss summed over a
multilabel target's outputs; half the Poisson deviance) plus ``alpha / (2 s) * sum W^2``.
fastnn's losses average over the outputs and take the whole squared error, so scikit-learn's
objective is ``c`` times fastnn's with ``alpha / c`` (c = k / 2 for the squared error of k
outputs, k for a multilabel target's k outputs and for poisson, else 1): the estimators train
on that and take the same steps (sgd's rate times c, adam's epsilon over c, lbfgs' tolerance
over c), and report ``c`` times fastnn's loss. The starting weights are scikit-learn's
(uniform in +-sqrt(6 / (fan_in + fan_out)), 2 for logistic units, biases too, drawn in its
order from ``random_state``), so are the early-stopping split, the shuffling (the same stream
of the same random state) and the stopping rule: with sgd or adam, a fit follows scikit-learn's
trajectory up to rounding. Where the two differ the README says.
"""

import warnings
from numbers import Integral, Real

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state, column_or_1d
    from sklearn.utils._param_validation import Interval, Options, StrOptions
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import type_of_target, unique_labels
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as error:  # pragma: no cover - the extra is missing
    raise ImportError("fastnn.estimators needs scikit-learn: pip install 'fastnn[sklearn]' "
                      "(or scikit-learn itself)") from error

from . import checks
from .layers import Dense, Dropout
from .model import Sequential
from .optimizers import LBFGS, SGD, Adagrad, Adam, AdamW, Nadam, RMSprop
from .training import Stopping, TrainingDivergedError

ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu")
SOLVERS = ("lbfgs", "sgd", "adam", "adamw", "nadam", "rmsprop", "adagrad")  # (the last four:
# fastnn's, beyond scikit-learn's)
STOCHASTIC = ("sgd", "adam", "adamw", "nadam", "rmsprop", "adagrad")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
ADAPTIVE_MIN_RATE = 1e-6  # scikit-learn's: an adaptive rate at or below it stops training
NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large "
              "values and need to be preprocessed.")


class _NoImprovement(Stopping):
    """scikit-learn's stopping rule, as fastnn's early stopping sees an epoch: the training loss
    (or, with ``early_stopping``, the validation score) that does not beat the best by ``tol``
    counts one more epoch without improvement, any other resets the count; the best is kept
    whenever it is beaten at all. More than ``n_iter_no_change`` such epochs stop the fit (an
    adaptive rate is cut instead, and the count restarts). Also records, per epoch, what
    scikit-learn does: ``n_iter_``, ``t_``, ``loss_curve_``, ``validation_scores_``, the
    verbose lines; and ``validation_loss_curve_``."""

    def __init__(self, estimator, scale, n_samples, validation=None, patience=np.inf,
                 count=0, score=None, optimizer=None):
        self.estimator, self.scale, self.n_samples = estimator, scale, n_samples
        self.validation = validation  # (X_val, Y_val, y_val, sample_weight_val) or None
        self.count = count  # epochs without improvement (scikit-learn's _no_improvement_count)
        self.score, self.optimizer = score, optimizer  # (score, loss) on validation; the rule
        self.counting = optimizer is not None  # (lbfgs: only the record, no stopping rule)
        self.patience, self.min_delta = patience, estimator.tol
        self.restore_best_weights = validation is not None
        self.best_weights = None
        self.stopped_epoch = self.best_epoch = None

    @property
    def monitored(self) -> str:
        return "validation score" if self.validation is not None else "training loss"

    def update(self, epoch: int, metrics: dict, flat) -> bool:
        est = self.estimator
        loss = self.scale * metrics["loss"]
        est.n_iter_ += 1
        est.t_ += self.n_samples
        est.loss_curve_.append(loss)
        est.loss_ = loss
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}", flush=True)
        if not self.counting:
            return False
        if self.validation is not None:
            score, validation_loss = self.score(*self.validation)
            est.validation_scores_.append(score)
            est.validation_loss_curve_.append(validation_loss)
            if est.verbose:
                print(f"Validation score: {score:f}", flush=True)
            better = score >= est.best_validation_score_ + est.tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self.best_weights, self.best_epoch = est.model_.get_weights(), epoch
        else:
            better = not loss > est.best_loss_ - est.tol
            if loss < est.best_loss_:
                est.best_loss_ = loss
        self.count = 0 if better else self.count + 1
        if self.count <= self.patience:
            return False
        self.stopped_epoch = epoch
        if est.verbose and not self._cut_ahead():
            print(f"{self._message()} Stopping.", flush=True)
        return True

    def _cut_ahead(self) -> bool:
        optimizer = self.optimizer
        return optimizer.schedule == "adaptive" and optimizer.learning_rate > optimizer.min_lr

    def _message(self) -> str:
        what = "Validation score" if self.validation is not None else "Training loss"
        return (f"{what} did not improve more than tol={self.estimator.tol:f} for "
                f"{self.patience} consecutive epochs.")

    def restart(self) -> None:
        est = self.estimator
        self.count = 0
        self.stopped_epoch = None
        if est.verbose:
            rate = self.optimizer.learning_rate / self.scale
            print(f"{self._message()} Setting learning rate to {rate:f}", flush=True)


def _stochastic(estimator) -> bool:
    """Whether the estimator has ``partial_fit``: only for the solvers sgd and adam."""
    if estimator.solver not in STOCHASTIC:
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{estimator.solver} is not stochastic.")
    return True


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, the network, the fits."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 backend="auto", dtype=None, dual="auto", dropout=0.0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.backend = backend
        self.dtype = dtype
        self.dual = dual
        self.dropout = dropout

    # Every parameter's constraint, scikit-learn's (``BaseEstimator._validate_params``: a
    # bad one is an error naming it, before any work) and fastnn's own.
    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(set(LEARNING_RATES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "backend": [StrOptions({"auto", "loop", "numpy", "numba"})],
        "dtype": [None, StrOptions({"float64", "float32"})],
        "dual": ["boolean", StrOptions({"auto"})],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
    }

    def _check_params(self) -> tuple:
        """Every parameter checked, before any work (scikit-learn's ``InvalidParameterError``,
        a ValueError naming it); returns the hidden layer sizes."""
        self._validate_params()
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, (int, np.integer)) else tuple(sizes)
        for size in sizes:
            checks.positive_int("hidden_layer_sizes", size)
        rates = self._rates(len(sizes))
        if self.solver == "lbfgs" and any(rates):
            raise ValueError("dropout: the lbfgs solver minimizes one objective, and dropout "
                             "draws new masks every step; use another solver")
        return sizes

    def _rates(self, hidden: int) -> list:
        """``dropout`` as one rate per hidden layer (checked)."""
        rates = self.dropout
        rates = [rates] * hidden if isinstance(rates, Real) else list(np.ravel(rates))
        if len(rates) != hidden:
            raise ValueError(f"dropout: expected one rate, or one per hidden layer ({hidden}), "
                             f"got {len(rates)}")
        return [checks.positive_float(f"dropout[{i}]", float(rate), allow_zero=True,
                                      below_one=True) for i, rate in enumerate(rates)]

    # ---------------------------------------------------------------- fitting
    def fit(self, X, y, sample_weight=None):
        """Fit the model to X (n_samples, n_features), dense or sparse, and y; returns self.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
            Each sample's weight in the loss (scikit-learn's meaning).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            A bad parameter or input (named), or weights that became non-finite.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental: bool):
        sizes = self._check_params()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        self._core_class_weight()  # (an unknown label is an error before any work)
        if sample_weight is not None:
            sample_weight = checks.sample_weight(sample_weight, X.shape[0])
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, [X.shape[1], *sizes, Y.shape[1]],
                             self.dtype or X.dtype.name, rng)
        self._network()
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight)
        else:  # (a partial_fit goes on with the shuffling of the one before)
            shuffling = None if incremental and not first_pass else rng
            self._fit_stochastic(X, Y, sample_weight, rng, incremental, shuffling)
        return self

    def _initialize(self, Y, units, dtype, rng) -> None:
        """The fitted attributes of a first fit, and scikit-learn's starting weights."""
        self.n_iter_, self.t_ = 0, 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(units)
        self.out_activation_ = self._output_activation()
        factor = 2.0 if self.activation == "logistic" else 6.0
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in zip(units[:-1], units[1:]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            self.coefs_.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
            self.intercepts_.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
        self.loss_curve_ = []
        if self.solver != "lbfgs":
            self._no_improvement_count = 0
            self.best_loss_ = None if self.early_stopping else np.inf
            self.validation_scores_ = [] if self.early_stopping else None
            self.validation_loss_curve_ = [] if self.early_stopping else None
            self.best_validation_score_ = -np.inf if self.early_stopping else None
        for stale in ("model_", "_optimizer"):
            self.__dict__.pop(stale, None)

    def _network(self) -> Sequential:
        """``model_``, the fastnn network, with the weights of ``coefs_`` and ``intercepts_``
        (built from them where it is missing or has other layers)."""
        shapes = [coef.shape for coef in self.coefs_]
        layers = []
        for shape, rate in zip(shapes[:-1], self._rates(len(shapes) - 1)):
            layers += [Dense(shape[1], activation=self.activation)] + \
                ([Dropout(rate)] if rate else [])
        layers.append(Dense(shapes[-1][1], activation=self.out_activation_))
        model = getattr(self, "model_", None)
        if model is None or repr(model.layers) != repr(layers) or \
                model.input_dim != shapes[0][0]:
            model = Sequential(layers, input_dim=shapes[0][0], init="zeros",
                               dtype=self.coefs_[0].dtype.name)
            self.model_ = model
        model.set_weights([array for pair in zip(self.coefs_, self.intercepts_)
                           for array in pair])
        return model

    def _read_weights(self) -> None:
        weights = self.model_.get_weights()
        self.coefs_, self.intercepts_ = weights[0::2], weights[1::2]

    def _scale(self) -> float:
        """c: scikit-learn's objective over fastnn's (see the module's docstring)."""
        raise NotImplementedError

    def _core_options(self, sample_weight) -> dict:
        """What ``Sequential.fit`` takes besides the data and the optimizer."""
        return {"loss": self._loss(), "backend": self.backend, "dual": self.dual,
                "sample_weight": sample_weight, "alpha": self.alpha / self._scale(),
                "class_weight": self._core_class_weight()}

    def _stochastic_optimizer(self, scale: float):
        """The solver's optimizer, stepping on fastnn's objective (scikit-learn's over
        ``scale``) as it would on scikit-learn's: sgd's rate times the scale, the Adam family's
        epsilon over it, RMSprop's and Adagrad's (under the root) over its square."""
        lr, eps = self.learning_rate_init, self.epsilon
        if self.solver == "sgd":
            optimizer = SGD(lr * scale, self.momentum, self.nesterovs_momentum,
                            schedule=self.learning_rate, power_t=self.power_t,
                            min_lr=ADAPTIVE_MIN_RATE * scale)
            optimizer.samples = self.t_  # (a warm start goes on with the schedule)
            return optimizer
        if self.solver in ("adam", "adamw", "nadam"):
            kind = {"adam": Adam, "adamw": AdamW, "nadam": Nadam}[self.solver]
            return kind(lr, self.beta_1, self.beta_2, eps / scale)
        if self.solver == "rmsprop":
            return RMSprop(lr, eps=eps / scale**2)
        return Adagrad(lr, initial_accumulator=0.1 / scale**2, eps=eps / scale**2)

    def _fit_stochastic(self, X, Y, sample_weight, rng, incremental: bool, shuffling) -> None:
        scale = self._scale()
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._stochastic_optimizer(scale)
        validation = None
        if self.early_stopping:
            X, Y, sample_weight, validation = self._split(X, Y, sample_weight, rng)
        n = X.shape[0]
        if self.batch_size == "auto":
            batch = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped", stacklevel=4)
            batch = min(self.batch_size, n)
        monitor = _NoImprovement(self, scale, n, validation, self.n_iter_no_change,
                                 self._no_improvement_count, self._validated, self._optimizer)
        self.n_iter_ = 0
        try:
            self.model_.fit(X, Y, optimizer=self._optimizer, epochs=1 if incremental else
                            self.max_iter, batch_size=batch, shuffle=bool(self.shuffle),
                            seed=shuffling,
                            early_stopping=monitor, **self._core_options(sample_weight))
        except TrainingDivergedError as error:
            if validation is None:
                self._read_weights()
                raise ValueError(f"{NON_FINITE} ({error})") from error
            self.validation_scores_.append(float("nan"))  # (its weights: the best epoch's)
            self.validation_loss_curve_.append(float("nan"))
            warnings.warn(f"training stopped: {error}; the weights are the best epoch's",
                          ConvergenceWarning, stacklevel=4)
        finally:
            self._no_improvement_count = monitor.count
        self._restore_best(monitor)
        if not incremental and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                          f"and the optimization hasn't converged yet.", ConvergenceWarning,
                          stacklevel=4)

    def _restore_best(self, monitor) -> None:
        if monitor.best_weights is not None:
            self.model_.set_weights(monitor.best_weights)
        self._read_weights()

    def _split(self, X, Y, sample_weight, rng) -> tuple:
        """scikit-learn's held-out validation set: ``validation_fraction`` of the samples,
        stratified for a classifier with one output."""
        stratify = Y.astype(bool) if not self._regressor and Y.shape[1] == 1 else None
        parts = [X, Y] if sample_weight is None else [X, Y, sample_weight]
        split = train_test_split(*parts, random_state=rng, test_size=self.validation_fraction,
                                 stratify=stratify)
        X, X_val, Y, Y_val = split[:4]
        sample_weight, weight_val = (split[4], split[5]) if sample_weight is not None else \
            (None, None)
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        return X, Y, sample_weight, (X_val, Y_val, self._targets(Y_val), weight_val)

    def _fit_lbfgs(self, X, Y, sample_weight) -> None:
        scale = self._scale()
        monitor = _NoImprovement(self, scale, 0)
        self.n_iter_ = 0
        self.model_.fit(X, Y, optimizer=LBFGS(self.tol / scale, self.max_fun),
                        epochs=self.max_iter, early_stopping=monitor,
                        **self._core_options(sample_weight))
        params = self.model_.history.params
        self.n_iter_ = min(params["lbfgs_iterations"], self.max_iter)
        self._read_weights()
        if not all(np.isfinite(w).all() for w in self.coefs_ + self.intercepts_):
            raise ValueError(NON_FINITE)
        if not self.n_iter_:  # (already optimal: no iteration recorded a loss)
            value = self.model_.loss_and_gradients(X, Y, self._loss(), self.backend,
                                                   sample_weight, self.alpha / scale)[0]
            self.loss_ = scale * value
        if params["lbfgs_status"] != 0:
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                          f"(status={params['lbfgs_status']}): {params['lbfgs_message']}. "
                          f"Increase the number of iterations to improve the convergence "
                          f"(max_iter={self.max_iter}), or scale the data.",
                          ConvergenceWarning, stacklevel=4)

    def _loss_grad_lbfgs(self, packed, X, Y, sample_weight=None, *unused):
        """scikit-learn's objective and its gradient at ``packed`` (the coefficients, then the
        intercepts, each flattened: scikit-learn's packing), as its lbfgs solver sees them."""
        offsets = np.cumsum([0] + [c.size for c in self.coefs_] +
                            [b.size for b in self.intercepts_])
        parts = [packed[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
        layers = len(self.coefs_)
        self.coefs_ = [p.reshape(c.shape) for p, c in zip(parts[:layers], self.coefs_)]
        self.intercepts_ = parts[layers:]
        scale = self._scale()
        value, grads = self._network().loss_and_gradients(
            X, np.asarray(Y, np.float64).reshape(X.shape[0], -1), self._loss(), self.backend,
            sample_weight, self.alpha / scale)
        gradient = np.hstack([g.ravel() for g in grads[0::2] + grads[1::2]])
        return scale * value, scale * gradient

    # ---------------------------------------------------------------- predicting
    def _outputs(self, X) -> np.ndarray:
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, reset=False, accept_sparse=["csr", "csc"],
                          dtype=(np.float64, np.float32))
        return self._network().predict(X, backend=self.backend)

    def _validated(self, X, Y, y, sample_weight=None) -> tuple:
        """(scikit-learn's score, its loss without the L2 penalty) of the current weights on
        held-out (X, Y) (``y``: Y as labels); NaN where the outputs are not finite."""
        score = self._score_on(X, y, sample_weight)
        if np.isnan(score):
            return score, score
        value = self.model_.loss_and_gradients(X, Y, self._loss(), self.backend,
                                               sample_weight)[0]
        return score, self._scale() * value

    def _score_on(self, X, y, sample_weight=None) -> float:
        """scikit-learn's score (accuracy, R^2) of the current weights; NaN where the outputs
        are not finite."""
        outputs = self.model_.predict(X, backend=self.backend)
        if not np.isfinite(outputs).all():
            return float("nan")
        return float(self._metric(y, self._decode(outputs), sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multi-layer perceptron classifier trained by fastnn: scikit-learn's
    ``MLPClassifier``, its parameters, attributes and behaviours (see the module's docstring),
    plus ``backend``, ``dtype``, ``dual`` and ``class_weight`` (``"balanced"`` or a dict
    ``{label: weight}``: each sample's loss weighs its class's weight). A logistic output with
    the log loss for two classes and for multilabel targets, softmax for more classes.
    """

    _regressor = False
    _metric = staticmethod(accuracy_score)
    _parameter_constraints: dict = {**_BaseMLP._parameter_constraints,
                                    "class_weight": [None, StrOptions({"balanced"}), dict]}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 backend="auto", dtype=None, dual="auto", dropout=0.0, class_weight=None):
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha,
                         batch_size=batch_size, learning_rate=learning_rate,
                         learning_rate_init=learning_rate_init, power_t=power_t,
                         max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
                         verbose=verbose, warm_start=warm_start, momentum=momentum,
                         nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
                         backend=backend, dtype=dtype, dual=dual,
                         dropout=dropout)
        self.class_weight = class_weight

    def _validate_input(self, X, y, incremental: bool, reset: bool):
        """X checked, and y as the network's targets (0/1 columns; one for two classes)."""
        X, y = validate_data(self, X, y, reset=reset, accept_sparse=["csr", "csc"],
                             multi_output=True, dtype=(np.float64, np.float32))
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(f"warm_start can only be used where `y` has the same "
                                     f"classes as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        Y = self._label_binarizer.transform(y)
        return X, Y.reshape(len(Y), -1).astype(np.float64)

    def _multiclass(self) -> bool:
        return self._label_binarizer.y_type_ == "multiclass"

    def _loss(self) -> str:
        return "cce" if self._multiclass() else "bce"

    def _output_activation(self) -> str:
        return "softmax" if self._multiclass() else "logistic"

    def _scale(self) -> float:
        return 1.0 if self._multiclass() else float(self.n_outputs_)

    def _core_class_weight(self):
        """``class_weight`` with the network's class numbers for the labels."""
        if self.class_weight is None or isinstance(self.class_weight, str):
            return self.class_weight
        if not isinstance(self.class_weight, dict):
            raise TypeError(f"class_weight: expected 'balanced' or a dict {{label: weight}}, "
                            f"got {type(self.class_weight).__name__}")
        index = {label: number for number, label in enumerate(self.classes_)}
        unknown = [label for label in self.class_weight if label not in index]
        if unknown:
            raise ValueError(f"class_weight: labels {unknown} are not among the classes "
                             f"{self.classes_.tolist()}")
        return {index[label]: weight for label, weight in self.class_weight.items()}

    def _targets(self, Y):
        """Held-out network targets back as labels (for the validation score)."""
        return self._label_binarizer.inverse_transform(Y)

    def _decode(self, outputs):
        if self.n_outputs_ == 1:
            outputs = outputs.ravel()
        return self._label_binarizer.inverse_transform(outputs)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y), from where the last fit left off (sgd and adam only).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), optional
        classes : array-like, optional
            Every label y may hold: needed on the first call.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            No classes on the first call, other classes than before, labels not among them,
            ``early_stopping=True``.
        """
        if getattr(self, "classes_", None) is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            if getattr(self, "classes_", None) is not None:
                if not np.array_equal(self.classes_, unique_labels(classes)):
                    raise ValueError(f"`classes={classes!r}` is not the same as on last call "
                                     f"to partial_fit, was: {self.classes_!r}")
            else:
                self.classes_ = unique_labels(classes)
                self._label_binarizer = LabelBinarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """The predicted classes.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), or (n_samples, n_labels) of 0/1 for multilabel
        """
        return self._decode(self._outputs(X))

    def predict_proba(self, X) -> np.ndarray:
        """The classes' probabilities.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            In the order of ``classes_`` (multilabel: each label's, independently).
        """
        outputs = self._outputs(X)
        if self.n_outputs_ == 1:
            outputs = outputs.ravel()
            return np.vstack([1 - outputs, outputs]).T
        return outputs

    def predict_log_proba(self, X) -> np.ndarray:
        """The logarithm of ``predict_proba`` (same shape).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multi-layer perceptron regressor trained by fastnn: scikit-learn's ``MLPRegressor``,
    its parameters (``loss``: "squared_error", or "poisson" with an exponential output),
    attributes and behaviours (see the module's docstring), plus ``backend``, ``dtype`` and
    ``dual``."""

    _regressor = True
    _metric = staticmethod(r2_score)
    _parameter_constraints: dict = {**_BaseMLP._parameter_constraints,
                                    "loss": [StrOptions({"squared_error", "poisson"})]}

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 backend="auto", dtype=None, dual="auto", dropout=0.0):
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha,
                         batch_size=batch_size, learning_rate=learning_rate,
                         learning_rate_init=learning_rate_init, power_t=power_t,
                         max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
                         verbose=verbose, warm_start=warm_start, momentum=momentum,
                         nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
                         backend=backend, dtype=dtype, dual=dual,
                         dropout=dropout)
        self.loss = loss

    def _validate_input(self, X, y, incremental: bool, reset: bool):
        X, y = validate_data(self, X, y, reset=reset, accept_sparse=["csr", "csc"],
                             multi_output=True, y_numeric=True, dtype=(np.float64, np.float32))
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, np.asarray(y, np.float64).reshape(len(y), -1)

    def _loss(self) -> str:
        return "poisson" if self.loss == "poisson" else "mse"

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _scale(self) -> float:
        return float(self.n_outputs_) / (1.0 if self.loss == "poisson" else 2.0)

    def _core_class_weight(self):
        return None

    def _targets(self, Y):
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _decode(self, outputs):
        return outputs.ravel() if outputs.shape[1] == 1 else outputs

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), from where the last fit left off (sgd and adam only).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """The predicted values.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs), of the model's dtype
        """
        return self._decode(self._outputs(X))
