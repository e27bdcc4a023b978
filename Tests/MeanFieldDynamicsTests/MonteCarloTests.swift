import Foundation
import Testing
import LinearAlgebra
import NumericalCore
import MeanFieldDynamics

@Suite struct MonteCarloDMFTTests {
    /// T12(a): with a linear activation the Monte Carlo solver reproduces the deep linear closed form within its
    /// Monte Carlo error. R = 2 replicas of S = 4000 paths. The loss is compared in units of its standard error
    /// over replicas (5 s.e., plus a 1e-3 relative floor for the iteration tolerance). The relative Frobenius error
    /// of an empirical covariance of n = 4 points from R S paths is about sqrt((n + 1) / (R S)) = 0.025; the bound
    /// is 4 times that (0.1). A and B (first replica) inherit the kernels' noise: bound 4 / sqrt(S) = 0.063.
    /// (At S = 16000 the errors drop to ~0.01 for H, G and < 0.01 for A, B: no bias.)
    @Test func linearMonteCarloMatchesClosedForm() throws {
        let pr = try specProblem(depth: 3, gamma0: 1.0, p: 4, d: 8, steps: 12, eta: 0.2)
        let exact = try DeepLinearDMFT.solve(pr)
        let opts = NonlinearDMFTOptions(samples: 4000, damping: 0.8, maxIterations: 60, replicas: 2)
        let mc = try NonlinearDMFT.solve(pr, options: opts, seed: 3)
        #expect(mc.record.status == .converged, "\(mc.record.residualHistory)")
        let reps = mc.replicaTrajectories
        var zmax = 0.0
        for t in 0..<pr.timeSteps {
            let vals = reps.map { $0.loss[t] }
            let se = Statistics.standardError(vals)
            let z = abs(Statistics.mean(vals) - exact.trajectory.loss[t]) / (se + 1e-3 * exact.trajectory.loss[t])
            zmax = max(zmax, z)
        }
        #expect(zmax < 5, "max z of loss \(zmax)")
        for l in 1...3 {
            let eh = (mc.trajectory.kernelPhi[l - 1] - exact.trajectory.kernelPhi[l - 1]).frobeniusNorm / exact.trajectory.kernelPhi[l - 1].frobeniusNorm
            let eg = (mc.trajectory.kernelG[l - 1] - exact.trajectory.gradientFull(layer: l)).frobeniusNorm / exact.trajectory.gradientFull(layer: l).frobeniusNorm
            // relative Frobenius error of a mean of R S = 8000 paths: a few / sqrt(8000) ~ 0.03
            #expect(eh < 0.1 && eg < 0.1, "layer \(l): rel error H \(eh) G \(eg)")
            print("layer \(l): MC vs closed form rel error H \(eh) G \(eg)")
        }
        // Responses: for linear phi, A_DL[t,mu,s] = sum_nu A_MC[t,mu,s,nu] and B_DL[t,s,nu] = B_MC[t,mu,s,nu] (any mu).
        let n = 4, T = pr.timeSteps
        for l in 0..<2 {
            var aSum = Matrix(rows: T * n, cols: T), bAvg = Matrix(rows: T, cols: T * n)
            for i in 0..<(T * n) { for s in 0..<T { for nu in 0..<n { aSum[i, s] += mc.responseA[l][i, s * n + nu] } } }
            for t in 0..<T { for mu in 0..<n { for j in 0..<(T * n) { bAvg[t, j] += mc.responseB[l][t * n + mu, j] / Double(n) } } }
            let ea = (aSum - exact.responseA[l]).frobeniusNorm / exact.responseA[l].frobeniusNorm
            let eb = (bAvg - exact.responseB[l]).frobeniusNorm / exact.responseB[l].frobeniusNorm
            print("A^\(l + 1) rel error \(ea), B^\(l + 1) rel error \(eb)")
            #expect(ea < 4 / 4000.0.squareRoot() && eb < 4 / 4000.0.squareRoot(), "A^\(l + 1) \(ea) B^\(l + 1) \(eb)")
        }
        print("loss max z \(zmax); MC iterations \(mc.record.iterations), time \(mc.record.elapsedSeconds) s")
    }
}

