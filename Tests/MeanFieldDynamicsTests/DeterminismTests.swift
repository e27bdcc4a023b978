import Foundation
import Testing
import LinearAlgebra
import NumericalCore
import MeanFieldDynamics

/// Largest |a - b| / max(|b|) over paired arrays (0 when both are zero).
func dmftMaxRelative(_ a: [Double], _ b: [Double]) -> Double {
    let scale = b.map(abs).max() ?? 0
    let d = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    return scale > 0 ? d / scale : d
}

/// Issue 9: the same seed gives the same result with 1 and 2 threads (per-path streams, static work assignment;
/// the Monte Carlo response sums are reduced per worker, so agreement is to 1e-12 relative, not bitwise).
@Suite struct DMFTDeterminismTests {
    @Test func monteCarloOneVersusTwoThreads() throws {
        let pr = try specProblem(depth: 2, gamma0: 1, p: 3, d: 6, steps: 6, eta: 0.3, activation: try .tanh())
        let opts = NonlinearDMFTOptions(samples: 64, maxIterations: 4, tolerance: 1e-14)
        let a = try NonlinearDMFT.solve(pr, options: opts, seed: 5, threads: 1)
        let b = try NonlinearDMFT.solve(pr, options: opts, seed: 5, threads: 2)
        #expect(dmftMaxRelative(a.trajectory.loss, b.trajectory.loss) <= 1e-12)
        for l in 0..<2 {
            #expect(dmftMaxRelative(a.trajectory.kernelPhi[l].storage, b.trajectory.kernelPhi[l].storage) <= 1e-12)
            #expect(dmftMaxRelative(a.trajectory.kernelG[l].storage, b.trajectory.kernelG[l].storage) <= 1e-12)
        }
        #expect(dmftMaxRelative(a.responseA[0].storage, b.responseA[0].storage) <= 1e-12)
    }

    @Test func ensembleTrainerOneVersusTwoThreads() throws {
        let pr = try specProblem(depth: 2, gamma0: 1, p: 4, d: 8, steps: 10, eta: 0.3, activation: try .tanh())
        let trainer = try NetworkTrainer(problem: pr, width: 64)
        let a = try trainer.trainEnsemble(seed: 9, members: 3, threads: 1)
        let b = try trainer.trainEnsemble(seed: 9, members: 3, threads: 2)
        for (x, y) in zip(a, b) {
            #expect(dmftMaxRelative(x.loss, y.loss) <= 1e-12)
            #expect(dmftMaxRelative(x.kernelPhi[1].storage, y.kernelPhi[1].storage) <= 1e-12)
        }
    }
}
