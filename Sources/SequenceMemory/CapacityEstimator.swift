import Foundation
import NumericalCore

/// A network family for capacity runs: how to build a network from P random patterns of N neurons.
public struct MemoryModel: Sendable {
    public enum Kind: Sendable {
        /// SeqNet / DenseNet with separation f.
        case denseNet(Separation)
        /// tau = 1 MixedNet (docs/theory/sequence-memory.md §2.3).
        case mixedNet(symmetric: Separation, asymmetric: Separation, lambda: Double)
        /// Generalized pseudoinverse rule (docs/theory/sequence-memory.md §2.2).
        case pseudoinverse(Separation)
    }
    public var kind: Kind
    public var convention: OverlapConvention
    /// Pattern bias epsilon, Pr(+1) = (1+epsilon)/2 (docs/theory/sequence-memory.md §7); 0 for i.i.d. Rademacher.
    public var bias: Double
    /// Check only the P-1 serial transitions (the paper's check) instead of all P.
    public var serial: Bool

    public init(_ kind: Kind, convention: OverlapConvention = .selfExcluded, bias: Double = 0, serial: Bool = false) throws {
        try Validate.inRange("bias", bias, -0.999...0.999)
        if case .mixedNet(_, _, let l) = kind { try Validate.positive("lambda", l) }
        self.kind = kind; self.convention = convention; self.bias = bias; self.serial = serial
    }

    public var label: String {
        switch kind {
        case .denseNet(let f): return f.shortName
        case .mixedNet(let s, let a, let l): return "MixedNet(\(s.shortName),\(a.shortName),lambda=\(l))"
        case .pseudoinverse(let f): return "GPI \(f.shortName)"
        }
    }

    /// One trial: draws P patterns of N neurons from `rng` and reports whether recall succeeds.
    public func trialSucceeds(neurons: Int, patterns p: Int, criterion: RecallCriterion, rng: inout RandomStream) throws -> Bool {
        let pats = try PatternSet.biased(neurons: neurons, count: p, bias: bias, rng: &rng)
        return try succeeds(pats, criterion: criterion)
    }

    public func succeeds(_ pats: PatternSet, criterion: RecallCriterion) throws -> Bool {
        switch kind {
        case .pseudoinverse(let f):
            let net = try PseudoinverseNetwork(patterns: pats, separation: f)
            return criterion == .transition ? net.transitionCorrect(from: 0) : net.checkTransitions(serial: serial).allCorrect
        case .denseNet(let f):
            let net = try SequenceNetwork.denseNet(patterns: pats, separation: f, convention: convention)
            return criterion == .transition ? net.transitionCorrect(from: 0) : net.checkTransitions(serial: serial, stopAtFirstError: true).allCorrect
        case .mixedNet(let s, let a, let l):
            let net = try SequenceNetwork.mixedNet(patterns: pats, symmetric: s, asymmetric: a, lambda: l, convention: convention)
            return criterion == .transition ? net.transitionCorrect(from: 0) : net.checkTransitions(serial: serial, stopAtFirstError: true).allCorrect
        }
    }
}

/// Success counts at one P.
public struct CapacityPoint: Sendable, Codable {
    public var patterns: Int
    public var successes: Int
    public var trials: Int
    public var fraction: Double { Double(successes) / Double(trials) }
    /// Clopper-Pearson 95 % bounds.
    public var lower: Double
    public var upper: Double
}

/// A P_50 estimate by the protocol of docs/theory/sequence-memory.md §6.
public struct CapacityEstimate: Sendable, Codable {
    public var criterion: RecallCriterion
    public var neurons: Int
    public var trials: Int
    /// Largest P with success fraction >= 1/2 found by the search, and the P above it.
    public var pLow: Int
    public var pHigh: Int
    /// Log-interpolated crossing P_50.
    public var p50: Double
    /// From the largest P with Clopper-Pearson lower bound > 1/2 to the smallest P with upper bound < 1/2.
    public var intervalLower: Double
    public var intervalUpper: Double
    /// Every evaluated P, ascending.
    public var points: [CapacityPoint]
    public var seconds: Double
    /// True when the search hit `maxPatterns` before bracketing (p50 is then a lower bound).
    public var capped: Bool
    /// The search as a solver record: `converged` when P_50 was bracketed and bisected to
    /// P_hi - P_lo <= max(1, ceil(0.01 P_lo)); `maxIterations` when the budget `maxPatterns` ran out first.
    /// Iterations = evaluated P; residual history = relative bracket width (P_hi - P_lo) / P_lo after each
    /// evaluation (infinity while unbracketed); tolerance 0.01.
    public var record: ConvergenceRecord
}

