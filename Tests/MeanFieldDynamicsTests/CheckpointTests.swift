import Foundation
import Testing
import NumericalCore
import MeanFieldDynamics
import Experiments
import SolvableTestSupport

/// Issue 9: a long Monte Carlo DMFT solve checkpoints periodically and resumes, with the same parameters, to
/// bitwise the same result as an uninterrupted run.
@Suite struct DMFTCheckpointTests {
    /// Library level: a finished checkpoint (two replicas, fresh samples) is resumed instead of recomputed and gives
    /// bitwise the same solution; a checkpoint of other parameters (another seed) is not used.
    @Test func resumeIsBitwiseAndKeyed() throws {
        let pr = try specProblem(depth: 2, gamma0: 1, p: 3, d: 6, steps: 5, eta: 0.3, activation: try .tanh())
        let dir = try SolvableProcess.scratchDirectory("dmft-ckpt-lib")
        var opts = NonlinearDMFTOptions(samples: 48, maxIterations: 6, freshSamples: true, replicas: 2)
        let plain = try NonlinearDMFT.solve(pr, options: opts, seed: 3)
        #expect(plain.checkpointNote == nil)
        opts.checkpoint = try Checkpoint(path: "\(dir)/solve.ckpt", interval: 0)
        let first = try NonlinearDMFT.solve(pr, options: opts, seed: 3)
        #expect(first.checkpointNote?.contains("starting afresh") == true)
        let resumed = try NonlinearDMFT.solve(pr, options: opts, seed: 3)
        #expect(resumed.checkpointNote?.contains("resumed") == true, "\(resumed.checkpointNote ?? "nil")")
        for s in [first, resumed] {
            #expect(s.trajectory.loss == plain.trajectory.loss)
            #expect(s.trajectory.kernelPhi[1].storage == plain.trajectory.kernelPhi[1].storage)
            #expect(s.responseA[0].storage == plain.responseA[0].storage)
            #expect(s.record.residualHistory == plain.record.residualHistory && s.record.status == plain.record.status)
        }
        let other = try NonlinearDMFT.solve(pr, options: opts, seed: 4)
        #expect(other.checkpointNote?.contains("other parameters") == true)
        #expect(other.trajectory.loss != plain.trajectory.loss)
    }

