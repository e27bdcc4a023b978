import Testing
import Foundation
import LinearAlgebra
import NumericalCore
import FiniteWidthFluctuations

/// Spec T5: exact two-layer linear fluctuations (P = 1, y = 1, centered, eta = 0.05, T = 100).
@Suite struct TwoLayerLinearTests {
    /// (i) delta method 8[(dq/dA)^2 + (dq/dB)^2] and (ii) the linear-response form with exact D and kappa are two
    /// evaluations of the same exact expression, so they must agree to rounding: 1e-8 relative where N Var > 1e-6,
    /// 1e-12 absolute elsewhere (late Var Delta ~ 1e-11 is limited by rounding). Also N Var K(0) = 4 exactly.
    @Test(arguments: [0.5, 1.0, 2.0])
    func deltaMethodEqualsLinearResponse(gamma0: Double) throws {
        let s = try TwoLayerLinearSetting(gamma0: gamma0, eta: 0.05, steps: 100)
        let (_, v) = TwoLayerLinearExact.variance(s)
        let lr = TwoLayerLinearExact.linearResponseVariance(s)
        for (a, b) in zip(v.delta + v.kernel, lr.delta + lr.kernel) {
            if abs(a) > 1e-6 { #expect(abs(a - b) <= 1e-8 * abs(a)) } else { #expect(abs(a - b) <= 1e-12) }
        }
        #expect(abs(v.kernel[0] - 4) < 1e-12)
    }

    /// The general propagator (any phi, Gauss-Hermite over the single site) with phi = identity is exact for the
    /// polynomial integrands of the linear network, so it must reproduce the closed form to ~1e-9 relative.
    @Test func propagatorEqualsClosedForm() throws {
        let s = try TwoLayerLinearSetting(gamma0: 1, eta: 0.05, steps: 60)
        let (m, v) = TwoLayerLinearExact.variance(s)
        let pr = try TwoLayerProblem.singlePoint(activation: .linear, gamma0: 1, eta: 0.05, steps: 60, testOverlap: nil)
        let th = try pr.fluctuationTheory(TwoLayerTheoryOptions(quadratureOrder: 16))
        #expect(th.record.status == .converged)
        for t in 0..<60 {
            #expect(abs(th.mean.delta[t] - m.delta[t]) <= 1e-9 * max(1e-3, abs(m.delta[t])))
            if v.delta[t] > 1e-6 { #expect(abs(th.variance.delta[t] - v.delta[t]) <= 1e-8 * v.delta[t]) }
            #expect(abs(th.variance.kernel[t] - v.kernel[t]) <= 1e-8 * v.kernel[t])
        }
    }

    /// (iii) Ensemble, N = 1000, E = 2000: each N Var estimate has relative s.e. sqrt(2/E) = 3.2% for Gaussian
    /// fluctuations (A_N, B_N are chi^2 with N = 1000 dof, kurtosis excess 12/N ~ 1%: negligible). Tolerance
    /// 3 sqrt(2/E) = 9.5% relative, which also covers the O(1/N) = 0.1% corrections.
    @Test func ensembleMatchesExactVariance() throws {
        let T = 25, E = 2000, N = 1000
        let s = try TwoLayerLinearSetting(gamma0: 1, eta: 0.05, steps: T)
        let (_, v) = TwoLayerLinearExact.variance(s)
        let pr = try TwoLayerProblem.singlePoint(activation: .linear, gamma0: 1, eta: 0.05, steps: T, testOverlap: nil)
        let e = try TwoLayerEnsemble(problem: pr, width: N, members: E, seed: 11)
        let tol = 3 * (2.0 / Double(E)).squareRoot()
        for t in [5, 10, 20] {
            #expect(abs(e.delta.scaledVariance[t] / v.delta[t] - 1) < tol, "Delta at t = \(t): \(e.delta.scaledVariance[t]) vs \(v.delta[t])")
            #expect(abs(e.kernel.scaledVariance[t] / v.kernel[t] - 1) < tol, "K at t = \(t): \(e.kernel.scaledVariance[t]) vs \(v.kernel[t])")
        }
    }

    /// The finite-N law (2-D quadrature over the chi^2 laws of A_N, B_N) gives the exact mean (with bias) and
    /// variance at N = 10, where O(1/N^2) effects are visible; ensembles must agree within 3 s.e. (per point,
    /// a handful of points), using the data's own standard errors.
    @Test func finiteWidthLawMatchesEnsembleAtN10() throws {
        let T = 21, N = 10, E = 4000
        let s = try TwoLayerLinearSetting(gamma0: 1, eta: 0.05, steps: T)
        let law = TwoLayerLinearExact.finiteWidthLaw(width: N, s, order: 200)
        let pr = try TwoLayerProblem.singlePoint(activation: .linear, gamma0: 1, eta: 0.05, steps: T, testOverlap: nil)
        let e = try TwoLayerEnsemble(problem: pr, width: N, members: E, seed: 5)
        for t in [5, 10, 20] {
            #expect(abs(e.delta.mean[t] - law.mean.delta[t]) < 3 * e.delta.meanStandardError[t])
            #expect(abs(e.delta.scaledVariance[t] - Double(N) * law.variance.delta[t]) < 3 * e.delta.scaledVarianceStandardError[t])
        }
    }

    /// Weight-space GD (BLAS) and the field-form network are the same computation: equal to rounding.
    @Test func fieldFormEqualsWeightSpace() throws {
        let D = 10, N = 64, T = 30
        var rng = RandomStream(seed: 7, point: 0, sample: 0, purpose: "data")
        var x = (0..<D).map { _ in rng.gaussian() }, x2 = (0..<D).map { _ in rng.gaussian() }
        let nx = (x.reduce(0) { $0 + $1 * $1 } / Double(D)).squareRoot(); x = x.map { $0 / nx }
        var xs = zip(x, x2).map { 0.5 * ($0 + $1) }
        let ns = (xs.reduce(0) { $0 + $1 * $1 } / Double(D)).squareRoot(); xs = xs.map { $0 / ns }
        let X = Matrix(rows: D, cols: 2, columnMajor: x + xs)
        let K = BLAS.gemm(X, X, transposeA: true, alpha: 1 / Double(D))
        let pr = try TwoLayerProblem(activation: .scaledTanh(0.4), gamma0: 2, eta: 0.05, targets: [1], inputKernel: K, steps: T)
        let W = Matrix(rows: N, cols: D, columnMajor: rng.gaussians(N * D)), w = rng.gaussians(N)
        let ws = try TwoLayerWeightSpace.train(pr, inputs: X, firstLayer: W, readout: w)
        let U = BLAS.gemm(W, X, alpha: 1 / Double(D).squareRoot())
        let u = (0..<N).flatMap { i in [U[i, 0], U[i, 1]] }
        let ff = try pr.trainNetwork(initialFields: u, readout: w)
        for (a, b) in zip(ws.delta + ws.testOutput + ws.kernel, ff.delta + ff.testOutput + ff.kernel) {
            #expect(abs(a - b) < 1e-10 * max(1, abs(a)))
        }
    }

    /// Section 4(c): the (f, K) recursion is the exact uncentered width-N dynamics given (A_N, B_N).
    @Test func fkRecursionEqualsUncenteredReduction() throws {
        for (A, B) in [(2.0, 2.0), (2.3, 1.8)] {
            let s = try TwoLayerLinearSetting(gamma0: 3, eta: 0.2, y: 1, steps: 30, centered: false)
            let a = TwoLayerLinearExact.trajectory(A: A, B: B, s)
            let b = TwoLayerLinearExact.fkRecursion(gamma0: 3, eta: 0.2, y: 1, steps: 30, A: A, B: B)
            for t in 0..<30 {
                #expect(abs(a.output[t] - b.output[t]) < 1e-9 * max(1, abs(a.output[t])))
                #expect(abs(a.kernel[t] - b.kernel[t]) < 1e-9 * max(1, abs(a.kernel[t])))
            }
        }
        // Uncentered: N Var f(0) = 1/gamma0^2, N Var K(0) = 4. Gradient flow: K -> 2 sqrt(1 + gamma0^2 y^2).
        let s = try TwoLayerLinearSetting(gamma0: 2, eta: 0.001, y: 1, steps: 20_000, centered: false)
        let (m, v) = TwoLayerLinearExact.variance(s)
        #expect(abs(v.output[0] - 0.25) < 1e-12)
        #expect(abs(v.kernel[0] - 4) < 1e-12)
        #expect(abs(m.kernel.last! / TwoLayerLinearExact.gradientFlowFinalKernel(gamma0: 2, y: 1) - 1) < 0.01)
    }
}
