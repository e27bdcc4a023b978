import Foundation
import NumericalCore

/// A parameter sweep over any compute command: fixed parameters plus axes that are combined as a cartesian
/// product (grids, log-spaced and linearly spaced ranges) with one optional group of zipped axes.
///
/// Spec file (TOML or JSON):
/// ```toml
/// command = "features theory"
/// seed = 1                      # base seed; each point's seed derives from (seed, point ID)
/// [parameters]                  # fixed values
/// n0 = 400
/// [grid]                        # explicit values per axis
/// lambda = [0.001, 0.01]
/// [logspace]                    # num values from start to stop, log-spaced (inclusive)
/// p = { start = 10, stop = 1000, num = 5, integer = true }
/// [linspace]
/// eta = { start = 0.0, stop = 1.0, num = 3 }
/// [zip]                         # axes of equal length varied together
/// n1 = [100, 200]
/// n2 = [50, 100]
/// ```
/// Expansion is in `SweepExpansion.swift`, running in `SweepRunner.swift`, merging in `SweepMerge.swift`.
public struct SweepSpec: Sendable {
    /// The most points one spec may expand to (checked before anything is expanded).
    public static let maxPoints = 100_000

    public let command: [String]
    public let baseSeed: UInt64
    public let fixed: [(String, JSONValue)]
    /// Product axes, in file order.
    public let axes: [(String, [JSONValue])]
    /// Zipped axes (all of the same length), varied together as one product axis.
    public let zipped: [(String, [JSONValue])]
    public let source: String

    public init(path: String) throws {
        try self.init(config: readConfigFile(path), source: path)
    }

    public init(config kv: [(String, JSONValue)], source: String = "sweep spec") throws {
        self.source = source
        let allowed: Set<String> = ["command", "seed", "parameters", "grid", "logspace", "linspace", "zip"]
        for (k, _) in kv where !allowed.contains(k) { throw SolvableError.unknownParameter(name: k, known: allowed.sorted()) }
        let table = JSONValue.object(kv)
        guard case .string(let cmd)? = table["command"] else {
            throw SolvableError.invalidParameter(name: "command", value: "(missing)", allowed: "a command such as \"features theory\"")
        }
        let path = cmd.split(separator: " ").map(String.init)
        guard Registry.sweepTask(path) != nil else {
            throw SolvableError.invalidParameter(name: "command", value: cmd, allowed: "one of " + Registry.sweepTasks.map { $0.commandPath.joined(separator: " ") }.joined(separator: ", "))
        }
        command = path
        switch table["seed"] {
        case nil: baseSeed = 0
        case .int(let s)? where s >= 0: baseSeed = UInt64(s)
        default: throw SolvableError.invalidParameter(name: "seed", value: "\(table["seed"]!)", allowed: "an integer >= 0")
        }
        func objectEntries(_ key: String) throws -> [(String, JSONValue)] {
            guard let v = table[key] else { return [] }
            guard case .object(let e) = v else { throw SolvableError.invalidParameter(name: key, value: "\(v)", allowed: "a table") }
            // options of the sweep itself (seed, out, threads, ...) would be silently ignored per point: refuse them
            for (k, _) in e where commonParameterKeys.contains(Parameters.canonical(k)) {
                throw SolvableError.invalidParameter(name: "\(key).\(k)", value: "(a sweep option, not a parameter)",
                                                     allowed: "the command's own parameters; the base seed is the top-level `seed =`, and out/threads/quiet are options of `sweep run`")
            }
            return e
        }
        fixed = try objectEntries("parameters")
        var axes: [(String, [JSONValue])] = []
        for (k, v) in try objectEntries("grid") {
            guard case .array(let xs) = v, !xs.isEmpty else { throw SolvableError.invalidParameter(name: "grid.\(k)", value: "\(v)", allowed: "a non-empty list") }
            axes.append((k, xs))
        }
        for kind in ["logspace", "linspace"] {
            for (k, v) in try objectEntries(kind) { axes.append((k, try SweepSpec.range(kind: kind, name: k, v))) }
        }
        self.axes = axes
        zipped = try objectEntries("zip").map { k, v in
            guard case .array(let xs) = v, !xs.isEmpty else { throw SolvableError.invalidParameter(name: "zip.\(k)", value: "\(v)", allowed: "a non-empty list") }
            return (k, xs)
        }
        if let n = zipped.first?.1.count, zipped.contains(where: { $0.1.count != n }) {
            throw SolvableError.invalidParameter(name: "zip", value: zipped.map { "\($0.0): \($0.1.count)" }.joined(separator: ", "), allowed: "lists of equal length")
        }
        let names = (fixed.map(\.0) + axes.map(\.0) + zipped.map(\.0)).map(Parameters.canonical)
        if Set(names).count != names.count {
            throw SolvableError.invalidParameter(name: "parameters", value: names.joined(separator: ", "), allowed: "each parameter in one place only")
        }
        // bounded before expansion: the product of the axis lengths, without overflow
        var count = 1
        for n in axes.map(\.1.count) + (zipped.first.map { [$0.1.count] } ?? []) {
            let (c, overflow) = count.multipliedReportingOverflow(by: n)
            count = overflow ? Int.max : c
        }
        guard count <= SweepSpec.maxPoints else {
            throw SolvableError.invalidParameter(name: "points", value: count == Int.max ? "more than 2^63" : "\(count)",
                                                 allowed: "at most \(SweepSpec.maxPoints) points per sweep (split the spec into several sweeps)")
        }
        pointCount = count
    }

    /// Number of points, known before expansion.
    public let pointCount: Int

    public var task: any ComputeTask.Type { Registry.sweepTask(command)! }

    /// The values of a `[logspace]` or `[linspace]` axis.
    static func range(kind: String, name k: String, _ v: JSONValue) throws -> [JSONValue] {
        let name = "\(kind).\(k)"
        guard let start = v["start"]?.doubleValue, let stop = v["stop"]?.doubleValue, case .int(let num)? = v["num"],
              start.isFinite, stop.isFinite, (1...SweepSpec.maxPoints).contains(num) else {
            throw SolvableError.invalidParameter(name: name, value: "\(v)", allowed: "{ start = x, stop = y, num = 1..\(SweepSpec.maxPoints) } with finite x, y")
        }
        if kind == "logspace" && (start <= 0 || stop <= 0) {
            throw SolvableError.invalidParameter(name: name, value: "\(v)", allowed: "start and stop > 0")
        }
        let integer = v["integer"] == .bool(true)
        if integer && max(abs(start), abs(stop)) > 9e15 {
            throw SolvableError.invalidParameter(name: name, value: "\(v)", allowed: "|start|, |stop| <= 9e15 with integer = true")
        }
        return (0..<num).map { i in
            let f = num == 1 ? 0 : Double(i) / Double(num - 1)
            let x = kind == "logspace" ? exp(log(start) + f * (log(stop) - log(start))) : start + f * (stop - start)
            // 12 significant digits: 10^-1 is 0.1, not 0.10000000000000002
            let clean = Double(String(format: "%.12g", x)) ?? x
            return integer ? .int(Int(x.rounded())) : .double(clean)
        }
    }
}
