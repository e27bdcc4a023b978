import Foundation
import NumericalCore

/// Collects finished points into `results.csv`, `runs.csv`, one `.npy` per list-valued result and `arrays.json`
/// (their axes), and says exactly what is missing and how to resubmit it.
public enum SweepMerge {
    /// A point that is not done, and why.
    public struct Missing: Sendable {
        public enum Reason: Sendable, Equatable {
            case notRun
            case damaged(String)
            case failed(String)
            /// Refused for memory: needs this many bytes (it fails again unless the allocation is raised).
            case refused(needed: Int)
        }
        public var point: SweepPoint
        public var reason: Reason
    }

    public struct Summary: Sendable {
        public var total: Int
        public var done: Int
        public var missing: [Missing]
        /// List-valued or non-numeric results that were not merged into arrays, with the reason.
        public var notMerged: [String]
        /// Shards (0-based array indices) with missing points, excluding those whose points were all refused.
        public var shardsToResubmit: [Int]
        /// Shards with refused points, and the memory they need (bytes, the largest over their points).
        public var refusedShards: [Int]
        public var refusedNeed: Int
    }

    public static func merge(spec: SweepSpec, out: String, shards: Int) throws -> Summary {
        let points = try spec.points()
        var missing: [Missing] = []
        var done: [(SweepPoint, JSONValue)] = []
        for p in points {
            switch SweepRecord.read(out, p.id) {
            case .absent: missing.append(Missing(point: p, reason: .notRun))
            case .damaged(let why): missing.append(Missing(point: p, reason: .damaged(why)))
            case .valid(let r):
                if r["status"] == .string("failed") {
                    missing.append(Missing(point: p, reason: .failed(r["error"].map { if case .string(let s) = $0 { return s }; return "" } ?? "")))
                } else if r["status"] == .string("refused") {
                    missing.append(Missing(point: p, reason: .refused(needed: { if case .int(let n)? = r["needed_bytes"] { return n }; return 0 }())))
                } else {
                    done.append((p, r))
                }
            }
        }
        var table = ResultTable()
        table.add("index", strings: done.map { String($0.0.index) })
        table.add("id", strings: done.map { $0.0.id })
        table.add("status", strings: done.map { text($0.1["status"]) })
        table.add("seed", strings: done.map { String($0.0.seed) })
        for name in spec.axes.map(\.0) + spec.zipped.map(\.0) {
            let key = Parameters.canonical(name)
            addColumn(&table, key, done.map { $0.0.parameters.values[key] })
        }
        addColumn(&table, "residual", done.map { $0.1["residual"] })
        addColumn(&table, "iterations", done.map { $0.1["iterations"] })
        let isReproduce = spec.command == ReproduceFigureTask.commandPath
        var arrays: [(String, NDArray, [String])] = []
        var notMerged: [String] = []
        if case .object(let first)? = done.first?.1["result"] {
            for (key, v) in first {
                let column = done.map { $0.1["result"]?[key] }
                switch v {
                case .array:
                    let rows = column.map { $0.flatMap(numericArray) }
                    guard let shape = rows.first??.shape, rows.allSatisfy({ $0?.shape == shape }) else {
                        notMerged.append("\(key): " + (rows.contains { $0 == nil } ? "not a rectangular list of numbers" : "shape differs between points"))
                        continue
                    }
                    let axes = ["point"] + shape.indices.map { shape.count == 1 ? "\(key)_index" : "\(key)_axis\($0)" }
                    arrays.append((key, NDArray(shape: [done.count] + shape, data: rows.flatMap { $0!.data }), axes))
                case .object:
                    if !isReproduce { notMerged.append("\(key): a table (read it from points/<id>.json)") }
                default:
                    if column.allSatisfy({ $0.map(isNumber) ?? false }) { addColumn(&table, key, column) }
                    else if column.allSatisfy({ switch $0 { case .string?, .bool?: return true; default: return false } }) { addColumn(&table, key, column) }
                    else { notMerged.append("\(key): mixed types between points") }
                }
            }
        }
        var outDir = try OutputDirectory(out)
        try outDir.write("results.csv", text: CSV.encode(table))
        var runs = ResultTable()
        runs.add("index", strings: done.map { String($0.0.index) })
        runs.add("wall_seconds", done.map { $0.1["wall_seconds"]?.doubleValue ?? 0 })
        for k in ["host", "slurm_job_id", "slurm_array_task_id", "slurm_restart_count"] { runs.add(k, strings: done.map { text($0.1[k]) }) }
        try outDir.write("runs.csv", text: CSV.encode(runs))
        try outDir.write("point_index.npy", NPY.encode(NDArray(done.map { Double($0.0.index) })))
        var schema: [(String, JSONValue)] = [("point_index.npy", .object([("shape", .array([.int(done.count)])), ("axes", .array([.string("point")]))]))]
        for (key, a, axes) in arrays {
            try outDir.write("\(key).npy", NPY.encode(a))
            schema.append(("\(key).npy", .object([("shape", .array(a.shape.map { .int($0) })), ("axes", .array(axes.map { .string($0) }))])))
        }
        try outDir.write("arrays.json", text: JSONValue.object(schema).serialized() + "\n")
        if isReproduce, let first = done.first {
            try ReproduceFigureTask.writeReport(points: done, scale: Scale(rawValue: first.0.parameters.string("scale")) ?? .quick, into: &outDir)
        }
        let refused = missing.filter { if case .refused = $0.reason { return true }; return false }
        let refusedShards = Set(refused.map { $0.point.shard(of: shards) })
        let otherShards = Set(missing.filter { if case .refused = $0.reason { return false }; return true }.map { $0.point.shard(of: shards) })
        let need = refused.map { if case .refused(let n) = $0.reason { return n }; return 0 }.max() ?? 0
        return Summary(total: points.count, done: done.count, missing: missing, notMerged: notMerged,
                       shardsToResubmit: otherShards.subtracting(refusedShards).sorted(), refusedShards: refusedShards.sorted(), refusedNeed: need)
    }

