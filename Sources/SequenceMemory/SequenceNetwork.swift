import Foundation
import LinearAlgebra
import NumericalCore

/// Arithmetic of the GEMM transition check: `single` (sgemm with a rigorous error guard band and exact
/// re-decision of the bits inside it; the default, about twice as fast) or `double`.
public enum FieldPrecision: String, Sendable { case single, double }

/// Periodic (xi^{P+1} = xi^1, all P associations; the paper's default) or open (sums stop at P-1) (docs/theory/sequence-memory.md §1).
public enum Boundary: String, Sendable, CaseIterable { case periodic, open }

/// Which overlap the separation function sees (docs/theory/sequence-memory.md §1): self-excluded m_i^mu = sum_{j != i} xi_j^mu S_j / (N-1)
/// (the default of every network here) or self-inclusive m^mu = xi^mu . S / N (two-layer circuit, GPI).
public enum OverlapConvention: String, Sendable, CaseIterable { case selfExcluded = "self-excluded", selfInclusive = "self-inclusive" }

/// One term of the field h_i = sum_terms weight sum_mu T_i^mu f(m_i^mu), with target T^mu = xi^{mu+1}
/// (asymmetric, `successor`) or xi^mu (symmetric).
public struct FieldTerm: Sendable {
    public var separation: Separation
    public var successor: Bool
    public var weight: Double
    public init(separation: Separation, successor: Bool, weight: Double = 1) {
        self.separation = separation; self.successor = successor; self.weight = weight
    }
}

/// Outcome of checking the transitions of one stored sequence from the exact stored patterns.
public struct TransitionCheck: Sendable {
    /// Transitions checked (P periodic, P-1 serial or open), or fewer when stopped at the first error.
    public var checked: Int
    /// Index (0-based, the "from" pattern) of each transition found wrong.
    public var failures: [Int]
    /// Wrong bits summed over the checked transitions.
    public var wrongBits: Int
    public var allCorrect: Bool { failures.isEmpty }
}

/// The sequence networks of docs/theory/sequence-memory.md §2.1 and the tau = 1 MixedNet of §2.3 with synchronous updates
/// S_i(t+1) = sgn h_i(S(t)),  h_i = sum_terms w sum_mu T_i^mu f(m_i^mu(S)).
///
/// * SeqNet: one asymmetric term, f = m. DenseNet: one asymmetric term, f = m^d, exp((N-1)(m-1)) or a user f.
/// * MixedNet (tau = 1): symmetric f_S plus lambda times asymmetric f_A (docs/theory/sequence-memory.md §2.3).
/// * Symmetric MHN / dense associative memory: one symmetric term.
///
/// Fields use the two-value trick (docs/theory/sequence-memory.md §3): with g_mu = xi^mu . S, the self-excluded overlap takes the values
/// (g-1)/(N-1) or (g+1)/(N-1), so f(m_i^mu) = C_mu + E_mu xi_i^mu S_i, and at all stored patterns at once
/// H = C Xi_T + Xi (.) (E (Xi_T (.) Xi)) by two GEMMs per term. Polynomial networks with P (N+1)^d < 2^50 are
/// evaluated in unnormalized integer units, so the field is an exact integer and ties are exact zeros; otherwise
/// a field within 1e-9 sum|f| of zero is decided on the exact path (integer sums, or counts by Hamming distance for
/// the exponential). Ties (h_i = 0) are errors in transition checks and keep S_i in free-running trajectories.
public struct SequenceNetwork: Sendable {
    public let patterns: PatternSet
    public let terms: [FieldTerm]
    public let boundary: Boundary
    public let convention: OverlapConvention
    /// True when fields are exact integers (unnormalized polynomial units).
    public let integerUnits: Bool
    let shiftExponents: Bool

    public var neurons: Int { patterns.neurons }
    public var count: Int { patterns.count }

    public init(patterns: PatternSet, terms: [FieldTerm], boundary: Boundary = .periodic,
                convention: OverlapConvention = .selfExcluded) throws {
        guard !terms.isEmpty else { throw SolvableError.invalidParameter(name: "terms", value: "none", allowed: "at least one field term") }
        for t in terms {
            try Validate.finite("lambda", t.weight)
            if case .polynomial(let d) = t.separation { try Validate.inRange("degree", d, 1...1000) }
        }
        if convention == .selfExcluded && patterns.neurons < 3 && terms.contains(where: { !$0.separation.isExponential }) {
            // N = 2 leaves one neuron per overlap; allowed, nothing to check.
        }
        self.patterns = patterns
        self.terms = terms
        self.boundary = boundary
        self.convention = convention
        let n = Double(patterns.neurons + 1)
        if terms.count == 1, case .polynomial(let d) = terms[0].separation, terms[0].weight == 1,
           Double(d) * log2(n) + log2(Double(patterns.count) * 4) < 50 {
            integerUnits = true
        } else {
            integerUnits = false
        }
        shiftExponents = terms.allSatisfy { $0.separation.isExponential }
    }

