import Foundation
import LinearAlgebra
import NumericalCore

/// Lazy limit (gamma0 -> 0, centered): the NTK is static but random, K_N = K_inf + dK with N Cov(dK) = kappa, the
/// single-neuron covariance of k_{mu nu} = phi(h_mu) phi(h_nu) + g_mu g_nu K^x_{mu nu}, g = phi'(h) r
/// (docs/theory/finite-width.md §2). Linearizing Delta(t+1) = (I - (eta/P) K) Delta gives the prediction variance.
public enum LazyFluctuations {
    /// The universal single-sample curve N Var Delta(t) = kappa y^2 eta^2 t^2 (1 - eta K)^{2(t-1)} (exact discrete
    /// time) or kappa y^2 tau^2 e^{-2 K tau} with tau = eta t (gradient flow). It peaks at tau = 1/K; only the
    /// prefactor kappa depends on the architecture.
    public static func universalVariance(kappa: Double, kernel K: Double, y: Double, eta: Double, steps: Int,
                                         discrete: Bool = true) -> [Double] {
        (0..<steps).map { t in
            let tt = Double(t)
            if discrete { return t == 0 ? 0 : kappa * y * y * eta * eta * tt * tt * pow(1 - eta * K, 2 * (tt - 1)) }
            let tau = eta * tt
            return kappa * y * y * tau * tau * exp(-2 * K * tau)
        }
    }

    /// K = E k and kappa = Var k for one input with |x|^2/D = 1 (two layers), by Gauss-Hermite quadrature in h with
    /// the readout r integrated analytically (E r^2 = 1, E r^4 = 3). Linear: K = 2, kappa = 4; sqrt(2) ReLU: K = 2,
    /// kappa = 12 (quadrature of the kink converges slowly: use order >= 200 for ReLU).
    public static func twoLayerKernelStatistics(_ act: FluctuationActivation, order: Int = 120) throws -> (kernel: Double, kappa: Double) {
        let gh = try GaussHermite(order: order)
        if act == .sqrt2ReLU { return (2, 12) }   // exact: E phi^2 = E phi'^2 = 1, E k^2 = 6 + 4 + 6
        let e1 = gh.expectation { h in let p = act.phi(h), d = act.dphi(h); return p * p + d * d }
        let e2 = gh.expectation { h in
            let p = act.phi(h), d = act.dphi(h)
            return p * p * p * p + 2 * p * p * d * d + 3 * d * d * d * d
        }
        return (e1, e2 - e1 * e1)
    }

    /// N Var f_*(infinity) for P = 1 with a test point of overlap K^x_*: f_* = y K_*/K, so
    /// N Var f_* = y^2 [kappa_** K^2 - 2 K K_* kappa_* + kappa K_*^2] / K^4 (docs/theory/finite-width.md §2).
    public static func testPointVarianceAtConvergence(_ act: FluctuationActivation, testOverlap o: Double, y: Double,
                                                      order: Int = 80) throws -> Double {
        let gh = try GaussHermite(order: order)
        // k = phi^2 + phi'^2 r^2, k_* = phi phi_* + o phi' phi'_* r^2 with (h, h_*) correlated by o.
        func E(_ f: (Double, Double) -> Double) -> Double { gh.expectation2(c11: 1, c12: o, c22: 1, f) }
        let K = E { h, _ in act.phi(h) * act.phi(h) + act.dphi(h) * act.dphi(h) }
        let Ks = E { h, hs in act.phi(h) * act.phi(hs) + o * act.dphi(h) * act.dphi(hs) }
        // Second moments with E r^2 = 1, E r^4 = 3.
        let kk = E { h, _ in let a = act.phi(h) * act.phi(h), b = act.dphi(h) * act.dphi(h); return a * a + 2 * a * b + 3 * b * b }
        let kks = E { h, hs in
            let a = act.phi(h) * act.phi(h), b = act.dphi(h) * act.dphi(h)
            let c = act.phi(h) * act.phi(hs), d = o * act.dphi(h) * act.dphi(hs)
            return a * c + a * d + b * c + 3 * b * d
        }
        let ksks = E { h, hs in let c = act.phi(h) * act.phi(hs), d = o * act.dphi(h) * act.dphi(hs); return c * c + 2 * c * d + 3 * d * d }
        let kappa = kk - K * K, kappaS = kks - K * Ks, kappaSS = ksks - Ks * Ks
        return y * y * (kappaSS * K * K - 2 * K * Ks * kappaS + kappa * Ks * Ks) / pow(K, 4)
    }

