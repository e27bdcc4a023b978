import Experiments
import Foundation
import NumericalCore
import SolvableTestSupport
import Testing

/// A real one-node Slurm (slurmctld, slurmd, munged) started by `scripts/slurm-local.sh up` for these tests and
/// stopped after them (only when these tests started it).
enum SlurmCluster {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/slurm-local.sh").path
    static let stateDirectory = ProcessInfo.processInfo.environment["SOLVABLE_SLURM_DIR"] ?? "/tmp/solvable-slurm"
    static var environment: [String: String] { ["SLURM_CONF": stateDirectory + "/slurm.conf", "SOLVABLE_SLURM_DIR": stateDirectory] }

    /// Why the tests cannot run here (nil: they can). Decided without side effects: Swift Testing evaluates this for
    /// every test run, selected or not; Slurm is started only by `start()`, from the tests themselves.
    static let unavailable: String? = {
        let env = ProcessInfo.processInfo.environment
        // the sanitizer suites run the same binary logic; the cluster tests run once, in the release suite
        if env["ASAN_OPTIONS"] != nil || env["TSAN_OPTIONS"] != nil { return "skipped under sanitizers (they run in the release suite)" }
        let installed = ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch", "/usr/sbin/munged"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
        if getuid() != 0 {
            return "Slurm cannot be started here: scripts/slurm-local.sh runs the daemons as root (this is uid \(getuid()))"
        }
        if !installed && !FileManager.default.isExecutableFile(atPath: "/usr/bin/apt-get") {
            return "Slurm cannot be installed here: slurm-wlm and munge are missing and there is no apt-get"
        }
        return nil
    }()

    /// Starts Slurm once (installing it when missing) and stops it at exit when it was not running before; nil when
    /// up, else why not (a test failure: it could be installed and started here).
    static let startFailure: String? = {
        let wasUp = shell([script, "status"]).status == 0
        let r = shell([script, "up"])
        if r.status != 0 { return "scripts/slurm-local.sh up failed (exit \(r.status)): \(r.stderr)" }
        if !wasUp { atexit { _ = SlurmCluster.shell([SlurmCluster.script, "down"]) } }
        return nil
    }()

    static func start() throws {
        try #require(startFailure == nil, "\(startFailure ?? "")")
    }

    @discardableResult
    static func shell(_ args: [String]) -> (status: Int32, stdout: String, stderr: String) {
        (try? SolvableProcess.run(executable: URL(fileURLWithPath: "/usr/bin/env"), args, environment: environment)) ?? (127, "", "cannot run \(args)")
    }

    /// Waits until no task of `job` is pending or running (squeue), up to `timeout` seconds.
    static func wait(job: String, timeout: Double = 240) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let r = shell(["squeue", "-h", "-j", job, "-o", "%i %T"])
            if r.status == 0 && r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return true }
            usleep(200_000)
        }
        return false
    }

    /// PID of the running `solvable sweep run` for shard `shard` of the sweep in `out` (its command line, read from /proc).
    static func shardProcess(out: String, shard: String) -> pid_t? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for e in entries {
            guard let pid = Int32(e), let d = FileManager.default.contents(atPath: "/proc/\(e)/cmdline") else { continue }
            let args = String(decoding: d, as: UTF8.self).split(separator: "\0").map(String.init)
            if args.contains("sweep"), args.contains(out), let k = args.firstIndex(of: "--shard"), k + 1 < args.count, args[k + 1] == shard { return pid }
        }
        return nil
    }
}