    /// SeqNet / DenseNet, T(S)_i = sgn sum_mu xi_i^{mu+1} f(m_i^mu(S)) (docs/theory/sequence-memory.md §2.1).
    public static func denseNet(patterns: PatternSet, separation: Separation, boundary: Boundary = .periodic,
                                convention: OverlapConvention = .selfExcluded) throws -> SequenceNetwork {
        try SequenceNetwork(patterns: patterns, terms: [FieldTerm(separation: separation, successor: true)],
                            boundary: boundary, convention: convention)
    }

    /// tau = 1 MixedNet: sgn sum_mu [xi_i^mu f_S(m_i^mu) + lambda xi_i^{mu+1} f_A(m_i^mu)] (docs/theory/sequence-memory.md §2.3). lambda > 0.
    public static func mixedNet(patterns: PatternSet, symmetric fS: Separation, asymmetric fA: Separation, lambda: Double,
                                boundary: Boundary = .periodic, convention: OverlapConvention = .selfExcluded) throws -> SequenceNetwork {
        try Validate.positive("lambda", lambda)
        return try SequenceNetwork(patterns: patterns, terms: [FieldTerm(separation: fS, successor: false),
                                                               FieldTerm(separation: fA, successor: true, weight: lambda)],
                                   boundary: boundary, convention: convention)
    }

    /// Symmetric modern Hopfield network / dense associative memory, sgn sum_mu xi_i^mu f(m_i^mu).
    public static func hopfield(patterns: PatternSet, separation: Separation,
                                convention: OverlapConvention = .selfExcluded) throws -> SequenceNetwork {
        try SequenceNetwork(patterns: patterns, terms: [FieldTerm(separation: separation, successor: false)], convention: convention)
    }

    var hasSuccessor: Bool { terms.contains { $0.successor } }

    /// Index of the target pattern of term `successor` at pattern mu, nil if none (open boundary, last pattern).
    @inline(__always) func target(_ mu: Int, successor: Bool) -> Int? {
        if !successor { return mu }
        if mu + 1 < count { return mu + 1 }
        return boundary == .periodic ? 0 : nil
    }

    /// The pattern the network should move to from xi^nu: xi^{nu+1} (nil at the end of an open sequence), or
    /// xi^nu for a purely symmetric network.
    public func expectedNext(_ nu: Int) -> Int? { hasSuccessor ? target(nu, successor: true) : nu }

    // MARK: separation values in the units used internally

    /// f at the self-excluded integer dot r (|r| <= N-1) or the self-inclusive g (|g| <= N), before the row shift.
    @inline(__always) func unitValue(_ sep: Separation, _ r: Int, shift: Double) -> Double {
        let n = neurons
        let excl = convention == .selfExcluded
        switch sep {
        case .polynomial(let d):
            if integerUnits { return Separation.ipow(Double(r), d) }
            return Separation.ipow(Double(r) / Double(excl ? n - 1 : n), d)
        case .exponential:
            return exp(Double(r) - Double(excl ? n - 1 : n) - shift)
        case .custom(_, let f):
            return f(Double(r) / Double(excl ? n - 1 : n))
        }
    }

    /// Row shift for the exponential (the largest exponent over the patterns, so nothing underflows to all-zero).
    func rowShift(_ g: UnsafeBufferPointer<Int>) -> Double {
        guard shiftExponents else { return 0 }
        let n = neurons
        var best = Int.min
        for x in g {
            let r: Int
            if convention == .selfExcluded { r = (x >= n ? x - 1 : x + 1) - (n - 1) } else { r = x - n }
            best = max(best, r)
        }
        return Double(best)
    }

