import Foundation
import Testing
import LinearAlgebra
import NumericalCore
import MeanFieldDynamics

@Suite(.serialized) struct NetworkAgreementTests {
    /// Networks at N = 1000 on the spec's deep linear setting (P = 20, D = 40, L = 3, eta = 0.025, T = 100):
    /// final loss within 5% of the DMFT and per-layer H and G alignment >= 0.98 (one seed each; the finite-width
    /// loss fluctuation is O(1/sqrt(N)) ~ 3% here, see finite-width.md).
    @Test(arguments: [0.5, 1.5]) func networksMatchDeepLinearDMFT(gamma0: Double) throws {
        let pr = try specProblem(depth: 3, gamma0: gamma0)
        let clock = Stopwatch()
        let sol = try DeepLinearDMFT.solve(pr)
        let solveTime = clock.elapsed
        #expect(sol.record.status == .converged)
        let net = try NetworkTrainer(problem: pr, width: 1000).trainEnsemble(seed: 7, members: 2)
        let mean = KernelTrajectory.mean(net)
        let rel = KernelComparison.finalLossRelativeDifference(mean, sol.trajectory)
        #expect(rel < 0.05, "final loss NN \(mean.finalLoss) DMFT \(sol.trajectory.finalLoss)")
        var report = "gamma0 \(gamma0): solve \(solveTime) s, \(sol.record.iterations) sweeps, rel loss diff \(rel)"
        for l in 1...3 {
            let ah = KernelComparison.alignment(sol.trajectory, mean, layer: l, kernel: .phi)
            let ag = KernelComparison.alignment(sol.trajectory, mean, layer: l, kernel: .g)
            report += "; layer \(l): A(H) \(ah) A(G) \(ag)"
            #expect(ah >= 0.98 && ag >= 0.98, "layer \(l): A(H) \(ah) A(G) \(ag)")
        }
        print(report)
    }
}