@Suite struct MonteCarloPrecisionTests {
    /// The Jacobian recursions in single precision (the default) against double precision, same seed and draws,
    /// tanh, L = 3 (A and B at every layer), a fixed number of iterations: the two differ by rounding only. The
    /// Monte Carlo error of an average over S paths is ~1/sqrt(S) relative (0.044 here); single precision must stay
    /// below 1e-3 of it in loss, Phi^l, G^l, A^l and B^l (measured ~1e-7 to 1e-6 relative).
    @Test func singlePrecisionResponsesAreFarBelowMonteCarloError() throws {
        let pr = try specProblem(depth: 3, gamma0: 1, p: 4, d: 8, steps: 10, eta: 0.2, activation: try .tanh())
        let S = 512
        var opts = NonlinearDMFTOptions(samples: S, maxIterations: 6, tolerance: 1e-14)
        let single = try NonlinearDMFT.solve(pr, options: opts, seed: 9, threads: 2)
        opts.singlePrecisionResponses = false
        let double = try NonlinearDMFT.solve(pr, options: opts, seed: 9, threads: 2)
        let a = single.trajectory, b = double.trajectory
        var worst = dmftMaxRelative(a.loss, b.loss)
        for l in 0..<3 {
            worst = max(worst, dmftMaxRelative(a.kernelPhi[l].storage, b.kernelPhi[l].storage),
                        dmftMaxRelative(a.kernelG[l].storage, b.kernelG[l].storage))
        }
        for l in 0..<2 {
            worst = max(worst, dmftMaxRelative(single.responseA[l].storage, double.responseA[l].storage),
                        dmftMaxRelative(single.responseB[l].storage, double.responseB[l].storage))
        }
        let monteCarloError = 1 / Double(S).squareRoot()
        print("single vs double precision responses: max relative difference \(worst) (Monte Carlo error ~\(monteCarloError))")
        #expect(worst > 0 && worst < 1e-3 * monteCarloError, "\(worst)")
    }
}

@Suite struct TwoLayerPathwiseTests {
    /// T12(b): for L = 1 the S-path process with the exact discrete Delta is pathwise a width-S network trained
    /// from the same draws (u_i = W^0_i X / sqrt(D), r_i = w_i): Delta and Phi^1, G^1 agree to 1e-10.
    @Test func monteCarloWithSPathsIsAWidthSNetwork() throws {
        let pr = try specProblem(depth: 1, gamma0: 1.0, p: 5, d: 10, steps: 30, eta: 0.2, activation: try .tanh(gain: 1))
        let S = 200
        let trainer = try NetworkTrainer(problem: pr, width: S)
        let w = trainer.initialWeights(seed: 11)
        let u = BLAS.gemm(w.w0, pr.data.inputs, alpha: 1 / 10.0.squareRoot())   // S x n
        let opts = NonlinearDMFTOptions(samples: S, damping: 1, maxIterations: 100, tolerance: 1e-13, exactDelta: true,
                                        initialFields: (u, w.readout))
        let mc = try NonlinearDMFT.solve(pr, options: opts)
        let net = trainer.train(seed: 11)
        #expect(mc.record.status == .converged)
        let dd = zip(mc.trajectory.delta.flatMap { $0 }, net.delta.flatMap { $0 }).map { abs($0 - $1) }.max()!
        let dphi = (mc.trajectory.kernelPhi[0] - net.kernelPhi[0]).maxAbs
        let dg = (mc.trajectory.kernelG[0] - net.kernelG[0]).maxAbs
        print("pathwise L = 1: |dDelta| \(dd), |dPhi| \(dphi), |dG| \(dg), iterations \(mc.record.iterations)")
        #expect(dd < 1e-10 && dphi < 1e-10 && dg < 1e-10)
        // With the Euler Delta the same paths differ from the network by O(eta).
        var eOpts = opts; eOpts.exactDelta = false
        let eu = try NonlinearDMFT.solve(pr, options: eOpts)
        let de = zip(eu.trajectory.delta.flatMap { $0 }, net.delta.flatMap { $0 }).map { abs($0 - $1) }.max()!
        print("Euler vs network max |dDelta| \(de)")
        #expect(de > 1e-6 && de < 0.2)
    }
}
