"""Optimizers: hyperparameters, learning-rate schedules and state arrays; the update rule itself
lives in each backend (``optimizer_step``), which reads them through a ``Rule`` (``bind``).

State is kept flat, like the model's parameters, so ``fit`` can resume where it stopped and a
model file can store it: ``state1`` is SGD's velocity or Adam's first moment, ``state2`` Adam's
second moment, ``step`` the updates applied so far (the one counter; the backends advance it),
``samples`` the training samples seen and ``reductions`` the times an adaptive schedule cut
the rate (both counted by the trainer, per epoch).

Schedules (scikit-learn's, per epoch): ``"constant"``; ``"invscaling"``: an epoch's rate is
``lr / (samples + 1) ** power_t``, ``samples`` those seen before it; ``"adaptive"``: ``lr``
until early stopping's patience runs out, then divided by 5 each time it does (the wait starts
over), and training stops once the rate is at most ``min_lr``. ``learning_rate`` is the rate
the next epoch uses.

``LBFGS`` is not a rule of the kernels: ``fit`` hands the full-batch loss and gradient to
SciPy's L-BFGS-B (``fastnn.lbfgs``).
"""

import numpy as np

from . import checks
from .network import OPT_ADAM, OPT_SGD, Rule

SCHEDULES = {"constant": 0, "invscaling": 1, "adaptive": 2}
ADAPTIVE_FACTOR = 5.0  # what an adaptive schedule divides the rate by (scikit-learn's)


class _Hyperparameter:
    """A hyperparameter checked whenever it is set, at construction and after (``opt.lr = x``):
    a finite number > 0 (>= 0 with ``allow_zero``), < 1 with ``below_one``."""

    def __init__(self, allow_zero: bool = False, below_one: bool = False):
        self.bounds = {"allow_zero": allow_zero, "below_one": below_one}

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        return self if obj is None else obj.__dict__[self.name]

    def __set__(self, obj, value):
        obj.__dict__[self.name] = checks.positive_float(self.name, value, **self.bounds)


