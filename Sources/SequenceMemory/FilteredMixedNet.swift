import Foundation
import NumericalCore

/// The MixedNet with a time-filtered asymmetric term (docs/theory/sequence-memory.md §2.3):
/// T_MN(S(t))_i = sgn sum_mu [xi_i^mu f_S(m_i^mu(S(t))) + lambda g_mu xi_i^{mu+1} f_A(mbar_i^mu(t))],
/// mbar_i^mu = (xi^mu . Sbar - xi_i^mu Sbar_i)/(N-1),  Sbar(t) = (1/tau) sum_{rho=0}^{tau-1} S(t-rho) (boxcar including
/// the current state), history S(t) = xi^P for -tau <= t <= -1, S(0) = xi^1. Overlaps are self-excluded.
/// `gains` g_mu (default 1) scale the asymmetric drive out of pattern mu: the per-pattern gain on the hidden unit of
/// memory mu, the gating mechanism of docs/theory/sequence-memory.md §2.4 (an extension; the paper uses a global lambda).
public struct FilteredMixedNet: Sendable {
    public let patterns: PatternSet
    public let symmetric: Separation
    public let asymmetric: Separation
    public let lambda: Double
    public let tau: Int
    public let gains: [Double]
    public let boundary: Boundary

    public init(patterns: PatternSet, symmetric: Separation, asymmetric: Separation, lambda: Double, tau: Int,
                gains: [Double]? = nil, boundary: Boundary = .periodic) throws {
        try Validate.positive("lambda", lambda)
        try Validate.inRange("tau", tau, 1...100_000)
        if let g = gains {
            guard g.count == patterns.count else {
                throw SolvableError.invalidParameter(name: "gains", value: "\(g.count) values", allowed: "one gain per pattern (\(patterns.count))")
            }
            for x in g { try Validate.nonNegative("gains", x) }
        }
        self.patterns = patterns; self.symmetric = symmetric; self.asymmetric = asymmetric
        self.lambda = lambda; self.tau = tau; self.gains = gains ?? [Double](repeating: 1, count: patterns.count)
        self.boundary = boundary
    }

    /// A run: states S(0..steps), self-inclusive overlaps xi^mu . S / N, the index of the stored pattern equal to
    /// S(t) (-1 if none), and the dwell time of each visit (run lengths of that index).
    public struct Run: Sendable {
        public var states: [[Int8]]
        public var overlaps: [[Double]]
        public var onPattern: [Int]
        public var visits: [(pattern: Int, dwell: Int)]
    }

    /// Runs `steps` synchronous updates (default P tau) from the documented history.
    public func run(steps: Int? = nil) throws -> Run {
        let n = patterns.neurons, p = patterns.count
        let total = steps ?? p * tau
        try Validate.inRange("steps", total, 0...10_000_000)
        var window: [[Int8]] = Array(repeating: patterns.pattern(p - 1), count: tau - 1) + [patterns.pattern(0)]
        var sumS = [Int](repeating: 0, count: n)  // tau * Sbar
        for w in window { for i in 0..<n { sumS[i] += Int(w[i]) } }
        var states = [window.last!]
        let xv = patterns.values
        let excl = Double(n - 1)
        let bothExp = symmetric.isExponential && asymmetric.isExponential
        var expS = [Double](repeating: 0, count: p), expA = [Double](repeating: 0, count: p)
        for _ in 0..<total {
            let s = window.last!
            let g = patterns.dots(packedState: PatternSet.pack(s))
            var gbar = [Int](repeating: 0, count: p)  // xi^mu . (tau Sbar)
            for mu in 0..<p { var acc = 0; for j in 0..<n { acc += Int(xv[mu * n + j]) * sumS[j] }; gbar[mu] = acc }
            var next = s
            for i in 0..<n {
                var h = 0.0, sc = 0.0
                if bothExp {
                    var mx = -Double.infinity
                    for mu in 0..<p {
                        expS[mu] = Double(g[mu] - Int(xv[mu * n + i] * s[i])) - excl
                        expA[mu] = Double(gbar[mu] - Int(xv[mu * n + i]) * sumS[i]) / Double(tau) - excl
                        mx = max(mx, expS[mu], expA[mu])
                    }
                    for mu in 0..<p {
                        let fs = exp(expS[mu] - mx), fa = exp(expA[mu] - mx)
                        let ts = Double(xv[mu * n + i])
                        var ta = 0.0
                        if mu + 1 < p { ta = Double(xv[(mu + 1) * n + i]) } else if boundary == .periodic { ta = Double(xv[i]) }
                        h += ts * fs + lambda * gains[mu] * ta * fa
                        sc += fs + abs(lambda * gains[mu]) * fa
                    }
                } else {
                    for mu in 0..<p {
                        let m = Double(g[mu] - Int(xv[mu * n + i] * s[i])) / excl
                        let mb = Double(gbar[mu] - Int(xv[mu * n + i]) * sumS[i]) / (Double(tau) * excl)
                        let fs = symmetric.value(m, neurons: n), fa = asymmetric.value(mb, neurons: n)
                        let ts = Double(xv[mu * n + i])
                        var ta = 0.0
                        if mu + 1 < p { ta = Double(xv[(mu + 1) * n + i]) } else if boundary == .periodic { ta = Double(xv[i]) }
                        h += ts * fs + lambda * gains[mu] * ta * fa
                        sc += abs(fs) + abs(lambda * gains[mu] * fa)
                    }
                }
                if abs(h) > 1e-12 * sc { next[i] = h > 0 ? 1 : -1 }
            }
            let old = window.removeFirst()
            for i in 0..<n { sumS[i] += Int(next[i]) - Int(old[i]) }
            window.append(next)
            states.append(next)
        }
        let overlaps = states.map { patterns.overlaps(state: $0) }
        let on = overlaps.map { o -> Int in o.firstIndex(where: { $0 == 1 }) ?? -1 }
        var visits: [(Int, Int)] = []
        for x in on { if let l = visits.last, l.0 == x { visits[visits.count - 1].1 += 1 } else { visits.append((x, 1)) } }
        return Run(states: states, overlaps: overlaps, onPattern: on, visits: visits.map { (pattern: $0.0, dwell: $0.1) })
    }
}
