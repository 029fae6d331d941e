"""Full-batch L-BFGS: SciPy's ``minimize(method="L-BFGS-B")`` over the network's loss and
gradient, as scikit-learn's ``solver="lbfgs"`` runs it (``gtol`` its ``tol``, ``maxfun`` its
``max_fun``, ``maxiter`` the fit's epochs).

SciPy works on a float64 copy of the flat weights; each evaluation writes its point into the
fit's weights (their dtype) and runs the backend's ``loss_and_gradients`` over all of X
(``Fit.loss_and_gradients``). After each iteration the iterate is the fit's weights and the
history gets a row; Ctrl-C is taken there. The outcome (SciPy's status, message, evaluations)
goes into ``history.params``.
"""

import numpy as np


def run(fit, recorder, interrupts) -> None:
    """Minimize the objective over ``fit.flat`` (in place) for at most the fit's epochs as
    iterations (``fastnn.fitting.Fit``; ``recorder``: ``training.Recorder``)."""
    epochs = fit.settings.epochs
    flat, grads, optimizer = fit.flat, np.empty_like(fit.flat), fit.optimizer
    evaluated = {"x": None, "value": np.nan, "correct": 0}
    iterate = flat.astype(np.float64)  # the last completed iteration's weights

    def function(x):
        flat[...] = x
        with np.errstate(over="ignore", invalid="ignore"):
            value, correct = fit.loss_and_gradients(grads)
        evaluated.update(x=x.copy(), value=value, correct=correct)
        return value, grads.astype(np.float64)

    def callback(intermediate_result):
        x = intermediate_result.x
        if evaluated["x"] is None or not np.array_equal(evaluated["x"], x):
            function(x)  # (the line search's last point was not the iterate)
        flat[...] = x
        iterate[...] = x
        interrupts.check()
        if recorder.record(evaluated["value"], evaluated["correct"]):
            raise StopIteration
        if recorder.done < epochs:
            recorder.begin()

    import scipy.optimize  # (here: 0.1-0.3 s of import that only L-BFGS fits need)

    recorder.history.params.update(lbfgs_status=0, lbfgs_message="no iterations asked for")
    if epochs == 0:
        return
    recorder.begin()
    try:
        result = scipy.optimize.minimize(
            function, iterate.copy(), jac=True, method="L-BFGS-B", callback=callback,
            options={"maxiter": epochs, "maxfun": optimizer.max_fun, "gtol": optimizer.tol})
    except BaseException:
        flat[...] = iterate  # (an error or a second Ctrl-C mid-iteration)
        raise
    flat[...] = iterate if recorder.done else result.x
    recorder.history.params.update(
        lbfgs_status=int(result.status), lbfgs_message=str(result.message),
        lbfgs_iterations=int(result.nit), lbfgs_evaluations=int(result.nfev))