    /// C_mu and E_mu of the two-value trick for one term and one state with dots g (docs/theory/sequence-memory.md §3), with the
    /// unrealizable-value rule: g = N sets f(b) := f(a), g = -N sets f(a) := f(b). Returns sum |C| + |E|.
    @inline(__always) func coefficients(_ sep: Separation, g: UnsafeBufferPointer<Int>, shift: Double,
                                        c: UnsafeMutablePointer<Double>, e: UnsafeMutablePointer<Double>) -> Double {
        let n = neurons
        var scale = 0.0
        if convention == .selfInclusive {
            for mu in 0..<g.count { let v = unitValue(sep, g[mu], shift: shift); c[mu] = v; e[mu] = 0; scale += abs(v) }
            return scale
        }
        for mu in 0..<g.count {
            let x = g[mu]
            var ra = x - 1, rb = x + 1
            if x >= n { rb = ra } else if x <= -n { ra = rb }
            let fa = unitValue(sep, ra, shift: shift)
            let fb = ra == rb ? fa : unitValue(sep, rb, shift: shift)
            c[mu] = 0.5 * (fa + fb)
            e[mu] = 0.5 * (fa - fb)
            scale += abs(c[mu]) + abs(e[mu])
        }
        return scale
    }

    // MARK: single state

    /// The field h(S), O(P N) by the two-value trick (units: integer for `integerUnits`, else f normalized with
    /// f(1) = 1, exponential rescaled by a positive constant). Not tie-corrected; `step` decides signs exactly.
    public func field(_ s: [Int8]) -> [Double] { fieldAndScale(s, PatternSet.pack(s)).0 }

    func fieldAndScale(_ s: [Int8], _ ps: [UInt64]) -> ([Double], Double, [Int]) {
        let n = neurons, p = count
        let g = patterns.dots(packedState: ps)
        var h = [Double](repeating: 0, count: n)
        var c = [Double](repeating: 0, count: p), e = [Double](repeating: 0, count: p)
        var scale = 0.0
        g.withUnsafeBufferPointer { gp in
            let shift = rowShift(gp)
            for term in terms {
                scale += abs(term.weight) * coefficients(term.separation, g: gp, shift: shift, c: &c, e: &e)
                patterns.values.withUnsafeBufferPointer { xv in
                    h.withUnsafeMutableBufferPointer { hp in
                        for mu in 0..<p {
                            guard let t = target(mu, successor: term.successor) else { continue }
                            let cw = term.weight * c[mu], ew = term.weight * e[mu]
                            let tb = t * n, xb = mu * n
                            if ew == 0 {
                                for i in 0..<n { hp[i] += cw * Double(xv[tb + i]) }
                            } else {
                                for i in 0..<n {
                                    let ti = Double(xv[tb + i])
                                    hp[i] += ti * (cw + ew * Double(xv[xb + i] * s[i]))
                                }
                            }
                        }
                    }
                }
            }
        }
        return (h, scale, g)
    }

