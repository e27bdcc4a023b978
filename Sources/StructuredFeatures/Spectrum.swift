import Foundation
import NumericalCore

/// The eigenvalue spectrum S of one layer's covariance, with the spectral functions of the
/// deterministic-equivalent theory (spec `structured-features.md` §4.1):
///
///     df1_S(κ) = Σ s/(s+κ),   df2_S(κ) = Σ s²/(s+κ)²,   a_S(κ) = κ Σ s/(s+κ)² (= df1 − df2)
///     κ_S(d): df1_S(κ) = d,   χ_S(d) = (d − a)/a,   π_S(d) = κ_S(d)·d/(|S| − d)
///
/// An isotropic spectrum c·I_n is handled in closed form (κ = c(n/d − 1), a = d(1 − d/n), χ = d/(n − d), π = c)
/// and never allocates n numbers; n may be +∞ (then χ = 0, π = c).
public struct Spectrum: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// c·I_n; n may be +infinity.
        case isotropic(size: Double, value: Double)
        /// An explicit list of non-negative eigenvalues.
        case list([Double])
    }

    public let kind: Kind
    /// |S|, the dimension the covariance acts on.
    public let size: Double
    /// Number of positive eigenvalues (for eigensolver output: above 1e-13 · max s).
    public let rank: Double
    /// Σ s (infinite for an infinite isotropic layer).
    public let total: Double

    /// c·I_n. `name` is the parameter named in errors.
    public static func isotropic(size n: Double, value c: Double = 1, name: String = "spectrum") throws -> Spectrum {
        guard n >= 1, !n.isNaN else {
            throw SolvableError.invalidParameter(name: name, value: "\(n)", allowed: "a size >= 1 (may be infinite)")
        }
        guard c.isFinite, c > 0 else {
            throw SolvableError.invalidParameter(name: name, value: "\(c)", allowed: "an isotropic eigenvalue > 0")
        }
        return Spectrum(kind: .isotropic(size: n, value: c), size: n, rank: n, total: n.isFinite ? n * c : .infinity)
    }

    /// An explicit eigenvalue list. Negative or non-finite entries throw `invalidParameter` naming `name`;
    /// with `fromEigensolver`, tiny negative values (above −1e−10 · max s) are clamped to 0 and the rank is
    /// counted with the relative threshold 1e−13 · max s.
    public init(eigenvalues: [Double], name: String = "spectrum", fromEigensolver: Bool = false) throws {
        try Validate.nonEmpty(name, eigenvalues)
        let maxS = eigenvalues.max() ?? 0
        var values = eigenvalues
        for (i, s) in eigenvalues.enumerated() {
            guard s.isFinite else {
                throw SolvableError.invalidParameter(name: name, value: "\(s) (entry \(i))", allowed: "finite eigenvalues >= 0")
            }
            if s < 0 {
                if fromEigensolver && s > -1e-10 * maxS { values[i] = 0 } else {
                    throw SolvableError.invalidParameter(name: name, value: "\(s) (entry \(i))", allowed: "eigenvalues >= 0")
                }
            }
        }
        let threshold = fromEigensolver ? 1e-13 * maxS : 0
        let r = values.reduce(0) { $0 + ($1 > threshold ? 1 : 0) }
        guard r > 0 else {
            throw SolvableError.invalidParameter(name: name, value: "all zero", allowed: "at least one positive eigenvalue")
        }
        if fromEigensolver { for i in values.indices where values[i] <= threshold { values[i] = 0 } }
        self.kind = .list(values)
        self.size = Double(values.count)
        self.rank = Double(r)
        self.total = values.reduce(0, +)
    }

    private init(kind: Kind, size: Double, rank: Double, total: Double) {
        self.kind = kind; self.size = size; self.rank = rank; self.total = total
    }

    public var isIsotropic: Bool { if case .isotropic = kind { return true }; return false }

    /// Mean eigenvalue Σ s/|S| (the isotropic value for c·I, also when n is infinite).
    public var mean: Double {
        switch kind {
        case .isotropic(_, let c): return c
        case .list(let v): return total / Double(v.count)
        }
    }

    /// The eigenvalues as a list of `count` numbers (for simulation); isotropic spectra repeat c.
    public func eigenvalues(count: Int) -> [Double] {
        switch kind {
        case .isotropic(_, let c): return [Double](repeating: c, count: count)
        case .list(let v): return v
        }
    }

    /// (df1, a) at κ in one pass: df1 = Σ s/(s+κ), a = κ Σ s/(s+κ)².
    public func moments(_ kappa: Double) -> (df1: Double, a: Double) {
        switch kind {
        case .isotropic(let n, let c):
            if !n.isFinite { return (.infinity, .infinity) }
            let r = c / (c + kappa)
            return (n * r, n * kappa * c / ((c + kappa) * (c + kappa)))
        case .list(let v):
            // SIMD4 accumulation (zero eigenvalues contribute 0 for κ > 0); the hot loop of every solve
            var acc1 = SIMD4<Double>(repeating: 0), acc2 = SIMD4<Double>(repeating: 0)
            var df1 = 0.0, sum2 = 0.0
            let k4 = SIMD4<Double>(repeating: kappa)
            v.withUnsafeBufferPointer { p in
                let n = p.count, n4 = n & ~3
                var i = 0
                while i < n4 {
                    let sv = SIMD4<Double>(p[i], p[i + 1], p[i + 2], p[i + 3])
                    let inv = 1 / (sv + k4)
                    let r = sv * inv
                    acc1 += r
                    acc2 += r * inv
                    i += 4
                }
                while i < n {
                    let inv = 1 / (p[i] + kappa)
                    let r = p[i] * inv
                    df1 += r
                    sum2 += r * inv
                    i += 1
                }
            }
            df1 += acc1.sum()
            sum2 += acc2.sum()
            if kappa == 0 {   // 0/0 from zero eigenvalues: count positive entries only
                return (rank, 0)
            }
            return (df1, kappa * sum2)
        }
    }

    /// df1_S(κ) = Σ s/(s+κ).
    public func degreesOfFreedom(_ kappa: Double) -> Double { moments(kappa).df1 }

    /// df2_S(κ) = Σ s²/(s+κ)².
    public func dfSquared(_ kappa: Double) -> Double {
        switch kind {
        case .isotropic(let n, let c): let r = c / (c + kappa); return n * r * r
        case .list(let v):
            var df2 = 0.0
            for s in v where s > 0 { let r = s / (s + kappa); df2 += r * r }
            return df2
        }
    }

    /// The solved spectral quantities at a given d (§4.1).
    public struct State: Sendable, Equatable {
        public var d: Double
        /// κ_S(d) (0 when d >= rank, +∞ for an infinite isotropic layer).
        public var kappa: Double
        /// a_S(κ) = df1 − df2 at the root.
        public var a: Double
        /// χ_S(d) = (d − a)/a (+∞ when d >= rank).
        public var chi: Double
        /// π_S(d) = κ d/(|S| − d).
        public var pi: Double
        /// ln π_S(d), computed without overflow for isotropic layers.
        public var logPi: Double
        /// ln κ_S(d).
        public var logKappa: Double
        /// Newton iterations of the inner solve (0 for closed forms).
        public var iterations: Int
        public var converged: Bool
    }

    /// Solves df1_S(κ) = d for κ (decreasing from ∞ to 0 as d goes from 0 to rank) and evaluates a, χ, π.
    /// Lists use a safeguarded Newton iteration on ln df1 as a function of t = ln κ (log-space bracketing:
    /// the upper end Σ s/d always has df1 <= d), warm-started at `guess` when given, at most `maxIterations`
    /// Newton steps (`converged` is false when the budget ran out).
    public func state(at d: Double, guess: Double? = nil, maxIterations: Int = 200) -> State {
        switch kind {
        case .isotropic(let n, let c):
            if !n.isFinite {
                return State(d: d, kappa: .infinity, a: d, chi: 0, pi: c, logPi: log(c), logKappa: .infinity,
                             iterations: 0, converged: true)
            }
            if d >= n {
                return State(d: d, kappa: 0, a: 0, chi: .infinity, pi: 0, logPi: -.infinity, logKappa: -.infinity,
                             iterations: 0, converged: true)
            }
            let kappa = c * (n - d) / d
            return State(d: d, kappa: kappa, a: d * (n - d) / n, chi: d / (n - d), pi: c, logPi: log(c),
                         logKappa: log(c) + log((n - d) / d), iterations: 0, converged: true)
        case .list:
            if d >= rank {
                return State(d: d, kappa: 0, a: 0, chi: .infinity, pi: 0, logPi: -.infinity, logKappa: -.infinity,
                             iterations: 0, converged: true)
            }
            let (kappa, a, its, ok) = solveKappa(d, guess: guess, maxIterations: max(1, maxIterations))
            // χ = df2/a = (d − a)/a at the root; df2 summed directly, so neither regime cancels
            var chi = dfSquared(kappa) / a
            if !chi.isFinite { chi = kappa >= 1 ? 0 : .infinity }   // a underflowed (κ → ∞ or κ → 0)
            let logPi = log(kappa) + log(d) - log(size - d)
            return State(d: d, kappa: kappa, a: a, chi: chi, pi: exp(logPi), logPi: logPi, logKappa: log(kappa),
                         iterations: its, converged: ok)
        }
    }

    /// κ_S(d) for a list, 0 < d < rank: Newton on h(t) = ln df1(e^t) − ln d, h'(t) = −a/df1, bracketed.
    private func solveKappa(_ d: Double, guess: Double?, maxIterations: Int) -> (kappa: Double, a: Double, iterations: Int, converged: Bool) {
        var hiT = log(total / d)           // df1(Σs/d) <= d
        var loT = -Double.infinity         // df1 > d below (found on the way)
        var t = hiT
        if let g = guess, g > 0, g.isFinite, log(g) < hiT { t = log(g) }
        let lnd = log(d)
        for it in 1...maxIterations {
            let (df1, a) = moments(exp(t))
            if df1 == d { return (exp(t), a, it, true) }
            if df1 > d { loT = max(loT, t) } else { hiT = min(hiT, t) }
            guard a > 0 else {   // κ so small that a underflows: move up
                t = loT.isFinite && hiT.isFinite ? 0.5 * (loT + hiT) : t + 1
                continue
            }
            let h = log(df1) - lnd
            if abs(h) <= 2e-15 { return (exp(t), a, it, true) }   // df1 = d to rounding
            var step = h * df1 / a
            var next = t + step
            if !(next > loT && next < hiT) || !next.isFinite {
                if loT.isFinite { next = 0.5 * (loT + hiT) } else { next = t - min(5, abs(step)) }
                step = next - t
            }
            if abs(step) <= 1e-14 * max(1, abs(t)) || (hiT - loT) <= 1e-15 * max(1, abs(t)) {
                let k = exp(next)
                return (k, moments(k).a, it, true)
            }
            t = next
        }
        let k = exp(t)
        return (k, moments(k).a, maxIterations, false)
    }
}

