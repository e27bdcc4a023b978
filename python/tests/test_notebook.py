"""A notebook session end to end: a DMFT solve from numpy arrays and a features learning curve into a DataFrame,
checked against the CLI's own files and against closed forms."""

import json

import numpy as np
import pytest

import solvable as sv


def static_ntk_errors(X, y, depth, eta, steps):
    """Delta(t) of a deep linear network in the lazy limit (gamma0 = 0): the NTK stays (L+1) K^x with
    K^x = X X^T / D, and Delta(t+1) = (I - (eta/P) K) Delta(t) (Bordelon & Pehlevan 2022, static-kernel limit)."""
    P, D = X.shape
    K = (depth + 1) * X @ X.T / D
    deltas = [y]
    for _ in range(steps - 1):
        deltas.append(deltas[-1] - eta / P * K @ deltas[-1])
    return np.array(deltas), K


def test_dmft_from_numpy_arrays(binary):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((6, 11))              # P = 6 samples of D = 11 features: rows are samples
    y = np.sign(rng.standard_normal(6))
    depth, eta, steps = 2, 0.5, 15

    lazy = sv.dmft.solve(inputs=X, targets=y, depth=depth, gamma0=0.0, eta=eta, steps=steps)
    delta, K = static_ntk_errors(X, y, depth, eta, steps)
    np.testing.assert_allclose(lazy.arrays["delta"], delta, rtol=0, atol=1e-12)
    np.testing.assert_allclose(lazy.arrays["ntk"], np.broadcast_to(K, (steps, 6, 6)), rtol=0, atol=1e-12)
    loss = lazy.tables["loss"]
    np.testing.assert_allclose(loss["loss"], 0.5 * (delta ** 2).mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(loss["tau"], eta * np.arange(steps) / 6, rtol=1e-12)

    rich = sv.dmft.solve(inputs=X, targets=y, depth=depth, gamma0=1.5, eta=eta, steps=steps)
    assert rich.converged and rich.solvers["dmft"]["status"] == "converged"
    # the initial kernels do not depend on gamma0; the layout is [t, mu, s, nu] with mu over the rows of X
    phi1 = rich.arrays["phi_layer1"]
    assert rich.dims("phi_layer1") == ("t", "mu", "s", "nu") and phi1.shape == (steps, 6, steps, 6)
    np.testing.assert_allclose(phi1[0, :, 0, :], X @ X.T / 11, atol=1e-12)
    np.testing.assert_allclose(rich.arrays["ntk"][0], K, atol=1e-12)
    # the DataFrame, result.json and the CLI's files agree
    with open(rich.path("result.json")) as fh:
        on_disk = json.load(fh)
    np.testing.assert_array_equal(np.asarray(rich.tables["loss"]["loss"]), np.array(on_disk["loss"]))
    np.testing.assert_array_equal(rich.arrays["delta"], np.load(rich.path("delta.npy")))
    np.testing.assert_allclose(rich.tables["loss"]["loss"], 0.5 * (rich.arrays["delta"] ** 2).mean(axis=1), rtol=1e-12)
    # feature learning moves the kernels, and a rich network fits faster than its lazy limit here
    assert np.abs(phi1[-1, :, -1, :] - phi1[0, :, 0, :]).max() > 1e-3
    assert rich.result["final_loss"] < lazy.result["final_loss"]


def test_features_learning_curve_into_a_dataframe(binary):
    pd = pytest.importorskip("pandas")
    n0, noise = 200, 0.25
    samples = [50, 100, 150, 300, 400]
    r = sv.features.theory(n0=n0, samples=samples, noise=noise)   # no hidden layers: linear ridgeless regression
    curve = r.tables["theory"]
    assert isinstance(curve, pd.DataFrame) and list(curve["samples"]) == samples
    alpha = curve["samples"] / n0
    # isotropic min-norm least squares, signal 1: eps_g = (1 - a) + eta^2 a/(1 - a) below a = 1, eta^2/(a - 1) above
    closed = np.where(alpha < 1, (1 - alpha) + noise * alpha / (1 - alpha), noise / (alpha - 1))
    np.testing.assert_allclose(curve["eps_g"], closed, rtol=1e-10)
    np.testing.assert_allclose(curve["e_test"], curve["eps_g"] + noise, rtol=1e-12)
    assert (curve["status"] == "converged").all() and curve["note"].map(type).eq(str).all()
    assert r.result["eps_g"] == list(curve["eps_g"])