    /// sgn h_i decided exactly: returns -1, 0 (tie) or +1 for bit i at a state with values s and dots g.
    public func exactSign(bit i: Int, state s: [Int8], dots g: [Int]) -> Int {
        let n = neurons, p = count
        let excl = convention == .selfExcluded
        let xv = patterns.values
        func r(_ mu: Int) -> Int { excl ? g[mu] - Int(xv[mu * n + i] * s[i]) : g[mu] }
        if terms.count == 1 {
            let term = terms[0]
            switch term.separation {
            case .polynomial(let d):
                var acc: Int64 = 0
                var overflow = false
                for mu in 0..<p {
                    guard let t = target(mu, successor: term.successor) else { continue }
                    var pw: Int64 = 1
                    let base = Int64(r(mu))
                    for _ in 0..<d {
                        let (v, o) = pw.multipliedReportingOverflow(by: base)
                        if o { overflow = true; break }
                        pw = v
                    }
                    if overflow { break }
                    let (v, o) = acc.addingReportingOverflow(xv[t * n + i] > 0 ? pw : -pw)
                    if o { overflow = true; break }
                    acc = v
                }
                if !overflow { return acc > 0 ? (term.weight > 0 ? 1 : -1) : acc < 0 ? (term.weight > 0 ? -1 : 1) : 0 }
            case .exponential:
                let kmax = n + 1
                var counts = [Int](repeating: 0, count: kmax + 1)
                for mu in 0..<p {
                    guard let t = target(mu, successor: term.successor) else { continue }
                    let k = excl ? (n - 1 - r(mu)) / 2 : (n - g[mu]) / 2
                    counts[k] += Int(xv[t * n + i])
                }
                if counts.allSatisfy({ $0 == 0 }) { return 0 }
                var acc = 0.0
                for k in stride(from: kmax, through: 0, by: -1) where counts[k] != 0 { acc += Double(counts[k]) * exp(-2 * Double(k)) }
                let v = term.weight * acc
                return v > 0 ? 1 : v < 0 ? -1 : 0
            case .custom: break
            }
        }
        // Several polynomial terms: h (N')^{d_max} = sum_t w_t K^{d_max - d_t} sum_mu T r^{d_t}, integers times w_t.
        if terms.allSatisfy({ $0.separation.degree != nil }) {
            let dmax = terms.map { $0.separation.degree! }.max()!
            let k = Double(excl ? n - 1 : n)
            var total = 0.0
            var exact = true
            for term in terms {
                let d = term.separation.degree!
                var acc: Int64 = 0
                for mu in 0..<p {
                    guard let t = target(mu, successor: term.successor) else { continue }
                    var pw: Int64 = 1
                    for _ in 0..<d { let (v, o) = pw.multipliedReportingOverflow(by: Int64(r(mu))); if o { exact = false }; pw = v }
                    let (v, o) = acc.addingReportingOverflow(xv[t * n + i] > 0 ? pw : -pw)
                    if o { exact = false }
                    acc = v
                }
                total += term.weight * Double(acc) * pow(k, Double(dmax - d))
            }
            if exact { return total > 0 ? 1 : total < 0 ? -1 : 0 }
        }
        // Several exponential terms: combined integer-weighted counts per Hamming distance.
        if terms.allSatisfy({ $0.separation.isExponential }) {
            let kmax = n + 1
            var coef = [Double](repeating: 0, count: kmax + 1)
            for term in terms {
                var counts = [Int](repeating: 0, count: kmax + 1)
                for mu in 0..<p {
                    guard let t = target(mu, successor: term.successor) else { continue }
                    counts[excl ? (n - 1 - r(mu)) / 2 : (n - g[mu]) / 2] += Int(xv[t * n + i])
                }
                for k in 0...kmax { coef[k] += term.weight * Double(counts[k]) }
            }
            if coef.allSatisfy({ $0 == 0 }) { return 0 }
            var acc = 0.0
            for k in stride(from: kmax, through: 0, by: -1) where coef[k] != 0 { acc += coef[k] * exp(-2 * Double(k)) }
            return acc > 0 ? 1 : acc < 0 ? -1 : 0
        }
        // General case: direct sum of normalized values (ties only when it is exactly zero).
        var acc = 0.0
        for term in terms {
            for mu in 0..<p {
                guard let t = target(mu, successor: term.successor) else { continue }
                let m = Double(r(mu)) / Double(excl ? n - 1 : n)
                acc += term.weight * Double(xv[t * n + i]) * term.separation.value(m, neurons: n)
            }
        }
        return acc > 0 ? 1 : acc < 0 ? -1 : 0
    }

    static let guardBand = 1e-9

    /// One synchronous update; a tie (h_i = 0) keeps S_i (docs/theory/sequence-memory.md §1).
    public func step(_ s: [Int8]) -> [Int8] {
        let (h, scale, g) = fieldAndScale(s, PatternSet.pack(s))
        var out = s
        for i in 0..<neurons {
            var sg = h[i] > 0 ? 1 : h[i] < 0 ? -1 : 0
            if !integerUnits && abs(h[i]) <= SequenceNetwork.guardBand * scale { sg = exactSign(bit: i, state: s, dots: g) }
            if sg != 0 { out[i] = Int8(sg) }
        }
        return out
    }

    /// The trajectory S(0) = start, S(1), ..., S(steps).
    public func trajectory(from start: [Int8], steps: Int) throws -> [[Int8]] {
        guard start.count == neurons, start.allSatisfy({ $0 == 1 || $0 == -1 }) else {
            throw SolvableError.invalidParameter(name: "start", value: "a state of \(start.count) entries", allowed: "\(neurons) entries +-1")
        }
        try Validate.inRange("steps", steps, 0...100_000_000)
        var out = [start]
        out.reserveCapacity(steps + 1)
        for _ in 0..<steps { out.append(step(out[out.count - 1])) }
        return out
    }

    /// Is the single transition from the stored xi^nu correct (every bit h_i T_i > 0, ties wrong)? O(P N).
    public func transitionCorrect(from nu: Int) -> Bool {
        guard let next = expectedNext(nu) else { return true }
        let s = patterns.pattern(nu)
        let (h, scale, g) = fieldAndScale(s, Array(patterns.packed[(nu * patterns.words)..<((nu + 1) * patterns.words)]))
        for i in 0..<neurons {
            let t = Double(patterns.values[next * neurons + i])
            var v = h[i] * t
            if !integerUnits && abs(h[i]) <= SequenceNetwork.guardBand * scale { v = Double(exactSign(bit: i, state: s, dots: g)) * t }
            if !(v > 0) { return false }
        }
        return true
    }

