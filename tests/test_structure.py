"""The package's structure, read from its source (an AST walk over fastnn/): no module reads
another's private names, no import cycle, imports at the top of a module but the optional
extras and what only some runs pay for, no function (outside the compiled kernels) with more
than 7 required arguments."""

import ast
from pathlib import Path

import fastnn

PACKAGE = Path(fastnn.__file__).parent
# Imported inside functions on purpose: optional extras, and costs only some runs pay for.
DEFERRED = {
    "mpi4py": "the [mpi] extra",
    "scipy.optimize": "L-BFGS only (0.1-0.3 s to import)",
    "scipy.sparse": "sparse X only (0.1 s to import)",
    "scipy.io": "the football data only",
    "onnx": "the [onnx] extra",
    "llvmlite": "only where numba runs",
    "fcntl": "a lock, on POSIX",
    "msvcrt": "a lock, on Windows",
    "matplotlib": "the [plot] extra",
    "backends": "python -m fastnn compile: Numba only when it runs",
}
# Compiled code, whose functions take their arrays as arguments: the kernels, and the BLAS
# shim of the CBLAS signature.
COMPILED = {"_numba_kernels.py", "_blas.py"}
MOST_REQUIRED = 7


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(("fastnn",) + path.relative_to(PACKAGE).with_suffix("").parts)
        yield name.removesuffix(".__init__"), path, ast.parse(path.read_text(), str(path))


def _resolve(module: str, level: int, target: str | None, is_package: bool) -> str:
    """The absolute name of ``from <level dots><target> import ...`` in ``module``."""
    if not level:
        return target or ""
    parts = module.split(".")
    base = parts[:len(parts) - level + (1 if is_package else 0)]
    return ".".join(base + ([target] if target else []))


def _fastnn_imports(module: str, path: Path, tree):
    """``(imported fastnn module, names, node, at top level)`` of each import of a fastnn
    module in ``tree``."""
    package = path.name == "__init__.py"
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(module, node.level, node.module, package)
            if source.startswith("fastnn"):
                for alias in node.names:
                    candidate = f"{source}.{alias.name}"
                    if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists() or \
                            (PACKAGE.parent / candidate.replace(".", "/")).is_dir():
                        yield candidate, [], node, id(node) in top
                    else:
                        yield source, [alias.name], node, id(node) in top
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fastnn"):
                    yield alias.name, [], node, id(node) in top


def test_no_module_reads_another_modules_private_names():
    offences = []
    for module, path, tree in _modules():
        aliases = {}
        for source, names, node, _ in _fastnn_imports(module, path, tree):
            for name in names:
                if name.startswith("_") and not name.startswith("__") and source != module:
                    offences.append(f"{module}: from {source} import {name}")
            for alias in node.names:
                if not names and alias.asname:
                    aliases[alias.asname] = source
                elif not names:
                    aliases[alias.name.split(".")[-1]] = source
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                    node.value.id in aliases and node.attr.startswith("_") and \
                    not node.attr.startswith("__"):
                offences.append(f"{module}: {node.value.id}.{node.attr}")
    assert not offences, offences


def test_no_import_cycle():
    graph = {}
    for module, path, tree in _modules():
        graph[module] = {source for source, _, _, top in _fastnn_imports(module, path, tree)
                         if top and source != module}
    state = {}

    def visit(node, trail):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", " -> ".join(trail + [node])
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if not node.startswith(target + "."):  # (a package's module imports its package)
                visit(target, trail + [node])
        state[node] = "done"

    for module in sorted(graph):
        visit(module, [])


def test_imports_inside_functions_are_the_deferred_ones():
    offences = []
    for module, _, tree in _modules():
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom):
                    names = [node.module] if node.module else [a.name for a in node.names]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                for name in names:
                    if not any(name == d or name.startswith(d + ".") for d in DEFERRED):
                        offences.append(f"{module}:{node.lineno}: import {name}")
    assert not offences, offences


def test_no_function_takes_more_than_seven_required_arguments():
    offences = []
    for module, path, tree in _modules():
        if path.name in COMPILED:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                positional = args.posonlyargs + args.args
                required = len(positional) - len(args.defaults) + sum(
                    default is None for default in args.kw_defaults)
                if positional and positional[0].arg in ("self", "cls"):
                    required -= 1
                if required > MOST_REQUIRED:
                    offences.append(f"{module}.{node.name}: {required}")
    assert not offences, offences
