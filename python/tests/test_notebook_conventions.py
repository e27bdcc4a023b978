"""The official notebooks' conventions accepted by `dmft` commands (issue 18; docs/notebooks.md):
D x P inputs (--inputs-layout features-first; a square X is refused without it), a precomputed input kernel
(--kernel), and the mean(Δ²) loss (--loss-convention mean). Each is checked against the run in Solvable's own
convention, which can fail it."""

import numpy as np
import pytest

import solvable as sv

DEPTH, ETA, STEPS = 2, 0.5, 12


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((5, 9))          # P = 5 samples of D = 9 features
    y = np.sign(rng.standard_normal(5))
    return X, y


@pytest.fixture(scope="module")
def reference(binary, data):
    X, y = data
    return sv.dmft.solve(inputs=X, targets=y, depth=DEPTH, gamma0=1.2, eta=ETA, steps=STEPS)


def test_features_first_inputs_match_samples_first(data, reference):
    X, y = data
    r = sv.dmft.solve(inputs=X.T, targets=y, depth=DEPTH, gamma0=1.2, eta=ETA, steps=STEPS, inputs_layout="features-first")
    np.testing.assert_array_equal(r.arrays["delta"], reference.arrays["delta"])
    np.testing.assert_array_equal(r.arrays["phi_layer1"], reference.arrays["phi_layer1"])


def test_square_inputs_need_a_layout(binary, data):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5, 5))
    with pytest.raises(sv.BadInputError) as e:
        sv.dmft.solve(inputs=X, targets=data[1], depth=DEPTH, eta=ETA, steps=STEPS)
    assert "inputs_layout" in str(e.value) or "inputs-layout" in str(e.value)
    ok = sv.dmft.solve(inputs=X, targets=data[1], depth=DEPTH, eta=ETA, steps=STEPS, inputs_layout="samples-first")
    assert ok.converged


def test_kernel_instead_of_inputs(data, reference):
    X, y = data
    K = X @ X.T / X.shape[1]
    r = sv.dmft.solve(kernel=K, targets=y, depth=DEPTH, gamma0=1.2, eta=ETA, steps=STEPS)
    # the DMFT sees the data only through K^x; a different X with the same Gram matrix: equal to rounding
    np.testing.assert_allclose(r.arrays["delta"], reference.arrays["delta"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(r.arrays["phi_layer2"], reference.arrays["phi_layer2"], rtol=0, atol=1e-10)


def test_kernel_must_be_positive_semidefinite(binary, data):
    K = np.diag([1.0, 1.0, 1.0, 1.0, -0.5])
    with pytest.raises(sv.BadInputError) as e:
        sv.dmft.solve(kernel=K, targets=data[1], depth=DEPTH, eta=ETA, steps=STEPS)
    assert "kernel" in str(e.value)


def test_mean_loss_convention_is_twice_the_half_mean(data, reference):
    X, y = data
    r = sv.dmft.solve(inputs=X, targets=y, depth=DEPTH, gamma0=1.2, eta=ETA, steps=STEPS, loss_convention="mean")
    delta = reference.arrays["delta"]
    np.testing.assert_allclose(r.tables["loss"]["loss"], (delta ** 2).mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(r.tables["loss"]["loss"], 2 * reference.tables["loss"]["loss"], rtol=1e-12)