    // MARK: all stored patterns at once (GEMM)

    /// Checks the transitions xi^nu -> xi^{nu+1} from every stored pattern (P for periodic, P-1 for open or when
    /// `serial`, the paper's serial-recall check), in row blocks by two GEMMs per term (docs/theory/sequence-memory.md §3).
    /// With `stopAtFirstError` the check ends at the first block containing an error.
    public func checkTransitions(serial: Bool = false, stopAtFirstError: Bool = false, blockRows: Int = 128,
                                 precision: FieldPrecision = .single) -> TransitionCheck {
        if terms.allSatisfy({ $0.separation.isExponential }) && count > 8 * neurons {
            return checkTransitionsSparseExponential(serial: serial, stopAtFirstError: stopAtFirstError)
        }
        if precision == .single { return checkTransitionsSingle(serial: serial, stopAtFirstError: stopAtFirstError, blockRows: blockRows) }
        let n = neurons, p = count
        let last = (boundary == .open || serial || !hasSuccessor) ? (hasSuccessor ? p - 1 : p) : p
        var result = TransitionCheck(checked: 0, failures: [], wrongBits: 0)
        if last <= 0 { return result }
        // Dense copies: X (P x N), per target kind TD and TX = TD (.) X.
        let x = patterns.values.map(Double.init)
        var targets: [Bool: ([Double], [Double])] = [:]
        for term in terms where targets[term.successor] == nil {
            var td = [Double](repeating: 0, count: p * n)
            for mu in 0..<p { if let t = target(mu, successor: term.successor) { for i in 0..<n { td[mu * n + i] = x[t * n + i] } } }
            var tx = td
            for k in 0..<(p * n) { tx[k] *= x[k] }
            targets[term.successor] = (td, tx)
        }
        let b = max(1, min(blockRows, last))
        var gRow = [Int](repeating: 0, count: b * p)
        var cBlk = [Double](repeating: 0, count: b * p), eBlk = [Double](repeating: 0, count: b * p)
        var hBlk = [Double](repeating: 0, count: b * n), yBlk = [Double](repeating: 0, count: b * n)
        var scales = [Double](repeating: 0, count: b)
        var shifts = [Double](repeating: 0, count: b)
        var start = 0
        while start < last {
            let rows = min(b, last - start)
            for r in 0..<rows {
                let nu = start + r
                for mu in 0..<p { gRow[r * p + mu] = patterns.dot(nu, mu) }
                shifts[r] = gRow.withUnsafeBufferPointer { rowShift(UnsafeBufferPointer(rebasing: $0[(r * p)..<((r + 1) * p)])) }
                scales[r] = 0
            }
            for k in 0..<(rows * n) { hBlk[k] = 0 }
            for term in terms {
                let (td, tx) = targets[term.successor]!
                gRow.withUnsafeBufferPointer { gp in
                    cBlk.withUnsafeMutableBufferPointer { cp in
                        eBlk.withUnsafeMutableBufferPointer { ep in
                            for r in 0..<rows {
                                scales[r] += abs(term.weight) * coefficients(term.separation, g: UnsafeBufferPointer(rebasing: gp[(r * p)..<((r + 1) * p)]),
                                                                             shift: shifts[r], c: cp.baseAddress! + r * p, e: ep.baseAddress! + r * p)
                            }
                        }
                    }
                }
                // H^T (N x rows) += w TD^T C^T, in column-major terms with row-major storage.
                td.withUnsafeBufferPointer { tdp in
                    cBlk.withUnsafeBufferPointer { cp in
                        hBlk.withUnsafeMutableBufferPointer { hp in
                            BLAS.dgemm(m: n, n: rows, k: p, tdp.baseAddress!, lda: n, transposeA: false, cp.baseAddress!, ldb: p,
                                       transposeB: false, hp.baseAddress!, ldc: n, alpha: term.weight, beta: 1)
                        }
                    }
                }
                if convention == .selfExcluded {
                    tx.withUnsafeBufferPointer { txp in
                        eBlk.withUnsafeBufferPointer { ep in
                            yBlk.withUnsafeMutableBufferPointer { yp in
                                BLAS.dgemm(m: n, n: rows, k: p, txp.baseAddress!, lda: n, transposeA: false, ep.baseAddress!, ldb: p,
                                           transposeB: false, yp.baseAddress!, ldc: n, alpha: term.weight, beta: 0)
                            }
                        }
                    }
                    for r in 0..<rows {
                        let xb = (start + r) * n
                        for i in 0..<n { hBlk[r * n + i] += x[xb + i] * yBlk[r * n + i] }
                    }
                }
            }
            var blockFailed = false
            for r in 0..<rows {
                let nu = start + r
                let next = expectedNext(nu)!
                let wrong = wrongBits(pattern: nu, dots: gRow[(r * p)..<((r + 1) * p)],
                                      guardValue: integerUnits ? -1 : SequenceNetwork.guardBand * scales[r],
                                      field: { hBlk[r * n + $0] }, target: { x[next * n + $0] })
                result.checked += 1
                if wrong > 0 { result.failures.append(nu); result.wrongBits += wrong; blockFailed = true }
            }
            if blockFailed && stopAtFirstError { break }
            start += rows
        }
        return result
    }

