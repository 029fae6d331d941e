"""Layers: configuration only. The math is in the backends (dropout's masks: ``fastnn.dropout``)."""

from . import checks


class Dense:
    """A fully connected layer: ``Z = X @ W + b``, ``A = activation(Z)``.

    Parameters
    ----------
    units : int
        Number of outputs (neurons), ``n_out``.
    activation : str
        ``"linear"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``, ``"softmax"`` or
        ``"exp"`` (aliases: ``"identity"``, ``"logistic"``).
    use_bias : bool
        With False, b stays zero and is not trained (the tutorials' linear network).

    Raises
    ------
    ValueError, TypeError
        A bad setting, named.
    """

    def __init__(self, units: int, activation: str = "linear", use_bias: bool = True):
        self.units = checks.positive_int("units", units)
        self.activation = checks.activation_name(activation)
        self.use_bias = checks.flag("use_bias", use_bias)

    def get_config(self) -> dict:
        """The settings, as ``Dense(**config)`` takes them."""
        return {"units": self.units, "activation": self.activation, "use_bias": self.use_bias}

    def __repr__(self) -> str:
        return (f"Dense({self.units}, activation={self.activation!r}"
                + ("" if self.use_bias else ", use_bias=False") + ")")


class Dropout:
    """Inverted dropout on the layer's inputs (Keras'): in training each unit is kept with
    probability ``1 - rate`` and scaled by ``1 / (1 - rate)``; inference and evaluation pass
    through. It goes between ``Dense`` layers (or before the first: dropping inputs).

    Parameters
    ----------
    rate : float
        The share of units dropped, in [0, 1).

    Raises
    ------
    ValueError, TypeError
        A rate outside [0, 1), or not a number.
    """

    def __init__(self, rate: float):
        self.rate = checks.positive_float("rate", rate, allow_zero=True, below_one=True)

    def get_config(self) -> dict:
        """The settings, as ``Dropout(**config)`` takes them."""
        return {"rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate!r})"
