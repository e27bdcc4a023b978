import ArgumentParser
import Experiments
import Foundation
import NumericalCore

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plan, run (sharded, resumable), merge and script parameter sweeps over any command.",
        discussion: """
        A sweep spec (TOML or JSON) names a command, fixed parameters and axes:
          command = "core quadrature"
          seed = 1
          [parameters]
          samples = 1000
          [grid]
          order = [20, 40]
          [logspace]
          gains = { start = 0.1, stop = 10, num = 5 }
        Points get stable IDs (hash of command, canonical parameters, input file contents and version) and seeds
        derived from (seed, ID), so results do not depend on sharding. At most \(SweepSpec.maxPoints) points per spec.
        Each finished point is one checksummed JSON record written atomically; rerunning skips finished points and
        recomputes damaged ones. `run` and `slurm` freeze the spec into OUT; later runs refuse a changed spec.
        `command = "reproduce figure"` with a grid over `figure` runs the report's figures as points; `merge` then
        writes report.html.

        EXAMPLES:
          solvable sweep plan sweep.toml
          solvable sweep run sweep.toml --out sweep-out --shard 0/4
          solvable sweep merge sweep.toml --out sweep-out
          solvable sweep slurm sweep.toml --out sweep-out --shards 100 --time 02:00:00
        """,
        subcommands: [SweepPlan.self, SweepRun.self, SweepMergeCommand.self, SweepSlurmCommand.self])
}

struct SweepPlan: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Expand a sweep spec into points; print the count and a Slurm array line.")
    @Argument(help: "Sweep spec (TOML or JSON).") var spec: String
    @Option(name: .long, help: "Shards to suggest for Slurm (default: one per 10 points, at most 1000).") var shards: Int?
    @Flag(name: .long, help: "Print the points as JSON.") var json = false

    func run() throws {
        try CLIRunner.guarded {
            let s = try SweepSpec(path: spec)
            let points = try s.points()
            let n = min(points.count, try validShards(shards ?? max(1, min(1000, (points.count + 9) / 10))))
            if json {
                print(JSONValue.object([("command", .string(s.command.joined(separator: " "))), ("count", .int(points.count)),
                                        ("points", .array(points.map { .object([("index", .int($0.index)), ("id", .string($0.id)),
                                                                                  ("seed", .string(String($0.seed))), ("parameters", $0.parameters.json)]) }))]).serialized())
                return
            }
            print("\(points.count) points of '\(s.command.joined(separator: " "))'")
            for p in points.prefix(5) { print("  \(p.index) \(p.id) \(p.parameters.json.serialized(pretty: false))") }
            if points.count > 5 { print("  ...") }
            print("suggested Slurm array: \(n) shards, about \((points.count + n - 1) / n) points each; see `solvable sweep slurm`")
        }
    }
}

func validShards(_ n: Int) throws -> Int {
    guard (1...100_000).contains(n) else { throw SolvableError.invalidParameter(name: "shards", value: "\(n)", allowed: "an integer in [1, 100000]") }
    return n
}

/// Parses "i/n" (0-based i).
func parseShard(_ s: String) throws -> (Int, Int) {
    let parts = s.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
    guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, i >= 0, i < n else {
        throw SolvableError.invalidParameter(name: "shard", value: s, allowed: "i/n with 0 <= i < n (e.g. 0/4)")
    }
    return (i, n)
}

/// The shard count of a sweep: the one its Slurm script was written for, else `requested`, else 1.
func sweepShards(out: String, requested: Int?) throws -> Int {
    let recorded = SweepRunner.recordedShards(out)
    if let r = recorded, let q = requested, r != q {
        throw SolvableError.invalidParameter(name: "shards", value: "\(q)", allowed: "\(r), the count \(out)/sweep.sbatch was written for (array index i is shard i of \(r))")
    }
    return try validShards(requested ?? recorded ?? 1)
}

struct SweepRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run this shard's unfinished points.")
    @Argument(help: "Sweep spec (TOML or JSON); frozen into OUT on first use.") var spec: String
    @Option(name: .long, help: "Output directory of the sweep.") var out: String
    @Option(name: .long, help: "i/n, 0-based (default: SLURM_ARRAY_TASK_ID of the shard count recorded by `sweep slurm`, else 0/1).") var shard: String?
    @Option(name: .long, help: "Threads (default: SLURM_CPUS_PER_TASK, else all cores).") var threads: Int?
    @Flag(name: .long, help: "No progress or log output.") var quiet = false

    func run() throws {
        try CLIRunner.guarded {
            guard !out.isEmpty else { throw SolvableError.invalidParameter(name: "out", value: "\"\"", allowed: "a directory path") }
            let s = try SweepSpec(path: SweepRunner.freeze(specPath: spec, out: out))
            let env = ProcessInfo.processInfo.environment
            let (i, n): (Int, Int)
            if let shard {
                (i, n) = try parseShard(shard)
                _ = try sweepShards(out: out, requested: n)
            } else if let id = env["SLURM_ARRAY_TASK_ID"] {
                let count = try SweepRunner.recordedShards(out) ?? Int(env["SLURM_ARRAY_TASK_COUNT"] ?? "").map(validShards) ?? 1
                (i, n) = try parseShard("\(id)/\(count)")
            } else { (i, n) = (0, 1) }
            let ctx = try CLIRunner.configure(seed: nil, threads: threads, quiet: quiet)
            let r = try SweepRunner.run(spec: s, shard: i, of: n, out: out, context: ctx)
            print("shard \(i)/\(n): ran \(r.ran) points (\(r.failed) failed or refused), skipped \(r.skipped) already done")
            if r.failed > 0 { throw ExitCode(1) }
        }
    }
}