class Optimizer:
    """Base: the state arrays, sized to the parameters on first use, and the schedule;
    subclasses give the rule's code and hyperparameters."""

    code = -1
    name = ""
    lr = _Hyperparameter()
    power_t = _Hyperparameter(allow_zero=True)
    min_lr = _Hyperparameter(allow_zero=True)

    def __init__(self, lr: float, schedule: str = "constant", power_t: float = 0.5,
                 min_lr: float = 1e-6):
        self.lr = lr
        self.schedule = checks.choice("schedule", schedule, SCHEDULES)
        self.power_t = power_t
        self.min_lr = min_lr
        self.state1 = None
        self.state2 = None
        self.step = np.zeros(1, dtype=np.int64)
        self.samples = 0
        self.reductions = 0

    def __setstate__(self, state: dict) -> None:
        """Unpickled: the state arrays are the optimizer's own, writable (joblib may hand out
        read-only memory maps)."""
        self.__dict__.update(state)
        for name in ("state1", "state2", "step"):
            array = getattr(self, name)
            if array is not None and not array.flags.writeable:
                setattr(self, name, array.copy())

    @property
    def learning_rate(self) -> float:
        """The rate of the next epoch, after the schedule."""
        if self.schedule == "invscaling":
            return self.lr / (self.samples + 1) ** self.power_t
        return self.lr / ADAPTIVE_FACTOR ** self.reductions

    def epoch_ends(self, n_samples: int) -> None:
        """Count an epoch's samples (the invscaling schedule's clock)."""
        self.samples += int(n_samples)

    def reduce(self) -> bool:
        """Early stopping's patience ran out: an adaptive schedule divides the rate by 5 and
        returns True (go on), unless it is at most ``min_lr`` already; any other: False
        (stop)."""
        if self.schedule != "adaptive" or self.learning_rate <= self.min_lr:
            return False
        self.reductions += 1
        return True

    def get_config(self) -> dict:
        config = {"lr": self.lr}
        if self.schedule != "constant":
            config.update(schedule=self.schedule, power_t=self.power_t, min_lr=self.min_lr)
        return config

    def _rule(self) -> dict:
        """The kernels' hyperparameters of this rule (beyond the rate)."""
        raise NotImplementedError

    def bind(self, params: np.ndarray, state1=None, state2=None) -> Rule:
        """The ``Rule`` the kernels update ``params`` with: this optimizer's state (fresh if the
        parameters changed shape), or the given state arrays (the dual form's)."""
        if state1 is None:
            if self.state1 is None:  # (first use: the counters stay as they were set)
                self.state1, self.state2 = np.zeros_like(params), np.zeros_like(params)
            elif self.state1.shape != params.shape or self.state1.dtype != params.dtype:
                self.reset(params)
            state1, state2 = self.state1, self.state2
        rule = {"momentum": 0.0, "beta1": 0.0, "beta2": 0.0, "eps": 0.0, "nesterov": 0,
                **self._rule()}
        return Rule(self.code, self.learning_rate, rule["momentum"], rule["beta1"],
                    rule["beta2"], rule["eps"], state1, state2, self.step, rule["nesterov"])

    def reset(self, params: np.ndarray) -> None:
        """Forget the state (velocity or moments), the step count and the schedule's."""
        self.state1 = np.zeros_like(params)
        self.state2 = np.zeros_like(params)
        self.step[0] = 0
        self.samples = self.reductions = 0

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Gradient descent, with momentum: ``v = momentum v - lr g; w += v`` (plain when 0), or
    Nesterov's momentum (``nesterov=True``): the same v, then ``w += momentum v - lr g``.

    Parameters
    ----------
    lr : float
        The learning rate (> 0).
    momentum : float
        In [0, 1).
    nesterov : bool
        Nesterov's momentum (scikit-learn's ``nesterovs_momentum``, Keras' ``nesterov``).
    schedule : str
        ``"constant"``, ``"invscaling"`` or ``"adaptive"`` (see the module's docstring).
    power_t : float
        The invscaling exponent.
    min_lr : float
        The rate at which an adaptive schedule stops training.
    """

    code = OPT_SGD
    name = "sgd"
    momentum = _Hyperparameter(allow_zero=True, below_one=True)

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 schedule: str = "constant", power_t: float = 0.5, min_lr: float = 1e-6):
        super().__init__(lr, schedule, power_t, min_lr)
        self.momentum = momentum
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov: expected True or False, got {nesterov!r}")
        self.nesterov = bool(nesterov)

    def get_config(self) -> dict:
        config = {**super().get_config(), "momentum": self.momentum}
        if self.nesterov:
            config["nesterov"] = True
        return config

    def _rule(self) -> dict:
        return {"momentum": self.momentum, "nesterov": int(self.nesterov)}


class Adam(Optimizer):
    """Adam: moving averages m, s of the gradient and its square, ``w -= lr_t m / (sqrt(s) +
    eps)`` with the bias corrections in ``lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)``
    (Kingma & Ba's efficient form, as Keras and scikit-learn compute it).

    Parameters
    ----------
    lr : float
        The learning rate (> 0).
    beta1, beta2 : float
        The moments' decay rates, in [0, 1).
    eps : float
        Added to the root of the second moment.
    schedule, power_t, min_lr
        As for ``SGD``.
    """

    code = OPT_ADAM
    name = "adam"
    beta1 = _Hyperparameter(allow_zero=True, below_one=True)
    beta2 = _Hyperparameter(allow_zero=True, below_one=True)
    eps = _Hyperparameter()

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, schedule: str = "constant", power_t: float = 0.5,
                 min_lr: float = 1e-6):
        super().__init__(lr, schedule, power_t, min_lr)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps

    def get_config(self) -> dict:
        return {**super().get_config(), "beta1": self.beta1, "beta2": self.beta2,
                "eps": self.eps}

    def _rule(self) -> dict:
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class LBFGS:
    """Full-batch L-BFGS: SciPy's ``minimize(method="L-BFGS-B")`` over the network's loss and
    gradient (``fastnn.lbfgs``); ``fit``'s ``epochs`` are its iterations.

    Parameters
    ----------
    tol : float
        SciPy's ``gtol`` (scikit-learn's ``tol`` for lbfgs): stop when every entry of the
        projected gradient is at most this.
    max_fun : int
        The most evaluations of the loss and gradient (``maxfun``).
    """

    name = "lbfgs"
    tol = _Hyperparameter(allow_zero=True)

    def __init__(self, tol: float = 1e-4, max_fun: int = 15000):
        self.tol = tol
        self.max_fun = checks.positive_int("max_fun", max_fun)

    def get_config(self) -> dict:
        return {"tol": self.tol, "max_fun": self.max_fun}

    def __repr__(self) -> str:
        return f"LBFGS(tol={self.tol!r}, max_fun={self.max_fun!r})"


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "lbfgs": LBFGS}


def default() -> SGD:
    """The optimizer of a model's first fit that names none: ``SGD(lr=0.01)``."""
    return SGD(lr=0.01)


def get(optimizer):
    """An optimizer from an instance or a name (``"sgd"``, ``"adam"``, ``"lbfgs"``, with
    default settings)."""
    if isinstance(optimizer, (Optimizer, LBFGS)):
        return optimizer
    return OPTIMIZERS[checks.choice("optimizer", optimizer, OPTIMIZERS)]()
