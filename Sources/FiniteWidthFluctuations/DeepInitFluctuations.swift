import Foundation
import LinearAlgebra
import NumericalCore

/// Deep networks at initialization, one input with |x|^2/D = 1 and a homogeneous phi with E phi(z)^2 = 1
/// (linear or sqrt(2) ReLU), L hidden layers of width N (docs/theory/finite-width.md §5).
///
/// Given layer l the next preactivations are exactly i.i.d. N(0, Phi^l), so Phi^{l+1} = Phi^l m_{l+1} with
/// independent m = (1/N) sum phi(z_i)^2, and at O(1/N)
///
///     N Cov(Phi^l, Phi^l') = V min(l, l') ,   N Cov(G^l, G^l') = V min(L - l + 1, L - l' + 1) ,   V = E phi^4 - 1
///
/// (V = 2 linear, 5 for sqrt(2) ReLU): the variance accumulates linearly with depth, forward for Phi and backward
/// for G (the L/N depth-to-width effect).
public enum DeepInitFluctuations {
    /// V = E phi(z)^4 - 1 (linear: 2, sqrt(2) ReLU: 5).
    public static func accumulationRate(_ act: FluctuationActivation) throws -> Double {
        switch act {
        case .linear: return 2
        case .sqrt2ReLU: return 5
        case .scaledTanh: throw SolvableError.invalidParameter(name: "activation", value: act.description,
                                                               allowed: "linear or relu (homogeneous with E phi^2 = 1)")
        }
    }

    /// Theory covariance matrices (L x L) of N Cov(Phi^l, Phi^l') and N Cov(G^l, G^l'), layers 1..L.
    public static func theory(_ act: FluctuationActivation, depth L: Int) throws -> (phi: Matrix, gradient: Matrix) {
        try Validate.inRange("depth", L, 1...10_000)
        let V = try accumulationRate(act)
        return (Matrix(rows: L, cols: L) { i, j in V * Double(min(i, j) + 1) },
                Matrix(rows: L, cols: L) { i, j in V * Double(min(L - i, L - j)) })
    }

    /// One network's (Phi^1..Phi^L, G^1..G^L), sampled exactly in O(N L) per network.
    ///
    /// Forward: h^{l+1} = W^l phi(h^l)/sqrt(N) is exactly N(0, Phi^l I) given layer l. Backward: z^l = W^l^T g^{l+1}/sqrt(N)
    /// uses the same W^l; writing W = W P + W (I - P) with P the projector on phi^l, W P is fixed by h^{l+1}
    /// (W phihat = sqrt(N) h^{l+1}/|phi^l|) and W (I - P) is independent of everything downstream, so
    /// z^l = [phihat (sqrt(N) h^{l+1}.g^{l+1}/|phi^l|) + (I - P) xi |g^{l+1}|]/sqrt(N), xi ~ N(0, I) exactly.
    /// `sampleDense` draws the same law with explicit N x N Gaussian matrices (for checks).
    public static func sample(_ act: FluctuationActivation, width N: Int, depth L: Int, rng: inout RandomStream) -> (phi: [Double], gradient: [Double]) {
        var hs = [[Double]](), phis = [[Double]]()
        var h = (0..<N).map { _ in rng.gaussian() }
        for l in 0..<L {
            let p = h.map { act.phi($0) }
            hs.append(h); phis.append(p)
            if l + 1 < L {
                let s = (p.reduce(0) { $0 + $1 * $1 } / Double(N)).squareRoot()
                h = (0..<N).map { _ in s * rng.gaussian() }
            }
        }
        var g = zip(hs[L - 1], (0..<N).map { _ in rng.gaussian() }).map { act.dphi($0) * $1 }
        var G = [Double](repeating: 0, count: L)
        G[L - 1] = g.reduce(0) { $0 + $1 * $1 } / Double(N)
        for l in stride(from: L - 2, through: 0, by: -1) {
            let p = phis[l], hn = hs[l + 1]
            let pn = p.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let gn = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let xi = (0..<N).map { _ in rng.gaussian() }
            var z = [Double](repeating: 0, count: N)
            if pn > 0 {
                let proj = zip(hn, g).reduce(0) { $0 + $1.0 * $1.1 } * Double(N).squareRoot() / pn
                let xiP = zip(p, xi).reduce(0) { $0 + $1.0 * $1.1 } / pn
                for i in 0..<N { z[i] = (p[i] / pn * proj + (xi[i] - p[i] / pn * xiP) * gn) / Double(N).squareRoot() }
            } else {
                for i in 0..<N { z[i] = xi[i] * gn / Double(N).squareRoot() }
            }
            g = (0..<N).map { act.dphi(hs[l][$0]) * z[$0] }
            G[l] = g.reduce(0) { $0 + $1 * $1 } / Double(N)
        }
        let Phi = phis.map { $0.reduce(0) { $0 + $1 * $1 } / Double(N) }
        return (Phi, G)
    }

