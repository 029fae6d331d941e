"""Optimizers: hyperparameters, learning-rate schedules and state arrays; the update rule itself
lives in each backend (``optimizer_step``), which reads them through a ``Rule`` (``bind``).

The rules (Keras 3's definitions; t counts the updates, the step's scalars are computed in
float64, g is the gradient):

- ``SGD``: v = momentum v - lr g; w += v (Nesterov's: w += momentum v - lr g)
- ``Adam``: m = b1 m + (1 - b1) g; s = b2 s + (1 - b2) g^2; w -= lr_t m / (sqrt(s) + eps),
  lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) (Kingma & Ba's efficient form)
- ``AdamW``: w -= lr weight_decay w, then Adam's step (decoupled weight decay)
- ``Nadam``: Adam's m and s; with u_t = b1 (1 - 0.96^t / 2) and P_t = u_1 ... u_t,
  w -= lr [u_(t+1) m / (1 - P_t u_(t+1)) + (1 - u_t) g / (1 - P_t)] / (sqrt(s / (1 - b2^t)) + eps)
- ``RMSprop``: s = rho s + (1 - rho) g^2 (centered: a = rho a + (1 - rho) g, s - a^2 below);
  step = lr g / sqrt(s + eps); with momentum: p = momentum p + step, w -= p; else w -= step
- ``Adagrad``: s += g^2 (s starting at ``initial_accumulator``); w -= lr g / sqrt(s + eps)

State is kept flat, like the model's parameters, so ``fit`` can resume where it stopped and a
model file can store it: ``state1`` (SGD's velocity, the first moment, RMSprop's mean square,
Adagrad's accumulator), ``state2`` (the second moment, centered RMSprop's mean), ``state3``
(RMSprop's momentum buffer), ``step`` the updates applied so far (the one counter; the backends
advance it), ``product`` Nadam's P_t, ``samples`` and ``epochs`` the training samples and
epochs seen and ``reductions`` the times an adaptive schedule cut the rate (counted by the
trainer, per epoch).

Schedules (per epoch): ``"constant"``; ``"invscaling"`` (scikit-learn's): an epoch's rate is
``lr / (samples + 1) ** power_t``, ``samples`` those seen before it; ``"adaptive"``
(scikit-learn's): ``lr`` until early stopping's patience runs out, then divided by 5 each time
it does (the wait starts over), and training stops once the rate is at most ``min_lr``;
``"inverse_time"`` (Keras' ``InverseTimeDecay``, the course's ``schedule_lr_decay``): ``lr / (1
+ decay_rate * epochs / decay_steps)``, ``epochs`` those done before it (with ``staircase``,
``epochs // decay_steps``). ``learning_rate`` is the rate the next epoch uses.

``LBFGS`` is not a rule of the kernels: ``fit`` hands the full-batch loss and gradient to
SciPy's L-BFGS-B (``fastnn.lbfgs``).
"""

import numpy as np

from . import checks
from .network import OPT_ADAGRAD, OPT_ADAM, OPT_ADAMW, OPT_NADAM, OPT_RMSPROP, OPT_SGD, Rule

