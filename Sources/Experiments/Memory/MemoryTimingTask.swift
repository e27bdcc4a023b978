import Foundation
import NumericalCore
import SequenceMemory

/// `solvable memory timing`: the MixedNet with a boxcar-filtered asymmetric term; overlap traces and dwell times
/// against the documented dwell rule.
public enum MemoryTimingTask: ComputeTask {
    public static let commandPath = ["memory", "timing"]
    public static let abstract = "MixedNet variable timing: overlap traces and the dwell time on each pattern vs the dwell rule."
    public static let discussion = """
        T_MN(S(t))_i = sgn sum_mu [xi_i^mu f_S(m_i^mu(S(t))) + lambda g_mu xi_i^{mu+1} f_A(mbar_i^mu(t))], Sbar the boxcar mean
        of the last tau states (current included), history xi^P then xi^1 (docs/theory/sequence-memory.md §2.3). Dwell rule (crosstalk neglected):
        the first k >= 1 with lambda g_mu f_A(k/tau) > f_S(1) + lambda g_{mu-1} f_A(1-k/tau); dwell exactly tau when
        lambda > 1 and d_A > ln lambda / ln(tau/(tau-1)); no transition when lambda <= 1. `--gains` sets per-pattern
        gains g_mu on the hidden units (the gating extension).
        """
    public static let examples = ["solvable memory timing --neurons 100 --patterns 40 --tau 5 --lambda 2.5 --degree 10 --json",
                                  "solvable memory timing --neurons 100 --patterns 10 --tau 4 --lambda 2.5 --degree 10 --gains 1,1,3,1,1,1,1,1,1,1"]
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("neurons", .int(2...100_000), default: .int(100), help: "N"),
        ParameterSpec("patterns", .int(2...100_000), default: .int(40), help: "P"),
        ParameterSpec("tau", .int(1...10_000), default: .int(5), help: "boxcar filter length tau"),
        ParameterSpec("lambda", .double(1e-6...1000), default: .double(2.5), help: "asymmetric strength lambda (> 0)"),
        ParameterSpec("degree", .int(1...1000), default: .int(10), help: "d_S = d_A (overridden by degree_s / degree_a)"),
        ParameterSpec("degree_s", .int(1...1000), help: "d_S of the symmetric term"),
        ParameterSpec("degree_a", .int(1...1000), help: "d_A of the asymmetric term"),
        ParameterSpec("gains", .doubleList(0...1000), help: "per-pattern gains g_mu (P values)"),
        ParameterSpec("steps", .int(0...10_000_000), help: "updates (default P tau)"),
    ]

    public struct Output {
        public var run: FilteredMixedNet.Run
        public var predicted: [Int?]   // per visit
        public var sufficient: Bool
    }

    public static func compute(neurons: Int, patterns: Int, tau: Int, lambda: Double, dS: Int, dA: Int, gains: [Double]?,
                               steps: Int?, seed: UInt64) throws -> Output {
        var rng = RandomStream(seed: seed, point: 0, sample: 0, purpose: "patterns")
        let pats = try PatternSet.random(neurons: neurons, count: patterns, rng: &rng)
        let net = try FilteredMixedNet(patterns: pats, symmetric: .polynomial(dS), asymmetric: .polynomial(dA), lambda: lambda, tau: tau, gains: gains)
        let run = try net.run(steps: steps)
        let g = net.gains
        let pred = run.visits.map { v -> Int? in
            guard v.pattern >= 0 else { return nil }
            let prev = (v.pattern - 1 + patterns) % patterns
            return CapacityTheory.dwellTime(tau: tau, lambda: lambda * g[v.pattern], lambdaIn: lambda * g[prev],
                                            symmetric: .polynomial(dS), asymmetric: .polynomial(dA), neurons: neurons)
        }
        let suff = tau > 1 && lambda > 1 && Double(dA) > log(lambda) / log(Double(tau) / Double(tau - 1)) && gains == nil
        return Output(run: run, predicted: pred, sufficient: suff)
    }

    static func dwellAgreement(_ o: Output, tau: Int) -> Agreement {
        // complete visits only (the last is cut by the end of the run); a visit predicted "no transition" must be the last.
        let complete = Array(o.run.visits.dropLast().enumerated())
        var maxDev = 0
        for (k, v) in complete {
            if v.pattern < 0 { maxDev = max(maxDev, tau); continue }
            guard let d = o.predicted[k] else { maxDev = max(maxDev, tau); continue }
            maxDev = max(maxDev, abs(v.dwell - d))
        }
        if complete.isEmpty, let last = o.run.visits.last, o.predicted.last == .some(nil) {
            _ = last  // stayed on one pattern, as the rule says for lambda <= 1
        }
        return Agreement(statistic: "max |dwell - rule| over \(complete.count) complete visits (steps)", value: Double(maxDev),
                         tolerance: o.sufficient ? 0 : 1,
                         detail: o.sufficient ? "rule exact here (d_A > ln lambda / ln(tau/(tau-1)))" : "crosstalk can shift a dwell by a step where the sufficient condition fails")
    }

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let tau = p.int("tau")
        let dS = p.optionalInt("degree_s") ?? p.int("degree"), dA = p.optionalInt("degree_a") ?? p.int("degree")
        let o = try compute(neurons: p.int("neurons"), patterns: p.int("patterns"), tau: tau, lambda: p.double("lambda"), dS: dS, dA: dA,
                            gains: p.optionalDoubles("gains"), steps: p.optionalInt("steps"), seed: ctx.seed)
        let visits = o.run.visits
        var out = TaskOutput(summary: .object([
            ("visits", .array(visits.enumerated().map { (k, v) in .object([("pattern", .int(v.pattern + 1)), ("dwell", .int(v.dwell)),
                                                                            ("rule", o.predicted[k].map { .int($0) } ?? .null)]) })),
            ("order_correct", .bool(zip(visits.dropLast(), visits.dropFirst()).allSatisfy { $0.pattern >= 0 && $1.pattern == ($0.pattern + 1) % p.int("patterns") })),
            ("off_pattern_steps", .int(o.run.onPattern.filter { $0 < 0 }.count)),
            ("rule_sufficient_condition", .bool(o.sufficient))]))
        var t = ResultTable()
        t.add("visit", (0..<visits.count).map(Double.init))
        t.add("pattern", visits.map { Double($0.pattern + 1) })
        t.add("dwell", visits.map { Double($0.dwell) })
        t.add("rule", strings: o.predicted.map { $0.map(String.init) ?? "none" })
        out.tables = [("dwell", t)]
        out.arrays = [("overlaps", NDArray(rows: o.run.overlaps))]
        out.plots = [("overlaps", overlapPlot(o.run, title: "MixedNet overlaps (tau=\(tau), d_S=\(dS), d_A=\(dA))", count: 6))]
        out.agreement = [dwellAgreement(o, tau: tau)]
        return out
    }

    static func overlapPlot(_ run: FilteredMixedNet.Run, title: String, count: Int) -> Plot {
        var plot = Plot(title: title, xLabel: "t", yLabel: "m^mu(t)")
        let x = (0..<run.overlaps.count).map(Double.init)
        for mu in 0..<min(count, run.overlaps.first?.count ?? 0) {
            plot.series.append(Plot.Series(label: "mu=\(mu + 1)", x: x, y: run.overlaps.map { $0[mu] }, style: .line, color: mu))
        }
        return plot
    }
}