    /// Reference sampler with explicit weights (BLAS gemv), O(N^2 L).
    public static func sampleDense(_ act: FluctuationActivation, width N: Int, depth L: Int, rng: inout RandomStream) -> (phi: [Double], gradient: [Double]) {
        var Ws = [Matrix]()
        var hs = [[Double]](), phis = [[Double]]()
        var h = (0..<N).map { _ in rng.gaussian() }
        let sn = 1 / Double(N).squareRoot()
        for l in 0..<L {
            let p = h.map { act.phi($0) }
            hs.append(h); phis.append(p)
            if l + 1 < L {
                let W = Matrix(rows: N, cols: N, columnMajor: rng.gaussians(N * N))
                Ws.append(W)
                h = BLAS.gemv(W, p, alpha: sn)
            }
        }
        var g = zip(hs[L - 1], (0..<N).map { _ in rng.gaussian() }).map { act.dphi($0) * $1 }
        var G = [Double](repeating: 0, count: L)
        G[L - 1] = g.reduce(0) { $0 + $1 * $1 } / Double(N)
        for l in stride(from: L - 2, through: 0, by: -1) {
            let z = BLAS.gemv(Ws[l], g, transpose: true, alpha: sn)
            g = (0..<N).map { act.dphi(hs[l][$0]) * z[$0] }
            G[l] = g.reduce(0) { $0 + $1 * $1 } / Double(N)
        }
        return (phis.map { $0.reduce(0) { $0 + $1 * $1 } / Double(N) }, G)
    }

    /// An ensemble of E networks: per-member (Phi^1..L, G^1..L) as EnsembleSeries, plus N Cov matrices (L x L).
    public static func ensemble(_ act: FluctuationActivation, width N: Int, depth L: Int, members: Int, seed: UInt64,
                                dense: Bool = false) throws
        -> (phi: EnsembleSeries, gradient: EnsembleSeries, phiCovariance: Matrix, gradientCovariance: Matrix) {
        try Validate.inRange("width", N, 2...1_000_000)
        try Validate.inRange("depth", L, 1...10_000)
        let runs = try Ensemble.run(width: N, members: members, seed: seed, purpose: "deep-init") { rng in
            dense ? sampleDense(act, width: N, depth: L, rng: &rng) : sample(act, width: N, depth: L, rng: &rng)
        }
        func cov(_ xs: [[Double]]) -> Matrix {
            let E = Double(xs.count)
            let m = (0..<L).map { l in xs.reduce(0) { $0 + $1[l] } / E }
            return Matrix(rows: L, cols: L) { i, j in Double(N) * xs.reduce(0) { $0 + ($1[i] - m[i]) * ($1[j] - m[j]) } / (E - 1) }
        }
        let ph = runs.map(\.phi), gr = runs.map(\.gradient)
        return (EnsembleSeries(width: N, values: ph), EnsembleSeries(width: N, values: gr), cov(ph), cov(gr))
    }
}
