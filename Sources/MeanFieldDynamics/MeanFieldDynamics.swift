import LinearAlgebra
import NumericalCore

/// # MeanFieldDynamics
///
/// Self-consistent dynamical mean field theory (DMFT) of kernel evolution in wide networks, after
/// Bordelon & Pehlevan, "Self-Consistent Dynamical Field Theory of Kernel Evolution in Wide Neural Networks"
/// (NeurIPS 2022), with the conventions of `docs/theory/dmft.md`:
///
/// * f_mu = w . phi(h^L_mu) / (gamma0 N), learning rate eta gamma0^2 N, loss (1/2P) sum_mu (f - f(0) - y)^2,
///   centered outputs (Delta(0) = y), grid time t = "after t updates", t = 0..<T.
/// * Kernels are stored as (T P) x (T P) matrices with row (t, mu) = t * P + mu and column (s, nu)
///   (the row-major [t, mu, s, nu] tensor); response functions A, B are grid normalized (docs/theory/dmft.md §2).
///
/// Public entry points:
/// * `DMFTData` - inputs, targets, optional test points, input kernel K^x.
/// * `Activation` - phi with derivatives (linear, tanh with gain, ReLU, sqrt2-ReLU, erf, softplus, closures).
/// * `NetworkTrainer` - finite-width mean-field networks trained by full-batch GD, ensembles over seeds.
/// * `DeepLinearDMFT` - the closed-form deep linear DMFT solver (docs/theory/dmft.md §5).
/// * `NonlinearDMFT` - the alternating Monte Carlo DMFT solver (docs/theory/dmft.md §6).
/// * `DMFTApproximations` - static NTK, gradient independence, perturbation theory (docs/theory/dmft.md §7).
/// * `KernelTrajectory` - the common output (loss, Delta, predictions, Phi^l, G^l, NTK) and `KernelComparison`.
public enum MeanFieldDynamics {
    /// Spec document of the model, relative to the repository's shared folder.
    public static let specification = "docs/theory/dmft.md"
}
