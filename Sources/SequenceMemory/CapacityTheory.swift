import Foundation
import NumericalCore

/// Capacity theory of docs/theory/sequence-memory.md §4-§5: crosstalk moments, the Gaussian signal-to-noise approximation with the
/// finite-N exact variance, the leading-order laws (eq. 9, 10), and the near-duplicate (birthday) limit.
public enum CapacityTheory {
    /// beta = e^2 / cosh 2 = 1.9640276 (docs/theory/sequence-memory.md §4.2): E f(M)^2 = beta^{-(N-1)} for the exponential DenseNet.
    public static let beta = exp(2.0) / cosh(2.0)


    /// (2k-1)!! with (-1)!! = 1.
    public static func doubleFactorial(_ n: Int) -> Double {
        var r = 1.0, k = n
        while k > 1 { r *= Double(k); k -= 2 }
        return r
    }

    /// E M^q for M = (1/n) sum_{j=1}^n eta_j, eta Rademacher (docs/theory/sequence-memory.md §4.2), by the exact binomial law (log-binomials).
    public static func moment(n: Int, power q: Int) -> Double {
        var s = 0.0
        for j in 0...n {
            let m = Double(2 * j - n) / Double(n)
            if m == 0 { if q == 0 { s += exp(SpecialFunctions.logBinomial(n, j) - Double(n) * M_LN2) }; continue }
            s += exp(SpecialFunctions.logBinomial(n, j) - Double(n) * M_LN2) * Separation.ipow(m, q)
        }
        return s
    }

    /// v = E f(M)^2, the crosstalk variance per pattern, with n = N-1 and f normalized so that f(1) = 1 (docs/theory/sequence-memory.md §4.2):
    /// Var C = (P-1) v. Exponential: ((1 + e^-4)/2)^{N-1} = beta^{-(N-1)}. Self-inclusive: n = N and the
    /// exponential gets the extra e^{xi S - 1} factor, E = ((1+e^-4)/2)^{N-1} (1+e^-4)/2.
    public static func crosstalkVariancePerPattern(_ f: Separation, neurons: Int,
                                                   convention: OverlapConvention = .selfExcluded) -> Double {
        let n = convention == .selfExcluded ? neurons - 1 : neurons
        switch f {
        case .exponential:
            let b = (1 + exp(-4.0)) / 2
            return pow(b, Double(neurons - 1)) * (convention == .selfExcluded ? 1 : b)
        case .polynomial(let d): return moment(n: n, power: 2 * d)
        case .custom(_, let g):
            var s = 0.0
            for j in 0...n { let v = g(Double(2 * j - n) / Double(n)); s += exp(SpecialFunctions.logBinomial(n, j) - Double(n) * M_LN2) * v * v }
            return s / pow(g(1), 2)
        }
    }

    /// Per-bit error probability of one transition with P patterns: Gaussian crosstalk p = H(1/sqrt((P-1) v))
    /// (docs/theory/sequence-memory.md §4.3), continuous in P. For the SeqNet `exactSeqNet` gives the exact binomial
    /// p = Pr[Bin(n, 1/2) <= (n - (N-1))/2], n = (P-1)(N-1) (P rounded).
    public static func bitErrorProbability(patterns p: Double, neurons: Int, separation f: Separation,
                                           exactSeqNet: Bool = false) -> Double {
        if p <= 1 { return 0 }
        if exactSeqNet, case .polynomial(1) = f {
            // exact at integer P, log-linear interpolation in between
            let lo = floor(p), hi = lo + 1, w = p - lo
            let a = exactSeqNetError(patterns: Int(lo), neurons: neurons), b = exactSeqNetError(patterns: Int(hi), neurons: neurons)
            if w == 0 || a <= 0 { return w == 0 ? a : (1 - w) * a + w * b }
            return exp((1 - w) * log(a) + w * log(b))
        }
        let v = crosstalkVariancePerPattern(f, neurons: neurons)
        return SpecialFunctions.normalUpperTail(1 / ((p - 1) * v).squareRoot())
    }

    /// Exact SeqNet bit-error probability Pr[Bin(n, 1/2) <= (n - (N-1))/2], n = (P-1)(N-1) (docs/theory/sequence-memory.md §4.2).
    public static func exactSeqNetError(patterns pp: Int, neurons: Int) -> Double {
        do {
            let n = (pp - 1) * (neurons - 1)
            let kmax = (n - (neurons - 1)) / 2  // floor; ties count as errors
            if kmax < 0 || pp <= 1 { return 0 }
            return SpecialFunctions.binomialCDF(kmax, n, 0.5)
        }
    }