struct SweepMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "merge", abstract: "Collect finished points into results.csv and .npy arrays; list every missing point and what to resubmit.")
    @Argument(help: "Sweep spec (TOML or JSON).") var spec: String
    @Option(name: .long, help: "Output directory of the sweep.") var out: String
    @Option(name: .long, help: "Shards the sweep was run with (default: the count recorded by `sweep slurm`, else 1).") var shards: Int?

    func run() throws {
        try CLIRunner.guarded {
            let s = try SweepSpec(path: SweepRunner.freeze(specPath: spec, out: out))
            let n = try sweepShards(out: out, requested: shards)
            let m = try SweepMerge.merge(spec: s, out: out, shards: n)
            print("\(m.done)/\(m.total) points done, \(m.missing.count) missing; merged into \(out)/results.csv")
            for note in m.notMerged { print("  not merged into an array: \(note)") }
            let groups: [(String, (SweepMerge.Missing.Reason) -> String?)] = [
                ("not run", { if case .notRun = $0 { return "" }; return nil }),
                ("damaged record (recomputed when rerun)", { if case .damaged(let w) = $0 { return w }; return nil }),
                ("failed", { if case .failed(let e) = $0 { return e }; return nil }),
                ("refused for memory (will fail again unless the allocation is raised)", { if case .refused(let b) = $0 { return "needs \(formatBytes(b))" }; return nil }),
            ]
            for (title, detail) in groups {
                let items = m.missing.compactMap { x in detail(x.reason).map { (x.point, $0) } }
                guard !items.isEmpty else { continue }
                print("\(title): \(items.count)")
                for (p, d) in items {
                    print("  point \(p.index) id \(p.id) shard \(p.shard(of: n)) \(p.parameters.json.serialized(pretty: false))\(d.isEmpty ? "" : ": " + d)")
                }
            }
            guard !m.missing.isEmpty else { return }
            let script = URL(fileURLWithPath: out).appendingPathComponent("sweep.sbatch").path
            if FileManager.default.fileExists(atPath: script) {
                if !m.shardsToResubmit.isEmpty {
                    print("resubmit: sbatch --array=\(SweepMerge.arrayRanges(m.shardsToResubmit)) \(SweepSlurm.shellQuote(script))")
                }
                if !m.refusedShards.isEmpty {
                    // the memory budget is 80 % of the allocation (README, Reliability)
                    let mib = (Int(Double(m.refusedNeed) / 0.8) >> 20) + 1
                    let mem = mib >= 1024 ? "\((mib + 1023) / 1024)G" : "\(mib)M"
                    print("resubmit with more memory: sbatch --mem=\(mem) --array=\(SweepMerge.arrayRanges(m.refusedShards)) \(SweepSlurm.shellQuote(script))")
                }
            } else {
                for i in Set(m.missing.map { $0.point.shard(of: n) }).sorted() {
                    print("rerun: solvable sweep run \(SweepSlurm.shellQuote(spec)) --out \(SweepSlurm.shellQuote(out)) --shard \(i)/\(n)")
                }
            }
            throw ExitCode(1)
        }
    }
}

struct SweepSlurmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "slurm", abstract: "Write an sbatch array script to OUT/sweep.sbatch for review (never submitted).")
    @Argument(help: "Sweep spec (TOML or JSON); frozen into OUT.") var spec: String
    @Option(name: .long, help: "Output directory of the sweep.") var out: String
    @Option(name: .long, help: "Array size (shards); at most the number of points and the cluster's MaxArraySize.") var shards: Int
    @Option(name: .long, help: "Slurm partition.") var partition: String?
    @Option(name: .long, help: "Time limit per array task.") var time: String = "01:00:00"
    @Option(name: .long, help: "Memory per array task.") var mem: String = "4G"
    @Option(name: .long, help: "CPUs per array task (becomes the thread count).") var cpus: Int = 2

    func run() throws {
        try CLIRunner.guarded {
            guard !out.isEmpty else { throw SolvableError.invalidParameter(name: "out", value: "\"\"", allowed: "a directory path") }
            guard (1...1024).contains(cpus) else { throw SolvableError.invalidParameter(name: "cpus", value: "\(cpus)", allowed: "an integer in [1, 1024]") }
            let count = try SweepSpec(path: spec).points().count
            let (n, notes) = SweepSlurm.effectiveShards(try validShards(shards), points: count, maxArraySize: SweepSlurm.maxArraySize())
            let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            try SweepSlurm.checkExecutable(exe)
            let absOut = URL(fileURLWithPath: out).standardizedFileURL.path
            let frozen = try SweepRunner.freeze(specPath: spec, out: absOut)
            do { try FileManager.default.createDirectory(atPath: absOut + "/logs", withIntermediateDirectories: true) } catch {
                throw SolvableError.invalidParameter(name: "out", value: out, allowed: "a directory where logs/ can be created")
            }
            try SweepRunner.recordShards(n, out: absOut)
            var dir = try OutputDirectory(absOut)
            try dir.write("sweep.sbatch", text: SweepSlurm.script(
                frozenSpec: frozen, out: absOut, workingDirectory: FileManager.default.currentDirectoryPath, executable: exe,
                jobName: SweepSlurm.jobName(specPath: spec),
                options: .init(shards: n, partition: partition, time: time, memory: mem, cpus: cpus)))
            for note in notes { print("note: \(note)") }
            print("wrote \(out)/sweep.sbatch (\(count) points in \(n) array tasks); review it, then: sbatch \(SweepSlurm.shellQuote(absOut + "/sweep.sbatch"))")
        }
    }
}
