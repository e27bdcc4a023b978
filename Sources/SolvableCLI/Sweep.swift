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
        Points get stable IDs (hash of command, canonical parameters and version) and seeds derived from
        (seed, ID), so results do not depend on sharding. Each finished point is one JSON file written atomically;
        rerunning skips finished points.

        EXAMPLES:
          solvable sweep plan sweep.toml
          solvable sweep run sweep.toml --out sweep-out --shard 0/4
          solvable sweep merge sweep.toml --out sweep-out --shards 4
          solvable sweep slurm sweep.toml --out sweep-out --shards 100 --time 02:00:00
        """,
        subcommands: [SweepPlan.self, SweepRun.self, SweepMerge.self, SweepSlurm.self])
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
            let n = try validShards(shards ?? max(1, min(1000, (points.count + 9) / 10)), points: points.count)
            if json {
                print(JSONValue.object([("command", .string(s.command.joined(separator: " "))), ("count", .int(points.count)),
                                        ("points", .array(points.map { .object([("index", .int($0.index)), ("id", .string($0.id)),
                                                                                  ("seed", .string(String($0.seed))), ("parameters", $0.parameters.json)]) }))]).serialized())
                return
            }
            print("\(points.count) points of '\(s.command.joined(separator: " "))'")
            for p in points.prefix(5) { print("  \(p.index) \(p.id) \(p.parameters.json.serialized(pretty: false))") }
            if points.count > 5 { print("  ...") }
            print("suggested Slurm array: sbatch --array=0-\(n - 1) (\(n) shards, about \((points.count + n - 1) / n) points each); see `solvable sweep slurm`")
        }
    }
}

func validShards(_ n: Int, points: Int) throws -> Int {
    guard (1...100_000).contains(n) else { throw SolvableError.invalidParameter(name: "shards", value: "\(n)", allowed: "an integer in [1, 100000]") }
    return n
}

/// Parses "i/n" (0-based i).
func parseShard(_ s: String) throws -> (Int, Int) {
    let parts = s.split(separator: "/").map { Int($0) }
    guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, i >= 0, i < n else {
        throw SolvableError.invalidParameter(name: "shard", value: s, allowed: "i/n with 0 <= i < n (e.g. 0/4)")
    }
    return (i, n)
}

struct SweepRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run this shard's unfinished points.")
    @Argument(help: "Sweep spec (TOML or JSON).") var spec: String
    @Option(name: .long, help: "Output directory of the sweep.") var out: String
    @Option(name: .long, help: "i/n, 0-based (default: SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT, else 0/1).") var shard: String?
    @Option(name: .long, help: "Threads (default: SLURM_CPUS_PER_TASK, else all cores).") var threads: Int?
    @Flag(name: .long, help: "No progress or log output.") var quiet = false

    func run() throws {
        try CLIRunner.guarded {
            let s = try SweepSpec(path: spec)
            let env = ProcessInfo.processInfo.environment
            let (i, n): (Int, Int)
            if let shard { (i, n) = try parseShard(shard) }
            else if let id = env["SLURM_ARRAY_TASK_ID"], let count = env["SLURM_ARRAY_TASK_COUNT"] {
                (i, n) = try parseShard("\(Int(id).map { $0 - (Int(env["SLURM_ARRAY_TASK_MIN"] ?? "0") ?? 0) } ?? -1)/\(count)")
            } else { (i, n) = (0, 1) }
            let ctx = try CLIRunner.configure(seed: nil, threads: threads, quiet: quiet)
            let r = try SweepRunner.run(spec: s, shard: i, of: n, out: out, context: ctx)
            print("shard \(i)/\(n): ran \(r.ran) points (\(r.failed) failed), skipped \(r.skipped) already done")
            if r.failed > 0 { throw ExitCode(1) }
        }
    }
}

struct SweepMerge: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "merge", abstract: "Collect finished points into results.csv and .npy arrays; list what to resubmit.")
    @Argument(help: "Sweep spec (TOML or JSON).") var spec: String
    @Option(name: .long, help: "Output directory of the sweep.") var out: String
    @Option(name: .long, help: "Number of shards the sweep was run with (to name the array indices to resubmit).") var shards: Int = 1

    func run() throws {
        try CLIRunner.guarded {
            let s = try SweepSpec(path: spec)
            let m = try SweepRunner.merge(spec: s, out: out, shards: try validShards(shards, points: 0))
            print("\(m.done)/\(m.total) points done; \(m.missing.count) missing, \(m.failed.count) failed; merged into \(out)/results.csv")
            for p in m.failed.prefix(20) {
                let err = SweepRunner.record(out, p.id)?["error"].map { $0.serialized(pretty: false) } ?? ""
                print("  failed: point \(p.index) (\(p.id)) \(err)")
            }
            if !m.shardsToResubmit.isEmpty {
                print("resubmit: sbatch --array=\(m.shardsToResubmit.map(String.init).joined(separator: ",")) \(out)/sweep.sbatch")
                throw ExitCode(1)
            }
        }
    }
}

struct SweepSlurm: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "slurm", abstract: "Write an sbatch array script to OUT/sweep.sbatch for review (never submitted).")
    @Argument(help: "Sweep spec (TOML or JSON).") var spec: String
    @Option(name: .long, help: "Output directory of the sweep.") var out: String
    @Option(name: .long, help: "Array size (shards).") var shards: Int
    @Option(name: .long, help: "Slurm partition.") var partition: String?
    @Option(name: .long, help: "Time limit per array task.") var time: String = "01:00:00"
    @Option(name: .long, help: "Memory per array task.") var mem: String = "4G"
    @Option(name: .long, help: "CPUs per array task (becomes the thread count).") var cpus: Int = 2

    func run() throws {
        try CLIRunner.guarded {
            let s = try SweepSpec(path: spec)
            let count = try s.points().count
            let n = try validShards(shards, points: count)
            guard (1...1024).contains(cpus) else { throw SolvableError.invalidParameter(name: "cpus", value: "\(cpus)", allowed: "an integer in [1, 1024]") }
            var dir = try OutputDirectory(out)
            let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            let absSpec = URL(fileURLWithPath: spec).standardizedFileURL.path
            let absOut = URL(fileURLWithPath: out).standardizedFileURL.path
            try dir.write("sweep.sbatch", text: SweepRunner.slurmScript(specPath: absSpec, out: absOut, shards: n, partition: partition,
                                                                       time: time, memory: mem, cpus: cpus, executable: exe))
            print("wrote \(out)/sweep.sbatch (\(count) points in \(n) array tasks); review it, then: sbatch \(out)/sweep.sbatch")
        }
    }
}
