import Foundation
import NumericalCore

/// The sbatch array script of a sweep (Solvable writes it for review and never submits it), and the checks made
/// before writing it: the binary runs, the shard count fits the points and the cluster's `MaxArraySize`.
public enum SweepSlurm {
    public struct Options: Sendable {
        public var shards: Int
        public var partition: String?
        public var time: String
        public var memory: String
        public var cpus: Int
        public init(shards: Int, partition: String?, time: String, memory: String, cpus: Int) {
            self.shards = shards; self.partition = partition; self.time = time; self.memory = memory; self.cpus = cpus
        }
    }

    /// A shell word: single-quoted, with embedded quotes escaped.
    public static func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// A value in an `#SBATCH` line: double-quoted (sbatch splits these lines itself), `%` doubled (for paths:
    /// Slurm's filename patterns). Paths with a double quote or a newline cannot be written there.
    static func sbatchQuote(_ s: String, name: String) throws -> String {
        guard !s.contains("\"") && !s.contains("\n") else {
            throw SolvableError.invalidParameter(name: name, value: s, allowed: "a path without double quotes or newlines (sbatch cannot quote them)")
        }
        return "\"" + (name == "out" ? s.replacingOccurrences(of: "%", with: "%%") : s) + "\""
    }

    /// Job name from the spec's file name, in the characters Slurm shows unchanged.
    public static func jobName(specPath: String) -> String {
        let stem = URL(fileURLWithPath: specPath).deletingPathExtension().lastPathComponent
        let clean = String(stem.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" }.prefix(40))
        return "solvable-" + (clean.isEmpty ? "sweep" : clean)
    }

    /// The cluster's `MaxArraySize` from `scontrol show config`, or nil when Slurm's tools are not reachable.
    public static func maxArraySize() -> Int? {
        guard let text = capture("/usr/bin/env", ["scontrol", "show", "config"], timeout: 15) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MaxArraySize") {
            return line.split(separator: "=").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
        return nil
    }

    /// The shard count actually used, with the messages that explain any clamping.
    public static func effectiveShards(_ requested: Int, points: Int, maxArraySize: Int?) -> (Int, [String]) {
        var n = requested, notes: [String] = []
        if n > points {
            notes.append("--shards \(n) is more than the \(points) points; using \(points) shards (one point each)")
            n = points
        }
        if let m = maxArraySize, n > m {
            notes.append("--shards \(n) exceeds this cluster's MaxArraySize = \(m) (array indices 0..\(m - 1)); using \(m) shards")
            n = m
        }
        return (max(1, n), notes)
    }

    /// Checks that `executable --version` runs here and prints Solvable's version (a compute node runs the same
    /// path: it needs the same Swift runtime and BLAS/LAPACKE libraries, or a `--static-swift-stdlib` build).
    public static func checkExecutable(_ executable: String) throws {
        guard let text = capture(executable, ["--version"], timeout: 30), text.contains(RunEnvironment.version) else {
            throw SolvableError.invalidParameter(name: "executable", value: executable,
                                                 allowed: "a solvable binary that runs (`\(executable) --version` failed); see README, Sweeps on a cluster")
        }
    }

    /// Output of a command that exited 0 within `timeout` seconds, else nil.
    static func capture(_ path: String, _ args: [String], timeout: Double) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        final class Box: @unchecked Sendable { var data = Data() }
        let box = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { box.data = pipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate(); p.waitUntilExit(); return nil }
        group.wait()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? String(decoding: box.data, as: UTF8.self) : nil
    }

    /// The script: array index i runs shard i of a fixed count, so any subset of indices can be resubmitted; logs
    /// are appended per (job, index), so a requeued task keeps its first attempt's log.
    public static func script(frozenSpec: String, out: String, workingDirectory: String, executable: String,
                              jobName: String, options o: Options) throws -> String {
        var s = "#!/bin/bash\n"
        s += "#SBATCH --job-name=\(jobName)\n"
        s += "#SBATCH --array=0-\(o.shards - 1)\n"
        if let p = o.partition { s += "#SBATCH --partition=\(try sbatchQuote(p, name: "partition"))\n" }
        s += "#SBATCH --time=\(try sbatchQuote(o.time, name: "time"))\n#SBATCH --mem=\(try sbatchQuote(o.memory, name: "mem"))\n"
        s += "#SBATCH --cpus-per-task=\(o.cpus)\n"
        s += "#SBATCH --output=\(try sbatchQuote(out, name: "out").dropLast())/logs/%A_%a.out\"\n"
        s += "#SBATCH --open-mode=append\n\n"
        s += "# Review, then submit: sbatch \(shellQuote(out + "/sweep.sbatch"))\n"
        s += "# Array index i runs shard i of \(o.shards) (of the frozen spec below) with SLURM_CPUS_PER_TASK threads. Finished\n"
        s += "# points are skipped, so any set of indices can be resubmitted (`solvable sweep merge` prints the line).\n"
        s += "set -euo pipefail\n"
        s += "cd \(shellQuote(workingDirectory))\n"
        s += "echo \"== array index ${SLURM_ARRAY_TASK_ID} of job ${SLURM_ARRAY_JOB_ID}, attempt ${SLURM_RESTART_COUNT:-0}, on $(hostname), $(date -u +%FT%TZ)\"\n"
        s += "exec \(shellQuote(executable)) sweep run \(shellQuote(frozenSpec)) --out \(shellQuote(out)) "
        s += "--shard \"${SLURM_ARRAY_TASK_ID}/\(o.shards)\" --threads \"${SLURM_CPUS_PER_TASK:-\(o.cpus)}\"\n"
        return s
    }
}
