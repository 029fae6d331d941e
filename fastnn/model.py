"""Sequential: a stack of Dense layers (and Dropout between them) with its weights in one flat
vector.

The model knows *what* to compute; a backend (``fastnn.backends``) knows *how*.
"""

from pathlib import Path

import numpy as np

from . import (
    backends,
    checks,
    distributed,
    fitting,
    initializers,
    io,
    losses,
    objectives,
    onnx_export,
    optimizers,
    plans,
    shuffling,
    streams,
    training,
)
from .activations import ACTIVATIONS
from .callbacks import Callback, CallbackList
from .layers import Dense, Dropout
from .network import Net, issparse, layer_views
from .version import __version__


class Sequential:
    """A feedforward network of Dense layers, with Dropout between them where wanted.

    Parameters
    ----------
    layers : list of Dense and Dropout
    input_dim : int, optional
        Features per sample. Without it the model is built by the first ``fit``/``predict``.
    init : str
        ``"zeros"``, ``"ones"``, ``"normal"``, ``"small"``, ``"lecun"``, ``"xavier"``, ``"he"``,
        ``"glorot_uniform"``.
    seed : int, optional
        Seeds the initial weights (the same on every backend) and, unless ``fit`` gets its own
        seed, the shuffling. The shuffling stream goes on from one ``fit`` to the next (and is
        saved with the model), so fits of 3 and 3 epochs shuffle as one fit of 6.
    dtype : str
        ``"float64"`` or ``"float32"``: weights, and every array that comes back.
    """

    def __init__(self, layers=None, input_dim: int | None = None, init: str = "xavier",
                 seed: int | None = None, dtype: str = "float64"):
        self.layers: list = []
        for layer in layers or []:
            self.add(layer)
        self.init = checks.choice("init", init, initializers.INITIALIZERS, initializers.ALIASES)
        if seed is not None:
            checks.seed("seed", seed)
        self.seed = seed
        self.dtype = checks.dtype_name(dtype)
        self._shuffle: shuffling.Shuffle | None = None  # goes on from fit to fit
        self._live = None  # the fit under way (its weights may be elsewhere: the dual form)
        self.loss: str | None = None
        self.optimizer: optimizers.Optimizer | None = None
        self.history = training.History()
        self.stop_training = False  # a callback sets it to end a fit after its epoch
        self._flat: np.ndarray | None = None
        self._sizes: tuple = ()
        if input_dim is not None:
            self.build(input_dim)

    def __setstate__(self, state: dict) -> None:
        """Unpickled (joblib may hand out read-only memory maps): the weights are the model's
        own, writable."""
        self.__dict__.update(state)
        if self._flat is not None and not self._flat.flags.writeable:
            self._flat = self._flat.copy()

    # ------------------------------------------------------------------ structure
    def add(self, layer) -> None:
        """Append a layer (before the model is built).

        Raises
        ------
        TypeError
            Not a Dense or Dropout layer.
        ValueError
            The model is built already; a Dropout right after another.
        """
        if not isinstance(layer, (Dense, Dropout)):
            raise TypeError(f"layers: expected fastnn.Dense or fastnn.Dropout, got "
                            f"{type(layer).__name__}")
        if getattr(self, "_flat", None) is not None:
            raise ValueError("layers: the model is already built; add layers before fit/predict")
        if isinstance(layer, Dropout) and self.layers and isinstance(self.layers[-1], Dropout):
            raise ValueError(f"layers[{len(self.layers)}]: a Dropout right after another; "
                             f"use one Dropout with the rate you want")
        self.layers.append(layer)

    @property
    def _dense(self) -> list:
        """The Dense layers, in order (those that have weights)."""
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    def _rates(self) -> np.ndarray:
        """float64 (Dense layers,): the dropout rate of each Dense layer's inputs."""
        rates, rate = [], 0.0
        for layer in self.layers:
            if isinstance(layer, Dropout):
                rate = layer.rate
            else:
                rates.append(rate)
                rate = 0.0
        return np.array(rates, np.float64)

    def build(self, input_dim: int) -> None:
        """Draw the initial weights for ``input_dim`` features per sample (``init``, ``seed``).

        Raises
        ------
        ValueError
            ``input_dim`` not a positive int; a model without layers.
        """
        input_dim = checks.positive_int("input_dim", input_dim)
        if not self._dense:
            raise ValueError("layers: the model has no layers; pass a list of fastnn.Dense")
        if isinstance(self.layers[-1], Dropout):
            raise ValueError("layers: a Dropout after the last Dense layer would drop the "
                             "network's outputs; put it between Dense layers")
        self._sizes = (input_dim,) + tuple(layer.units for layer in self._dense)
        self._flat = initializers.initial_weights(self.init, self._sizes, self.seed, self.dtype)
        for layer, (_, b) in zip(self._dense, self._views()):
            if not layer.use_bias:
                b[...] = 0

    @property
    def built(self) -> bool:
        return self._flat is not None

    @property
    def input_dim(self) -> int | None:
        return self._sizes[0] if self.built else None

    @property
    def output_dim(self) -> int:
        return self._dense[-1].units

    def _views(self) -> list:
        return layer_views(self._flat, self._sizes)

    def _net(self, training: bool = False) -> Net:
        """The network as the kernels see it; in ``training``, with its dropout (the masks'
        key: the shuffling stream's)."""
        dense = self._dense
        net = Net(np.array(self._sizes, dtype=np.int64),
                  np.array([ACTIVATIONS[layer.activation] for layer in dense], np.int64),
                  np.array([layer.use_bias for layer in dense], dtype=np.int64), 0)
        rates = self._rates()
        if not training or not rates.any():
            return net
        return net._replace(drops=rates, masking=np.array([self._shuffle.key, 0, 0], np.int64))

    def _require_built(self, X=None) -> None:
        """Build from X (already checked) if not built yet; without X, not built is an error."""
        if not self.built:
            if X is None:
                raise ValueError("the model is not built yet: pass input_dim, or call fit first")
            self.build(X.shape[1])

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> list:
        """The weights, as copies (during a fit too: the weights of its last epoch).

        Returns
        -------
        list of ndarray
            ``[W1, b1, W2, b2, ...]``: W (n_in, n_out), b (n_out,), of the model's dtype.
        """
        self._require_built()
        self._sync()
        return [array.copy() for pair in self._views() for array in pair]

    def _sync(self) -> None:
        """During a fit in the dual form (read from a callback): form W1 in the model now."""
        if self._live is not None:
            self._live.finish()

    def set_weights(self, weights) -> None:
        """Replace every weight.

        Parameters
        ----------
        weights : list of array-like
            As ``get_weights()`` gives them; values are cast to the model's dtype.

        Raises
        ------
        ValueError
            A count, shape or value (NaN, infinite, beyond float32) that does not fit.
        """
        self._require_built()
        current = [array for pair in self._views() for array in pair]
        weights = list(weights)
        if len(weights) != len(current):
            raise ValueError(f"weights: expected {len(current)} arrays (W and b per layer), "
                             f"got {len(weights)}")
        checked = []
        for index, (new, old) in enumerate(zip(weights, current)):
            new = np.asarray(new)
            if new.shape != old.shape:
                raise ValueError(f"weights[{index}]: expected shape {old.shape}, got {new.shape}")
            checked.append(checks.features(new.reshape(1, -1), None, self.dtype,
                                           name=f"weights[{index}]").reshape(old.shape))
        for new, old in zip(checked, current):
            old[...] = new

    def count_params(self) -> int:
        """The number of weights and biases."""
        self._require_built()
        return int(self._flat.size)

    # ------------------------------------------------------------------ computing
    def _loss_code(self, loss) -> int:
        """The code of ``loss`` (None: the last loss used, else the output's natural one),
        checked against the output layer (bce and cce need probability outputs)."""
        if not self._dense:
            raise ValueError("layers: the model has no layers; pass a list of fastnn.Dense")
        output = self._dense[-1].activation
        if loss is None:
            loss = self.loss or {"sigmoid": "bce", "softmax": "cce",
                                 "exp": "poisson"}.get(output, "mse")
        name = checks.loss_name(loss)
        checks.loss_output(name, output)
        return losses.LOSSES[name]

    def _inputs(self, X, name: str = "X"):
        """X checked: an array or a sparse matrix in memory, or a ``Stream`` for an h5py
        dataset or a memmap (read window by window, never whole)."""
        if streams.is_stream(X):
            return streams.Stream(X, self.input_dim, self.dtype, name)
        return checks.features(X, self.input_dim, self.dtype, name)

    def _kernels(self, X, backend: str):
        """The backend the planner picks to compute on X (a prediction, an evaluation, a
        gradient)."""
        return backends.get(plans.choose(self._problem(X), backend, False).backend)

    def predict(self, X, backend: str = "auto") -> np.ndarray:
        """The network's outputs.

        Parameters
        ----------
        X : array-like, sparse matrix, h5py dataset or memmap, shape (n_samples, n_features)
            A dataset or a memmap is read window by window.
        backend : str
            ``"auto"``, ``"loop"``, ``"numpy"`` or ``"numba"``.

        Returns
        -------
        ndarray of shape (n_samples, n_out), of the model's dtype

        Raises
        ------
        ValueError
            X of the wrong shape, with NaN or infinite values; an unknown backend.
        """
        plans.backend_name(backend)
        X = self._inputs(X)
        self._require_built(X)
        self._sync()
        kernels = self._kernels(X, backend)
        if isinstance(X, streams.Stream):
            return streams.forward(kernels, self._flat, self._net(), X)
        return kernels.forward(self._flat, self._net(), X)[1]

    def _checked(self, X, y, loss, backend) -> tuple:
        """``(kernels, loss code, X, Y)`` for a labelled batch, every argument checked; builds
        the model if needed."""
        plans.backend_name(backend)
        code = self._loss_code(loss)
        X = self._inputs(X)
        Y = checks.targets(y, X.shape[0], self.output_dim, code, self.dtype)
        self._require_built(X)
        self._sync()
        return self._kernels(X, backend), code, X, Y

    def gradients(self, X, y, loss: str | None = None, backend: str = "auto",
                  sample_weight=None, alpha: float = 0.0) -> list:
        """Gradients of the objective over the batch (X, y).

        Parameters
        ----------
        X, y, loss, backend, sample_weight, alpha
            As ``loss_and_gradients``.

        Returns
        -------
        list of ndarray
            In the order and shapes of ``get_weights()``.

        Raises
        ------
        ValueError
            A bad argument, named.
        """
        return self.loss_and_gradients(X, y, loss, backend, sample_weight, alpha)[1]

    def loss_and_gradients(self, X, y, loss: str | None = None, backend: str = "auto",
                           sample_weight=None, alpha: float = 0.0) -> tuple:
        """The objective over the batch (X, y) and its gradients.

        Parameters
        ----------
        X : array-like, sparse matrix, h5py dataset or memmap, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_out)
        loss : str, optional
            The last loss used, else the output's natural one.
        backend : str
        sample_weight : array-like of shape (n_samples,), optional
            Each sample's weight (``fastnn.losses``).
        alpha : float
            The L2 penalty ``alpha / (2 s) * sum W^2``.

        Returns
        -------
        (float, list of ndarray)
            The objective's value, and its gradients in the order and shapes of
            ``get_weights()``.

        Raises
        ------
        ValueError
            A bad argument, named.
        """
        kernels, code, X, Y = self._checked(X, y, loss, backend)
        objective = self._objective(code, Y, sample_weight, None, alpha)
        grads = np.zeros_like(self._flat)
        if isinstance(X, streams.Stream):
            value = streams.gradients(kernels, self._flat, self._net(), objective, X, Y, grads)
        else:
            value = kernels.loss_and_gradients(self._flat, self._net(), objective, X, Y,
                                               grads)[0]
        return float(value), [array.copy() for pair in layer_views(grads, self._sizes)
                              for array in pair]

    @staticmethod
    def _objective(code: int, Y, sample_weight, class_weight, alpha):
        """The checked ``Objective`` of a fit or a gradient (``fastnn.objectives``)."""
        alpha = checks.positive_float("alpha", alpha, allow_zero=True)
        weights = objectives.sample_weights(sample_weight, class_weight, Y, code)
        return objectives.objective(code, alpha, weights)

    def evaluate(self, X, y, loss: str | None = None, backend: str = "auto") -> dict:
        """The loss (without weights or penalty) and, for bce and cce, the accuracy on (X, y).

        Parameters
        ----------
        X : array-like, sparse matrix, h5py dataset or memmap, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_out)
        loss : str, optional
        backend : str

        Returns
        -------
        dict
            ``{"loss": ..., "accuracy": ...}``.
        """
        kernels, code, X, Y = self._checked(X, y, loss, backend)
        return fitting.metrics(kernels, self._flat, self._net(), code, X, Y)

    def fit(self, X, y, loss: str | None = None, optimizer=None, epochs: int = 1,
            batch_size: int | None = None, shuffle: bool = True, seed=None,
            backend: str = "auto", validation_data=None, verbose: int = 0,
            log_every: int | None = None, early_stopping=None, dual="auto", comm=None,
            sample_weight=None, class_weight=None, alpha: float = 0.0,
            plan: plans.Plan | None = None, validation_split: float = 0.0,
            callbacks=None) -> training.History:
        """Train the network; every argument is checked before any work starts.

        Parameters
        ----------
        X : array-like, sparse matrix, h5py dataset or memmap, shape (n_samples, n_features)
            Sparse X (CSR, CSC) is never made dense; a dataset or a memmap is read window by
            window, never whole (``fastnn.streams``; mini-batches only).
        y : array-like, shape (n_samples,) or (n_samples, n_out)
            Integer classes or one-hot rows for ``"cce"``, 0/1 for ``"bce"``.
        loss : str, optional
            ``"mse"``, ``"sse"``, ``"bce"``, ``"cce"``, ``"poisson"``; None: the last loss used,
            else bce for a sigmoid output, cce for softmax, poisson for exp, mse otherwise.
        optimizer : SGD, Adam, LBFGS or their name, optional
            None: the last one used, else ``SGD(lr=0.01)``. With LBFGS, ``epochs`` are its
            iterations over the full batch.
        epochs : int
        batch_size : int, optional
            None: full batch; 1: per-sample SGD.
        shuffle : bool
            Each epoch visits the samples in the previous epoch's order, shuffled.
        seed : int or numpy.random.RandomState, optional
            Restarts the shuffling stream (else it goes on where the last fit left it).
        backend : str
            ``"auto"``, ``"loop"``, ``"numpy"`` or ``"numba"``.
        validation_data : (X_val, y_val), optional
        validation_split : float
            Keras': hold out this share of the samples, the last ones (before any shuffling),
            as validation data (X in memory; ``validation_data`` given wins).
        callbacks : list of fastnn.callbacks.Callback, optional
            Keras' protocol (``fastnn.callbacks``): called at the fit's start and end and
            around each epoch; ``model.stop_training = True`` ends the fit after an epoch; an
            ``EarlyStopping`` among them is the fit's early stopping.
        verbose : int
            1: a line every ``log_every`` epochs (default: about 20 lines per fit).
        log_every : int, optional
        early_stopping : EarlyStopping or int, optional
            An int is ``EarlyStopping(patience)``.
        dual : True, False or "auto"
            Train the first layer in the dual form (``fastnn.plans``).
        comm : mpi4py communicator, optional
            Data-parallel training (``fastnn.distributed``): every rank passes the same X, y
            and settings; ``batch_size`` is the global batch; every rank ends with the same
            weights; only rank 0 logs.
        sample_weight : array-like of shape (n_samples,), optional
        class_weight : dict or "balanced", optional
            Each sample's loss times its weight, times its class's (``fastnn.objectives``).
        alpha : float
            The L2 penalty ``alpha / (2 s) * sum W^2`` (scikit-learn's meaning).
        plan : fastnn.plans.Plan, optional
            Run this plan instead of the planner's choice (``model.plan`` tells what the
            planner would choose); it is checked against the fit first.

        Returns
        -------
        History
            ``model.history``, which goes on over later fits; its ``params`` say which plan
            ran. Its ``loss`` is the objective (with weights and penalty), ``val_loss`` the
            plain loss.

        Raises
        ------
        ValueError, TypeError
            A bad argument, named, before any work.
        TrainingDivergedError
            The loss or an update became NaN or infinite: the model keeps its last finite
            weights.
        KeyboardInterrupt
            Ctrl-C, within a second: the model keeps its last completed epoch.
        """
        arguments = dict(X=X, y=y, loss=loss, optimizer=optimizer, epochs=epochs,
                         batch_size=batch_size, shuffle=shuffle, seed=seed, backend=backend,
                         validation_data=validation_data, verbose=verbose, log_every=log_every,
                         early_stopping=early_stopping, dual=dual, sample_weight=sample_weight,
                         class_weight=class_weight, alpha=alpha, comm=comm, plan=plan,
                         validation_split=validation_split, callbacks=callbacks)
        if comm is not None:
            distributed.check_comm(comm)
        try:
            settings = self._settings(**arguments)
        except Exception as error:  # (on MPI: every rank learns of it, none waits)
            if comm is None:
                raise
            settings, failure = None, error
        else:
            failure = None
        if comm is not None:
            distributed.share_failures(comm, failure)
            distributed.agree(comm, samples=settings.X.shape[0], features=settings.X.shape[1],
                              batch_size=settings.batch, epochs=settings.epochs,
                              backend=backend, seed=None if isinstance(
                                  seed, np.random.RandomState) else seed, shuffle=shuffle)
        problem = self._problem(settings.X, settings.batch, settings.epochs,
                                settings.optimizer.name, settings.n_val, comm)
        chosen = plans.choose(problem, backend, dual, plan)
        self.loss = next(name for name, c in losses.LOSSES.items()
                         if c == settings.objective.loss)
        self.optimizer = settings.optimizer
        self._require_built(settings.X)  # every argument is fine: now the work starts
        if seed is not None or self._shuffle is None:
            self._shuffle = shuffling.Shuffle(seed if seed is not None else self.seed)
        self.history.params = {"epochs": settings.epochs, "batch_size": settings.batch,
                               "plan": chosen.row, "backend": chosen.backend,
                               "dual": chosen.dual, "engine": chosen.engine, "why": chosen.why}
        self._live = fitting.Fit(chosen, self._flat, self._net(training=True), settings,
                                 self._shuffle, problem)
        try:
            return training.run(self._live, self.history)
        finally:
            self._live = None

    def _settings(self, X, y, *, loss=None, optimizer=None, epochs=1, batch_size=None,
                  shuffle=True, seed=None, backend="auto", validation_data=None, verbose=0,
                  log_every=None, early_stopping=None, dual="auto", sample_weight=None,
                  class_weight=None, alpha=0.0, comm=None, plan=None,
                  validation_split=0.0, callbacks=None) -> fitting.Settings:
        """Every argument of ``fit`` checked (on this rank's data), before any work: the
        fit's ``Settings``."""
        plans.backend_name(backend)
        code = self._loss_code(loss)
        optimizer = optimizers.get(optimizer or self.optimizer or optimizers.default())
        epochs = checks.positive_int("epochs", epochs, allow_zero=True)
        if batch_size is not None:
            batch_size = checks.positive_int("batch_size", batch_size)
        if seed is not None and not isinstance(seed, np.random.RandomState):
            checks.seed("seed", seed)
        shuffle = checks.flag("shuffle", shuffle)
        verbose = checks.positive_int("verbose", verbose, allow_zero=True)
        if log_every is not None:
            log_every = checks.positive_int("log_every", log_every)
        if early_stopping is not None and not isinstance(early_stopping, training.Stopping):
            early_stopping = training.EarlyStopping(patience=early_stopping)
        early_stopping, called = self._callbacks(callbacks, early_stopping)
        if called and comm is not None:
            raise ValueError("callbacks: not available in a data-parallel fit (comm) yet; "
                             "early stopping is (early_stopping=)")
        X = self._inputs(X)
        Y = checks.targets(y, X.shape[0], self.output_dim, code, self.dtype)
        split = checks.positive_float("validation_split", validation_split, allow_zero=True,
                                      below_one=True)
        if split and validation_data is None:
            X, Y, sample_weight, validation_data = self._held_out(X, Y, sample_weight, split)
        objective = self._objective(code, Y, sample_weight, class_weight, alpha)
        rates = self._rates()
        if rates.any() and isinstance(optimizer, optimizers.LBFGS):
            raise ValueError("optimizer: L-BFGS needs one objective to minimize; dropout draws "
                             "new masks every step (use SGD, Adam, ... or remove the Dropout)")
        if rates.size and rates[0] > 0 and issparse(X):
            raise ValueError("X: sparse inputs cannot be dropped (a Dropout before the first "
                             "Dense layer); drop later layers' inputs, or pass X dense")
        if isinstance(optimizer, optimizers.LBFGS) and batch_size is not None \
                and batch_size < X.shape[0]:
            raise ValueError(f"batch_size: L-BFGS trains on the full batch; got {batch_size} "
                             f"for {X.shape[0]} samples (use None)")
        if isinstance(X, streams.Stream) and batch_size is None:
            raise ValueError("batch_size: X is read window by window (an h5py dataset or a "
                             "memmap), which trains in mini-batches: give a batch_size")
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data: expected a pair (X_val, y_val)")
            X_val = self._inputs(validation_data[0], "X_val")
            if X_val.shape[1] != X.shape[1]:
                raise ValueError(f"X_val: expected {X.shape[1]} features per sample, got "
                                 f"{X_val.shape[1]} (shape {X_val.shape})")
            Y_val = checks.targets(validation_data[1], X_val.shape[0], self.output_dim, code,
                                   self.dtype, "y_val")
            validation = (X_val, Y_val)
        if verbose and log_every is None:
            log_every = max(1, epochs // 20)
        if early_stopping is not None:
            early_stopping.check(validation is not None, code in losses.CLASSIFICATION)
        if called:
            names = ["loss", "accuracy"] if code in losses.CLASSIFICATION else ["loss"]
            names += [f"val_{name}" for name in names] if validation is not None else []
            rated = not isinstance(optimizer, optimizers.LBFGS)
            called = CallbackList(called, self, names + ["lr"] if rated else names)
        else:
            called = None
        if dual not in (True, False, "auto"):
            raise ValueError(f"dual: expected True, False or 'auto', got {dual!r}")
        quiet = not verbose or (comm is not None and comm.Get_rank() != 0)  # (rank 0 logs)
        return fitting.Settings(
            X, Y, objective, optimizer, epochs,
            X.shape[0] if batch_size is None else min(batch_size, X.shape[0]),
            shuffle=shuffle, validation=validation, log_every=None if quiet else log_every,
            stopping=early_stopping, comm=comm, callbacks=called)

    @staticmethod
    def _callbacks(given, early_stopping) -> tuple:
        """``(early stopping, the other callbacks)`` of ``fit(callbacks=...)``: each a
        ``fastnn.callbacks.Callback``; an ``EarlyStopping`` among them is the fit's early
        stopping (one at most)."""
        if given is None:
            return early_stopping, []
        if not isinstance(given, (list, tuple)):
            raise TypeError(f"callbacks: expected a list of fastnn.callbacks.Callback, got "
                            f"{type(given).__name__}")
        others = []
        for index, callback in enumerate(given):
            if isinstance(callback, training.EarlyStopping):
                if early_stopping is not None:
                    raise ValueError("callbacks: one early stopping per fit: an EarlyStopping "
                                     "among the callbacks, or early_stopping=, not both")
                early_stopping = callback
            elif isinstance(callback, Callback):
                others.append(callback)
            else:
                raise TypeError(f"callbacks[{index}]: expected a fastnn.callbacks.Callback, "
                                f"got {type(callback).__name__}")
        return early_stopping, others

    @staticmethod
    def _held_out(X, Y, sample_weight, split: float) -> tuple:
        """``(X, Y, sample_weight, (X_val, Y_val))``: the last ``split`` of the samples held
        out (Keras' ``validation_split``)."""
        if isinstance(X, streams.Stream):
            raise ValueError("validation_split: X is read window by window; pass "
                             "validation_data instead")
        at = int(X.shape[0] * (1 - split))
        if at < 1 or at == X.shape[0]:
            raise ValueError(f"validation_split: {split} of {X.shape[0]} samples leaves "
                             f"{at} to train on and {X.shape[0] - at} to validate on")
        if sample_weight is not None:
            sample_weight = checks.sample_weight(sample_weight, X.shape[0])[:at]
        return X[:at], Y[:at], sample_weight, (X[at:], Y[at:])

    def _problem(self, X, batch: int | None = None, epochs: int = 0, solver: str = "",
                 n_val: int = 0, comm=None) -> plans.Problem:
        """What the planner knows of a computation on X (an array, a sparse matrix, a stream:
        only its shape and, if sparse, its count of nonzeros are read)."""
        n, n_in = (int(size) for size in X.shape)
        sizes = (n_in,) + tuple(layer.units for layer in self._dense)
        sparse = issparse(X)
        rates = self._rates()
        return plans.Problem(sizes, n, n if batch is None else batch, epochs,
                             np.dtype(self.dtype).itemsize, solver, n_val,
                             X.nnz / max(n * n_in, 1) if sparse else 1.0,
                             streamed=isinstance(X, streams.Stream), parallel=comm is not None,
                             sparse=sparse, input_dropout=bool(rates.size and rates[0] > 0))

    def plan(self, X, epochs: int = 1, batch_size: int | None = None, optimizer=None,
             backend: str = "auto", dual="auto", n_val: int = 0) -> plans.Plan:
        """The plan ``fit`` would run with these arguments (``fastnn.plans``).

        Only X's shape (and a sparse X's count of nonzeros) is read.

        Returns
        -------
        fastnn.plans.Plan
            The backend, the dual form or not, the engine, and the rows that chose them.
        """
        if not hasattr(X, "shape"):
            X = np.asarray(X)
        if len(X.shape) != 2:
            raise ValueError(f"X: expected a 2-D array (n_samples, n_features), got {X.shape}")
        optimizer = optimizers.get(optimizer or self.optimizer or optimizers.default())
        batch = X.shape[0] if batch_size is None else min(batch_size, X.shape[0])
        if streams.is_stream(X):
            X = streams.Stream(X, None, self.dtype)
        return plans.choose(self._problem(X, batch, epochs, optimizer.name, n_val), backend,
                            dual)

    def save(self, path) -> None:
        """Write the model (architecture, weights, optimizer state, history, shuffling stream)
        to HDF5 at ``path`` (``fastnn.io``).

        The file appears whole or not at all: a temporary file is moved onto ``path``.

        Parameters
        ----------
        path : str or path-like
            The file to write (replaced if it exists; a symlink's target is replaced).
        """
        self._require_built()
        io.write_model(io.ModelRecord(
            list(self.layers), self.input_dim, self.init, self.seed, self.dtype, self.loss,
            self.get_weights(), self.optimizer, list(self.history.epoch),
            {key: list(values) for key, values in self.history.history.items()},
            self.history.seconds, None if self._shuffle is None else self._shuffle.get_state(),
            __version__), path)

    def to_onnx(self, path) -> Path:
        """Write the inference graph to ONNX at ``path`` (``fastnn.onnx_export``): X (n_samples,
        n_in) to what ``predict`` gives, one ``Gemm`` and activation per ``Dense`` (``Dropout``
        passes through), in the model's dtype, opset 17. Needs ``pip install 'fastnn[onnx]'``.

        The file appears whole or not at all, as with ``save``.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        pathlib.Path
            ``path``.

        Raises
        ------
        ImportError
            Without the onnx package.
        """
        self._require_built()
        io.check_folder(path)
        graph = onnx_export.build(list(self.layers), self.get_weights(), self.input_dim,
                                  self.dtype)
        return onnx_export.write(graph, path)

    @classmethod
    def load(cls, path) -> "Sequential":
        """Read a model written by ``save``; ``fit`` then goes on where it stopped.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        Sequential
            Its layers, weights, optimizer (with its state), history and shuffling stream.

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        ValueError
            A file that is not a fastnn model, or a damaged one: the message names the file
            and the field.
        """
        record = io.read_model(path)
        try:
            self = cls(record.layers, input_dim=record.input_dim, init=record.init,
                       seed=record.seed, dtype=record.dtype)
        except (TypeError, ValueError) as error:
            raise ValueError(f"path: {path}: the model it describes is invalid: {error}") \
                from error
        try:
            self.set_weights(record.weights)
        except ValueError as error:
            raise ValueError(f"path: {path}: field 'weights' {error}") from error
        self.loss, self.optimizer = record.loss, record.optimizer
        self.history.epoch, self.history.history = record.epochs, record.metrics
        self.history.seconds = record.seconds
        if record.shuffle is not None:
            self._shuffle = shuffling.Shuffle()
            self._shuffle.set_state(record.shuffle)
        return self

    def summary(self) -> str:
        """A table of the layers, their output shapes and parameter counts (a str)."""
        lines = [f"{'layer':<28}{'output':>12}{'params':>12}"]
        n_in = self.input_dim
        total = 0
        for index, layer in enumerate(self.layers):
            if isinstance(layer, Dropout):
                lines.append(f"{f'dropout_{index} ({layer.rate:g})':<28}"
                             f"{f'(None, {n_in})' if n_in else '':>12}{0:>12}")
                continue
            params = (n_in * layer.units + layer.units) if n_in else 0
            total += params
            lines.append(f"{f'dense_{index} ({layer.activation})':<28}"
                         f"{f'(None, {layer.units})':>12}{params:>12}")
            n_in = layer.units
        lines.append(f"total parameters: {total} ({self.dtype})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Sequential({self.layers!r}, input_dim={self.input_dim}, dtype={self.dtype!r})"


def load_model(path) -> Sequential:
    """Read a model written by ``Sequential.save`` (``Sequential.load``)."""
    return Sequential.load(path)
