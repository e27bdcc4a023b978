import Foundation
import NumericalCore

/// How a figure or command should be sized: `quick` for the main job (minutes on 2 cores), `paper` for the
/// published settings.
public enum Scale: String, Sendable, CaseIterable { case quick, paper }

/// What a compute command receives besides its parameters.
public struct RunContext: Sendable {
    /// Base seed; derive streams with `RandomStream(seed: seed, point:, sample:)`.
    public var seed: UInt64
    /// Thread budget (see `ThreadPolicy`).
    public var threads: Int
    /// Log lines go to stderr (via swift-log in the CLI); silent when quiet.
    public var log: @Sendable (String) -> Void
    /// Where long solves keep their default checkpoint: the command's `--out` directory in the CLI, a per-point
    /// directory in sweeps (nil: no default checkpoint).
    public var checkpointDirectory: String?
    /// Where a command with several independent points keeps each finished one (nil: nowhere); see `PartialResults`.
    public var partial: PartialResults?

    public init(seed: UInt64 = 0, threads: Int = ThreadPolicy.threads, log: @escaping @Sendable (String) -> Void = { _ in },
                checkpointDirectory: String? = nil) {
        self.seed = seed
        self.threads = threads
        self.log = log
        self.checkpointDirectory = checkpointDirectory
    }
}

/// One theory-vs-simulation agreement statistic with its pass/fail against a stated tolerance.
public struct Agreement: Sendable {
    /// e.g. "max |z| over 12 points", "min kernel alignment".
    public var statistic: String
    public var value: Double
    /// The bound the statistic is checked against, e.g. 3 (standard errors) or 0.98 (alignment).
    public var tolerance: Double
    /// True when larger values are better (alignment), false when smaller are (|z|).
    public var higherIsBetter: Bool
    public var detail: String

    public init(statistic: String, value: Double, tolerance: Double, higherIsBetter: Bool = false, detail: String = "") {
        self.statistic = statistic
        self.value = value
        self.tolerance = tolerance
        self.higherIsBetter = higherIsBetter
        self.detail = detail
    }

    public var passed: Bool { value.isFinite && (higherIsBetter ? value >= tolerance : value <= tolerance) }

    /// The max |z| over theory/simulation pairs with standard errors (points with zero error and equal values give 0).
    public static func maxAbsZ(theory: [Double], simulation: [Double], standardErrors: [Double], tolerance: Double = 3,
                               detail: String = "") -> Agreement {
        var zmax = 0.0
        for k in 0..<theory.count {
            let z = abs(Statistics.zScore(observed: simulation[k], expected: theory[k], standardError: standardErrors[k]))
            zmax = max(zmax, z.isNaN ? .infinity : z)
        }
        return Agreement(statistic: "max |z| over \(theory.count) points", value: zmax, tolerance: tolerance, detail: detail)
    }

    public var json: JSONValue {
        .object([("statistic", .string(statistic)), ("value", .number(value)), ("tolerance", .number(tolerance)),
                 ("higher_is_better", .bool(higherIsBetter)), ("passed", .bool(passed)), ("detail", .string(detail))])
    }
}

/// The result of a compute command: a JSON summary (printed with `--json`), plus tables (CSV), arrays (.npy),
/// plots (SVG) and solver records, all written to `--out`.
public struct TaskOutput: Sendable {
    public var summary: JSONValue
    public var tables: [(name: String, table: ResultTable)] = []
    public var arrays: [(name: String, array: NDArray)] = []
    public var plots: [(name: String, plot: Plot)] = []
    public var records: [(name: String, record: ConvergenceRecord)] = []
    public var agreement: [Agreement] = []
    /// Checkpoints of the solves behind this output: deleted once the outputs are written (or printed), since
    /// they are then no longer needed to avoid losing work.
    public var checkpoints: [Checkpoint] = []
    /// Parameters as the computation actually used them where they differ from or add to what was given (e.g. the
    /// shape of `--inputs` data instead of the synthetic defaults); recorded in the manifest.
    public var effectiveParameters: [(String, JSONValue)] = []
    /// Whether +-infinity is a legitimate value of this output (a learning curve at a pole); NaN never is.
    public var infinityAllowed = false
    /// What the finiteness gate removed, one line each (recorded in the manifest).
    public var omitted: [String] = []

    public init(summary: JSONValue) { self.summary = summary }

    /// Worst solver status over all records (`converged` when there are none).
    public var status: SolverStatus { SolverStatus.worst(records.map(\.record.status)) }

