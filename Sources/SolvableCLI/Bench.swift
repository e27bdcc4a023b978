import ArgumentParser
import Experiments
import Foundation
import LinearAlgebra
import NumericalCore

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks (ratios measured in the same run; never used by tests).",
        subcommands: [BenchBLAS.self, BenchCaseCommand.self, BenchList.self, BenchDgemmWorker.self])
}

/// dgemm GFLOP/s with the core Solvable selects next to the library's own default, each in a child process
/// (OpenBLAS fixes its core at load time), in the same invocation.
struct BenchBLAS: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blas", abstract: "dgemm GFLOP/s: selected core vs library default.")
    @Option(name: .long, help: "Matrix size n (n x n times n x n).") var size: Int = 2000
    @Option(name: .long, help: "Repetitions (best is reported).") var repeats: Int = 3
    @Option(name: .long, help: "Threads for BLAS.") var threads: Int?
    @Option(name: .long, help: "Extra cores to time, comma-separated (e.g. Prescott,SkylakeX).") var cores: String?

    func run() throws {
        try CLIRunner.guarded {
            guard (16...20000).contains(size) else { throw SolvableError.invalidParameter(name: "size", value: "\(size)", allowed: "an integer in [16, 20000]") }
            guard (1...100).contains(repeats) else { throw SolvableError.invalidParameter(name: "repeats", value: "\(repeats)", allowed: "an integer in [1, 100]") }
            let t = threads ?? ThreadPolicy.defaultThreads()
            let env = ProcessInfo.processInfo.environment
            var variants: [(String, [String: String?])] = [
                ("library default (OPENBLAS_CORETYPE unset, no auto-selection)", ["OPENBLAS_CORETYPE": nil, "SOLVABLE_BLAS_AUTOSELECT": "0"]),
                ("Solvable's choice (auto-selection)", ["OPENBLAS_CORETYPE": nil, "SOLVABLE_BLAS_AUTOSELECT": nil]),
            ]
            for c in (cores ?? "").split(separator: ",").map(String.init) where !c.isEmpty {
                variants.append(("forced OPENBLAS_CORETYPE=\(c)", ["OPENBLAS_CORETYPE": c]))
            }
            if let user = env["OPENBLAS_CORETYPE"] { variants.append(("this environment (OPENBLAS_CORETYPE=\(user))", ["OPENBLAS_CORETYPE": user])) }
            var rows: [(String, String, Double, Double)] = []
            for (label, changes) in variants {
                var e = env
                e.removeValue(forKey: BLASAutoSelect.markerVariable)
                for (k, v) in changes { if let v { e[k] = v } else { e.removeValue(forKey: k) } }
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
                p.arguments = ["bench", "dgemm-worker", "--size", "\(size)", "--repeats", "\(repeats)", "--threads", "\(t)"]
                p.environment = e
                let pipe = Pipe()
                p.standardOutput = pipe
                try p.run()
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                let text = String(decoding: data, as: UTF8.self)
                guard let doc = try? JSONValue.parse(json: text), let g = doc["gflops"]?.doubleValue, let err = doc["max_abs_error"]?.doubleValue,
                      case .string(let core)? = doc["core"] else {
                    throw SolvableError.runtime("benchmark worker failed: \(text)")
                }
                rows.append((label, core, g, err))
            }
            let base = rows[0].2
            print("dgemm \(size)x\(size)x\(size), \(t) threads, best of \(repeats)")
            let pad = { (s: String, n: Int) in s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
            let width = rows.map(\.0.count).max() ?? 10
            print(pad("variant", width) + "  " + pad("core", 11) + "  GFLOP/s   ratio  max|err|")
            for r in rows {
                print(pad(r.0, width) + "  " + pad(r.1, 11) + String(format: "  %7.1f  %5.2fx  %8.1e", r.2, r.2 / base, r.3))
            }
        }
    }
}

struct BenchDgemmWorker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dgemm-worker", abstract: "Internal: one dgemm timing as JSON.",
                                                    shouldDisplay: false)
    @Option var size: Int = 2000
    @Option var repeats: Int = 3
    @Option var threads: Int = 1

    func run() throws {
        ThreadPolicy.configure(threads: threads)
        var rng = RandomStream(seed: 7)
        let n = size
        let a = Matrix(rows: n, cols: n, columnMajor: rng.gaussians(n * n))
        let b = Matrix(rows: n, cols: n, columnMajor: rng.gaussians(n * n))
        var c = Matrix(rows: n, cols: n)
        var best = Double.infinity
        for _ in 0..<repeats {
            let w = Stopwatch()
            BLAS.gemm(a, b, beta: 0, into: &c)
            best = min(best, w.elapsed)
        }
        // spot-check 64 entries against a naive dot product
        var err = 0.0
        for k in 0..<64 {
            let i = (k * 7919) % n, j = (k * 104729) % n
            var s = 0.0
            for l in 0..<n { s += a[i, l] * b[l, j] }
            err = max(err, abs(s - c[i, j]))
        }
        let doc: JSONValue = .object([("core", .string(BLASRuntime.coreName)), ("gflops", .number(2 * pow(Double(n), 3) / best / 1e9)),
                                      ("seconds", .number(best)), ("max_abs_error", .number(err))])
        print(doc.serialized(pretty: false))
    }
}

/// Solvable's side of one benchmark case, as JSON (used by bench/bench.py, which runs the numpy side in the same script).
struct BenchCaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "case", abstract: "Run one benchmark case and print its answer and time as JSON.")
    @Argument(help: "Case name (see `solvable bench list`).") var name: String
    @Option(name: .long, help: "Case parameters as a JSON object.") var params: String = "{}"
    @Option(name: .long, help: "Threads.") var threads: Int?

    func run() throws {
        try CLIRunner.guarded {
            _ = try CLIRunner.configure(seed: nil, threads: threads, quiet: true)
            guard let c = Registry.benchCases.first(where: { $0.name == name }) else {
                throw SolvableError.invalidParameter(name: "name", value: name, allowed: "one of " + Registry.benchCases.map(\.name).joined(separator: ", "))
            }
            let p = try JSONValue.parse(json: params, source: "--params")
            let r = try c.run(p)
            print(JSONValue.object([("name", .string(name)), ("blas_core", .string(BLASRuntime.coreName)), ("result", r.json)]).serialized(pretty: false))
        }
    }
}

struct BenchList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the benchmark cases.")
    func run() throws { for c in Registry.benchCases { print("\(c.name)\t\(c.summary)") } }
}
