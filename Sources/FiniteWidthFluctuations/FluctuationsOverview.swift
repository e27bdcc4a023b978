import NumericalCore

/// FiniteWidthFluctuations: the O(1/N) theory of kernel and prediction fluctuations around the DMFT
/// (Bordelon & Pehlevan, NeurIPS 2023, "Dynamics of finite width kernel and prediction fluctuations in mean field
/// neural networks"; spec `models/finite-width.md`), with the network ensembles that test it.
///
/// Contents. The DMFT itself (the infinite-width mean) is `MeanFieldDynamics`; the pieces below that re-solve it for
/// a special case do so in the variables their fluctuation theory differentiates, and `CrossModuleTests` checks the
/// deep-linear ones against `MeanFieldDynamics` (same GD to 1e-10, same saddle to 1e-9).
/// * `TwoLayerLinearExact`: exact discrete-time reduction of the two-layer linear network (section 4), the (f, K)
///   recursion and the finite-N law. Stand-alone closed forms; nothing to switch.
/// * `TwoLayerProblem.fluctuationTheory`: the two-layer propagator (section 3) for any phi, any P, test points.
///   Its single-site forward sweep (`SiteBlock`) is the two-layer case of the process `MeanFieldDynamics.NonlinearDMFT`
///   samples; pass 1 is the DMFT mean, passes 2-3 (sensitivities, influences) differentiate it.
/// * `LazyFluctuations`: static random NTK (section 2): universal P = 1 curve, eigenbasis formula, test point.
/// * `DeepInitFluctuations`: depth accumulation at initialization (section 5), exact O(N L) sampler + dense check.
/// * `OnlineFluctuations`: online learning, Sigma_Delta and Sigma_perp (section 7), and its trainer.
/// * Ensembles: `TwoLayerEnsemble` (field form, identical to `TwoLayerWeightSpace` GD to rounding),
///   `DeepLinearEnsemble` (P = 1, BLAS), all seeded per (width, member) and parallel over members.
///   `DeepLinearEnsemble` is a P = 1 specialization of `MeanFieldDynamics.NetworkTrainer` (scalar NTK only, no
///   kernel recording), equal to it draw for draw on the same weights.
///   `TwoLayerWeightEnsemble`: the same two-layer law in weight space (W in R^{N x D}, P = 1), BLAS-batched over
///   chunks of members with a SIMD tanh (`FastTanh`): benchmark case 5. Every ensemble checks its memory estimate
///   first (`MemoryBudget`, refused with the estimate and what to reduce).
/// * Solver records: the deep-linear saddle has a validated `maxIterations`/`tolerance` budget and names itself
///   (`DeepLinearPropagator.saddleSolverName`); the two-layer propagator is a causal sweep (no budget) recorded
///   `diverged` on non-finite values; ensemble training that blows up is recorded `diverged` by the ensemble command.
/// * `DeepLinearPropagator`: trained deep linear networks, P = 1, from the Hessian of the full action (section 6),
///   exact-discrete (default) or Euler Delta. Its saddle point is the deep-linear DMFT of `MeanFieldDynamics`
///   (dmft.md 5) at P = 1.
/// * Not implemented: the Euler-form two-layer propagator of section 3 (the exact discrete-time form is used instead; it is what GD
///   ensembles follow), and the O(1/N) bias by theory except for the two-layer linear finite-N law (biases are measured).
public enum FiniteWidthFluctuationsModule {
    public static let reference = "Bordelon & Pehlevan, NeurIPS 2023"
}
