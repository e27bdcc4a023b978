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
public struct SweepSpec: Sendable {
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
        guard Registry.task(path) != nil else {
            throw SolvableError.invalidParameter(name: "command", value: cmd, allowed: "one of " + Registry.tasks.map { $0.commandPath.joined(separator: " ") }.joined(separator: ", "))
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
            return e
        }
        fixed = try objectEntries("parameters")
        var axes: [(String, [JSONValue])] = []
        for (k, v) in try objectEntries("grid") {
            guard case .array(let xs) = v, !xs.isEmpty else { throw SolvableError.invalidParameter(name: "grid.\(k)", value: "\(v)", allowed: "a non-empty list") }
            axes.append((k, xs))
        }
        for kind in ["logspace", "linspace"] {
            for (k, v) in try objectEntries(kind) {
                let name = "\(kind).\(k)"
                guard let start = v["start"]?.doubleValue, let stop = v["stop"]?.doubleValue, case .int(let num)? = v["num"],
                      start.isFinite, stop.isFinite, (1...100_000).contains(num) else {
                    throw SolvableError.invalidParameter(name: name, value: "\(v)", allowed: "{ start = x, stop = y, num = 1..100000 } with finite x, y")
                }
                if kind == "logspace" && (start <= 0 || stop <= 0) {
                    throw SolvableError.invalidParameter(name: name, value: "\(v)", allowed: "start and stop > 0")
                }
                let integer = v["integer"] == .bool(true)
                var values: [JSONValue] = []
                for i in 0..<num {
                    let f = num == 1 ? 0 : Double(i) / Double(num - 1)
                    let x = kind == "logspace" ? exp(log(start) + f * (log(stop) - log(start))) : start + f * (stop - start)
                    // 12 significant digits: 10^-1 is 0.1, not 0.10000000000000002
                    let clean = Double(String(format: "%.12g", x)) ?? x
                    values.append(integer ? .int(Int(x.rounded())) : .double(clean))
                }
                axes.append((k, values))
            }
        }
        self.axes = axes
        zipped = try objectEntries("zip").map { k, v in
            guard case .array(let xs) = v, !xs.isEmpty else { throw SolvableError.invalidParameter(name: "zip.\(k)", value: "\(v)", allowed: "a non-empty list") }
            return (k, xs)
        }
        if let n = zipped.first?.1.count, zipped.contains(where: { $0.1.count != n }) {
            throw SolvableError.invalidParameter(name: "zip", value: zipped.map { "\($0.0): \($0.1.count)" }.joined(separator: ", "), allowed: "lists of equal length")
        }
        let names = fixed.map(\.0) + axes.map(\.0) + zipped.map(\.0)
        if Set(names).count != names.count {
            throw SolvableError.invalidParameter(name: "parameters", value: names.joined(separator: ", "), allowed: "each parameter in one place only")
        }
    }

    public var task: any ComputeTask.Type { Registry.task(command)! }

    /// All points, in a stable order (last axis fastest, zipped group last).
    public func points() throws -> [SweepPoint] {
        var combos: [[(String, JSONValue)]] = [[]]
        for (name, values) in axes { combos = combos.flatMap { c in values.map { c + [(name, $0)] } } }
        if let n = zipped.first?.1.count {
            combos = combos.flatMap { c in (0..<n).map { i in c + zipped.map { ($0.0, $0.1[i]) } } }
        }
        let specs = task.parameters
        return try combos.enumerated().map { index, combo in
            let params = try Parameters(specs: specs, config: fixed + combo)   // validates every point up front
            let canonical = params.json.serialized(pretty: false)
            let id = String(format: "%016llx", stableHash(command.joined(separator: " ") + "|" + canonical + "|" + RunEnvironment.version))
            return SweepPoint(index: index, id: id, parameters: params, seed: mixWords([baseSeed, stableHash(id)]))
        }
    }
}

/// One point of a sweep: its validated parameters, a stable ID (hash of command, canonical parameters and
/// Solvable version) and its seed derived from (base seed, ID), independent of sharding.
public struct SweepPoint: Sendable {
    public let index: Int
    public let id: String
    public let parameters: Parameters
    public let seed: UInt64

    /// Shard (0-based) that runs this point when the sweep is split into `count` shards (round robin, so
    /// neighbouring, similarly expensive points spread evenly).
    public func shard(of count: Int) -> Int { index % count }
}

/// Runs, resumes and merges sweeps in a directory: `points/<id>.json`, one per finished point, written atomically.
public enum SweepRunner {
    public static func pointsDirectory(_ out: String) -> URL { URL(fileURLWithPath: out).appendingPathComponent("points") }

