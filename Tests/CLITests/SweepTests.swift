import Experiments
import Foundation
import NumericalCore
import Testing

func writeSweepSpec(_ dir: String, samples: Int = 4000) throws -> String {
    let path = "\(dir)/sweep.toml"
    try """
    command = "core quadrature"
    seed = 11
    [parameters]
    samples = \(samples)
    [grid]
    order = [10, 30, 60]
    [logspace]
    gains = { start = 0.25, stop = 4, num = 4 }
    """.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite(.serialized) struct SweepTests {
    /// Sharding must not change results: 3 shards and 1 shard give byte-identical merged results.csv and arrays.
    @Test func threeShardsAndOneShardMergeIdentically() throws {
        let dir = try scratchDirectory("sweep-shards")
        let spec = try writeSweepSpec(dir)
        let plan = try solvable(["sweep", "plan", spec, "--json"])
        #expect(plan.status == 0)
        #expect(try JSONValue.parse(json: plan.stdout)["count"] == .int(12))
        for i in 0..<3 {
            let r = try solvable(["sweep", "run", spec, "--out", "\(dir)/three", "--shard", "\(i)/3", "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            if i < 2 {
                // before the last shard, merge reports what is missing and which array index to resubmit
                let partial = try solvable(["sweep", "merge", spec, "--out", "\(dir)/three", "--shards", "3"])
                #expect(partial.status == 1 && partial.stdout.contains("resubmit"))
            }
        }
        // one shard, with the Slurm variables a 1-task array would set and a different thread count
        let one = try solvable(["sweep", "run", spec, "--out", "\(dir)/one", "--threads", "1", "--quiet"],
                               environment: ["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "1"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(try solvable(["sweep", "merge", spec, "--out", "\(dir)/three", "--shards", "3"]).status == 0)
        #expect(try solvable(["sweep", "merge", spec, "--out", "\(dir)/one"]).status == 0)
        for f in ["results.csv", "quadrature.npy", "monte_carlo.npy", "point_index.npy"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/three/\(f)"))
            let b = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/one/\(f)"))
            #expect(a == b, "\(f) differs between 3 shards and 1 shard")
        }
        // rerunning a finished shard does nothing
        let again = try solvable(["sweep", "run", spec, "--out", "\(dir)/one", "--quiet"])
        #expect(again.stdout.contains("ran 0 points"))
    }

    /// SIGKILL mid-way, rerun: every point exactly once, nothing half-written visible, same results as a clean run.
    @Test func killedSweepResumesWithoutLossOrDuplicates() throws {
        let dir = try scratchDirectory("sweep-kill")
        let spec = try writeSweepSpec(dir, samples: 100_000)
        let out = "\(dir)/killed"
        // 20 kills at pseudo-random moments (seeded, so the test is reproducible): some before any point is
        // written, most in the middle of writing one
        var rng = RandomStream(seed: 2718)
        for _ in 0..<20 {
            let p = Process()
            p.executableURL = try solvableBinary()
            p.arguments = ["sweep", "run", spec, "--out", out, "--quiet", "--threads", "1"]
            p.environment = ProcessInfo.processInfo.environment.merging(["SOLVABLE_BLAS_AUTOSELECT": "0"]) { $1 }
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32(5_000 + rng.index(below: 150_000)))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let visible = ((try? FileManager.default.contentsOfDirectory(atPath: "\(out)/points")) ?? []).filter { !$0.hasPrefix(".") }
            for f in visible {   // every visible file is a complete, parseable record
                let text = try String(contentsOfFile: "\(out)/points/\(f)", encoding: .utf8)
                #expect((try? JSONValue.parse(json: text))?["status"] != nil, "half-written file \(f)")
            }
        }
        let finish = try solvable(["sweep", "run", spec, "--out", out, "--quiet"])
        #expect(finish.status == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(out)/points")
        #expect(files.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.count == 12)
        #expect(!files.contains { $0.contains(".tmp-") })
        #expect(try solvable(["sweep", "merge", spec, "--out", out]).status == 0)
        let clean = try solvable(["sweep", "run", spec, "--out", "\(dir)/clean", "--quiet"])
        #expect(clean.status == 0)
        #expect(try solvable(["sweep", "merge", spec, "--out", "\(dir)/clean"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out)/results.csv")) == Data(contentsOf: URL(fileURLWithPath: "\(dir)/clean/results.csv")))
    }

    @Test(arguments: [
        ("command = \"no such\"\n", "command"),
        ("command = \"core quadrature\"\n[grid]\norder = []\n", "grid.order"),
        ("command = \"core quadrature\"\n[grid]\nbogus = [1]\n", "bogus"),
        ("command = \"core quadrature\"\n[logspace]\ngains = { start = 0, stop = 1, num = 3 }\n", "logspace.gains"),
        ("command = \"core quadrature\"\n[zip]\norder = [1, 2]\nsamples = [10]\n", "zip"),
        ("command = \"core quadrature\"\nextra = 1\n", "extra"),
    ])
    func badSpecsExitTwoNamingTheKey(text: String, key: String) throws {
        let dir = try scratchDirectory("sweep-bad")
        try text.write(toFile: "\(dir)/s.toml", atomically: true, encoding: .utf8)
        let r = try solvable(["sweep", "plan", "\(dir)/s.toml"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains(key), "\(r.stderr)")
    }

    @Test func slurmScriptIsWrittenNotSubmitted() throws {
        let dir = try scratchDirectory("sweep-slurm")
        let spec = try writeSweepSpec(dir)
        let r = try solvable(["sweep", "slurm", spec, "--out", "\(dir)/o", "--shards", "4", "--partition", "short", "--cpus", "8"])
        #expect(r.status == 0)
        let script = try String(contentsOfFile: "\(dir)/o/sweep.sbatch", encoding: .utf8)
        #expect(script.contains("#SBATCH --array=0-3") && script.contains("--partition=short") && script.contains("--cpus-per-task=8"))
        #expect(script.contains("sweep run"))
    }
}
