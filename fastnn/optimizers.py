"""Optimizers: hyperparameters and state arrays; the update rule itself lives in each backend
(``optimizer_step``), which reads them through a ``Rule`` (``bind``).

State is kept flat, like the model's parameters, so ``fit`` can resume where it stopped and a
model file can store it: ``state1`` is SGD's velocity or Adam's first moment, ``state2`` Adam's
second moment, ``step`` the updates applied so far (the one counter; the backends advance it).
"""

import numpy as np

from . import checks
from .backends._ops import OPT_ADAM, OPT_SGD, Rule


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
    """Base: the state arrays, sized to the parameters on first use; subclasses give the rule's
    code and hyperparameters."""

    code = -1
    name = ""

    def __init__(self):
        self.state1 = None
        self.state2 = None
        self.step = np.zeros(1, dtype=np.int64)

    def get_config(self) -> dict:
        raise NotImplementedError

    def bind(self, params: np.ndarray, state1=None, state2=None) -> Rule:
        """The ``Rule`` the kernels update ``params`` with: this optimizer's state (fresh if the
        parameters changed shape), or the given state arrays (the dual form's)."""
        if state1 is None:
            if self.state1 is None or self.state1.shape != params.shape \
                    or self.state1.dtype != params.dtype:
                self.reset(params)
            state1, state2 = self.state1, self.state2
        config = {"momentum": 0.0, "beta1": 0.0, "beta2": 0.0, "eps": 0.0, **self.get_config()}
        return Rule(self.code, config["lr"], config["momentum"], config["beta1"], config["beta2"],
                    config["eps"], state1, state2, self.step)

    def reset(self, params: np.ndarray) -> None:
        """Forget the state (velocity or moments) and the step count."""
        self.state1 = np.zeros_like(params)
        self.state2 = np.zeros_like(params)
        self.step[0] = 0

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Gradient descent, with momentum: ``v = momentum v - lr g; w += v`` (plain when 0)."""

    code = OPT_SGD
    name = "sgd"
    lr = _Hyperparameter()
    momentum = _Hyperparameter(allow_zero=True, below_one=True)

    def __init__(self, lr: float = 0.01, momentum: float = 0.0):
        super().__init__()
        self.lr = lr
        self.momentum = momentum

    def get_config(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum}


class Adam(Optimizer):
    """Adam: bias-corrected moving averages of the gradient and its square."""

    code = OPT_ADAM
    name = "adam"
    lr = _Hyperparameter()
    beta1 = _Hyperparameter(allow_zero=True, below_one=True)
    beta2 = _Hyperparameter(allow_zero=True, below_one=True)
    eps = _Hyperparameter()

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        super().__init__()
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps

    def get_config(self) -> dict:
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def get(optimizer) -> Optimizer:
    """An Optimizer from an instance or a name (``"sgd"``, ``"adam"``, with default settings)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    return OPTIMIZERS[checks.choice("optimizer", optimizer, OPTIMIZERS)]()
