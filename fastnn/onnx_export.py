"""A model's inference graph as ONNX: one ``Gemm`` and one activation node per ``Dense`` layer.

The graph computes what ``predict`` does: input ``X`` of shape (n_samples, n_in), output ``Y``
of shape (n_samples, n_out), in the model's dtype (float32: ONNX's FLOAT, float64: DOUBLE).
``Dropout`` layers pass through at inference, so they add no node. Each activation is the ONNX
operator of the same definition (``fastnn.activations``):

linear: no node; sigmoid: ``Sigmoid``; tanh: ``Tanh``; relu: ``Relu``; softmax:
``Softmax(axis=-1)`` (each sample's outputs); exp: ``Exp``; leaky_relu: ``Max(Z, 0.01 Z)``, equal
for a slope below 1 (ONNX's ``LeakyRelu`` holds its slope as a float32 attribute, 2e-10 off in
float64).

Needs the ``onnx`` package (``pip install 'fastnn[onnx]'``), imported only here, only when a
model is exported.
"""

from pathlib import Path

import numpy as np

from . import activations, io
from .layers import Dense
from .version import __version__

OPSET = 17
INPUT, OUTPUT = "X", "Y"
ELEMENT_TYPES = {"float32": 1, "float64": 11}  # onnx.TensorProto.FLOAT, DOUBLE
OPERATORS = {activations.SIGMOID: "Sigmoid", activations.TANH: "Tanh", activations.RELU: "Relu",
             activations.SOFTMAX: "Softmax", activations.EXP: "Exp"}


def _import_onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError("to_onnx needs the onnx package: pip install 'fastnn[onnx]' (or "
                          "onnx itself)") from error
    return onnx


def _activation_nodes(helper, code: int, Z: str, A: str, dtype: str, name: str) -> tuple:
    """The nodes, and the constants they read, computing ``A = activation(Z)`` (not linear)."""
    if code == activations.LEAKY_RELU:  # Max(Z, slope Z): equal for a slope below 1
        slope, scaled = f"{name}_slope", f"{name}_scaled"
        constant = helper.make_tensor(slope, ELEMENT_TYPES[dtype], [],
                                      [np.dtype(dtype).type(activations.LEAKY_SLOPE)])
        return ([helper.make_node("Mul", [Z, slope], [scaled], name=f"{name}_mul"),
                 helper.make_node("Max", [Z, scaled], [A], name=f"{name}_max")], [constant])
    operator = OPERATORS[code]
    settings = {"axis": -1} if code == activations.SOFTMAX else {}
    return [helper.make_node(operator, [Z], [A], name=f"{name}_{operator.lower()}",
                             **settings)], []


def build(layers: list, weights: list, input_dim: int, dtype: str):
    """The ``onnx.ModelProto`` of a built model's ``layers`` and ``weights`` (``get_weights()``:
    W (n_in, n_out), b (n_out,) per ``Dense``), checked by ``onnx.checker``."""
    onnx = _import_onnx()
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    element = ELEMENT_TYPES[dtype]
    dense = [layer for layer in layers if isinstance(layer, Dense)]
    nodes, constants, current = [], [], INPUT
    for index, layer in enumerate(dense):
        name = f"dense_{index}"
        W, b = weights[2 * index], weights[2 * index + 1]
        constants.append(numpy_helper.from_array(np.asarray(W, dtype), f"{name}_W"))
        inputs = [current, f"{name}_W"]
        if layer.use_bias:
            constants.append(numpy_helper.from_array(np.asarray(b, dtype), f"{name}_b"))
            inputs.append(f"{name}_b")
        code = activations.ACTIVATIONS[layer.activation]
        last = index == len(dense) - 1
        Z = OUTPUT if last and code == activations.LINEAR else f"{name}_Z"
        nodes.append(helper.make_node("Gemm", inputs, [Z], name=f"{name}_gemm"))
        if code != activations.LINEAR:
            A = OUTPUT if last else f"{name}_A"
            more_nodes, more_constants = _activation_nodes(helper, code, Z, A, dtype, name)
            nodes += more_nodes
            constants += more_constants
            Z = A
        current = Z
    graph = helper.make_graph(
        nodes, "fastnn", [helper.make_tensor_value_info(INPUT, element, ["n_samples", input_dim])],
        [helper.make_tensor_value_info(OUTPUT, element, ["n_samples", dense[-1].units])],
        constants, doc_string="fastnn.Sequential: " + ", ".join(map(repr, layers)))
    model = helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                          producer_name="fastnn", producer_version=__version__)
    onnx.checker.check_model(model, full_check=True)
    return model


def write(model, path) -> Path:
    """Save the ``onnx.ModelProto`` to ``path`` atomically (as ``Sequential.save``)."""
    onnx = _import_onnx()
    with io.atomic_path(path) as temp:
        onnx.save_model(model, str(temp))
    return Path(path)