    /// Process level: 20 SIGKILLs at seeded pseudo-random moments of a ~4 s solve (uniform in 0-2.5 iteration times
    /// after the solver started iterating, the iteration time measured by the reference run on this machine, so the
    /// kills land before, during and after checkpoint writes at any speed: loaded, or under a sanitizer), each
    /// followed by a restart that resumes from the last checkpoint; after each kill the checkpoint on disk is complete
    /// (never half-written).
    /// The final run equals an uninterrupted run (with another thread count) bitwise: same loss, same residual
    /// history, byte-identical kernel files; the checkpoint and every temporary are gone afterwards.
    @Test func killedSolveResumesToTheSameResult() throws {
        let dir = try SolvableProcess.scratchDirectory("dmft-ckpt-kill")
        let args = ["dmft", "solve", "--activation", "tanh", "--depth", "2", "--points", "4", "--dim", "8", "--steps", "20",
                    "--samples", "1500", "--eta", "0.3", "--iterations", "60", "--tolerance", "1e-8",
                    "--checkpoint-interval", "0", "--json"]
        let reference = try SolvableProcess.run(args + ["--out", "\(dir)/reference", "--threads", "1"])
        #expect(reference.status == 0, "\(reference.stderr)")
        let record = try JSONValue.parse(json: reference.stdout)["solvers"]?["dmft"]
        let iterationSeconds = (record?["elapsed_seconds"]?.doubleValue ?? 3) / (record?["iterations"]?.doubleValue ?? 20)
        let out = "\(dir)/killed", checkpoint = "\(out)/dmft-solve.checkpoint"
        var rng = RandomStream(seed: 31415)
        var resumedAt: [Int] = []
        var finishedEarly = false
        for trial in 0..<20 {
            let p = Process()
            p.executableURL = try SolvableProcess.binary()
            p.arguments = args + ["--out", out, "--threads", "2"]
            p.environment = ProcessInfo.processInfo.environment.merging(["SOLVABLE_BLAS_AUTOSELECT": "0"]) { $1 }
            let log = URL(fileURLWithPath: "\(dir)/trial\(trial).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = try FileHandle(forWritingTo: log)
            try p.run()
            // the solver logs what it found in the checkpoint just before it starts iterating
            let started = Stopwatch()
            while p.isRunning && started.elapsed < 60,
                  !((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("checkpoint") { usleep(2_000) }
            usleep(UInt32(1e6 * 2.5 * iterationSeconds * rng.uniform()))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if p.terminationReason == .exit { finishedEarly = true; break }   // the solve completed before this kill
            if FileManager.default.fileExists(atPath: checkpoint),
               case .unreadable(let why) = try Checkpoint(path: checkpoint).load(key: 0) {
                Issue.record("trial \(trial): half-written checkpoint visible (\(why))")
            }
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let r = text.range(of: "resumed from the checkpoint at \(checkpoint): iteration "),
               let it = Int(text[r.upperBound...].prefix { $0.isNumber }) { resumedAt.append(it) }
        }
        print("DMFT kill test (iteration \(iterationSeconds) s): resumed at iterations \(resumedAt)\(finishedEarly ? " (a run finished before its kill)" : "")")
        let checkpointLeft = FileManager.default.fileExists(atPath: checkpoint)
        let final = try SolvableProcess.run(args + ["--out", out, "--threads", "2"])
        #expect(final.status == 0, "\(final.stderr)")
        #expect(final.stderr.contains("resumed from the checkpoint") == checkpointLeft, "\(final.stderr)")
        #expect(resumedAt == resumedAt.sorted(), "progress went backwards: \(resumedAt)")
        let a = try JSONValue.parse(json: reference.stdout), b = try JSONValue.parse(json: final.stdout)
        #expect(a["result"]?["loss"] != nil && a["result"]?["loss"] == b["result"]?["loss"])
        #expect(a["solvers"]?["dmft"]?["residual_history"] == b["solvers"]?["dmft"]?["residual_history"])
        for f in ["phi_layer1.npy", "phi_layer2.npy", "g_layer1.npy", "g_layer2.npy", "ntk.npy", "loss.csv"] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/reference/\(f)")) == Data(contentsOf: URL(fileURLWithPath: "\(out)/\(f)")), "\(f)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(!left.contains("dmft-solve.checkpoint") && !left.contains { $0.contains(".tmp-") }, "\(left)")
    }
}

/// In a sweep, each point's long solve checkpoints in `OUT/checkpoints/<point id>/`, and the checkpoint is deleted
/// once the point's record is written; the results equal those of the command run on its own with the point's seed.
@Suite struct DMFTSweepCheckpointTests {
    @Test func sweepPointsCheckpointAndCleanUp() throws {
        let dir = try SolvableProcess.scratchDirectory("dmft-ckpt-sweep")
        let path = "\(dir)/sweep.toml"
        try """
        command = "dmft solve"
        seed = 5
        [parameters]
        activation = "tanh"
        depth = 2
        points = 3
        dim = 6
        steps = 5
        samples = 64
        eta = 0.3
        checkpoint_interval = 0
        [grid]
        gamma0 = [0.5, 1.0]
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let spec = try SweepSpec(path: path)
        let r = try SweepRunner.run(spec: spec, shard: 0, of: 1, out: "\(dir)/out", context: RunContext(threads: 1))
        #expect(r.ran == 2 && r.failed == 0)
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/out/checkpoints"))
        for p in try spec.points() {
            let rec = try #require(SweepRecord.valid("\(dir)/out", p.id))
            let alone = try DMFTSolveTask.run(p.parameters, RunContext(seed: p.seed, threads: 2))
            #expect(rec["result"]?["loss"] == alone.summary["loss"], "point \(p.index)")
        }
    }
}