/// The P_50 estimation protocol of docs/theory/sequence-memory.md §6: s(P) from `trials` >= 200 independent sequences per P; start from a
/// prediction, double or halve until s(P_lo) >= 1/2 > s(P_hi), bisect geometrically on integers until
/// P_hi - P_lo <= max(1, ceil(0.01 P_lo)); add P_lo x {0.8, 0.9, 1.1, 1.2}; Clopper-Pearson 95 % intervals.
/// Trials run in parallel, trial t at P drawing from RandomStream(seed, point: (pointID, P), sample: t).
public enum CapacityEstimator {
    public static func estimateP50(model: MemoryModel, neurons: Int, criterion: RecallCriterion, trials: Int = 200,
                                   start: Double, seed: UInt64, pointID: UInt64 = 0, maxPatterns: Int = 2_000_000,
                                   threads: Int? = nil) throws -> CapacityEstimate {
        try Validate.inRange("trials", trials, 1...1_000_000)
        try Validate.inRange("neurons", neurons, 2...100_000)
        return try estimate(trials: trials, start: start, maxPatterns: maxPatterns, criterion: criterion, neurons: neurons) { p in
            try successes(model: model, neurons: neurons, patterns: p, criterion: criterion, trials: trials, seed: seed,
                          pointID: pointID, threads: threads)
        }
    }

    /// Successes out of `trials` random sequences at one P (the counter of `estimateP50`): trial t draws from
    /// RandomStream(seed, point: (pointID << 32) | P, sample: t), trials in parallel; the count is independent of
    /// the number of threads.
    public static func successes(model: MemoryModel, neurons: Int, patterns p: Int, criterion: RecallCriterion, trials: Int,
                                 seed: UInt64, pointID: UInt64 = 0, threads: Int? = nil) throws -> Int {
        try Validate.inRange("trials", trials, 1...1_000_000)
        try Validate.inRange("neurons", neurons, 2...100_000)
        try Validate.inRange("patterns", p, 1...100_000_000)
        let workers = max(1, min(trials, threads ?? ThreadPolicy.threads))
        let per = model.bytesPerTrial(neurons: neurons, patterns: p)
        try MemoryBudget.check(per.multipliedReportingOverflow(by: workers).overflow ? .max : per * workers,
                               hint: "P = \(p) patterns of N = \(neurons) neurons on \(workers) threads; lower max_patterns, N or --threads")
        let ok: [Bool] = try ThreadPolicy.parallelMap(trials, threads: threads) { t in
            var rng = RandomStream(seed: seed, point: (pointID << 32) | UInt64(p), sample: UInt64(t), purpose: "patterns")
            return try model.trialSucceeds(neurons: neurons, patterns: p, criterion: criterion, rng: &rng)
        }
        return ok.filter { $0 }.count
    }