    /// E f(M)^4 (normalized f), for the excess kurtosis of docs/theory/sequence-memory.md §4.5.
    public static func fourthMomentPerPattern(_ f: Separation, neurons: Int) -> Double {
        let n = neurons - 1
        switch f {
        case .exponential: return pow((1 + exp(-8.0)) / 2, Double(n))
        case .polynomial(let d): return moment(n: n, power: 4 * d)
        case .custom(_, let g):
            var s = 0.0
            for j in 0...n { let v = g(Double(2 * j - n) / Double(n)); s += exp(SpecialFunctions.logBinomial(n, j) - Double(n) * M_LN2) * v * v * v * v }
            return s / pow(g(1), 4)
        }
    }

    /// Excess kurtosis of the crosstalk C with P patterns (docs/theory/sequence-memory.md §4.5): [E f^4 - 3 (E f^2)^2] / ((P-1) (E f^2)^2).
    public static func crosstalkExcessKurtosis(patterns p: Double, neurons: Int, separation f: Separation) -> Double {
        let v = crosstalkVariancePerPattern(f, neurons: neurons)
        return (fourthMomentPerPattern(f, neurons: neurons) - 3 * v * v) / ((p - 1) * v * v)
    }

    /// Gaussian bit-error probability with the first Edgeworth correction for the excess kurtosis kappa of docs/theory/sequence-memory.md §4.5
    /// (C is symmetric, so there is no skewness term): p = H(z) + phi(z) kappa (z^3 - 3z)/24, z = 1/sqrt((P-1)v).
    /// [derived, an extension of the spec] The kurtosis K_d/(P-1) thickens the tail for d >= 2.
    public static func bitErrorProbabilityKurtosisCorrected(patterns p: Double, neurons: Int, separation f: Separation) -> Double {
        if p <= 1 { return 0 }
        let v = crosstalkVariancePerPattern(f, neurons: neurons)
        let z = 1 / ((p - 1) * v).squareRoot()
        let k = crosstalkExcessKurtosis(patterns: p, neurons: neurons, separation: f)
        let phi = SpecialFunctions.normalDensity(z)
        return max(0, SpecialFunctions.normalUpperTail(z) + phi * k * (z * z * z - 3 * z) / 24)
    }

    /// As `finiteNP50` with the kurtosis-corrected bit-error probability.
    public static func finiteNP50KurtosisCorrected(neurons: Int, separation f: Separation, criterion: RecallCriterion, serial: Bool = false) -> Double {
        let n = Double(neurons)
        return solveIncreasing({ p in
            let q = bitErrorProbabilityKurtosisCorrected(patterns: p, neurons: neurons, separation: f)
            return (criterion == .transition ? n * q : n * (serial ? p - 1 : p) * q) - M_LN2
        }, from: 2)
    }

    /// Finite-N P_50 (docs/theory/sequence-memory.md §4.3, [project]): the P solving N P p(P) = ln 2 (periodic sequence; N (P-1) p for
    /// serial recall) or N p(P) = ln 2 (one transition), with p the Gaussian bit-error probability with exact v.
    public static func finiteNP50(neurons: Int, separation f: Separation, criterion: RecallCriterion,
                                  serial: Bool = false, exactSeqNet: Bool = false) -> Double {
        let n = Double(neurons)
        func hazard(_ p: Double) -> Double {
            let q = bitErrorProbability(patterns: p, neurons: neurons, separation: f, exactSeqNet: exactSeqNet)
            switch criterion {
            case .transition: return n * q
            case .sequence: return n * (serial ? p - 1 : p) * q
            }
        }
        return solveIncreasing({ hazard($0) - M_LN2 }, from: 2)
    }

