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
                // before the last shard, merge reports what is missing and which shards to rerun
                let partial = try solvable(["sweep", "merge", spec, "--out", "\(dir)/three", "--shards", "3"])
                #expect(partial.status == 1 && partial.stdout.contains("rerun: solvable sweep run") && partial.stdout.contains("--shard 2/3"), "\(partial.stdout)")
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
        ("command = \"core quadrature\"\n[parameters]\nseed = 4\n", "parameters.seed"),
        ("command = \"core quadrature\"\n[grid]\nthreads = [1, 2]\n", "grid.threads"),
        ("command = \"core quadrature\"\n[parameters]\nout = \"x\"\n", "parameters.out"),
        // 1000 x 1000 points: refused before anything is expanded, with the count
        ("command = \"core quadrature\"\n[linspace]\norder = { start = 1, stop = 1000, num = 1000, integer = true }\nsamples = { start = 2, stop = 2000, num = 1000, integer = true }\n", "1000000"),
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
        #expect(script.contains("#SBATCH --array=0-3") && script.contains("--partition=\"short\"") && script.contains("--cpus-per-task=8"))
        #expect(script.contains("sweep run") && script.contains("--open-mode=append") && script.contains("--shard \"${SLURM_ARRAY_TASK_ID}/4\""))
        #expect(script.contains("--threads \"${SLURM_CPUS_PER_TASK:-8}\"") && script.contains("--job-name=solvable-sweep"))
    }

    /// A record changed after it was written (one digit, still valid JSON), truncated, or garbage: reported by
    /// merge, recomputed by the next run, and the merged results equal a clean run's.
    @Test func damagedRecordsAreReportedAndRecomputed() throws {
        let dir = try scratchDirectory("sweep-damage")
        let spec = try writeSweepSpec(dir)
        let out = "\(dir)/o"
        #expect(try solvable(["sweep", "run", spec, "--out", out, "--quiet"]).status == 0)
        #expect(try solvable(["sweep", "merge", spec, "--out", out]).status == 0)
        let clean = try Data(contentsOf: URL(fileURLWithPath: "\(out)/results.csv"))
        let points = try SweepSpec(path: spec).points()
        let flip = SweepRecord.url(out, points[1].id)
        var text = try String(contentsOf: flip, encoding: .utf8)
        let r = try #require(text.range(of: "\"quadrature\": [0."))
        let k = r.upperBound
        text.replaceSubrange(k...k, with: text[k] == "1" ? "2" : "1")
        try text.write(to: flip, atomically: true, encoding: .utf8)
        #expect((try? JSONValue.parse(json: text)) != nil, "the flipped record is still valid JSON")
        let cut = try Data(contentsOf: SweepRecord.url(out, points[4].id))
        try cut.prefix(cut.count / 2).write(to: SweepRecord.url(out, points[4].id))
        try Data("garbage".utf8).write(to: SweepRecord.url(out, points[7].id))
        let m = try solvable(["sweep", "merge", spec, "--out", out])
        #expect(m.status == 1)
        #expect(m.stdout.contains("damaged record") && m.stdout.contains("checksum mismatch"), "\(m.stdout)")
        for i in [1, 4, 7] { #expect(m.stdout.contains("point \(i) id \(points[i].id)"), "\(m.stdout)") }
        #expect(m.stdout.contains("rerun: solvable sweep run"))
        let again = try solvable(["sweep", "run", spec, "--out", out, "--quiet"])
        #expect(again.stdout.contains("ran 3 points"), "\(again.stdout)")
        #expect(try solvable(["sweep", "merge", spec, "--out", out]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out)/results.csv")) == clean)
    }

    /// Point IDs hash the contents of input files, not only their paths.
    @Test func pointIDsHashInputContents() throws {
        let dir = try scratchDirectory("sweep-inputs")
        try "1,2\n3,4\n".write(toFile: "\(dir)/x.csv", atomically: true, encoding: .utf8)
        try "1\n-1\n".write(toFile: "\(dir)/y.csv", atomically: true, encoding: .utf8)
        let path = "\(dir)/s.toml"
        try """
        command = "dmft solve"
        [parameters]
        inputs = "\(dir)/x.csv"
        targets = "\(dir)/y.csv"
        [grid]
        gamma0 = [0.5, 1.0]
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let before = try SweepSpec(path: path).points().map(\.id)
        try "1,2\n3,5\n".write(toFile: "\(dir)/x.csv", atomically: true, encoding: .utf8)
        let after = try SweepSpec(path: path).points().map(\.id)
        #expect(Set(before).isDisjoint(with: after))
        try FileManager.default.removeItem(atPath: "\(dir)/y.csv")
        let r = try solvable(["sweep", "plan", path])
        #expect(r.status == 2 && r.stderr.contains("targets"), "\(r.stderr)")
    }

    /// A checkpoint named in a spec belongs to one point and never overwrites a user's file.
    @Test func checkpointPathsAreOwnedPerPoint() throws {
        let dir = try scratchDirectory("sweep-ckpt")
        let precious = "\(dir)/precious.txt"
        try "my notes\n".write(toFile: precious, atomically: true, encoding: .utf8)
        let base = "command = \"dmft solve\"\n[parameters]\nactivation = \"tanh\"\nsteps = 3\nsamples = 16\n"
        let cases = [
            (base + "checkpoint = \"\(dir)/shared.ckpt\"\n[grid]\ngamma0 = [0.5, 1.0]\n", "one checkpoint file per point"),
            (base + "[zip]\ngamma0 = [0.5, 1.0]\ncheckpoint = [\"\(dir)/a.ckpt\", \"\(dir)/a.ckpt\"]\n", "one checkpoint file per point"),
            (base + "[zip]\ngamma0 = [0.5, 1.0]\ncheckpoint = [\"\(dir)/a.ckpt\", \"\(precious)\"]\n", "not one"),
        ]
        for (text, message) in cases {
            try text.write(toFile: "\(dir)/s.toml", atomically: true, encoding: .utf8)
            let r = try solvable(["sweep", "run", "\(dir)/s.toml", "--out", "\(dir)/o-\(UInt32.random(in: 0...UInt32.max))", "--quiet"])
            #expect(r.status == 2 && r.stderr.contains("checkpoint") && r.stderr.contains(message), "\(r.stderr)")
        }
        #expect(try String(contentsOfFile: precious, encoding: .utf8) == "my notes\n")
        try (base + "[zip]\ngamma0 = [0.5, 1.0]\ncheckpoint = [\"\(dir)/a.ckpt\", \"\(dir)/b.ckpt\"]\n").write(toFile: "\(dir)/s.toml", atomically: true, encoding: .utf8)
        #expect(try solvable(["sweep", "plan", "\(dir)/s.toml"]).status == 0)
    }

    /// The spec is frozen into OUT: a changed spec is refused; merge keeps integers as integers and lists every
    /// missing point; shard counts are clamped to the points.
    @Test func frozenSpecIntegersAndClampedShards() throws {
        let dir = try scratchDirectory("sweep-frozen")
        let spec = try writeSweepSpec(dir)
        let out = "\(dir)/o"
        #expect(try solvable(["sweep", "run", spec, "--out", out, "--shard", "0/4", "--quiet"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: "\(out)/sweep-spec.toml"))
        let m = try solvable(["sweep", "merge", spec, "--out", out, "--shards", "4"])
        #expect(m.status == 1 && m.stdout.contains("not run: 9"), "\(m.stdout)")
        #expect(m.stdout.contains("point 1 id ") && m.stdout.contains("\"order\":10"), "\(m.stdout)")
        let csv = try String(contentsOfFile: "\(out)/results.csv", encoding: .utf8)
        #expect(csv.hasPrefix("index,id,status,seed,order,gains,residual,iterations\n"), "\(csv)")
        #expect(csv.contains(",10,") && !csv.contains(",10.0,"), "\(csv)")
        _ = try writeSweepSpec(dir, samples: 5000)
        let changed = try solvable(["sweep", "run", spec, "--out", out, "--shard", "1/4", "--quiet"])
        #expect(changed.status == 2 && changed.stderr.contains("spec") && changed.stderr.contains("sweep-spec.toml"), "\(changed.stderr)")
        // the frozen copy still runs
        #expect(try solvable(["sweep", "run", "\(out)/sweep-spec.toml", "--out", out, "--shard", "1/4", "--quiet"]).status == 0)
        let s = try solvable(["sweep", "slurm", "\(out)/sweep-spec.toml", "--out", "\(dir)/p", "--shards", "25"])
        #expect(s.status == 0 && s.stdout.contains("using 12 shards"), "\(s.stdout)")
        #expect(try String(contentsOfFile: "\(dir)/p/sweep.sbatch", encoding: .utf8).contains("--array=0-11"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/p/logs"))
        // the script's shard count is recorded: another count would map array indices to other points
        let other = try solvable(["sweep", "run", "\(out)/sweep-spec.toml", "--out", "\(dir)/p", "--shard", "0/4", "--quiet"])
        #expect(other.status == 2 && other.stderr.contains("shards") && other.stderr.contains("12"), "\(other.stderr)")
    }

    /// A point refused for memory is listed apart, with the memory it needs, and advised for resubmission with
    /// a larger `--mem` (not with the plain line, where it would be refused again); list results of different
    /// lengths are named as not merged.
    @Test func refusedPointsAndUnmergeableListsAreExplained() throws {
        let dir = try scratchDirectory("sweep-refused")
        try """
        command = "memory simulate"
        [zip]
        neurons = [60, 4000]
        patterns = [10, 2000]
        """.write(toFile: "\(dir)/m.toml", atomically: true, encoding: .utf8)
        let out = "\(dir)/o"
        #expect(try solvable(["sweep", "slurm", "\(dir)/m.toml", "--out", out, "--shards", "2"]).status == 0)
        for i in 0..<2 {
            _ = try solvable(["sweep", "run", "\(dir)/m.toml", "--out", out, "--shard", "\(i)/2", "--quiet"], environment: ["SOLVABLE_MEMORY_LIMIT": "20M"])
        }
        let m = try solvable(["sweep", "merge", "\(dir)/m.toml", "--out", out])
        #expect(m.status == 1)
        #expect(m.stdout.contains("refused for memory") && m.stdout.contains("point 1 id ") && m.stdout.contains("needs "), "\(m.stdout)")
        #expect(m.stdout.contains("resubmit with more memory: sbatch --mem=") && m.stdout.contains("--array=1 "), "\(m.stdout)")
        #expect(!m.stdout.contains("resubmit: sbatch"), "\(m.stdout)")

        try """
        command = "core quadrature"
        [parameters]
        samples = 100
        [grid]
        gains = [[0.5], [0.5, 1.0]]
        """.write(toFile: "\(dir)/q.toml", atomically: true, encoding: .utf8)
        #expect(try solvable(["sweep", "run", "\(dir)/q.toml", "--out", "\(dir)/q", "--quiet"]).status == 0)
        let q = try solvable(["sweep", "merge", "\(dir)/q.toml", "--out", "\(dir)/q"])
        #expect(q.status == 0 && q.stdout.contains("not merged into an array: quadrature: shape differs between points"), "\(q.stdout)")
    }
}