SCHEDULES = {"constant": 0, "invscaling": 1, "adaptive": 2, "inverse_time": 3}
PER_EPOCH = frozenset({"invscaling", "inverse_time"})  # schedules whose rate moves each epoch
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
    subclasses give the rule's code and hyperparameters (``_rule``) and, where it is not zeros,
    their first state (``_initial``)."""

    code = -1
    name = ""
    lr = _Hyperparameter()
    power_t = _Hyperparameter(allow_zero=True)
    min_lr = _Hyperparameter(allow_zero=True)
    decay_rate = _Hyperparameter(allow_zero=True)
    decay_steps = _Hyperparameter()

    def __init__(self, lr: float, schedule: str = "constant", power_t: float = 0.5,
                 min_lr: float = 1e-6, decay_rate: float = 1.0, decay_steps: float = 1.0,
                 staircase: bool = False):
        self.lr = lr
        self.schedule = checks.choice("schedule", schedule, SCHEDULES)
        self.power_t = power_t
        self.min_lr = min_lr
        self.decay_rate = decay_rate
        self.decay_steps = decay_steps
        self.staircase = checks.flag("staircase", staircase)
        self.state1 = self.state2 = self.state3 = None
        self.step = np.zeros(1, dtype=np.int64)
        self.product = np.ones(1)
        self.samples = self.epochs = self.reductions = 0

    def __setstate__(self, state: dict) -> None:
        """Unpickled: the state arrays are the optimizer's own, writable (joblib may hand out
        read-only memory maps); older pickles get the newer state."""
        state = {"state3": None, "product": np.ones(1), "epochs": 0, "decay_rate": 1.0,
                 "decay_steps": 1.0, "staircase": False, **state}
        self.__dict__.update(state)
        for name in ("state1", "state2", "state3", "step", "product"):
            array = getattr(self, name)
            if array is not None and not array.flags.writeable:
                setattr(self, name, array.copy())

    @property
    def learning_rate(self) -> float:
        """The rate of the next epoch, after the schedule."""
        if self.schedule == "invscaling":
            return self.lr / (self.samples + 1) ** self.power_t
        if self.schedule == "inverse_time":
            elapsed = self.epochs / self.decay_steps
            return self.lr / (1 + self.decay_rate * (elapsed // 1 if self.staircase else elapsed))
        return self.lr / ADAPTIVE_FACTOR ** self.reductions

    def epoch_ends(self, n_samples: int) -> None:
        """Count an epoch and its samples (the schedules' clocks)."""
        self.samples += int(n_samples)
        self.epochs += 1

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
        if self.schedule in ("invscaling", "adaptive"):
            config.update(schedule=self.schedule, power_t=self.power_t, min_lr=self.min_lr)
        elif self.schedule == "inverse_time":
            config.update(schedule=self.schedule, decay_rate=self.decay_rate,
                          decay_steps=self.decay_steps, staircase=self.staircase)
        return config

    def _rule(self) -> dict:
        """The kernels' hyperparameters of this rule (``Rule``'s fields beyond the rate)."""
        raise NotImplementedError

    def _initial(self, params: np.ndarray) -> tuple:
        """The first (state1, state2, state3): zeros, state3 empty."""
        return np.zeros_like(params), np.zeros_like(params), np.empty(0, params.dtype)

    def bind(self, params: np.ndarray, state1=None, state2=None) -> Rule:
        """The ``Rule`` the kernels update ``params`` with: this optimizer's state (fresh if the
        parameters changed shape), or the given state arrays (the dual form's)."""
        state3 = np.empty(0, params.dtype)
        if state1 is None:
            if self.state1 is None:  # (first use: the counters stay as they were set)
                self.state1, self.state2, self.state3 = self._initial(params)
            elif self.state1.shape != params.shape or self.state1.dtype != params.dtype:
                self.reset(params)
            third = self._initial(params)[2]
            if self.state3 is None or self.state3.shape != third.shape:  # (an older file)
                self.state3 = third
            state1, state2, state3 = self.state1, self.state2, self.state3
        rule = {"momentum": 0.0, "beta1": 0.0, "beta2": 0.0, "eps": 0.0, "nesterov": 0,
                "rho": 0.0, "centered": 0, "weight_decay": 0.0, **self._rule()}
        return Rule(self.code, self.learning_rate, rule["momentum"], rule["beta1"],
                    rule["beta2"], rule["eps"], state1, state2, state3, self.step, self.product,
                    rule["nesterov"], rule["rho"], rule["centered"], rule["weight_decay"])

    def reset(self, params: np.ndarray) -> None:
        """Forget the state (velocity, moments, accumulators), the step count and the
        schedule's."""
        self.state1, self.state2, self.state3 = self._initial(params)
        self.step[0] = 0
        self.product[0] = 1.0
        self.samples = self.epochs = self.reductions = 0

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


SCHEDULE_DOC = """schedule : str
        ``"constant"``, ``"invscaling"``, ``"adaptive"`` or ``"inverse_time"`` (see
        ``fastnn.optimizers``), with ``power_t`` (invscaling's exponent), ``min_lr`` (the rate
        at which an adaptive schedule stops), ``decay_rate``, ``decay_steps`` (epochs) and
        ``staircase`` (inverse_time's)."""


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
    SCHEDULE
    """

    code = OPT_SGD
    name = "sgd"
    momentum = _Hyperparameter(allow_zero=True, below_one=True)

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 **schedule):
        super().__init__(lr, **schedule)
        self.momentum = momentum
        self.nesterov = checks.flag("nesterov", nesterov)

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
        Added to the root of the second moment (scikit-learn's default; Keras' is 1e-7).
    SCHEDULE
    """

    code = OPT_ADAM
    name = "adam"
    beta1 = _Hyperparameter(allow_zero=True, below_one=True)
    beta2 = _Hyperparameter(allow_zero=True, below_one=True)
    eps = _Hyperparameter()

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, **schedule):
        super().__init__(lr, **schedule)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps

    def get_config(self) -> dict:
        return {**super().get_config(), "beta1": self.beta1, "beta2": self.beta2,
                "eps": self.eps}

    def _rule(self) -> dict:
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter; Keras' ``AdamW``): each step first
    shrinks every weight, biases too, ``w -= lr weight_decay w``, then takes Adam's step.

    Parameters
    ----------
    lr, beta1, beta2, eps
        As for ``Adam`` (eps Keras' 1e-7).
    weight_decay : float
        >= 0 (Keras' 0.004).
    SCHEDULE
    """

    code = OPT_ADAMW
    name = "adamw"
    weight_decay = _Hyperparameter(allow_zero=True)

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-7, weight_decay: float = 0.004, **schedule):
        super().__init__(lr, beta1, beta2, eps, **schedule)
        self.weight_decay = weight_decay

    def get_config(self) -> dict:
        return {**super().get_config(), "weight_decay": self.weight_decay}

    def _rule(self) -> dict:
        return {**super()._rule(), "weight_decay": self.weight_decay}


class Nadam(Adam):
    """Adam with Nesterov's momentum (Dozat; Keras' ``Nadam``, its momentum schedule
    u_t = beta1 (1 - 0.96^t / 2)): see ``fastnn.optimizers``.

    Parameters
    ----------
    lr, beta1, beta2, eps
        As for ``Adam`` (eps Keras' 1e-7).
    SCHEDULE
    """

    code = OPT_NADAM
    name = "nadam"

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-7, **schedule):
        super().__init__(lr, beta1, beta2, eps, **schedule)


class RMSprop(Optimizer):
    """RMSprop (Hinton; Keras' ``RMSprop``): a moving average s of the squared gradient,
    ``step = lr g / sqrt(s + eps)``; centered, s less the square of the gradient's moving
    average; with momentum, steps accumulate in a buffer that moves the weights.

    Parameters
    ----------
    lr : float
        The learning rate (> 0).
    rho : float
        The average's decay, in [0, 1).
    eps : float
        Added under the root (Keras' 1e-7).
    momentum : float
        In [0, 1); 0: none.
    centered : bool
    SCHEDULE
    """

    code = OPT_RMSPROP
    name = "rmsprop"
    rho = _Hyperparameter(allow_zero=True, below_one=True)
    eps = _Hyperparameter()
    momentum = _Hyperparameter(allow_zero=True, below_one=True)

    def __init__(self, lr: float = 0.001, rho: float = 0.9, eps: float = 1e-7,
                 momentum: float = 0.0, centered: bool = False, **schedule):
        super().__init__(lr, **schedule)
        self.rho = rho
        self.eps = eps
        self.momentum = momentum
        self.centered = checks.flag("centered", centered)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "eps": self.eps,
                "momentum": self.momentum, "centered": self.centered}

    def _rule(self) -> dict:
        return {"rho": self.rho, "eps": self.eps, "momentum": self.momentum,
                "centered": int(self.centered)}

    def _initial(self, params: np.ndarray) -> tuple:
        """The mean square, the mean (centered), the momentum buffer (the last step, without
        momentum)."""
        return np.zeros_like(params), np.zeros_like(params), np.zeros_like(params)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.; Keras' ``Adagrad``): ``s += g^2``, ``w -= lr g / sqrt(s + eps)``.

    Parameters
    ----------
    lr : float
        The learning rate (> 0).
    initial_accumulator : float
        s's starting value, >= 0 (Keras' 0.1).
    eps : float
        Added under the root (Keras' 1e-7).
    SCHEDULE
    """

    code = OPT_ADAGRAD
    name = "adagrad"
    initial_accumulator = _Hyperparameter(allow_zero=True)
    eps = _Hyperparameter()

    def __init__(self, lr: float = 0.001, initial_accumulator: float = 0.1, eps: float = 1e-7,
                 **schedule):
        super().__init__(lr, **schedule)
        self.initial_accumulator = initial_accumulator
        self.eps = eps

    def get_config(self) -> dict:
        return {**super().get_config(), "initial_accumulator": self.initial_accumulator,
                "eps": self.eps}

    def _rule(self) -> dict:
        return {"eps": self.eps}

    def _initial(self, params: np.ndarray) -> tuple:
        """The accumulator, and (unused) the mean and the last step, as RMSprop's."""
        return (np.full_like(params, self.initial_accumulator), np.zeros_like(params),
                np.zeros_like(params))


for _class in (SGD, Adam, AdamW, Nadam, RMSprop, Adagrad):
    _class.__doc__ = _class.__doc__.replace("SCHEDULE", SCHEDULE_DOC)


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


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "nadam": Nadam, "rmsprop": RMSprop,
              "adagrad": Adagrad, "lbfgs": LBFGS}


def default() -> SGD:
    """The optimizer of a model's first fit that names none: ``SGD(lr=0.01)``."""
    return SGD(lr=0.01)


def get(optimizer):
    """An optimizer from an instance or a name (``OPTIMIZERS``: ``"sgd"``, ``"adam"``,
    ``"adamw"``, ``"nadam"``, ``"rmsprop"``, ``"adagrad"``, ``"lbfgs"``), with default
    settings."""
    if isinstance(optimizer, (Optimizer, LBFGS)):
        return optimizer
    return OPTIMIZERS[checks.choice("optimizer", optimizer, OPTIMIZERS)]()