    static func text(_ v: JSONValue?) -> String {
        switch v {
        case .string(let s)?: return s
        case nil, .null?: return ""
        case let x?: return x.serialized(pretty: false)
        }
    }

    static func isNumber(_ v: JSONValue) -> Bool {
        switch v { case .int, .double, .string("inf"), .string("-inf"): return true; default: return false }
    }

    static func number(_ v: JSONValue) -> Double? {
        switch v { case .string("inf"): return .infinity; case .string("-inf"): return -.infinity; default: return v.doubleValue }
    }

    /// A JSON list of numbers (nested to any depth, rectangular) as an array.
    static func numericArray(_ v: JSONValue) -> NDArray? {
        guard case .array(let xs) = v else { return number(v).map { NDArray(shape: [], data: [$0]) } }
        let rows = xs.map(numericArray)
        guard !rows.isEmpty, let shape = rows[0]?.shape, rows.allSatisfy({ $0?.shape == shape }) else { return nil }
        return NDArray(shape: [xs.count] + shape, data: rows.flatMap { $0!.data })
    }

    /// Integers stay integers (written as such), other numbers as doubles, anything else as text.
    static func addColumn(_ t: inout ResultTable, _ name: String, _ vals: [JSONValue?]) {
        if vals.allSatisfy({ if case .int? = $0 { return true }; return false }) {
            t.add(name, strings: vals.map { text($0) })
        } else if vals.allSatisfy({ $0.map(isNumber) ?? false }) {
            t.add(name, vals.map { number($0!)! })
        } else {
            t.add(name, strings: vals.map { v in text(v) })
        }
    }

    /// Array indices as Slurm writes them: "0-3,7,9-10".
    public static func arrayRanges(_ xs: [Int]) -> String {
        var parts: [String] = []
        var k = 0
        let s = xs.sorted()
        while k < s.count {
            var j = k
            while j + 1 < s.count && s[j + 1] == s[j] + 1 { j += 1 }
            parts.append(j == k ? "\(s[k])" : "\(s[k])-\(s[j])")
            k = j + 1
        }
        return parts.joined(separator: ",")
    }
}