/// The first-layer effective spectrum C1 = Σ0^{1/2} Σ1 Σ0^{1/2} with the projected teacher β_i² = (u_i·Σ0^{1/2}θ*)²
/// (§4.1), and the bias sums b1 = κ Σ β_i²/(c_i + κ), b2 = κ² Σ β_i²/(c_i + κ)².
///
/// When C1 is isotropic the sums depend only on s = Σ β_i² (b1 = s(1 − d/n0), b2 = s(1 − d/n0)²), so `beta2`
/// may be nil and nothing of size n0 is stored.
public struct ProjectedTeacher: Sendable, Equatable {
    public let spectrum: Spectrum
    /// β_i², paired with the eigenvalues of `spectrum` (nil for isotropic C1).
    public let beta2: [Double]?
    /// s = Σ β_i².
    public let signal: Double

    public init(spectrum: Spectrum, beta2: [Double]?, signal: Double? = nil) throws {
        if case .list(let c) = spectrum.kind {
            guard let b = beta2, b.count == c.count else {
                throw SolvableError.invalidParameter(name: "target", value: "\(beta2?.count ?? 0) entries",
                                                     allowed: "one teacher power per eigendirection (\(c.count))")
            }
            for x in b where !(x.isFinite && x >= 0) {
                throw SolvableError.invalidParameter(name: "target", value: "\(x)", allowed: "finite powers >= 0")
            }
        }
        let s = signal ?? beta2?.reduce(0, +) ?? 1
        try Validate.nonNegative("signal", s)
        self.spectrum = spectrum
        self.beta2 = spectrum.isIsotropic ? nil : beta2
        self.signal = s
    }

    /// (b1, b2) at κ = κ_1 (κ = 0 gives the weight of β outside the range of C1 for both).
    public func biases(kappa: Double) -> (b1: Double, b2: Double) {
        switch spectrum.kind {
        case .isotropic(_, let c):
            let r = 1 / (1 + c / kappa)       // κ/(c+κ), also for κ = 0 or +∞
            return (signal * r, signal * r * r)
        case .list(let c):
            guard let b = beta2 else { return (signal, signal) }
            var b1 = 0.0, b2 = 0.0
            for i in 0..<c.count {
                if c[i] <= 0 { b1 += b[i]; b2 += b[i]; continue }
                let r = 1 / (1 + c[i] / kappa)
                b1 += b[i] * r
                b2 += b[i] * r * r
            }
            return (b1, b2)
        }
    }

    /// Σ β_i² over c_i = 0: the part of the teacher no feature map can represent.
    public var unreachableSignal: Double {
        guard case .list(let c) = spectrum.kind, let b = beta2 else { return 0 }
        var m = 0.0
        for i in 0..<c.count where c[i] <= 0 { m += b[i] }
        return m
    }
}