    /// The one finiteness gate every result passes before it is written or called converged:
    /// - a record whose own numbers contradict its status (converged with a final residual above its tolerance,
    ///   or not finite) becomes `maxIterations` (or `diverged`), with a message saying why;
    /// - tables are cut before their first row holding a non-finite value (time series: the steps before the
    ///   blow-up stay), arrays holding one are left out, summary numbers that are not finite become null and are
    ///   listed under `non_finite`;
    /// - anything removed adds a `finiteness` record with status `diverged` and the first non-finite step, so the
    ///   CLI exits 3 and says from which step the values are not finite.
    public func gated() -> TaskOutput {
        var out = self
        out.records = records.map { (name, r) in (name, r.statusFromNumbers()) }
        var removed: [String] = []
        var firstStep: Int? = nil
        out.tables = tables.map { (name, t) in
            guard let row = t.firstNonFiniteRow(allowInfinity: infinityAllowed) else { return (name, t) }
            removed.append("\(name).csv: rows from \(row) on (of \(t.rowCount)) hold non-finite values and were not written")
            firstStep = min(firstStep ?? row, row)
            return (name, t.prefix(rows: row))
        }
        out.arrays = arrays.filter { (name, a) in
            guard let i = a.data.firstIndex(where: { $0.isNaN || (!infinityAllowed && $0.isInfinite) }) else { return true }
            removed.append("\(name).npy: holds non-finite values (first at flat index \(i)) and was not written")
            return false
        }
        var nonFiniteKeys: [String] = []
        out.summary = TaskOutput.nullingNonFinite(summary, path: "", allowInfinity: infinityAllowed, found: &nonFiniteKeys)
        if !nonFiniteKeys.isEmpty {
            removed.append("result.json: \(nonFiniteKeys.joined(separator: ", ")) not finite (written as null)")
            if case .object(var kv) = out.summary {
                kv.append(("non_finite", .array(nonFiniteKeys.map { .string($0) })))
                out.summary = .object(kv)
            }
        }
        if !removed.isEmpty {
            var r = ConvergenceRecord(status: .diverged, iterations: firstStep ?? 0, residualHistory: [.infinity], tolerance: 0,
                                      elapsedSeconds: 0, message: (firstStep.map { "values are not finite from step \($0) on; " } ?? "")
                                        + removed.joined(separator: "; "))
            r.nonFiniteFrom = firstStep
            out.records.append(("finiteness", r))
            out.omitted = omitted + removed
        }
        return out
    }

    /// `value` with non-finite numbers replaced by null (their key paths appended to `found`); infinities stay
    /// when allowed. Strings "inf"/"-inf" (how `JSONValue.number` writes infinities) count as infinite.
    static func nullingNonFinite(_ value: JSONValue, path: String, allowInfinity: Bool, found: inout [String]) -> JSONValue {
        switch value {
        case .double(let d) where !d.isFinite && (d.isNaN || !allowInfinity):
            found.append(path); return .null
        case .string(let s) where !allowInfinity && (s == "inf" || s == "-inf"):
            found.append(path); return .null
        case .array(let xs):
            var firstBad: String? = nil
            var local: [String] = []
            let ys = xs.enumerated().map { (i, x) -> JSONValue in
                let y = nullingNonFinite(x, path: "\(path)[\(i)]", allowInfinity: allowInfinity, found: &local)
                return y
            }
            if let f = local.first { firstBad = f }
            if let f = firstBad { found.append(local.count == 1 ? f : "\(f) and \(local.count - 1) more") }
            return .array(ys)
        case .object(let kv):
            return .object(kv.map { (k, v) in (k, nullingNonFinite(v, path: path.isEmpty ? k : "\(path).\(k)", allowInfinity: allowInfinity, found: &found)) })
        default:
            return value
        }
    }
}

/// A compute command of the CLI, `solvable <model> <verb>`, declared once and run by the CLI, sweeps and tests
/// alike. Implementations live next to their model's figures in `Sources/Experiments/<Model>/`.
public protocol ComputeTask {
    /// e.g. ["features", "theory"].
    static var commandPath: [String] { get }
    /// One line for `--help`.
    static var abstract: String { get }
    /// Longer help: what it computes, the equation, and the paper.
    static var discussion: String { get }
    /// Example invocations shown in `--help`.
    static var examples: [String] { get }
    static var parameters: [ParameterSpec] { get }
    /// Runs the command. Throw `SolvableError.invalidParameter` for cross-parameter problems.
    /// A solver that did not converge is reported through `TaskOutput.records`, not thrown.
    static func run(_ parameters: Parameters, _ context: RunContext) throws -> TaskOutput
}

extension ComputeTask {
    public static var discussion: String { "" }
    public static var name: String { commandPath.joined(separator: " ") }
}

/// A figure of the main job's report: a theory-vs-simulation comparison that states its agreement.
public struct FigureSpec: Sendable {
    /// Stable id, e.g. "features-isotropic".
    public let name: String
    /// "features", "memory", "dmft" or "fluctuations".
    public let model: String
    public let title: String
    /// What the quick scale shrinks relative to the paper's settings.
    public let quickScaleNote: String
    public let run: @Sendable (Scale, RunContext) throws -> FigureResult

    public init(name: String, model: String, title: String, quickScaleNote: String,
                run: @escaping @Sendable (Scale, RunContext) throws -> FigureResult) {
        self.name = name
        self.model = model
        self.title = title
        self.quickScaleNote = quickScaleNote
        self.run = run
    }
}

/// What a figure produces: panels, the parameters used, its agreement statistics and solver records.
public struct FigureResult: Sendable {
    public var panels: [Plot]
    public var parameters: [(String, String)]
    public var agreement: [Agreement]
    public var records: [ConvergenceRecord]
    public var tables: [(name: String, table: ResultTable)]
    public var caption: String
    /// Panels already rendered as SVG (a figure read back from a sweep point's record); `panels` is then empty.
    public var renderedPanels: [String]? = nil

    public init(panels: [Plot], parameters: [(String, String)], agreement: [Agreement], records: [ConvergenceRecord] = [],
                tables: [(name: String, table: ResultTable)] = [], caption: String = "") {
        self.panels = panels
        self.parameters = parameters
        self.agreement = agreement
        self.records = records
        self.tables = tables
        self.caption = caption
    }

    public var status: SolverStatus { SolverStatus.worst(records.map(\.status)) }
    public var passed: Bool { agreement.allSatisfy(\.passed) && status.isConverged }
}