    /// Wrong bits of one transition from stored pattern `pattern`: bit i is right when field(i) * target(i) > 0.
    /// A field within `guardValue` of zero (a negative value disables the guard) is decided exactly from the
    /// pattern's integer overlaps `dots` (`exactSign`), so rounding in the block product never flips a bit.
    private func wrongBits(pattern: Int, dots: ArraySlice<Int>, guardValue: Double,
                           field: (Int) -> Double, target: (Int) -> Double) -> Int {
        var wrong = 0
        var state: [Int8]? = nil, exactDots: [Int]? = nil
        for i in 0..<neurons {
            let h = field(i), t = target(i)
            var v = h * t
            if abs(h) <= guardValue {
                if state == nil { state = patterns.pattern(pattern); exactDots = Array(dots) }
                v = Double(exactSign(bit: i, state: state!, dots: exactDots!)) * t
            }
            if !(v > 0) { wrong += 1 }
        }
        return wrong
    }

    /// Tables of C(g) and E(g) for g = -N...N (index g + N) of one term, at a stored-pattern row (no shift needed:
    /// the diagonal term is f(1), the largest value).
    func coefficientTables(_ sep: Separation) -> ([Float], [Float], [Double]) {
        let n = neurons
        var g = Array(-n...n)
        var c = [Double](repeating: 0, count: 2 * n + 1), e = c
        _ = g.withUnsafeMutableBufferPointer { gp in
            c.withUnsafeMutableBufferPointer { cp in e.withUnsafeMutableBufferPointer { ep in
                coefficients(sep, g: UnsafeBufferPointer(gp), shift: 0, c: cp.baseAddress!, e: ep.baseAddress!)
            } }
        }
        return (c.map(Float.init), e.map(Float.init), zip(c, e).map { abs($0) + abs($1) })
    }

