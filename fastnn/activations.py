"""Activation names and the integer codes the kernels use.

Every backend implements the same activations; this module only maps names to codes.

======== ==== ==========================================  ================================
name     code A = f(Z)                                     dA/dZ (from A where possible)
======== ==== ==========================================  ================================
linear   0    Z                                           1
sigmoid  1    1 / (1 + exp(-Z)), computed stably          A (1 - A)
tanh     2    tanh(Z)                                     1 - A**2
relu     3    max(Z, 0)                                   1 if Z > 0 else 0
leaky    4    Z if Z > 0 else 0.01 Z                      1 if Z > 0 else 0.01
softmax  5    exp(Z_j - max Z) / sum_k exp(Z_k - max Z)   Jacobian: A_j (delta_jk - A_k)
exp      6    exp(Z) (the output of a Poisson regression)  A
======== ==== ==========================================  ================================
"""

LINEAR = 0
SIGMOID = 1
TANH = 2
RELU = 3
LEAKY_RELU = 4
SOFTMAX = 5
EXP = 6

LEAKY_SLOPE = 0.01

ACTIVATIONS = {
    "linear": LINEAR,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "softmax": SOFTMAX,
    "exp": EXP,
}

ALIASES = {"identity": "linear", None: "linear", "logistic": "sigmoid", "leakyrelu": "leaky_relu"}
