import Foundation
import LinearAlgebra
import NumericalCore

/// Deep linear networks with one training point (P = 1, |x|^2/D = 1), L hidden layers of width N, trained by exact
/// full-batch GD in the mean-field parameterization (docs/theory/finite-width.md §6 / dmft.md sections 1, 5):
///
///     h^1 = W^0 x/sqrt(D) ,  h^{l+1} = W^l h^l / sqrt(N) ,  f = w.h^L/(gamma0 N) ,  g^L = w ,  g^l = W^l^T g^{l+1}/sqrt(N)
///     w += c Delta h^L ,  W^l += (c/sqrt(N)) Delta g^{l+1} h^l^T ,  h^1 += c Delta g^1   (c = eta gamma0; W^0 x enters only via h^1)
///
/// NTK K = sum_{l=0}^{L} G^{l+1} H^l with H^l = |h^l|^2/N (H^0 = 1), G^l = |g^l|^2/N (G^{L+1} = 1).
///
/// The leading-order theory is `DeepLinearPropagator` (Hessian of the full DMFT action, docs/theory/finite-width.md §6); this
/// trainer gives the measured N Var of Delta(t) and K(t) it is tested against. It is the P = 1 case of
/// `MeanFieldDynamics.NetworkTrainer` without its kernel recording (the ensembles need only K(t)); the two agree to
/// rounding on the same weights (`CrossModuleTests`).
public enum DeepLinearEnsemble {
    public struct Trajectory: Sendable { public var delta: [Double]; public var kernel: [Double] }

    public static func train(depth L: Int, width N: Int, gamma0: Double, eta: Double, y: Double, steps T: Int,
                             rng: inout RandomStream) -> Trajectory {
        let h1 = (0..<N).map { _ in rng.gaussian() }
        let Ws = (0..<max(0, L - 1)).map { _ in Matrix(rows: N, cols: N, columnMajor: rng.gaussians(N * N)) }
        let w = rng.gaussians(N)
        return train(firstFields: h1, hidden: Ws, readout: w, gamma0: gamma0, eta: eta, y: y, steps: T)
    }

    /// Trains from explicit initial weights (h^1(0) = W^0 x/sqrt(D), hidden N x N matrices, readout).
    public static func train(firstFields h1: [Double], hidden Ws0: [Matrix], readout w0: [Double], gamma0: Double, eta: Double,
                             y: Double, steps T: Int) -> Trajectory {
        let N = h1.count, L = Ws0.count + 1, c = eta * gamma0, sN = 1 / Double(N).squareRoot(), Nd = Double(N)
        var hFirst = h1, Ws = Ws0, w = w0
        var delta = [Double](), kernel = [Double]()
        var f0 = 0.0
        func sq(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 } / Nd }
        for t in 0..<T {
            var hs = [hFirst]
            for l in 0..<(L - 1) { hs.append(BLAS.gemv(Ws[l], hs[l], alpha: sN)) }
            let f = BLAS.dot(w, hs[L - 1]) / (gamma0 * Nd)
            if t == 0 { f0 = f }
            let d = y - (f - f0)
            var gs = [[Double]](repeating: [], count: L)
            gs[L - 1] = w
            for l in stride(from: L - 2, through: 0, by: -1) { gs[l] = BLAS.gemv(Ws[l], gs[l + 1], transpose: true, alpha: sN) }
            var K = sq(gs[0])                               // l = 0: G^1 H^0
            for l in 1..<L { K += sq(gs[l]) * sq(hs[l - 1]) } // G^{l+1} H^l, l = 1..L-1
            K += sq(hs[L - 1])                              // G^{L+1} H^L
            delta.append(d); kernel.append(K)
            if t + 1 == T { break }
            for l in 0..<(L - 1) {                          // W^l += (c/sqrt(N)) Delta g^{l+1} h^l^T
                let a = c * sN * d, g = gs[l + 1], h = hs[l]
                Ws[l].storage.withUnsafeMutableBufferPointer { p in
                    for j in 0..<N { let s = a * h[j]; if s == 0 { continue }; for i in 0..<N { p[i + j * N] += s * g[i] } }
                }
            }
            for i in 0..<N { hFirst[i] += c * d * gs[0][i]; w[i] += c * d * hs[L - 1][i] }
        }
        return Trajectory(delta: delta, kernel: kernel)
    }

    /// Bytes an ensemble needs: per thread one member's (L - 1) N x N hidden weights (plus a copy while training
    /// starts) and O(L N) vectors, plus the recorded E x T x 2 values, kept twice.
    public static func memoryEstimate(depth L: Int, width N: Int, members E: Int, steps T: Int, threads: Int) -> Int {
        MemoryBudget.sum(MemoryBudget.product(max(1, min(threads, E)), MemoryBudget.sum(MemoryBudget.product(2, max(0, L - 1), N, N), MemoryBudget.product(4 * L + 4, N)), 8),
                           MemoryBudget.product(E, T, 2, 2, 8))
    }

    /// Measured ensemble statistics of Delta(t) and K(t).
    public static func ensemble(depth L: Int, width N: Int, gamma0: Double, eta: Double, y: Double = 1, steps T: Int,
                                members E: Int, seed: UInt64, memoryCap: Int? = nil) throws -> (delta: EnsembleSeries, kernel: EnsembleSeries) {
        try Validate.inRange("depth", L, 1...100)
        try Validate.inRange("width", N, 2...100_000)
        try Validate.positive("gamma0", gamma0)
        try Validate.positive("eta", eta)
        try Validate.inRange("members", E, 4...10_000_000)
        let need = memoryEstimate(depth: L, width: N, members: E, steps: T, threads: ThreadPolicy.threads)
        try MemoryBudget.check(need, cap: memoryCap,
                                 hint: "deep-linear ensemble: \(min(ThreadPolicy.threads, E)) thread(s) x (L - 1) N^2 doubles of hidden weights (N = \(N), L = \(L)) plus E x T x 2 recorded values (E = \(E), T = \(T)); reduce width, depth or members, or use fewer threads")
        let runs = try Ensemble.run(width: N, members: E, seed: seed, purpose: "deep-linear") { rng in
            train(depth: L, width: N, gamma0: gamma0, eta: eta, y: y, steps: T, rng: &rng)
        }
        return (EnsembleSeries(width: N, values: runs.map(\.delta)), EnsembleSeries(width: N, values: runs.map(\.kernel)))
    }
}