    /// The search of docs/theory/sequence-memory.md §6 around a user success counter `successes(P)` (out of `trials`).
    public static func estimate(trials: Int, start: Double, maxPatterns: Int, criterion: RecallCriterion, neurons: Int,
                                successes: (Int) throws -> Int) throws -> CapacityEstimate {
        let clock = Stopwatch()
        var memo: [Int: Int] = [:]
        var widths: [Double] = []
        func width() -> Double {
            let lo = memo.filter { Double($0.value) / Double(trials) >= 0.5 }.keys.max()
            let hi = memo.filter { Double($0.value) / Double(trials) < 0.5 }.keys.min()
            guard let h = hi, let l = lo ?? (h == 2 ? 1 : nil), h > l else { return .infinity }
            return Double(h - l) / Double(l)
        }
        func s(_ p: Int) throws -> Double {
            if let k = memo[p] { return Double(k) / Double(trials) }
            let k = try successes(p); memo[p] = k
            widths.append(width())
            return Double(k) / Double(trials)
        }
        let minP = 2
        var p = min(maxPatterns, max(minP, Int(clamping: start.rounded())))
        var lo: Int, hi: Int
        var capped = false
        if try s(p) >= 0.5 {
            lo = p
            while true {
                let next = min(maxPatterns, lo * 2)
                if next == lo { capped = true; hi = lo; break }
                if try s(next) >= 0.5 { lo = next } else { hi = next; break }
            }
        } else {
            hi = p
            while true {
                p = max(minP - 1, hi / 2)
                if p < minP { lo = 1; break }
                if try s(p) >= 0.5 { lo = p; break }
                hi = p
            }
        }
        if !capped {
            while hi - lo > max(1, Int((0.01 * Double(lo)).rounded(.up))) {
                var mid = Int((Double(lo) * Double(hi)).squareRoot().rounded())
                mid = min(hi - 1, max(lo + 1, mid))
                if try s(mid) >= 0.5 { lo = mid } else { hi = mid }
            }
            for f in [0.8, 0.9, 1.1, 1.2] {
                let q = Int((Double(lo) * f).rounded())
                if q >= minP && q <= maxPatterns { _ = try s(q) }
            }
            // Extension: close an open interval end (no point significantly above / below 1/2) with up to two more points.
            let cp = { (q: Int) -> (Double, Double) in let b = Statistics.clopperPearson(successes: memo[q]!, trials: trials); return (b.lower, b.upper) }
            var factor = 1.5
            while !memo.keys.contains(where: { cp($0).1 < 0.5 }) && factor <= 2.25 {
                let q = min(maxPatterns, Int((Double(hi) * factor).rounded())); if memo[q] == nil { _ = try s(q) }; factor *= 1.5
            }
            factor = 0.67
            while !memo.keys.contains(where: { cp($0).0 > 0.5 }) && factor >= 0.3 {
                let q = Int((Double(lo) * factor).rounded()); if q < minP { break }; if memo[q] == nil { _ = try s(q) }; factor *= 0.67
            }
        }
        let sLo = lo >= minP ? try s(lo) : 1.0
        let sHi = try s(hi)
        var p50 = Double(lo)
        if !capped && sLo > sHi && lo >= 1 {
            p50 = exp(log(Double(lo)) + (sLo - 0.5) / (sLo - sHi) * log(Double(hi) / Double(lo)))
        }
        let points = memo.keys.sorted().map { q -> CapacityPoint in
            let k = memo[q]!
            let b = Statistics.clopperPearson(successes: k, trials: trials)
            return CapacityPoint(patterns: q, successes: k, trials: trials, lower: b.lower, upper: b.upper)
        }
        let iLo = points.filter { $0.lower > 0.5 }.map(\.patterns).max().map(Double.init) ?? 1
        let iHi = points.filter { $0.upper < 0.5 }.map(\.patterns).min().map(Double.init) ?? .infinity
        // the bisection stops at 1 % of P or at integer resolution, whichever is coarser: that is the tolerance the
        // final bracket width (h - l)/l is held to
        let resolution = Double(max(1, Int((0.01 * Double(max(lo, 1))).rounded(.up)))) / Double(max(lo, 1))
        let record = ConvergenceRecord(status: capped ? .maxIterations : .converged, iterations: memo.count,
                                       residualHistory: widths.isEmpty ? [] : widths.dropLast() + [Double(hi - lo) / Double(max(lo, 1))],
                                       tolerance: max(0.01, resolution), elapsedSeconds: clock.elapsed,
                                       message: capped ? "P_50 not bracketed: s(P) >= 1/2 up to the budget max_patterns = \(maxPatterns) (P_50 > \(lo) is a lower bound)" : nil)
        return CapacityEstimate(criterion: criterion, neurons: neurons, trials: trials, pLow: lo, pHigh: hi, p50: p50,
                                intervalLower: iLo, intervalUpper: iHi, points: points, seconds: clock.elapsed, capped: capped, record: record)
    }
}
