import Foundation
import Testing
import LinearAlgebra
import NumericalCore
import MeanFieldDynamics
import FiniteWidthFluctuations

/// This module carries its own P = 1 deep-linear pieces (a network trainer and the DMFT saddle inside the
/// propagator), written independently of `MeanFieldDynamics`. Here each is checked against its general
/// counterpart there, so the two implementations test each other.
@Suite struct CrossModuleTests {
    /// One training point with |x|^2 / D = 1, as `DeepLinearEnsemble` and `DeepLinearPropagator` assume.
    func onePointProblem(depth: Int, gamma0: Double, eta: Double, steps: Int, y: Double = 1) throws -> DMFTProblem {
        var rng = RandomStream(seed: 77)
        let x = rng.gaussians(8)
        let norm = (x.reduce(0) { $0 + $1 * $1 } / 8).squareRoot()
        let data = try DMFTData(trainInputs: [x.map { $0 / norm }], targets: [y])
        return try DMFTProblem(data: data, depth: depth, activation: .linear, gamma0: gamma0, eta: eta, timeSteps: steps)
    }

    /// Same initial weights, same GD: Delta(t) and K(t) agree to rounding (rtol 1e-10 over 30 steps at N = 64).
    @Test(arguments: [1, 2, 3]) func deepLinearTrainerEqualsNetworkTrainer(depth: Int) throws {
        let pr = try onePointProblem(depth: depth, gamma0: 1.2, eta: 0.2, steps: 30)
        let trainer = try NetworkTrainer(problem: pr, width: 64)
        let w = trainer.initialWeights(seed: 5)
        let x = pr.data.inputs.storage, d = Double(x.count)
        let h1 = BLAS.gemv(w.w0, x, alpha: 1 / d.squareRoot())
        let mine = DeepLinearEnsemble.train(firstFields: h1, hidden: w.hidden, readout: w.readout, gamma0: pr.gamma0,
                                            eta: pr.eta, y: 1, steps: pr.timeSteps)
        let theirs = try trainer.train(initial: w)
        for t in 0..<pr.timeSteps {
            #expect(abs(mine.delta[t] - theirs.delta[t][0]) <= 1e-10 * max(1, abs(theirs.delta[t][0])), "Delta at t = \(t)")
            #expect(abs(mine.kernel[t] - theirs.ntk[t][0, 0]) <= 1e-10 * abs(theirs.ntk[t][0, 0]), "K at t = \(t)")
        }
    }

    /// The propagator's saddle point (Euler Delta) is the deep-linear DMFT: Delta(t) and H^l(t, s), G^l(t, s) agree
    /// with `DeepLinearDMFT` (both solved to ~1e-12; tolerance 1e-9 absolute).
    @Test(arguments: [1, 2, 3]) func propagatorSaddleEqualsDeepLinearDMFT(depth: Int) throws {
        let T = 12, gamma0 = 1.0, eta = 0.15
        let prop = try DeepLinearPropagator(depth: depth, steps: T, gamma0: gamma0, eta: eta, exactDiscrete: false)
        let (x, rec) = try prop.saddle()
        #expect(rec.status == .converged)
        var options = DeepLinearDMFTOptions()
        options.tolerance = 1e-13
        let dmft = try DeepLinearDMFT.solve(try onePointProblem(depth: depth, gamma0: gamma0, eta: eta, steps: T), options: options)
        #expect(dmft.record.status == .converged)
        let tr = dmft.trajectory
        // the propagator's variable layout: H^1..H^L, their duals, G^1..G^L, ... (T x T row-major each), then Delta
        let T2 = T * T, L = depth
        for t in 0..<T {
            #expect(abs(x[(6 * L - 2) * T2 + t] - tr.delta[t][0]) <= 1e-9, "Delta at t = \(t)")
            for l in 1...L { for s in 0..<T {
                #expect(abs(x[(l - 1) * T2 + t * T + s] - tr.kernelPhi[l - 1][t, s]) <= 1e-9, "H^\(l)(\(t), \(s))")
                #expect(abs(x[(2 * L + l - 1) * T2 + t * T + s] - tr.kernelG[l - 1][t, s]) <= 1e-9, "G^\(l)(\(t), \(s))")
            } }
        }
    }
}
