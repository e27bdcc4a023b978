import Foundation
import LinearAlgebra
import NumericalCore

/// Online (population-gradient) learning of a linear target with a two-layer linear network (docs/theory/finite-width.md §7):
/// f(x) = a^T W x/(gamma0 N), a in R^N, W in R^{N x D}, entries N(0, 1) (no 1/sqrt(D)), whitened inputs,
/// beta = W^T a/(gamma0 N), target beta* = e_1; steps a += c W (beta* - beta), W += c a (beta* - beta)^T with
/// c = eta gamma0 (uncentered).
public struct OnlineSetting: Sendable {
    public var gamma0: Double
    public var eta: Double
    public var inputDimension: Int
    public var steps: Int
    public init(gamma0: Double, eta: Double, inputDimension: Int, steps: Int) throws {
        try Validate.positive("gamma0", gamma0)
        try Validate.positive("eta", eta)
        try Validate.inRange("input_dimension", inputDimension, 1...1_000_000)
        try Validate.inRange("steps", steps, 1...1_000_000)
        self.gamma0 = gamma0; self.eta = eta; self.inputDimension = inputDimension; self.steps = steps
    }
}

public enum OnlineFluctuations {
    /// Theory: the target direction follows the uncentered two-layer P = 1 model with y = 1 (Delta = 1 - beta_1),
    /// Sigma_Delta = N Var Delta from section 4(b); each orthogonal direction j >= 2 has N Var beta_j = Sigma_perp:
    ///
    ///     (gamma0 I + D_perp) b = eps_perp ,  N Cov(eps_perp) = C_a ,  C_a(t,s) = [p(t)p(s) + m(t)m(s)]/2
    ///     D_perp = c [Theta (.) C_a + (I - V^2)^{-1} Theta] ,  V = c Theta diag(Delta)
    ///
    /// and E|beta(t) - beta*|^2 = Delta_inf(t)^2 + [Sigma_Delta(t) + (D - 1) Sigma_perp(t)]/N + (bias, measured).
    public static func theory(_ s: OnlineSetting) throws -> (delta: [Double], sigmaDelta: [Double], sigmaPerp: [Double]) {
        let T = s.steps, c = s.eta * s.gamma0
        let lin = try TwoLayerLinearSetting(gamma0: s.gamma0, eta: s.eta, y: 1, steps: T, centered: false)
        let (mean, v) = TwoLayerLinearExact.variance(lin)
        let d = mean.delta
        var p = [Double](repeating: 1, count: T), m = p
        for t in 1..<max(1, T) { p[t] = p[t - 1] * (1 + c * d[t - 1]); m[t] = m[t - 1] * (1 - c * d[t - 1]) }
        let Ca = Matrix(rows: T, cols: T) { t, u in 0.5 * (p[t] * p[u] + m[t] * m[u]) }
        let Theta = Matrix(rows: T, cols: T) { t, u in u < t ? 1 : 0 }
        let V = Matrix(rows: T, cols: T) { t, u in u < t ? c * d[u] : 0 }
        // (I - V^2)^{-1} Theta: I - V^2 is unit lower triangular (V strictly lower), forward substitution.
        var X = Theta
        let IV2 = Matrix.identity(T) - BLAS.gemm(V, V)
        BLAS.trsm(IV2, &X, upper: false, unitDiagonal: true)
        var A = Matrix(rows: T, cols: T) { t, u in u < t ? c * Ca[t, u] : 0 }
        A = A + c * X
        for t in 0..<T { A[t, t] += s.gamma0 }
        // Sigma_perp = A^{-1} C_a A^{-T}: with C_a = F F^T, F = [p, m]/sqrt(2).
        var F = Matrix(rows: T, cols: 2) { t, k in (k == 0 ? p[t] : m[t]) / 2.0.squareRoot() }
        BLAS.trsm(A, &F, upper: false)
        let perp = (0..<T).map { F[$0, 0] * F[$0, 0] + F[$0, 1] * F[$0, 1] }
        return (d, v.delta, perp)
    }

    /// One network's trajectory: |beta(t) - beta*|^2, beta_1(t) and the mean over j >= 2 of beta_j(t)^2.
    public static func train(_ s: OnlineSetting, width N: Int, rng: inout RandomStream) -> (error: [Double], beta1: [Double], perp: [Double]) {
        let D = s.inputDimension, T = s.steps, c = s.eta * s.gamma0
        var a = rng.gaussians(N)
        var W = rng.gaussians(N * D)      // row-major: W[i * D + j]
        var beta = [Double](repeating: 0, count: D), e = beta
        var err = [Double](), b1 = [Double](), perp = [Double]()
        let scale = 1 / (s.gamma0 * Double(N))
        for t in 0..<T {
            for j in 0..<D { beta[j] = 0 }
            W.withUnsafeBufferPointer { Wp in
                for i in 0..<N { let ai = a[i]; let row = i * D; for j in 0..<D { beta[j] += Wp[row + j] * ai } }
            }
            var sq = 0.0, pp = 0.0
            for j in 0..<D {
                beta[j] *= scale
                e[j] = (j == 0 ? 1 : 0) - beta[j]
                sq += e[j] * e[j]
                if j > 0 { pp += beta[j] * beta[j] }
            }
            err.append(sq); b1.append(beta[0]); perp.append(D > 1 ? pp / Double(D - 1) : 0)
            if t + 1 == T { break }
            W.withUnsafeMutableBufferPointer { Wp in
                for i in 0..<N {
                    let row = i * D, ai = a[i]
                    var da = 0.0
                    for j in 0..<D { da += Wp[row + j] * e[j]; Wp[row + j] += c * ai * e[j] }
                    a[i] = ai + c * da
                }
            }
        }
        return (err, b1, perp)
    }

    /// Ensemble statistics: E|beta - beta*|^2, beta_1 (N Var = Sigma_Delta) and N E[beta_j^2] averaged over j >= 2
    /// (its mean estimates Sigma_perp; `perp.mean` times N).
    public static func ensemble(_ s: OnlineSetting, width N: Int, members: Int, seed: UInt64) throws
        -> (error: EnsembleSeries, beta1: EnsembleSeries, perp: EnsembleSeries) {
        let runs = try Ensemble.run(width: N, members: members, seed: seed, purpose: "online") { rng in
            train(s, width: N, rng: &rng)
        }
        return (EnsembleSeries(width: N, values: runs.map(\.error)), EnsembleSeries(width: N, values: runs.map(\.beta1)),
                EnsembleSeries(width: N, values: runs.map(\.perp)))
    }
}