    /// Near-duplicate (birthday) hazard of the self-excluded exponential DenseNet (docs/theory/sequence-memory.md §5): sequence
    /// binom(P,2)(1+N/2)/2^N, one transition (P-1)(1+N/4)/2^N; self-inclusive: binom(P,2)/2^N, (P-1)/2^N.
    public static func nearDuplicateHazard(patterns p: Double, neurons: Int, criterion: RecallCriterion,
                                           convention: OverlapConvention = .selfExcluded) -> Double {
        let n = Double(neurons)
        let two = pow(2, n)
        switch (criterion, convention) {
        case (.sequence, .selfExcluded): return p * (p - 1) / 2 * (1 + n / 2) / two
        case (.sequence, .selfInclusive): return p * (p - 1) / 2 / two
        case (.transition, .selfExcluded): return (p - 1) * (1 + n / 4) / two
        case (.transition, .selfInclusive): return (p - 1) / two
        }
    }

    /// Exponential DenseNet P_50 predictions: the paper's Gaussian curve (finite-N exact v), the near-duplicate
    /// limit alone, and both hazards added (docs/theory/sequence-memory.md §5).
    public static func exponentialP50(neurons: Int, criterion: RecallCriterion) -> (gaussian: Double, nearDuplicate: Double, combined: Double) {
        let g = finiteNP50(neurons: neurons, separation: .exponential, criterion: criterion)
        let nd = solveIncreasing({ nearDuplicateHazard(patterns: $0, neurons: neurons, criterion: criterion) - M_LN2 }, from: 2)
        let n = Double(neurons)
        let both = solveIncreasing({ p in
            let q = bitErrorProbability(patterns: p, neurons: neurons, separation: .exponential)
            let gauss = criterion == .sequence ? n * p * q : n * q
            return gauss + nearDuplicateHazard(patterns: p, neurons: neurons, criterion: criterion) - M_LN2
        }, from: 2)
        return (g, nd, both)
    }

    /// Root of an increasing function on [from, inf) by geometric bracketing and bisection in log P.
    static func solveIncreasing(_ g: (Double) -> Double, from a: Double) -> Double {
        var lo = a, hi = a
        if g(lo) >= 0 { return lo }
        while g(hi) < 0 && hi < 1e300 { lo = hi; hi *= 2 }
        return bisect(g, in: (lo, hi), geometric: true, relativeTolerance: 1e-12)
    }

    /// Leading-order transition capacity (docs/theory/sequence-memory.md §4.4): polynomial eq. (9) N^d / (2 (2d-1)!! ln N); exponential
    /// eq. (10) beta^{N-1} / (2 ln N).
    public static func leadingOrderTransitionCapacity(neurons: Int, separation f: Separation) -> Double {
        let n = Double(neurons)
        switch f {
        case .polynomial(let d): return pow(n, Double(d)) / (2 * doubleFactorial(2 * d - 1) * log(n))
        case .exponential: return pow(beta, n - 1) / (2 * log(n))
        case .custom: return .nan
        }
    }

    /// Leading-order sequence capacity (docs/theory/sequence-memory.md §4.4): N^d / (2 (d+1) (2d-1)!! ln N); exponential beta^{N-1} / (2 ln(beta) N).
    public static func leadingOrderSequenceCapacity(neurons: Int, separation f: Separation) -> Double {
        let n = Double(neurons)
        switch f {
        case .polynomial(let d): return pow(n, Double(d)) / (2 * Double(d + 1) * doubleFactorial(2 * d - 1) * log(n))
        case .exponential: return pow(beta, n - 1) / (2 * log(beta) * n)
        case .custom: return .nan
        }
    }

    /// Near-duplicate sequence P_50 = sqrt(2 ln 2 2^N / (1 + N/2)) (docs/theory/sequence-memory.md §5; self-inclusive: sqrt(2 ln 2 2^N)).
    public static func nearDuplicateSequenceP50(neurons: Int, convention: OverlapConvention = .selfExcluded) -> Double {
        let n = Double(neurons)
        return (2 * M_LN2 * pow(2, n) / (convention == .selfExcluded ? 1 + n / 2 : 1)).squareRoot()
    }

    /// The degree maximizing eq. (9) at fixed N (docs/theory/sequence-memory.md §4.4 "maximal degree"); ties give the smaller d.
    public static func eq9ArgmaxDegree(neurons: Int, maxDegree: Int = 200) -> Int {
        var best = 1, bestV = -Double.infinity
        for d in 1...maxDegree {
            let v = Double(d) * log(Double(neurons)) - log(doubleFactorial(2 * d - 1))
            if v > bestV + 1e-12 { best = d; bestV = v }
        }
        return best
    }

