import Foundation
import LinearAlgebra
import NumericalCore

/// Generalized pseudoinverse rule (docs/theory/sequence-memory.md §2.2):
/// T_GPI(S)_i = sgn sum_mu xi_i^{mu+1} f(a_mu(S)),  a = O^+ m,  O = Xi Xi^T / N,  m^nu = xi^nu . S / N,
/// i.e. a(S) = (Xi^T)^+ S, the least-squares coefficients of S on the patterns (self-inclusive, consistent with O,
/// so a(xi^kappa) = e_kappa exactly when rank O = P: recall is then perfect for any pattern statistics).
/// f = m is Kanter & Sompolinsky's pseudoinverse rule. The exponential uses exp((N-1)(a-1)) shifted by its
/// maximum; `exponentialOverflowFlag` is set when some a_mu > 1 + 1e-6 (numerically unstable, docs/theory/sequence-memory.md §2.2).
public struct PseudoinverseNetwork: Sendable {
    public let patterns: PatternSet
    public let separation: Separation
    public let boundary: Boundary
    /// Q = (Xi^T)^+, P x N.
    public let pseudoinverse: Matrix
    /// rank of the overlap matrix O.
    public let rank: Int

    public init(patterns: PatternSet, separation: Separation, boundary: Boundary = .periodic) throws {
        let n = patterns.neurons, p = patterns.count
        let xt = Matrix(rows: n, cols: p, columnMajor: patterns.values.map(Double.init))
        let svd = try LAPACK.svd(xt)
        let cutoff = Double(max(n, p)) * Double.ulpOfOne * (svd.s.first ?? 0)
        rank = svd.s.filter { $0 > cutoff }.count
        pseudoinverse = try LAPACK.pseudoInverse(xt)
        self.patterns = patterns
        self.separation = separation
        self.boundary = boundary
    }

    /// a(S) = (Xi^T)^+ S.
    public func coefficients(_ s: [Int8]) -> [Double] { pseudoinverse.times(s.map(Double.init)) }

    func target(_ mu: Int) -> Int? {
        if mu + 1 < patterns.count { return mu + 1 }
        return boundary == .periodic ? 0 : nil
    }

    func values(_ a: [Double]) -> [Double] {
        let n = patterns.neurons
        if case .exponential = separation {
            let e = a.map { Double(n - 1) * ($0 - 1) }
            let mx = e.max() ?? 0
            return e.map { exp($0 - mx) }
        }
        return a.map { separation.value($0, neurons: n) }
    }

    /// The field h_i = sum_mu xi_i^{mu+1} f(a_mu(S)) and sum_mu |f(a_mu)|.
    public func field(_ s: [Int8]) -> (field: [Double], scale: Double) {
        let n = patterns.neurons
        let f = values(coefficients(s))
        var h = [Double](repeating: 0, count: n)
        for mu in 0..<patterns.count {
            guard let t = target(mu) else { continue }
            for i in 0..<n { h[i] += f[mu] * Double(patterns.values[t * n + i]) }
        }
        return (h, f.reduce(0) { $0 + abs($1) })
    }

    /// True when some a_mu(S) exceeds 1 + 1e-6 (exponential GPI would overflow without the shift).
    public func exponentialOverflowFlag(_ s: [Int8]) -> Bool { coefficients(s).contains { $0 > 1 + 1e-6 } }

    /// One synchronous update (|h_i| <= 1e-9 sum|f| is a tie and keeps S_i).
    public func step(_ s: [Int8]) -> [Int8] {
        let (h, sc) = field(s)
        var out = s
        for i in 0..<s.count where abs(h[i]) > 1e-9 * sc { out[i] = h[i] > 0 ? 1 : -1 }
        return out
    }

    public func transitionCorrect(from nu: Int) -> Bool {
        guard let t = target(nu) else { return true }
        let (h, sc) = field(patterns.pattern(nu))
        let n = patterns.neurons
        for i in 0..<n where !(h[i] * Double(patterns.values[t * n + i]) > 1e-9 * sc) { return false }
        return true
    }

    /// All transitions from the stored patterns: A = Q Xi^T (P x P), H = Xi_T^T f(A) (two GEMMs).
    public func checkTransitions(serial: Bool = false) -> TransitionCheck {
        let n = patterns.neurons, p = patterns.count
        let xt = Matrix(rows: n, cols: p, columnMajor: patterns.values.map(Double.init))
        let a = BLAS.gemm(pseudoinverse, xt)  // column kappa = a(xi^kappa)
        var f = Matrix(rows: p, cols: p)
        var scales = [Double](repeating: 0, count: p)
        for k in 0..<p {
            let col = values(a.column(k))
            for mu in 0..<p { f[mu, k] = col[mu] }
            scales[k] = col.reduce(0) { $0 + abs($1) }
        }
        var td = Matrix(rows: n, cols: p)
        for mu in 0..<p { if let t = target(mu) { for i in 0..<n { td[i, mu] = Double(patterns.values[t * n + i]) } } }
        let h = BLAS.gemm(td, f)
        let last = (boundary == .open || serial) ? p - 1 : p
        var r = TransitionCheck(checked: 0, failures: [], wrongBits: 0)
        for k in 0..<max(0, last) {
            let t = target(k)!
            var wrong = 0
            for i in 0..<n where !(h[i, k] * Double(patterns.values[t * n + i]) > 1e-9 * scales[k]) { wrong += 1 }
            r.checked += 1
            if wrong > 0 { r.failures.append(k); r.wrongBits += wrong }
        }
        return r
    }
}
