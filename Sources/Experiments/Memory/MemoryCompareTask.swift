import Foundation
import NumericalCore
import SequenceMemory

/// `solvable memory compare`: Hebbian DenseNet vs the generalized pseudoinverse rule on correlated patterns.
public enum MemoryCompareTask: ComputeTask {
    public static let commandPath = ["memory", "compare"]
    public static let abstract = "Correlated patterns: Hebbian DenseNet vs generalized pseudoinverse rule, recall success vs correlation."
    public static let discussion = """
        Success = every transition of the sequence exactly correct (docs/theory/sequence-memory.md §4.1). Patterns biased, Pr(+1) = (1+eps)/2, or
        sharing a template (each bit copies it with probability rho). Hebbian theory (docs/theory/sequence-memory.md §7): recall needs
        P < eps^{-(2d+1)} + 1 (necessary, far from sufficient at N = 100); the consistent GPI (a = (Xi^T)^+ S,
        self-inclusive) is exact for every correlation while rank(O) = P (docs/theory/sequence-memory.md §2.2).
        """
    public static let examples = ["solvable memory compare --neurons 100 --patterns 20 --degrees 1,2 --correlations 0,0.4,0.8 --trials 10 --json"]
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("neurons", .int(4...100_000), default: .int(100), help: "N"),
        ParameterSpec("patterns", .int(2...100_000), default: .int(20), help: "P"),
        ParameterSpec("degrees", .intList(1...100), default: .array([.int(1), .int(2), .int(3)]), help: "degrees d"),
        ParameterSpec("correlation", .choice(["bias", "template"]), default: .string("bias"), help: "kind of correlation"),
        ParameterSpec("correlations", .doubleList(0...0.99), default: .array([0, 0.2, 0.4, 0.6, 0.8, 0.95].map { .double($0) }), help: "eps or rho values"),
        ParameterSpec("trials", .int(1...100_000), default: .int(20), help: "sequences per point"),
    ]

    public struct Row {
        public var degree: Int, correlation: Double, hebbian: Int, gpi: Int, fullRank: Int, trials: Int
        /// P < c^{-(2d+1)} + 1: the necessary condition of docs/theory/sequence-memory.md §7 for the Hebbian rule.
        public var biasBoundAllows: Bool
    }

    public static func compute(neurons: Int, patterns: Int, degrees: [Int], template: Bool, correlations: [Double], trials: Int,
                               seed: UInt64) throws -> [Row] {
        var rows: [Row] = []
        for (a, d) in degrees.enumerated() {
            for (b, c) in correlations.enumerated() {
                let res: [(Bool, Bool, Bool)] = try ThreadPolicy.parallelMap(trials) { t in
                    var rng = RandomStream(seed: seed, point: UInt64(a * 1000 + b), sample: UInt64(t), purpose: "patterns")
                    let pats = template ? try PatternSet.template(neurons: neurons, count: patterns, similarity: c, rng: &rng)
                                        : try PatternSet.biased(neurons: neurons, count: patterns, bias: c, rng: &rng)
                    let heb = try SequenceNetwork.denseNet(patterns: pats, separation: .polynomial(d)).checkTransitions(stopAtFirstError: true).allCorrect
                    let gpi = try PseudoinverseNetwork(patterns: pats, separation: .polynomial(d))
                    return (heb, gpi.checkTransitions().allCorrect, gpi.rank == patterns)
                }
                let bound = c == 0 ? Double.infinity : pow(c, -Double(2 * d + 1)) + 1
                rows.append(Row(degree: d, correlation: c, hebbian: res.filter(\.0).count, gpi: res.filter(\.1).count,
                                fullRank: res.filter(\.2).count, trials: trials, biasBoundAllows: Double(patterns) < bound))
            }
        }
        return rows
    }

    static func agreement(_ rows: [Row]) -> [Agreement] {
        let gpiFull = rows.filter { $0.fullRank == $0.trials }
        let minGPI = gpiFull.map { Double($0.gpi) / Double($0.trials) }.min() ?? 1
        let beyond = rows.filter { !$0.biasBoundAllows }
        let maxHeb = beyond.map { Double($0.hebbian) / Double($0.trials) }.max() ?? 0
        return [Agreement(statistic: "min GPI success over full-rank points", value: minGPI, tolerance: 1, higherIsBetter: true,
                          detail: "theory: exact recall whenever rank(O) = P (docs/theory/sequence-memory.md §2.2), so every trial must succeed"),
                Agreement(statistic: "max Hebbian success beyond the bias bound P >= eps^-(2d+1) + 1", value: maxHeb, tolerance: 0,
                          detail: "\(beyond.count) points where the necessary condition of docs/theory/sequence-memory.md §7 fails; none may succeed")]
    }

    static func plot(_ rows: [Row], patterns: Int, label: String) -> Plot {
        var plot = Plot(title: "recall success vs correlation (P = \(patterns))", xLabel: label, yLabel: "fraction of sequences recalled")
        let ds = Array(Set(rows.map(\.degree))).sorted()
        for (ci, d) in ds.enumerated() {
            let rs = rows.filter { $0.degree == d }
            let x = rs.map(\.correlation)
            func se(_ k: Int, _ n: Int) -> Double { let w = Statistics.wilsonInterval(successes: k, trials: n); return (w.upper - w.lower) / 2 }
            plot.series.append(Plot.Series(label: "Hebbian d=\(d)", x: x, y: rs.map { Double($0.hebbian) / Double($0.trials) },
                                           yError: rs.map { se($0.hebbian, $0.trials) }, style: .linePoints, color: ci))
            plot.series.append(Plot.Series(label: "GPI d=\(d)", x: x, y: rs.map { Double($0.gpi) / Double($0.trials) },
                                           yError: rs.map { se($0.gpi, $0.trials) }, style: .points, color: ci + 3))
            let c = pow(Double(patterns - 1), -1 / Double(2 * d + 1))
            plot.series.append(Plot.Series(label: "bias bound d=\(d)", x: [c, c], y: [0, 1], style: .dashed, color: ci))
        }
        plot.series.append(Plot.Series(label: "GPI theory", x: [rows.map(\.correlation).min() ?? 0, rows.map(\.correlation).max() ?? 1], y: [1, 1], style: .line, color: 7))
        return plot
    }

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let template = p.string("correlation") == "template"
        let rows = try compute(neurons: p.int("neurons"), patterns: p.int("patterns"), degrees: p.ints("degrees"), template: template,
                               correlations: p.doubles("correlations"), trials: p.int("trials"), seed: ctx.seed)
        var t = ResultTable()
        t.add("degree", rows.map { Double($0.degree) }); t.add("correlation", rows.map(\.correlation))
        t.add("hebbian_success", rows.map { Double($0.hebbian) / Double($0.trials) })
        t.add("gpi_success", rows.map { Double($0.gpi) / Double($0.trials) })
        t.add("full_rank_fraction", rows.map { Double($0.fullRank) / Double($0.trials) })
        t.add("bias_bound_allows", rows.map { $0.biasBoundAllows ? 1 : 0 })
        var out = TaskOutput(summary: .object([("rows", .array(rows.map { r in .object([
            ("degree", .int(r.degree)), ("correlation", .number(r.correlation)), ("hebbian_success", .number(Double(r.hebbian) / Double(r.trials))),
            ("gpi_success", .number(Double(r.gpi) / Double(r.trials))), ("bias_bound_allows", .bool(r.biasBoundAllows))]) }))]))
        out.tables = [("compare", t)]
        out.plots = [("compare", plot(rows, patterns: p.int("patterns"), label: template ? "template similarity rho" : "bias eps"))]
        out.agreement = agreement(rows)
        return out
    }
}