    /// Single-precision GEMM version of the all-transitions check: C and E from tables, sgemm, and every bit whose
    /// |h| is within the rigorous float error bound 2 (P + 3) 2^-24 sum(|C| + |E|) of zero re-decided on the exact path.
    func checkTransitionsSingle(serial: Bool, stopAtFirstError: Bool, blockRows: Int) -> TransitionCheck {
        let n = neurons, p = count
        let last = (boundary == .open || serial || !hasSuccessor) ? (hasSuccessor ? p - 1 : p) : p
        var result = TransitionCheck(checked: 0, failures: [], wrongBits: 0)
        if last <= 0 { return result }
        let xv = patterns.values
        let x = xv.map(Float.init)
        var targets: [Bool: ([Float], [Float])] = [:]
        for term in terms where targets[term.successor] == nil {
            var td = [Float](repeating: 0, count: p * n)
            var tx = td
            x.withUnsafeBufferPointer { xp in td.withUnsafeMutableBufferPointer { dp in tx.withUnsafeMutableBufferPointer { tp in
                for mu in 0..<p {
                    guard let t = target(mu, successor: term.successor) else { continue }
                    for i in 0..<n { let v = xp[t * n + i]; dp[mu * n + i] = v; tp[mu * n + i] = v * xp[mu * n + i] }
                }
            } } }
            targets[term.successor] = (td, tx)
        }
        let tables = terms.map { coefficientTables($0.separation) }
        let relErr = 2 * Double(p + 3) * 0x1p-24
        let b = max(1, min(blockRows, last))
        var gRow = [Int](repeating: 0, count: b * p)
        var gF = [Float](repeating: 0, count: b * p)
        var cBlk = [Float](repeating: 0, count: b * p), eBlk = [Float](repeating: 0, count: b * p)
        var hBlk = [Float](repeating: 0, count: b * n), yBlk = [Float](repeating: 0, count: b * n)
        var scales = [Double](repeating: 0, count: b)
        var start = 0
        while start < last {
            let rows = min(b, last - start)
            // Overlaps g = xi^nu . xi^mu of the block by sgemm (exact: integers |g| <= N < 2^24); cheaper than the
            // XOR + popcount of the packed words, which compiles to a software popcount on baseline x86-64.
            x.withUnsafeBufferPointer { xp in gF.withUnsafeMutableBufferPointer { gfp in
                BLAS.sgemm(m: p, n: rows, k: n, xp.baseAddress!, lda: n, transposeA: true, xp.baseAddress! + start * n, ldb: n,
                           transposeB: false, gfp.baseAddress!, ldc: p, alpha: 1, beta: 0)
            } }
            gRow.withUnsafeMutableBufferPointer { gp in gF.withUnsafeBufferPointer { gfp in
                for k in 0..<(rows * p) { gp[k] = Int(gfp[k]) }
            } }
            for r in 0..<rows { scales[r] = 0 }
            hBlk.withUnsafeMutableBufferPointer { hp in _ = hp.initialize(repeating: 0) }
            for (ti, term) in terms.enumerated() {
                let (td, tx) = targets[term.successor]!
                let (ct, et, st) = tables[ti]
                let w = abs(term.weight)
                gRow.withUnsafeBufferPointer { gp in cBlk.withUnsafeMutableBufferPointer { cp in eBlk.withUnsafeMutableBufferPointer { ep in
                    ct.withUnsafeBufferPointer { ctp in et.withUnsafeBufferPointer { etp in st.withUnsafeBufferPointer { stp in
                        for r in 0..<rows {
                            var sc = 0.0
                            for mu in 0..<p {
                                let idx = gp[r * p + mu] + n
                                cp[r * p + mu] = ctp[idx]; ep[r * p + mu] = etp[idx]; sc += stp[idx]
                            }
                            scales[r] += w * sc
                        }
                    } } }
                } } }
                td.withUnsafeBufferPointer { tdp in cBlk.withUnsafeBufferPointer { cp in hBlk.withUnsafeMutableBufferPointer { hp in
                    BLAS.sgemm(m: n, n: rows, k: p, tdp.baseAddress!, lda: n, transposeA: false, cp.baseAddress!, ldb: p,
                               transposeB: false, hp.baseAddress!, ldc: n, alpha: Float(term.weight), beta: 1)
                } } }
                if convention == .selfExcluded {
                    tx.withUnsafeBufferPointer { txp in eBlk.withUnsafeBufferPointer { ep in yBlk.withUnsafeMutableBufferPointer { yp in
                        BLAS.sgemm(m: n, n: rows, k: p, txp.baseAddress!, lda: n, transposeA: false, ep.baseAddress!, ldb: p,
                                   transposeB: false, yp.baseAddress!, ldc: n, alpha: Float(term.weight), beta: 0)
                    } } }
                    x.withUnsafeBufferPointer { xp in yBlk.withUnsafeBufferPointer { yp in hBlk.withUnsafeMutableBufferPointer { hp in
                        let xb = start * n
                        for k in 0..<(rows * n) { hp[k] += xp[xb + k] * yp[k] }
                    } } }
                }
            }
            var blockFailed = false
            for r in 0..<rows {
                let nu = start + r
                let next = expectedNext(nu)!
                let wrong = wrongBits(pattern: nu, dots: gRow[(r * p)..<((r + 1) * p)], guardValue: relErr * scales[r],
                                      field: { Double(hBlk[r * n + $0]) }, target: { Double(xv[next * n + $0]) })
                result.checked += 1
                if wrong > 0 { result.failures.append(nu); result.wrongBits += wrong; blockFailed = true }
            }
            if blockFailed && stopAtFirstError { break }
            start += rows
        }
        return result
    }