    /// Reads a finished point's record, or nil when absent or unreadable (then it is rerun).
    public static func record(_ out: String, _ id: String) -> JSONValue? {
        let url = pointsDirectory(out).appendingPathComponent("\(id).json")
        guard let d = try? Data(contentsOf: url), let text = String(data: d, encoding: .utf8),
              let v = try? JSONValue.parse(json: text), v["id"] == .string(id) else { return nil }
        return v
    }

    /// Runs this shard's points that are not done yet. Returns (ran, skipped, failed).
    @discardableResult
    public static func run(spec: SweepSpec, shard: Int, of shards: Int, out: String, context: RunContext) throws -> (ran: Int, skipped: Int, failed: Int) {
        let dir = pointsDirectory(out)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw SolvableError.invalidParameter(name: "out", value: out, allowed: "a directory that can be created")
        }
        // temporaries of killed runs are hidden dotfiles; remove them (not those of shards still writing)
        AtomicFile.removeStaleTemporaries(in: dir)
        let mine = try spec.points().filter { $0.shard(of: shards) == shard }
        let todo = mine.filter { p in record(out, p.id).map { $0["status"] == .string("failed") } ?? true }
        context.log("sweep \(spec.command.joined(separator: " ")): shard \(shard)/\(shards): \(mine.count) points, \(mine.count - todo.count) already done")
        let progress = Progress("sweep shard \(shard)/\(shards)", total: todo.count)
        var failed = 0
        let env = ProcessInfo.processInfo.environment
        for p in todo {
            let clock = Stopwatch()
            var ctx = context
            ctx.seed = p.seed
            // a long solve of this point checkpoints here, so a killed shard resumes inside the point too
            let work = out.isEmpty ? nil : URL(fileURLWithPath: out).appendingPathComponent("checkpoints").appendingPathComponent(p.id)
            ctx.checkpointDirectory = work?.path
            var checkpoints: [Checkpoint] = []
            var fields: [(String, JSONValue)] = [("id", .string(p.id)), ("index", .int(p.index)),
                                                 ("parameters", p.parameters.json), ("seed", .string(String(p.seed)))]
            do {
                let output = try spec.task.run(p.parameters, ctx)
                checkpoints = output.checkpoints
                let records = output.records.map(\.record)
                fields += [("status", .string(output.status.rawValue)),
                           ("residual", .number(records.map(\.finalResidual).max() ?? 0)),
                           ("iterations", .int(records.map(\.iterations).reduce(0, +))),
                           ("result", output.summary),
                           ("agreement", .array(output.agreement.map(\.json)))]
            } catch {
                failed += 1
                fields += [("status", .string("failed")), ("error", .string("\(error)"))]
            }
            fields += [("wall_seconds", .number(clock.elapsed)), ("host", .string(RunEnvironment.hostname)),
                       ("slurm_job_id", env["SLURM_ARRAY_JOB_ID"].map { .string($0) } ?? env["SLURM_JOB_ID"].map { .string($0) } ?? .null),
                       ("slurm_array_task_id", env["SLURM_ARRAY_TASK_ID"].map { .string($0) } ?? .null),
                       ("solvable_version", .string(RunEnvironment.version))]
            try AtomicFile.write(Data((JSONValue.object(fields).serialized() + "\n").utf8), to: dir.appendingPathComponent("\(p.id).json"))
            for c in checkpoints { c.remove() }   // the point's record is written
            if let work { try? FileManager.default.removeItem(at: work) }
            progress.advance()
        }
        rmdir(URL(fileURLWithPath: out).appendingPathComponent("checkpoints").path)   // only when no other shard uses it
        return (todo.count, mine.count - todo.count, failed)
    }

    public struct MergeSummary: Sendable {
        public var total: Int
        public var done: Int
        public var missing: [SweepPoint]
        public var failed: [SweepPoint]
        /// Shards (0-based) that have missing or failed points, for resubmission.
        public var shardsToResubmit: [Int]
    }

    /// Collects finished points into `results.csv` (parameters, status, seed and scalar results, one row per point in
    /// plan order, nothing run-dependent), `runs.csv` (wall time, host, Slurm ids) and one `.npy` per array-valued
    /// result key of equal length across points (shape [points, length], rows in `point_index.npy` order).
    public static func merge(spec: SweepSpec, out: String, shards: Int) throws -> MergeSummary {
        let points = try spec.points()
        var missing: [SweepPoint] = [], failed: [SweepPoint] = []
        var done: [(SweepPoint, JSONValue)] = []
        for p in points {
            guard let r = record(out, p.id) else { missing.append(p); continue }
            if r["status"] == .string("failed") { failed.append(p); continue }
            done.append((p, r))
        }
        var table = ResultTable()
        table.add("index", done.map { Double($0.0.index) })
        table.add("id", strings: done.map { $0.0.id })
        table.add("status", strings: done.map { if case .string(let s)? = $0.1["status"] { return s }; return "" })
        table.add("seed", strings: done.map { String($0.0.seed) })
        let varied = spec.axes.map(\.0) + spec.zipped.map(\.0)
        for name in varied {
            let key = Parameters.canonical(name)
            let vals = done.map { $0.0.parameters.values[key] }
            if vals.allSatisfy({ $0?.doubleValue != nil }) { table.add(key, vals.map { $0!.doubleValue! }) }
            else { table.add(key, strings: vals.map { v in v.map { if case .string(let s) = $0 { return s }; return $0.serialized(pretty: false) } ?? "" }) }
        }
        // scalar numeric results and array results
        var arrays: [(String, NDArray)] = []
        if case .object(let first)? = done.first?.1["result"] {
            for (key, v) in first {
                let column = done.map { $0.1["result"]?[key] }
                if v.doubleValue != nil || v == .string("inf") || v == .string("-inf") {
                    let xs = column.map { c -> Double? in
                        switch c { case .string("inf")?: return .infinity; case .string("-inf")?: return -.infinity; default: return c?.doubleValue }
                    }
                    if xs.allSatisfy({ $0 != nil }) { table.add(key, xs.map { $0! }) }
                } else if case .array(let a) = v, !a.isEmpty {
                    let rows = column.map { c -> [Double]? in
                        guard case .array(let xs)? = c else { return nil }
                        let d = xs.map { x -> Double? in x == .string("inf") ? .infinity : (x == .string("-inf") ? -.infinity : x.doubleValue) }
                        return d.allSatisfy { $0 != nil } ? d.map { $0! } : nil
                    }
                    if rows.allSatisfy({ $0 != nil && $0!.count == a.count }) {
                        arrays.append((key, NDArray(shape: [done.count, a.count], data: rows.flatMap { $0! })))
                    }
                }
            }
        }
        var outDir = try OutputDirectory(out)
        try outDir.write("results.csv", text: CSV.encode(table))
        var runs = ResultTable()
        runs.add("index", done.map { Double($0.0.index) })
        runs.add("wall_seconds", done.map { $0.1["wall_seconds"]?.doubleValue ?? 0 })
        runs.add("host", strings: done.map { if case .string(let s)? = $0.1["host"] { return s }; return "" })
        runs.add("slurm_job_id", strings: done.map { if case .string(let s)? = $0.1["slurm_job_id"] { return s }; return "" })
        runs.add("slurm_array_task_id", strings: done.map { if case .string(let s)? = $0.1["slurm_array_task_id"] { return s }; return "" })
        try outDir.write("runs.csv", text: CSV.encode(runs))
        try outDir.write("point_index.npy", NPY.encode(NDArray(done.map { Double($0.0.index) })))
        for (key, a) in arrays where !a.data.contains(where: \.isNaN) { try outDir.write("\(key).npy", NPY.encode(a)) }
        let resubmit = Array(Set((missing + failed).map { $0.shard(of: shards) })).sorted()
        return MergeSummary(total: points.count, done: done.count, missing: missing, failed: failed, shardsToResubmit: resubmit)
    }

    /// An sbatch array script for the user to review and submit (Solvable never submits jobs).
    public static func slurmScript(specPath: String, out: String, shards: Int, partition: String?, time: String, memory: String,
                                   cpus: Int, executable: String) -> String {
        var s = "#!/bin/bash\n"
        s += "#SBATCH --job-name=solvable-sweep\n"
        s += "#SBATCH --array=0-\(shards - 1)\n"
        if let partition { s += "#SBATCH --partition=\(partition)\n" }
        s += "#SBATCH --time=\(time)\n#SBATCH --mem=\(memory)\n#SBATCH --cpus-per-task=\(cpus)\n"
        s += "#SBATCH --output=\(out)/logs/%A_%a.out\n\n"
        s += "# Review before submitting: sbatch \(out)/sweep.sbatch\n"
        s += "# Each array task runs shard SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT with SLURM_CPUS_PER_TASK threads;\n"
        s += "# finished points are skipped, so resubmitting a task (or the whole array) resumes it.\n"
        s += "set -euo pipefail\nmkdir -p \(out)/logs\n"
        s += "\(executable) sweep run \(specPath) --out \(out)\n"
        return s
    }
}