/// Sweeps on a real Slurm: submitted with sbatch, waited for with squeue, broken with scancel, SIGKILL and
/// scontrol requeue, completed by following `sweep merge`'s printed advice literally, and compared byte for byte
/// with a one-process local run.
@Suite(.serialized, .enabled(if: SlurmCluster.unavailable == nil, "\(SlurmCluster.unavailable ?? "")"))
struct SlurmClusterTests {
    /// 12 tiny points (milliseconds each) except point 2, which takes about a second, so its shard can be killed
    /// while it runs.
    static func writeSpec(_ dir: String) throws -> String {
        let path = "\(dir)/cluster sweep.toml"
        try """
        command = "core quadrature"
        seed = 3
        [parameters]
        order = 20
        [zip]
        gains = [0.5, 1.0, 1.5, 2.0, 0.25, 3.0, 0.75, 1.25, 1.75, 2.5, 0.4, 0.6]
        samples = [2000, 2000, 30000000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000]
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let mergedFiles = ["results.csv", "point_index.npy", "quadrature.npy", "monte_carlo.npy", "standard_error.npy", "arrays.json"]

    /// One process, no Slurm: the reference.
    static func localReference(_ spec: String, _ dir: String) throws -> String {
        let out = "\(dir)/local"
        let r = try SolvableProcess.run(["sweep", "run", spec, "--out", out, "--quiet", "--threads", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try SolvableProcess.run(["sweep", "merge", spec, "--out", out]).status == 0)
        return out
    }

    /// Submits OUT/sweep.sbatch held, breaks it as `breakIt` says, releases it and waits; then follows merge's
    /// advice until it reports nothing missing. Returns the number of resubmissions.
    static func runPattern(spec: String, out: String, cancel: [Int], kill: Int? = nil, requeue: Int? = nil,
                           damage: Int? = nil, expectAdvice: String) throws -> Int {
        let w = try SolvableProcess.run(["sweep", "slurm", spec, "--out", out, "--shards", "6", "--cpus", "1", "--mem", "300M", "--time", "00:10:00"])
        #expect(w.status == 0, "\(w.stderr)")
        let script = "\(out)/sweep.sbatch"
        let sub = SlurmCluster.shell(["sbatch", "--parsable", "--hold", script])
        try #require(sub.status == 0, "sbatch: \(sub.stderr)")
        let job = sub.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if !cancel.isEmpty {
            let c = SlurmCluster.shell(["scancel"] + cancel.map { "\(job)_\($0)" })
            #expect(c.status == 0, "scancel: \(c.stderr)")
        }
        #expect(SlurmCluster.shell(["scontrol", "release", job]).status == 0)
        if let kill {
            // the task's process, found by its command line once it runs, is killed with SIGKILL mid-point
            var pid: pid_t?
            let deadline = Date().addingTimeInterval(120)
            while pid == nil && Date() < deadline {
                pid = SlurmCluster.shardProcess(out: out, shard: "\(kill)/6")
                if pid == nil { usleep(20_000) }
            }
            let victim = try #require(pid, "shard \(kill) never started")
            usleep(300_000)
            #expect(Foundation.kill(victim, SIGKILL) == 0)
        }
        #expect(SlurmCluster.wait(job: job), "job \(job) did not finish")
        if let requeue {
            // a finished task requeued: it runs again (its log gets a second attempt appended), skipping its points
            #expect(SlurmCluster.shell(["scontrol", "requeue", "\(job)_\(requeue)"]).status == 0)
            // Slurm delays a requeued job's eligibility by two minutes; make it eligible now
            SlurmCluster.shell(["scontrol", "update", "JobId=\(job)_\(requeue)", "StartTime=now"])
            #expect(SlurmCluster.wait(job: job), "requeued task did not finish")
            let log = try String(contentsOfFile: "\(out)/logs/\(job)_\(requeue).out", encoding: .utf8)
            #expect(log.contains("attempt 0") && log.contains("attempt 1"), "requeued log: \(log)")
            #expect(log.contains("ran 0 points"), "the requeued attempt recomputed finished points: \(log)")
        }
        if let damage {
            // a record changed after it was written (one digit of its result) is detected, reported and recomputed
            let points = try SweepSpec(path: spec).points()
            let url = SweepRecord.url(out, points[damage].id)
            var text = try String(contentsOf: url, encoding: .utf8)
            let r = try #require(text.range(of: "\"wall_seconds\": "))
            let digit = text.index(r.upperBound, offsetBy: 0)
            text.replaceSubrange(digit...digit, with: text[digit] == "9" ? "8" : "9")
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        var resubmissions = 0
        while true {
            let m = try SolvableProcess.run(["sweep", "merge", spec, "--out", out])
            if m.status == 0 { break }
            #expect(m.status == 1, "\(m.stderr)")
            let advice = try #require(m.stdout.split(separator: "\n").first { $0.hasPrefix("resubmit: ") }, "no advice in \(m.stdout)")
            if resubmissions == 0 {
                #expect(advice.contains("--array=\(expectAdvice) "), "advice: \(advice)")
                for p in try SweepSpec(path: spec).points() where cancel.contains(p.index % 6) {
                    #expect(m.stdout.contains("point \(p.index) id \(p.id) shard \(p.index % 6)"), "missing point \(p.index) not listed: \(m.stdout)")
                }
            }
            // literally: the printed command line, run by a shell, with --parsable added to read the job id
            let line = String(advice.dropFirst("resubmit: ".count)).replacingOccurrences(of: "sbatch ", with: "sbatch --parsable ")
            let again = SlurmCluster.shell(["sh", "-c", line])
            try #require(again.status == 0, "\(line): \(again.stderr)")
            #expect(SlurmCluster.wait(job: again.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
            resubmissions += 1
            try #require(resubmissions <= 2, "merge still reports missing points after two resubmissions: \(m.stdout)")
        }
        return resubmissions
    }

    static func expectIdentical(_ out: String, _ reference: String, spec: String) throws {
        for f in mergedFiles {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(f)"))
            let b = try Data(contentsOf: URL(fileURLWithPath: "\(reference)/\(f)"))
            #expect(a == b, "\(f) differs between Slurm and the local run")
        }
        // every point exactly once: one row per point index, one valid record per point ID
        let rows = try String(contentsOfFile: "\(out)/results.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(rows.map { $0.split(separator: ",")[0] } == (0..<12).map { Substring(String($0)) })
        let points = try SweepSpec(path: spec).points()
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(out)/points").filter { !$0.hasPrefix(".") }
        #expect(Set(files) == Set(points.map { "\($0.id).json" }) && files.count == 12)
        for p in points { #expect(SweepRecord.valid(out, p.id)?["status"] == .string("converged")) }
    }

    /// Cancelled tasks 1 and 4 (a non-contiguous set), task 2 killed with SIGKILL mid-point, task 0 requeued
    /// after it finished; then a single cancelled index; then a cancelled non-contiguous set plus a damaged record.
    @Test func brokenArraysCompleteByFollowingMergeAdvice() throws {
        try SlurmCluster.start()
        let dir = try SolvableProcess.scratchDirectory("slurm")
        let spec = try Self.writeSpec(dir)
        let reference = try Self.localReference(spec, dir)
        let clock = Date()
        // pattern 1: cancel {1, 4}, SIGKILL 2 mid-point, requeue 0 → advice covers exactly {1, 2, 4}
        let a = "\(dir)/slurm out A"
        #expect(try Self.runPattern(spec: spec, out: a, cancel: [1, 4], kill: 2, requeue: 0, expectAdvice: "1-2,4") == 1)
        try Self.expectIdentical(a, reference, spec: spec)
        // pattern 2: a single cancelled index
        let b = "\(dir)/slurm out B"
        #expect(try Self.runPattern(spec: spec, out: b, cancel: [3], expectAdvice: "3") == 1)
        try Self.expectIdentical(b, reference, spec: spec)
        // pattern 3: cancelled {0, 5} and a damaged record of point 3 (shard 3) → advice 0,3,5
        let c = "\(dir)/slurm out C"
        #expect(try Self.runPattern(spec: spec, out: c, cancel: [0, 5], damage: 3, expectAdvice: "0,3,5") == 1)
        try Self.expectIdentical(c, reference, spec: spec)
        print("Slurm patterns took \(String(format: "%.1f", Date().timeIntervalSince(clock))) s")
    }

    /// The report's reproduction written as a sweep (one point per figure), run on the local Slurm for two figures
    /// and merged into report.html, with each figure's panels and tables byte-identical to `solvable reproduce`.
    @Test func reproduceAsSweepOnSlurm() throws {
        try SlurmCluster.start()
        let dir = try SolvableProcess.scratchDirectory("slurm-reproduce")
        let spec = "\(dir)/reproduce.toml"
        let ws = try SolvableProcess.run(["reproduce", "--figure", "core-quadrature", "--figure", "memory-timing", "--scale", "quick", "--write-sweep", spec])
        #expect(ws.status == 0, "\(ws.stderr)")
        #expect(try SolvableProcess.run(["reproduce", "--write-sweep", spec]).status == 2, "an existing file is not overwritten")
        let out = "\(dir)/paper run"
        let w = try SolvableProcess.run(["sweep", "slurm", spec, "--out", out, "--shards", "2", "--cpus", "1", "--mem", "1G"])
        #expect(w.status == 0, "\(w.stderr)")
        let sub = SlurmCluster.shell(["sbatch", "--parsable", "\(out)/sweep.sbatch"])
        try #require(sub.status == 0, "sbatch: \(sub.stderr)")
        #expect(SlurmCluster.wait(job: sub.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let m = try SolvableProcess.run(["sweep", "merge", spec, "--out", out])
        #expect(m.status == 0, "\(m.stdout)\(m.stderr)")
        let report = try String(contentsOfFile: "\(out)/report.html", encoding: .utf8)
        #expect(report.contains("2/2 figures agree"), "\(report.prefix(2000))")
        let local = "\(dir)/local"
        let r = try SolvableProcess.run(["reproduce", "--figure", "core-quadrature", "--figure", "memory-timing", "--out", local, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let made = try FileManager.default.contentsOfDirectory(atPath: local).filter { $0.hasSuffix(".svg") || $0.hasSuffix(".csv") }
        #expect(made.count >= 2)
        for f in made {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(f)"))
            #expect(a == (try Data(contentsOf: URL(fileURLWithPath: "\(local)/\(f)"))), "\(f) differs between the Slurm sweep and reproduce")
        }
    }

    /// More shards than the cluster's MaxArraySize (read from `scontrol show config`) are clamped with a note, so
    /// the written array is one sbatch accepts.
    @Test func shardsAreClampedToMaxArraySize() throws {
        try SlurmCluster.start()
        let dir = try SolvableProcess.scratchDirectory("slurm-maxarray")
        try """
        command = "core quadrature"
        [grid]
        order = [10, 20]
        [linspace]
        samples = { start = 100, stop = 699, num = 600, integer = true }
        """.write(toFile: "\(dir)/big.toml", atomically: true, encoding: .utf8)
        let r = try SolvableProcess.run(["sweep", "slurm", "\(dir)/big.toml", "--out", "\(dir)/o", "--shards", "1500"], environment: SlurmCluster.environment)
        #expect(r.status == 0 && r.stdout.contains("MaxArraySize = 1001"), "\(r.stdout)\(r.stderr)")
        let script = try String(contentsOfFile: "\(dir)/o/sweep.sbatch", encoding: .utf8)
        #expect(script.contains("--array=0-1000\n") && script.contains("--shard \"${SLURM_ARRAY_TASK_ID}/1001\""))
        // sbatch accepts it (--test-only: validated by slurmctld, not queued)
        let t = SlurmCluster.shell(["sbatch", "--test-only", "\(dir)/o/sweep.sbatch"])
        #expect(t.status == 0, "\(t.stderr)")
    }
}