    /// MixedNet dwell-time rule (docs/theory/sequence-memory.md §2.3, crosstalk neglected): the first k >= 1 with
    /// lambda f_A(k/tau) > f_S(1) + lambda f_A(1 - k/tau), k >= tau counting as tau; nil when it fails at k = tau
    /// (no transition; for polynomials lambda <= 1).
    /// With per-pattern gains, `lambda` is the drive out of the current pattern (lambda g_mu) and `lambdaIn` the
    /// drive into it from the previous one (lambda g_{mu-1}): lambda f_A(k/tau) > f_S(1) + lambdaIn f_A(1 - k/tau).
    public static func dwellTime(tau: Int, lambda: Double, lambdaIn: Double? = nil, symmetric fS: Separation, asymmetric fA: Separation,
                                 neurons: Int = 100) -> Int? {
        let lin = lambdaIn ?? lambda
        for k in 1...max(1, tau) {
            let x = Double(k) / Double(tau)
            if lambda * fA.value(x, neurons: neurons) > fS.value(1, neurons: neurons) + lin * fA.value(1 - x, neurons: neurons) { return k }
        }
        return nil
    }
}

/// Which recall event defines capacity (docs/theory/sequence-memory.md §4.1).
public enum RecallCriterion: String, Sendable, CaseIterable, Codable {
    /// One designated transition xi^1 -> xi^2 exactly correct after one update.
    case transition
    /// The whole sequence: every transition correct (serial recall from xi^1).
    case sequence
}

extension CapacityTheory {
    /// Quenched-overlap SeqNet prediction [derived; an extension of the spec]. The Poisson form e^{-N P p} treats the
    /// N P bit errors as independent, but within one transition all bits share the overlaps k_mu = xi^mu . xi^nu (over
    /// N-1 neurons): given them, bit i errs iff sum_mu zeta_mu k_mu <= -(N-1) with independent signs zeta (ties are
    /// errors), an exact subset-sum count p(k). Then Pr[transition OK] = E_k[(1 - p(k))^N] and Pr[sequence OK] ~
    /// (E_k[(1 - p(k))^N])^P (rows treated as independent), the expectation by `samples` draws of k from the binomial
    /// law. Returns the log-interpolated P where this crosses 1/2 (P integer in the formula).
    public static func quenchedSeqNetP50(neurons n: Int, criterion: RecallCriterion, serial: Bool = false, samples: Int = 4000,
                                         seed: UInt64 = 1) -> Double {
        func logOK(_ p: Int) -> Double {
            if p <= 1 { return 0 }
            var rng = RandomStream(seed: seed, point: UInt64(n), sample: UInt64(p), purpose: "quenched")
            let m = p - 1, off = m * (n - 1)
            var acc = 0.0
            var dist = [Double](repeating: 0, count: 2 * off + 1), next = dist
            for _ in 0..<samples {
                for k in 0..<dist.count { dist[k] = 0 }
                dist[off] = 1
                var reach = 0
                for _ in 0..<m {
                    var k = 0  // |xi^mu . xi^nu| over N-1 neurons
                    var left = n - 1
                    while left > 0 { let b = min(64, left); k += (rng.next() >> UInt64(64 - b)).nonzeroBitCount * 2 - b; left -= b }
                    k = abs(k)
                    for j in (off - reach - k)...(off + reach + k) { next[j] = 0 }
                    for j in (off - reach)...(off + reach) where dist[j] != 0 {
                        next[j + k] += 0.5 * dist[j]; next[j - k] += 0.5 * dist[j]
                    }
                    reach += k
                    swap(&dist, &next)
                }
                var perr = 0.0
                let thresh = off - (n - 1)
                if thresh >= off - reach { for j in (off - reach)...thresh { perr += dist[j] } }
                acc += exp(Double(n) * log1p(-min(perr, 1 - 1e-300)))
                for j in (off - reach)...(off + reach) { next[j] = 0 }
            }
            let t = log(acc / Double(samples))
            return criterion == .transition ? t : t * Double(serial ? p - 1 : p)
        }
        var lo = 1, lval = 0.0
        var p = 2
        while true {
            let v = logOK(p)
            if v < -M_LN2 {
                if lo == 1 || lval == 0 { return Double(p) }
                return exp(log(Double(lo)) + (lval + M_LN2) / (lval - v) * log(Double(p) / Double(lo)))
            }
            lo = p; lval = v; p += 1
            if p > 100_000 { return Double(p) }
        }
    }
}