    /// Infinite-width NTK and its single-neuron covariance kappa for P inputs (two layers), by Monte Carlo:
    /// returns K_inf (P x P) and kappa as a P^2 x P^2 matrix over vec(k) (column-major pairs).
    public static func twoLayerKernelNoise(_ act: FluctuationActivation, inputKernel: Matrix, samples: Int, seed: UInt64) throws
        -> (kernel: Matrix, kappa: Matrix) {
        try Validate.inRange("samples", samples, 100...100_000_000)
        let P = inputKernel.rows
        let pr = try TwoLayerProblem(activation: act, gamma0: 1, eta: 1, targets: [Double](repeating: 0, count: P),
                                     inputKernel: inputKernel, steps: 1)
        let factor = try pr.inputFactor()
        let chunk = 4096, nChunks = (samples + chunk - 1) / chunk, P2 = P * P
        let parts: [(Matrix, [Double])] = ThreadPolicy.parallelMap(nChunks) { b in
            let n = min(chunk, samples - b * chunk)
            var rng = RandomStream(seed: seed, point: UInt64(b), sample: 0, purpose: "lazy-kappa")
            let block = SiteBlock(problem: pr, count: n, factor: factor, rng: &rng)
            var X = Matrix(rows: P2, cols: n)
            var s1 = [Double](repeating: 0, count: P2)
            for i in 0..<n {
                let r = block.r[i]
                for a in 0..<P { for c in 0..<P {
                    let ha = block.h[i * P + a], hc = block.h[i * P + c]
                    let v = act.phi(ha) * act.phi(hc) + inputKernel[a, c] * act.dphi(ha) * act.dphi(hc) * r * r
                    X[a + c * P, i] = v; s1[a + c * P] += v
                } }
            }
            return (BLAS.syrk(X), s1)
        }
        var s2 = Matrix(rows: P2, cols: P2), s1 = [Double](repeating: 0, count: P2)
        for (m, v) in parts { s2 = s2 + m; for j in 0..<P2 { s1[j] += v[j] } }
        let n = Double(samples)
        let mean = s1.map { $0 / n }
        let kappa = Matrix(rows: P2, cols: P2) { i, j in (s2[i, j] - n * mean[i] * mean[j]) / (n - 1) }
        return (Matrix(rows: P, cols: P, columnMajor: mean), kappa)
    }

    /// Eigenbasis formula in exact discrete time (docs/theory/finite-width.md §2): with K_inf = sum lambda_k psi_k psi_k^T,
    /// a_k = 1 - (eta/P) lambda_k, y_k = psi_k^T y,
    ///
    ///     v_kl(t) = (eta/P)(a_k^t - a_l^t)/(a_k - a_l) ,  v_kk(t) = (eta/P) t a_k^{t-1}
    ///     N Cov(Delta_k, Delta_k')(t) = sum_{l,l'} kappa_{kl,k'l'} y_l y_l' v_kl v_k'l' ,
    ///
    /// returning sum_mu Delta_mu(t)^2 at infinite width and sum_mu N Var Delta_mu(t) = sum_k N Var Delta_k(t).
    public static func eigenbasisVariance(kernel: Matrix, kappa: Matrix, targets y: [Double], eta: Double, steps: Int) throws
        -> (squaredError: [Double], totalVariance: [Double]) {
        let P = kernel.rows, P2 = P * P
        let (lam, psi) = try LAPACK.symmetricEigen(kernel)
        let yk = BLAS.gemv(psi, y, transpose: true)
        // Rotate kappa: kt[(k,l),(k',l')] = sum psi_{mu k} psi_{nu l} psi_{alpha k'} psi_{beta l'} kappa[(mu,nu),(alpha,beta)]
        let R = Matrix(rows: P2, cols: P2) { i, j in psi[i % P, j % P] * psi[i / P, j / P] }   // (psi (x) psi)
        let kt = BLAS.gemm(R, BLAS.gemm(kappa, R), transposeA: true)
        let h = eta / Double(P)
        let a = lam.map { 1 - h * $0 }
        var sq = [Double](), tv = [Double]()
        for t in 0..<steps {
            let tt = Double(t)
            var e = 0.0
            for k in 0..<P { e += pow(a[k], tt) * pow(a[k], tt) * yk[k] * yk[k] }
            sq.append(e)
            var v = [[Double]](repeating: [Double](repeating: 0, count: P), count: P)  // v[k][l]
            for k in 0..<P { for l in 0..<P {
                if abs(a[k] - a[l]) < 1e-12 * max(1, abs(a[k])) { v[k][l] = t == 0 ? 0 : h * tt * pow(a[k], tt - 1) }
                else { v[k][l] = h * (pow(a[k], tt) - pow(a[l], tt)) / (a[k] - a[l]) }
            } }
            var total = 0.0
            for k in 0..<P {
                for l in 0..<P { for l2 in 0..<P {
                    total += kt[k + l * P, k + l2 * P] * yk[l] * yk[l2] * v[k][l] * v[k][l2]
                } }
            }
            tv.append(total)
        }
        return (sq, tv)
    }
}