    /// Exponential networks with P >> N: only patterns within Hamming distance kcut + 1 of the current one are summed
    /// (f = e^{-2k'}); the dropped terms are bounded by B = (dropped) max|w| e^{-2(kcut+1)} with kcut + 1 =
    /// ceil(ln(100 P)/2), so B < 0.01. A bit whose partial field is within B (plus rounding) of zero is decided on
    /// the exact path over all patterns. Cost O(P^2 N/64) for the distances instead of O(P^2 N) GEMMs.
    func checkTransitionsSparseExponential(serial: Bool, stopAtFirstError: Bool) -> TransitionCheck {
        let n = neurons, p = count, w = patterns.words
        let last = (boundary == .open || serial || !hasSuccessor) ? (hasSuccessor ? p - 1 : p) : p
        var result = TransitionCheck(checked: 0, failures: [], wrongBits: 0)
        let kc = Int((log(100 * Double(p)) / 2).rounded(.up))  // keep full distance k <= kc
        let maxW = terms.map { abs($0.weight) }.max() ?? 1
        let excl = convention == .selfExcluded
        let xv = patterns.values
        var near: [Int] = [], dist: [Int] = []
        var h = [Double](repeating: 0, count: n), sc = [Double](repeating: 0, count: n)
        var decay = [Double](repeating: 0, count: n + 2)
        for k in 0...(n + 1) { decay[k] = exp(-2 * Double(k)) }
        patterns.packed.withUnsafeBufferPointer { pk in
            for nu in 0..<last {
                near.removeAll(keepingCapacity: true); dist.removeAll(keepingCapacity: true)
                if w == 1 {
                    let a = pk[nu]
                    for mu in 0..<p {
                        let d = (a ^ pk[mu]).nonzeroBitCount
                        if d <= kc { near.append(mu); dist.append(d) }
                    }
                } else {
                    for mu in 0..<p {
                        var d = 0
                        for k in 0..<w { d &+= (pk[nu * w + k] ^ pk[mu * w + k]).nonzeroBitCount }
                        if d <= kc { near.append(mu); dist.append(d) }
                    }
                }
                let dropped = Double(p - near.count)
                let bound = dropped * maxW * decay[min(n + 1, kc + 1 - (excl ? 1 : 0))]
                for i in 0..<n { h[i] = 0; sc[i] = 0 }
                for term in terms {
                    for (a, mu) in near.enumerated() {
                        guard let t = target(mu, successor: term.successor) else { continue }
                        for i in 0..<n {
                            // self-excluded: distance over j != i; self-inclusive raw form e^{g - N} = e^{-2k}
                            let k = excl ? dist[a] - (xv[mu * n + i] != xv[nu * n + i] ? 1 : 0) : dist[a]
                            let v = term.weight * decay[k]
                            h[i] += v * Double(xv[t * n + i]); sc[i] += abs(v)
                        }
                    }
                }
                let next = expectedNext(nu)!
                var wrong = 0
                var state: [Int8]? = nil, g: [Int]? = nil
                for i in 0..<n {
                    let tbit = Double(xv[next * n + i])
                    var v = h[i] * tbit
                    if abs(h[i]) <= bound + 1e-12 * sc[i] {
                        if state == nil { state = patterns.pattern(nu); g = (0..<p).map { patterns.dot(nu, $0) } }
                        v = Double(exactSign(bit: i, state: state!, dots: g!)) * tbit
                    }
                    if !(v > 0) { wrong += 1 }
                }
                result.checked += 1
                if wrong > 0 { result.failures.append(nu); result.wrongBits += wrong; if stopAtFirstError { break } }
            }
        }
        return result
    }

    // MARK: references and diagnostics

    /// Brute-force field from the definition (O(P N^2), Double, f normalized): for tests of the fast paths.
    public func bruteForceField(_ s: [Int8]) -> [Double] {
        let n = neurons, p = count
        let xv = patterns.values
        var h = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for term in terms {
                for mu in 0..<p {
                    guard let t = target(mu, successor: term.successor) else { continue }
                    var dot = 0
                    for j in 0..<n where convention == .selfInclusive || j != i { dot += Int(xv[mu * n + j] * s[j]) }
                    let m = Double(dot) / Double(convention == .selfExcluded ? n - 1 : n)
                    h[i] += term.weight * Double(xv[t * n + i]) * term.separation.value(m, neurons: n)
                }
            }
        }
        return h
    }

    /// Crosstalk at the stored xi^nu: C_i = xi_i^{nu+1} h_i - f(1) for a single-term DenseNet, f normalized
    /// (f(1) = 1), one value per neuron i (docs/theory/sequence-memory.md §4.2).
    public func crosstalk(at nu: Int) -> [Double] {
        let n = neurons, p = count
        let xv = patterns.values
        let term = terms[0]
        let next = expectedNext(nu)!
        var out = [Double](repeating: 0, count: n)
        for mu in 0..<p where mu != nu {
            guard let t = target(mu, successor: term.successor) else { continue }
            let g = patterns.dot(nu, mu)
            for i in 0..<n {
                let r = convention == .selfExcluded ? g - Int(xv[mu * n + i] * xv[nu * n + i]) : g
                let m = Double(r) / Double(convention == .selfExcluded ? n - 1 : n)
                out[i] += Double(xv[next * n + i] * xv[t * n + i]) * term.separation.value(m, neurons: n)
            }
        }
        return out
    }
}
