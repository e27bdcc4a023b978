import Experiments
import Foundation
import SolvableTestSupport
import Testing

func solvableBinary() throws -> URL { try SolvableProcess.binary() }

/// Runs `solvable args...` with BLAS auto-selection off (tests never depend on the core choice).
func solvable(_ args: [String], environment extra: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
    try SolvableProcess.run(args, environment: extra)
}

func scratchDirectory(_ name: String) throws -> String { try SolvableProcess.scratchDirectory("cli-\(name)") }

@Suite struct CLITests {
    @Test func infoShowsTheBLASCore() throws {
        let r = try solvable(["info"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("blas core:") && r.stdout.contains("threads:") && r.stdout.contains("cpu features:"))
    }

    @Test func jsonModePrintsOneDocumentOnStdout() throws {
        let r = try solvable(["core", "quadrature", "--gains", "0.5,1", "--samples", "2000", "--json", "--seed", "3"])
        #expect(r.status == 0)
        let doc = try JSONValue.parse(json: r.stdout)
        #expect(doc["status"] == .string("converged"))
        #expect(doc["result"]?["quadrature"] != nil)
        // same seed, same numbers; thread count does not matter
        let again = try solvable(["core", "quadrature", "--gains", "0.5,1", "--samples", "2000", "--json", "--seed", "3", "--threads", "1"])
        #expect(try JSONValue.parse(json: again.stdout)["result"] == doc["result"])
    }

    @Test(arguments: [
        (["core", "quadrature", "--order", "-3"], "order"),
        (["core", "quadrature", "--gains", "nan"], "gains"),
        (["core", "quadrature", "--bogus", "1"], "bogus"),
        (["core", "quadrature", "--order"], "order"),
        (["core", "quadrature", "--threads", "0"], "threads"),
        (["core", "quadrature", "--config", "/nonexistent/file.toml"], "config"),
        (["reproduce", "--figure", "no-such-figure", "--out", "/tmp/solvable-none"], "figure"),
        (["reproduce", "--scale", "huge", "--out", "/tmp/solvable-none"], "scale"),
    ])
    func badInputExitsTwoNamingTheParameter(args: [String], parameter: String) throws {
        let r = try solvable(args)
        #expect(r.status == 2, "\(args): status \(r.status), stderr \(r.stderr)")
        #expect(r.stderr.contains(parameter), "\(args): \(r.stderr)")
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"))
        #expect(r.stderr.split(separator: "\n").count <= 3)
    }

    @Test func malformedConfigFilesExitTwo() throws {
        let dir = try scratchDirectory("cfg")
        let cases = ["order = [1,\n", "{\"order\": ", "\u{0}\u{1}\u{2}binary", "order = 10\nsamples = \"x\"\n", "widths = 3\n"]
        for (k, text) in cases.enumerated() {
            let path = "\(dir)/c\(k).toml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try solvable(["core", "quadrature", "--config", path])
            #expect(r.status == 2, "case \(k): \(r.stderr)")
            #expect(r.stderr.hasPrefix("error:"), "case \(k): \(r.stderr)")
        }
    }

    @Test func configAndFlagsAgreeAndFlagsOverride() throws {
        let dir = try scratchDirectory("cfg2")
        try "gains = [0.5]\norder = 20\nsamples = 500\nseed = 4\n".write(toFile: "\(dir)/a.toml", atomically: true, encoding: .utf8)
        try "{\"gains\": [0.5], \"order\": 20, \"samples\": 500, \"seed\": 4}".write(toFile: "\(dir)/a.json", atomically: true, encoding: .utf8)
        let a = try solvable(["core", "quadrature", "--config", "\(dir)/a.toml", "--json"])
        let b = try solvable(["core", "quadrature", "--config", "\(dir)/a.json", "--json"])
        let c = try solvable(["core", "quadrature", "--gains", "0.5", "--order", "20", "--samples", "500", "--seed", "4", "--json"])
        let ra = try JSONValue.parse(json: a.stdout)["result"], rb = try JSONValue.parse(json: b.stdout)["result"]
        let rc = try JSONValue.parse(json: c.stdout)["result"]
        #expect(ra == rb && rb == rc)
        let d = try solvable(["core", "quadrature", "--config", "\(dir)/a.toml", "--gains", "1", "--json"])
        #expect(try JSONValue.parse(json: d.stdout)["result"]?["gain"] == .array([.double(1)]))
    }

    @Test func outputsLoadInPythonWithOneLineEach() throws {
        let dir = try scratchDirectory("out")
        let r = try solvable(["core", "quadrature", "--gains", "0.5,1,2", "--samples", "1000", "--out", dir, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        for f in ["manifest.json", "result.json", "quadrature.csv", "quadrature.svg"] { #expect(files.contains(f), "missing \(f)") }
        let manifest = try JSONValue.parse(json: String(contentsOfFile: "\(dir)/manifest.json", encoding: .utf8))
        #expect(manifest["seed"] != nil && manifest["environment"]?["blas_core"] != nil && manifest["status"] == .string("converged"))
        if SolvableProcess.pythonHasNumpy {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", "-c", "import json, numpy as np; m = json.load(open('\(dir)/manifest.json')); t = np.genfromtxt('\(dir)/quadrature.csv', delimiter=',', names=True); assert len(t) == 3 and m['status'] == 'converged'"]
            try p.run(); p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
    }

    @Test func unwritableOutputDirectoryIsBadInput() throws {
        let r = try solvable(["core", "quadrature", "--out", "/proc/solvable-cannot-write-here", "--samples", "10"])
        #expect(r.status == 2 && r.stderr.contains("out"))
    }

    /// Every example in every command's --help runs and exits 0 (the examples are documentation that must work).
    @Test func everyRegisteredExampleRuns() throws {
        let dir = try scratchDirectory("examples")
        for task in Registry.tasks {
            for example in task.examples {
                var args = example.split(separator: " ").map(String.init)
                guard args.first == "solvable" else { Issue.record("example of \(task.name) does not start with solvable: \(example)"); continue }
                args.removeFirst()
                // examples that document running on the user's own data (CIFAR-10 on disk) run only where it exists
                if let i = args.firstIndex(of: "--data"), i + 1 < args.count,
                   !FileManager.default.fileExists(atPath: NSString(string: args[i + 1]).expandingTildeInPath) {
                    print("skipping (needs the user's data at \(args[i + 1])): \(example)")
                    continue
                }
                if !args.contains("--out") { args += ["--out", "\(dir)/\(task.commandPath.joined(separator: "-"))"] }
                let r = try solvable(args + ["--quiet"])
                #expect(r.status == 0, "example failed (\(r.status)): \(example)\n\(r.stderr)")
            }
        }
    }

    @Test func helpListsParametersAndExamples() throws {
        let r = try solvable(["core", "quadrature", "--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("--gains") && r.stdout.contains("EXAMPLES"))
    }
}
