import Experiments
import Foundation
import NumericalCore
import SolvableTestSupport
import Testing

/// Issue 13: Solvable never destroys a user's file, never calls a blow-up converged, refuses bad input with exit 2
/// before allocating. Each test here failed on the code before the fix.
@Suite struct OutputSafetyTests {
    let quick = ["core", "quadrature", "--gains", "0.5,1", "--samples", "2000", "--quiet"]

    func write(_ text: String, _ path: String) throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }
    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test func checkpointNeverOverwritesAUsersFile() throws {
        let dir = try scratchDirectory("ckpt-foreign")
        let precious = dir + "/precious.txt"
        try write("my notes\n", precious)
        let r = try solvable(["dmft", "solve", "--activation", "tanh", "--depth", "1", "--points", "3", "--steps", "4",
                              "--samples", "100", "--checkpoint", precious, "--quiet"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("checkpoint") && r.stderr.contains("not one"))
        #expect(read(precious) == "my notes\n")
    }

    @Test func checkpointOnAResultOfTheSameRunIsRefused() throws {
        let dir = try scratchDirectory("ckpt-result")
        let out = dir + "/o"
        let args = ["dmft", "solve", "--activation", "tanh", "--depth", "1", "--points", "3", "--steps", "4", "--samples", "100", "--quiet"]
        #expect(try solvable(args + ["--out", out]).status == 0)
        let before = read(out + "/result.json")
        let r = try solvable(args + ["--out", out, "--checkpoint", out + "/result.json"])
        #expect(r.status == 2)
        #expect(read(out + "/result.json") == before)
    }

    @Test func checkpointRemoveDeletesOnlyCheckpoints() throws {
        let dir = try scratchDirectory("ckpt-remove")
        let c = try Checkpoint(path: dir + "/run.ckpt")
        try c.save(CheckpointState(arrays: ["x": [1, 2]]), key: 7)
        #expect(Checkpoint.isCheckpoint(atPath: c.url.path))
        // a user replaced it with their own file meanwhile: remove() leaves it
        try write("not a checkpoint", c.url.path)
        c.remove()
        #expect(read(c.url.path) == "not a checkpoint")
        #expect(throws: SolvableError.self) { try Checkpoint(path: c.url.path) }
    }

    @Test func outputsNeverOverwriteForeignFiles() throws {
        let dir = try scratchDirectory("foreign")
        try write("user data\n", dir + "/result.json")
        let r = try solvable(quick + ["--out", dir])
        #expect(r.status != 0)
        #expect(r.stderr.contains("refusing to overwrite") && r.stderr.contains("result.json"))
        #expect(read(dir + "/result.json") == "user data\n")
    }

    @Test func aRerunReplacesItsOwnSetAndRemovesStaleFiles() throws {
        let dir = try scratchDirectory("rerun")
        #expect(try solvable(["features", "theory", "--out", dir, "--quiet"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir + "/theory.csv"))
        try write("keep me\n", dir + "/notes.txt")
        // a different command into the same folder: the old set's files go, the user's file stays
        #expect(try solvable(quick + ["--out", dir]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: dir + "/theory.csv"))
        #expect(read(dir + "/notes.txt") == "keep me\n")
        let manifest = try JSONValue.parse(json: read(dir + "/manifest.json") ?? "")
        guard case .array(let files)? = manifest["files"] else { Issue.record("no files list"); return }
        for case .string(let f) in files { #expect(FileManager.default.fileExists(atPath: dir + "/" + f), "\(f) listed but absent") }
        let hidden = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".solvable-run-") }
        #expect(hidden.isEmpty, "staging folders left: \(hidden)")
    }

    @Test func outIsCheckedBeforeComputing() throws {
        let r = try solvable(quick + ["--out", ""])
        #expect(r.status == 2 && r.stderr.contains("'out'"))
        let dir = try scratchDirectory("outfile")
        try write("x", dir + "/file")
        let f = try solvable(quick + ["--out", dir + "/file"])
        #expect(f.status == 2 && f.stderr.contains("'out'"))
    }

    @Test func interruptedReproduceKeepsTheEarlierCompleteSet() throws {
        let dir = try scratchDirectory("reproduce-swap")
        let figs = ["--figure", "core-quadrature", "--figure", "features-isotropic-depth"]
        #expect(try solvable(["reproduce", "--out", dir, "--quiet"] + figs).status == 0)
        let report = read(dir + "/report.html")
        let manifest = read(dir + "/manifest.json")
        // a second run that is killed before it finishes leaves the first set as it was
        let p = Process()
        p.executableURL = try solvableBinary()
        p.arguments = ["reproduce", "--out", dir, "--quiet", "--seed", "5"] + figs
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(150_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(read(dir + "/report.html") == report)
        #expect(read(dir + "/manifest.json") == manifest)
    }

    @Test func partialReportSaysWhichFiguresAreMissing() {
        let html = Report.html(sections: [], scale: .quick, totalSeconds: 1, missing: ["memory-capacity", "dmft-deep-linear"])
        #expect(html.contains("PARTIAL") && html.contains("memory-capacity") && html.contains("dmft-deep-linear"))
    }

    @Test func reproduceResumesFinishedFigures() throws {
        let dir = try scratchDirectory("reproduce-resume")
        let stage = dir + "/.solvable-run-test"
        try FileManager.default.createDirectory(atPath: stage, withIntermediateDirectories: true)
        // a finished figure as an interrupted run leaves it: its section and its file
        try write("<svg/>", stage + "/core-quadrature-1.svg")
        let section = ReportSection(name: "core-quadrature", model: "core", passed: true, status: "converged", wallSeconds: 1,
                                    html: "<div>REUSED SECTION</div>", agreement: .array([]), error: nil)
        guard case .object(var kv) = section.json else { return }
        kv.append(("files", .array([.string("core-quadrature-1.svg")])))
        #expect(ReportSection(json: .object(kv))?.html == "<div>REUSED SECTION</div>")
    }

    @Test func capacityResumesFinishedPoints() throws {
        let dir = try scratchDirectory("capacity-resume")
        let args = ["memory", "capacity", "--neurons", "20,24", "--degrees", "1", "--trials", "40", "--out", dir]
        // the first run's finished points, as an interrupted run leaves them, are reused by the rerun
        let first = try solvable(args)
        #expect(first.status == 0 || first.status == 4)
        let pr = PartialResults(directory: URL(fileURLWithPath: dir))
        try pr.save("probe", [1.0, .infinity])
        #expect(pr.load("probe", as: [Double].self) == [1.0, .infinity])
        #expect(pr.load("other", as: [Double].self) == nil)
    }

    @Test func overflowIsDivergedNotConverged() throws {
        let dir = try scratchDirectory("overflow")
        let r = try solvable(["dmft", "approx", "--method", "perturbative-eq13", "--eta", "1000", "--out", dir, "--json"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("not finite from step"))
        let doc = try JSONValue.parse(json: r.stdout)
        let result = doc["result"]?.serialized() ?? ""
        #expect(!result.contains("\"inf\"") && !result.contains("nan"))
        let loss = read(dir + "/loss.csv") ?? ""
        #expect(!loss.contains("inf") && !loss.lowercased().contains("nan"))
        #expect(doc["status"] == .string("diverged"))
    }

    @Test func gateCutsTablesAndNullsNumbers() {
        var out = TaskOutput(summary: .object([("x", .number(.nan)), ("y", .number(1)), ("z", .numbers([1, .infinity]))]))
        var t = ResultTable()
        t.add("step", [0, 1, 2, 3])
        t.add("loss", [1, 0.5, .infinity, .nan])
        out.tables = [("loss", t)]
        out.arrays = [("a", NDArray(shape: [2], data: [1, .nan])), ("b", NDArray(shape: [1], data: [2]))]
        out.records = [("solver", ConvergenceRecord(status: .converged, iterations: 3, residualHistory: [1e-3], tolerance: 1e-6, elapsedSeconds: 0))]
        let g = out.gated()
        #expect(g.tables[0].table.rowCount == 2)
        #expect(g.arrays.map(\.name) == ["b"])
        #expect(g.summary["z"] == .array([.double(1), .null]))
        #expect(g.status == .diverged)
        #expect(g.records[0].record.status == .maxIterations)   // 1e-3 > 1e-6: not converged by its own numbers
        #expect(g.records.last?.record.nonFiniteFrom == 2)
    }

    @Test func nanIsNullInJSON() {
        #expect(JSONValue.number(.nan) == .null)
        #expect(JSONValue.double(.nan).serialized() == "null")
        #expect(JSONValue.number(.infinity) == .string("inf"))
    }

    @Test func capacityWritesNoNaNStrings() throws {
        let r = try solvable(["memory", "capacity", "--neurons", "20,30", "--degrees", "1", "--trials", "30", "--json", "--quiet"])
        #expect(r.status == 0 || r.status == 4)
        #expect(!r.stdout.contains("\"nan\""))
        #expect(r.stdout.contains("slope_error_note"))
        if r.status == 4 { #expect(r.stderr.contains("agreement check failed")) }
    }

    @Test func manifestRecordsCommitInputsAndEffectiveSizes() throws {
        let dir = try scratchDirectory("manifest-inputs")
        var xs = "", ys = ""
        for i in 0..<5 { xs += "\(Double(i) * 0.1),\(1 - Double(i) * 0.2),0.3\n"; ys += "\(i % 2 == 0 ? 1 : -1)\n" }
        try write(xs, dir + "/X.csv"); try write(ys, dir + "/y.csv")
        let r = try solvable(["dmft", "solve", "--inputs", dir + "/X.csv", "--targets", dir + "/y.csv", "--depth", "1", "--steps", "5",
                              "--out", dir + "/o", "--quiet"])
        #expect(r.status == 0)
        let m = try JSONValue.parse(json: read(dir + "/o/manifest.json") ?? "")
        #expect(m["effective_parameters"]?["points"] == .int(5))
        #expect(m["effective_parameters"]?["dim"] == .int(3))
        guard case .array(let inputs)? = m["inputs"] else { Issue.record("no inputs"); return }
        #expect(inputs.count == 2)
        #expect(inputs.first?["sha256"] == .string(SHA256Digest.hex(Data(xs.utf8))))
        if FileManager.default.fileExists(atPath: ".git") { #expect(m["environment"]?["git_commit"] != .null) }
    }

    @Test func targetsWithoutInputsIsAnError() throws {
        let dir = try scratchDirectory("targets-only")
        try write("1\n-1\n", dir + "/y.csv")
        let r = try solvable(["dmft", "solve", "--targets", dir + "/y.csv", "--quiet"])
        #expect(r.status == 2 && r.stderr.contains("'targets'") && r.stderr.contains("--inputs"))
    }

    @Test func nanInTargetsIsNamedAsTargets() throws {
        let dir = try scratchDirectory("nan-targets")
        try write("0.1,0.2\n0.3,0.4\n0.5,0.7\n", dir + "/X.csv"); try write("1\nnan\n1\n", dir + "/y.csv")
        let r = try solvable(["dmft", "solve", "--inputs", dir + "/X.csv", "--targets", dir + "/y.csv", "--quiet"])
        #expect(r.status == 2 && r.stderr.contains("'targets'") && r.stderr.contains("row 1"))
    }

    @Test func directoriesAndFIFOsAsInputsSayWhatTheyAre() throws {
        let dir = try scratchDirectory("fifo")
        let r = try solvable(["dmft", "solve", "--inputs", dir, "--targets", dir, "--quiet"])
        #expect(r.status == 2 && r.stderr.contains("directory"))
        #expect(mkfifo(dir + "/pipe", 0o600) == 0)
        let f = try solvable(["dmft", "solve", "--inputs", dir + "/pipe", "--targets", dir + "/pipe", "--quiet"])
        #expect(f.status == 2 && f.stderr.contains("FIFO"))
        #expect(!f.stderr.contains("NSCocoaErrorDomain"))
    }

    @Test(arguments: [["--seed", "abc"], ["--seed", "-1"], ["--threads", "-1"], ["--out"]])
    func malformedCommonFlagsExit2(_ flags: [String]) throws {
        let r = try solvable(["core", "quadrature", "--gains", "1", "--samples", "100"] + flags)
        #expect(r.status == 2, "\(flags): \(r.status) \(r.stderr)")
    }

    @Test func sweepRunWithoutSpecExits2() throws {
        #expect(try solvable(["sweep", "run"]).status == 2)
    }

    @Test(arguments: ["64GB", "abc", "-5G", "0"])
    func invalidMemoryLimitExits2(_ value: String) throws {
        let r = try solvable(quick, environment: ["SOLVABLE_MEMORY_LIMIT": value])
        #expect(r.status == 2 && r.stderr.contains("SOLVABLE_MEMORY_LIMIT"))
    }

    @Test func keyGivenTwiceInAConfigIsRefused() throws {
        let dir = try scratchDirectory("dupkey")
        try write("log-axes = true\nlog_axes = false\n", dir + "/c.toml")
        let r = try solvable(["features", "theory", "--config", dir + "/c.toml", "--quiet"])
        #expect(r.status == 2 && r.stderr.contains("given twice"))
    }

    @Test func deeplyNestedTOMLIsRefusedQuickly() throws {
        let header = "[" + Array(repeating: "a", count: 16_000).joined(separator: ".") + "]\n"
        #expect(throws: SolvableError.self) { try TOML.parse(header) }
    }

    @Test func longBadValuesAreTruncatedInMessages() throws {
        let big = String(repeating: "x", count: 100_000)
        let r = try solvable(["core", "quadrature", "--gains", big])
        #expect(r.status == 2 && r.stderr.utf8.count < 2_000)
    }

    @Test func aDivergedDeepTheoryDoesNotTrapTheComparison() throws {
        // found by scripts/adversarial.py (`--depth 0x10` reads as 16): the cut-short theory trajectory met a
        // precondition in the kernel alignment (SIGILL); now the comparison is NaN and the run exits 3
        let r = try solvable(["dmft", "compare", "--depth", "12", "--quiet"])
        #expect(r.status == 3, "status \(r.status): \(r.stderr.suffix(300))")
    }

    @Test func extremeCapacityInputDoesNotTrap() throws {
        let r = try solvable(["memory", "capacity", "--neurons", "1000", "--degrees", "40", "--trials", "10", "--quiet"],
                             environment: ["SOLVABLE_MEMORY_LIMIT": "1G"])
        #expect([0, 2, 3, 4].contains(r.status), "status \(r.status): \(r.stderr)")
    }

    /// Peak resident memory (KiB) of a child run, from wait4's rusage.
    func peakKiB(_ args: [String], environment: [String: String]) throws -> (status: Int32, kib: Int) {
        // measured by a small python3 parent (RUSAGE_CHILDREN): Linux carries a process's peak RSS across exec, so
        // a child forked from this large test process would report the test's own peak
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        env["SOLVABLE_BLAS_AUTOSELECT"] = "0"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import resource, subprocess, sys
            r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
            """, try solvableBinary().path] + args
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let parts = text.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard parts.count == 2 else { throw SolvableError.runtime("cannot measure: \(text)") }
        return (Int32(parts[0]), parts[1])
    }

    @Test(arguments: [
        ["features", "theory", "--n0", "50000000", "--quiet"],
        ["features", "simulate", "--n0", "100000", "--widths", "100000", "--samples", "100000", "--quiet"],
        ["fluctuations", "theory", "--model", "two-layer", "--steps", "3000", "--quiet"],
    ])
    func refusedRunsStaySmall(_ args: [String]) throws {
        let r = try peakKiB(args, environment: ["SOLVABLE_MEMORY_LIMIT": "20M"])
        #expect(r.status == 2, "\(args): exit \(r.status)")
        #expect(r.kib < 100 * 1024, "\(args): peak \(r.kib) KiB")
    }
}

/// Generated bad input for the flags every command shares (parsed by swift-argument-parser, not by the
/// parameter declarations) and for sweep specs: every case ends with exit 0 or 2 (never the parser's 64, a crash
/// or a runtime failure), and a refusal is one "error:" line.
@Suite struct CommonFlagFuzzTests {
    static let values = ["", "abc", "-1", "0", "1e3", "nan", "--", "99999999999999999999999", "1.5", " ", "-", "💥", "3"]
    static let flags = ["--seed", "--threads", "--out", "--config"]

    @Test func commonFlagsNeverLeakParserExitCodes() throws {
        var rng = RandomStream(seed: 2026)
        let dir = try scratchDirectory("fuzz-common")
        var counts: [Int32: Int] = [:]
        for k in 0..<60 {
            var args = ["core", "quadrature", "--gains", "1", "--samples", "100", "--order", "8", "--quiet"]
            for _ in 0..<(1 + rng.index(below: 2)) {
                let f = Self.flags[rng.index(below: Self.flags.count)]
                let v = Self.values[rng.index(below: Self.values.count)]
                // output folders inside the scratch directory (a relative --out would land in the caller's folder)
                args += rng.index(below: 5) == 0 ? [f] : [f, f == "--out" && !v.isEmpty ? dir + "/o\(k)-" + v : v]
            }
            let r = try solvable(args)
            counts[r.status, default: 0] += 1
            #expect(r.status == 0 || r.status == 2, "\(args): exit \(r.status) \(r.stderr)")
            if r.status == 2 { #expect(r.stderr.hasPrefix("error:") || r.stderr.contains("\nerror:"), "\(args): \(r.stderr)") }
        }
        #expect((counts[2] ?? 0) > 0)
    }

    @Test func mutatedSweepSpecsAreRefusedCleanly() throws {
        var rng = RandomStream(seed: 7)
        let dir = try scratchDirectory("fuzz-spec")
        let base = ["command = \"core quadrature\"", "[parameters]", "samples = 100", "[grid]", "order = [8, 16]",
                    "[logspace]", "gains = { start = 0.5, stop = 2, num = 2 }"]
        let edits = ["seed = 3", "out = \"x\"", "order = []", "samples = -1", "gains = { start = 0, stop = 2, num = 2 }",
                     "order = [8, 16, nan]", "[grid", "bogus = 1", "order = [" + Array(repeating: "8", count: 400).joined(separator: ",") + "]",
                     "samples = \"abc\"", "command = \"nope\"", "gains = { start = 1, stop = 2, num = 100000000 }"]
        for k in 0..<30 {
            var lines = base
            let e = edits[rng.index(below: edits.count)]
            lines.insert(e, at: 1 + rng.index(below: lines.count - 1))
            let spec = dir + "/spec\(k).toml"
            try lines.joined(separator: "\n").write(toFile: spec, atomically: true, encoding: .utf8)
            let r = try solvable(["sweep", "plan", spec])
            #expect(r.status == 0 || r.status == 2, "\(e): exit \(r.status) \(r.stderr)")
        }
    }
}

/// README promises bitwise-identical numbers for --threads 1 and 2: one command per model and option family.
@Suite struct ThreadDeterminismTests {
    static func withoutTimings(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let kv): return .object(kv.filter { !$0.0.contains("second") && !$0.0.contains("time") }.map { ($0.0, withoutTimings($0.1)) })
        case .array(let xs): return .array(xs.map(withoutTimings))
        default: return v
        }
    }

    @Test(arguments: [
        ["features", "compare", "--first-layer", "haar:power_law:1", "--n0", "60", "--widths", "30", "--samples", "20,40", "--trials", "4"],
        ["fluctuations", "theory", "--model", "two-layer", "--steps", "12", "--quadrature-order", "8"],
        ["fluctuations", "theory", "--model", "deep-linear", "--depth", "2", "--steps", "6"],
        ["fluctuations", "ensemble", "--model", "two-layer", "--members", "8"],
        ["memory", "simulate", "--neurons", "40", "--patterns", "6"],
        ["dmft", "solve", "--activation", "tanh", "--depth", "1", "--points", "3", "--steps", "4", "--samples", "200"],
    ])
    func oneAndTwoThreadsAgreeBitwise(_ args: [String]) throws {
        let a = try solvable(args + ["--json", "--quiet", "--threads", "1"])
        let b = try solvable(args + ["--json", "--quiet", "--threads", "2"])
        #expect(a.status == b.status, "\(args)")
        let ra = Self.withoutTimings(try JSONValue.parse(json: a.stdout)["result"] ?? .null)
        let rb = Self.withoutTimings(try JSONValue.parse(json: b.stdout)["result"] ?? .null)
        #expect(ra == rb, "\(args): results differ between 1 and 2 threads")
    }
}

@Suite struct DigestTests {
    @Test func sha256KnownAnswers() {
        #expect(SHA256Digest.hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Digest.hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Digest.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func intClampingNeverTraps() {
        #expect(Int(clamping: Double.nan) == 0)
        #expect(Int(clamping: 1e300) == Int.max)
        #expect(Int(clamping: -1e300) == Int.min)
        #expect(Int(clamping: 3.7) == 3)
    }
}
