import Foundation
import NumericalCore

/// Runs and resumes sweeps in a directory: `points/<id>.json`, one checksummed record per finished point
/// (`SweepRecord`), `sweep-spec.<ext>` the frozen spec with its hash in `sweep-spec.hash`, and `sweep.json` the
/// shard count the Slurm script was written for.
public enum SweepRunner {
    /// The frozen copy of the spec in `out` (same extension as the original, so it is parsed the same way).
    public static func frozenSpecPath(_ out: String, original: String) -> String {
        let ext = URL(fileURLWithPath: original).pathExtension.lowercased()
        return URL(fileURLWithPath: out).appendingPathComponent("sweep-spec." + (ext == "json" ? "json" : "toml")).path
    }

    static func hashFile(_ out: String) -> URL { URL(fileURLWithPath: out).appendingPathComponent("sweep-spec.hash") }

    /// Freezes the spec into `out` (first use) or checks that it is unchanged (later uses, including the frozen copy
    /// itself), and returns the frozen copy's path: tasks always run what was planned, even if the original is edited
    /// while they are pending.
    public static func freeze(specPath: String, out: String) throws -> String {
        guard let bytes = FileManager.default.contents(atPath: specPath) else {
            throw SolvableError.invalidParameter(name: "spec", value: specPath, allowed: "the path of an existing TOML or JSON sweep spec")
        }
        let hash = String(format: "%016llx", stableHash(String(decoding: bytes, as: UTF8.self)) ^ UInt64(bytes.count))
        let frozen = frozenSpecPath(out, original: specPath)
        if let recorded = (try? String(contentsOf: hashFile(out), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) {
            guard recorded == hash else {
                throw SolvableError.invalidParameter(name: "spec", value: "\(specPath) (hashes to \(hash))",
                                                     allowed: "the spec this sweep was started with (frozen in \(frozen), hash \(recorded)); restore it, or start a new sweep with another --out")
            }
            return frozen
        }
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw SolvableError.invalidParameter(name: "out", value: out, allowed: "a directory that can be created")
        }
        try AtomicFile.write(bytes, to: URL(fileURLWithPath: frozen))
        try AtomicFile.write(Data((hash + "\n").utf8), to: hashFile(out))
        return frozen
    }

    /// The shard count recorded by `sweep slurm` (nil when the sweep was not scripted).
    public static func recordedShards(_ out: String) -> Int? {
        guard let d = FileManager.default.contents(atPath: URL(fileURLWithPath: out).appendingPathComponent("sweep.json").path),
              let v = try? JSONValue.parse(json: String(decoding: d, as: UTF8.self)), case .int(let n)? = v["shards"], n >= 1 else { return nil }
        return n
    }

    public static func recordShards(_ n: Int, out: String) throws {
        try AtomicFile.write(Data((JSONValue.object([("shards", .int(n))]).serialized() + "\n").utf8),
                             to: URL(fileURLWithPath: out).appendingPathComponent("sweep.json"))
    }

    /// Runs this shard's points that are not done yet (absent, damaged, failed or refused records). Returns counts.
    @discardableResult
    public static func run(spec: SweepSpec, shard: Int, of shards: Int, out: String, context: RunContext) throws -> (ran: Int, skipped: Int, failed: Int) {
        let dir = URL(fileURLWithPath: out).appendingPathComponent("points")
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw SolvableError.invalidParameter(name: "out", value: out, allowed: "a directory that can be created")
        }
        // temporaries of killed runs are hidden dotfiles; remove them (not those of shards still writing)
        AtomicFile.removeStaleTemporaries(in: dir)
        let mine = try spec.points().filter { $0.shard(of: shards) == shard }
        let todo = mine.filter { p in
            switch SweepRecord.read(out, p.id) {
            case .absent: return true
            case .damaged(let why):
                context.log("point \(p.index) (\(p.id)): record damaged (\(why)); recomputing")
                return true
            case .valid(let r): return !SweepRecord.isSettled(r)
            }
        }
        context.log("sweep \(spec.command.joined(separator: " ")): shard \(shard)/\(shards): \(mine.count) points, \(mine.count - todo.count) already done")
        let progress = Progress("sweep shard \(shard)/\(shards)", total: todo.count)
        var failed = 0
        for p in todo {
            if try runPoint(p, spec: spec, out: out, context: context) { failed += 1 }
            progress.advance()
        }
        rmdir(URL(fileURLWithPath: out).appendingPathComponent("checkpoints").path)   // only when no other shard uses it
        return (todo.count, mine.count - todo.count, failed)
    }

    /// Runs one point and writes its record; returns true when it failed or was refused.
    static func runPoint(_ p: SweepPoint, spec: SweepSpec, out: String, context: RunContext) throws -> Bool {
        let clock = Stopwatch()
        var ctx = context
        ctx.seed = p.seed
        // a long solve of this point checkpoints here, so a killed shard resumes inside the point too
        let work = URL(fileURLWithPath: out).appendingPathComponent("checkpoints").appendingPathComponent(p.id)
        ctx.checkpointDirectory = work.path
        var checkpoints: [Checkpoint] = []
        var fields: [(String, JSONValue)] = [("id", .string(p.id)), ("index", .int(p.index)),
                                             ("parameters", p.parameters.json), ("seed", .string(String(p.seed)))]
        var bad = false
        do {
            let output = try spec.task.run(p.parameters, ctx)
            checkpoints = output.checkpoints
            let records = output.records.map(\.record)
            fields += [("status", .string(output.status.rawValue)),
                       ("residual", .number(records.map(\.finalResidual).max() ?? 0)),
                       ("iterations", .int(records.map(\.iterations).reduce(0, +))),
                       ("result", output.summary),
                       ("agreement", .array(output.agreement.map(\.json)))]
        } catch SolvableError.insufficientMemory(let needed, let available, let hint) {
            bad = true
            fields += [("status", .string("refused")), ("needed_bytes", .int(needed)), ("available_bytes", .int(available)),
                       ("error", .string(SolvableError.insufficientMemory(needed: needed, available: available, hint: hint).description))]
        } catch {
            bad = true
            fields += [("status", .string("failed")), ("error", .string("\(error)"))]
        }
        let env = ProcessInfo.processInfo.environment
        fields += [("wall_seconds", .number(clock.elapsed)), ("host", .string(RunEnvironment.hostname)),
                   ("slurm_job_id", env["SLURM_ARRAY_JOB_ID"].map { .string($0) } ?? env["SLURM_JOB_ID"].map { .string($0) } ?? .null),
                   ("slurm_array_task_id", env["SLURM_ARRAY_TASK_ID"].map { .string($0) } ?? .null),
                   ("slurm_restart_count", env["SLURM_RESTART_COUNT"].map { .string($0) } ?? .null),
                   ("solvable_version", .string(RunEnvironment.version))]
        try SweepRecord.write(fields, out: out, id: p.id)
        for c in checkpoints { c.remove() }   // the point's record is written
        try? FileManager.default.removeItem(at: work)
        return bad
    }
}
