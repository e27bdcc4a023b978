import Foundation
import SolvableTestSupport
import Testing
import NumericalCore
import SequenceMemory

// Issue 9 items for the sequence-memory model: bad input, memory refusal, determinism across thread counts,
// convergence records of the P_50 search and the CLI's exit statuses (built binary).

@Suite struct MemoryBadInputTests {
    private func name(_ body: () throws -> Void) -> String? {
        do { try body() } catch let e as SolvableError {
            switch e {
            case .invalidParameter(let n, _, _): return n
            case .insufficientMemory: return "memory"
            default: return "other: \(e)"
            }
        } catch { return "other: \(error)" }
        return nil
    }

    @Test func errorsNameTheParameter() throws {
        #expect(name { _ = try PatternSet(rows: []) } == "patterns")
        #expect(name { _ = try PatternSet(rows: [[1, -1, 1], [1, 0.5, 1]]) } == "patterns")
        #expect(name { _ = try PatternSet(rows: [[1, -1, 1], [1, -1]]) } == "patterns")
        #expect(name { _ = try PatternSet(neurons: 3, count: 2, values: [1, -1, 1, 1, 2, 1]) } == "patterns")
        var r = RandomStream(seed: 1, point: 0, sample: 0)
        let pats = try PatternSet.random(neurons: 10, count: 4, rng: &r)
        #expect(name { _ = try Separation.validated(degree: 0) } == "degree")
        #expect(name { _ = try SequenceNetwork.denseNet(patterns: pats, separation: .polynomial(1001)) } == "degree")
        #expect(name { _ = try SequenceNetwork.mixedNet(patterns: pats, symmetric: .polynomial(2), asymmetric: .polynomial(2), lambda: 0) } == "lambda")
        #expect(name { _ = try SequenceNetwork.mixedNet(patterns: pats, symmetric: .polynomial(2), asymmetric: .polynomial(2), lambda: .nan) } == "lambda")
        #expect(name { _ = try FilteredMixedNet(patterns: pats, symmetric: .polynomial(2), asymmetric: .polynomial(2), lambda: 2, tau: 0) } == "tau")
        #expect(name { _ = try FilteredMixedNet(patterns: pats, symmetric: .polynomial(2), asymmetric: .polynomial(2), lambda: 2, tau: 100_001) } == "tau")
        #expect(name { _ = try FilteredMixedNet(patterns: pats, symmetric: .polynomial(2), asymmetric: .polynomial(2), lambda: -1, tau: 3) } == "lambda")
        #expect(name { _ = try FilteredMixedNet(patterns: pats, symmetric: .polynomial(2), asymmetric: .polynomial(2), lambda: 2, tau: 3, gains: [1, 1]) } == "gains")
        #expect(name { _ = try MemoryModel(.mixedNet(symmetric: .polynomial(2), asymmetric: .polynomial(2), lambda: 0)) } == "lambda")
        let model = try MemoryModel(.denseNet(.polynomial(2)))
        #expect(name { _ = try CapacityEstimator.successes(model: model, neurons: 1, patterns: 5, criterion: .sequence, trials: 10, seed: 1) } == "neurons")
        #expect(name { _ = try CapacityEstimator.successes(model: model, neurons: 20, patterns: 0, criterion: .sequence, trials: 10, seed: 1) } == "patterns")
        #expect(name { _ = try CapacityEstimator.successes(model: model, neurons: 20, patterns: 5, criterion: .sequence, trials: 0, seed: 1) } == "trials")
    }

    /// Requests far beyond any machine's memory are refused before allocating, with the estimate.
    @Test func memoryRefusedWithEstimate() throws {
        let model = try MemoryModel(.denseNet(.polynomial(2)))
        do {
            _ = try CapacityEstimator.successes(model: model, neurons: 100_000, patterns: 10_000_000, criterion: .sequence, trials: 10, seed: 1)
            Issue.record("expected insufficientMemory")
        } catch SolvableError.insufficientMemory(let needed, let available, let hint) {
            #expect(needed >= 20 * 100_000 * 10_000_000)
            #expect(available == MemoryBudget.available && needed > available)
            #expect(hint.contains("max_patterns"))
            #expect(SolvableError.insufficientMemory(needed: needed, available: available, hint: hint).exitCode == 2)
        }
        var r = RandomStream(seed: 1, point: 0, sample: 0)
        #expect(throws: SolvableError.self) { _ = try PatternSet.random(neurons: 1_000_000, count: 100_000_000, rng: &r) }
        // the search refuses too when the budget lets P grow past the memory (N = 100000: P = 2^k patterns)
        #expect(MemoryBudget.trialBytes(neurons: 100_000, patterns: 100_000_000) > MemoryBudget.available)
        #expect(MemoryBudget.trialBytes(neurons: Int.max / 2, patterns: 4) == .max)  // overflow saturates
    }
}

@Suite struct MemoryDeterminismTests {
    /// Same seed, 1 vs 2 threads: bitwise-identical success counts and P_50 estimates (trial t at P draws from its
    /// own stream; static assignment).
    @Test func capacityIndependentOfThreads() throws {
        for (k, f) in [Separation.polynomial(1), .polynomial(2), .exponential].enumerated() {
            let model = try MemoryModel(.denseNet(f))
            let n = f.isExponentialForTest ? 10 : 40
            let start = CapacityTheory.finiteNP50(neurons: n, separation: f, criterion: .sequence)
            let a = try CapacityEstimator.estimateP50(model: model, neurons: n, criterion: .sequence, trials: 60, start: start, seed: 7,
                                                      pointID: UInt64(k), threads: 1)
            let b = try CapacityEstimator.estimateP50(model: model, neurons: n, criterion: .sequence, trials: 60, start: start, seed: 7,
                                                      pointID: UInt64(k), threads: 2)
            #expect(a.p50.bitPattern == b.p50.bitPattern)
            #expect(a.points.map(\.patterns) == b.points.map(\.patterns))
            #expect(a.points.map(\.successes) == b.points.map(\.successes))
            #expect(a.intervalLower == b.intervalLower && a.intervalUpper == b.intervalUpper)
            #expect(a.record.status == b.record.status && a.record.iterations == b.record.iterations)
            let s1 = try CapacityEstimator.successes(model: model, neurons: n, patterns: a.pLow, criterion: .transition, trials: 61, seed: 9, threads: 1)
            let s2 = try CapacityEstimator.successes(model: model, neurons: n, patterns: a.pLow, criterion: .transition, trials: 61, seed: 9, threads: 2)
            #expect(s1 == s2)
        }
    }
}

extension Separation { var isExponentialForTest: Bool { if case .exponential = self { return true }; return false } }

@Suite struct MemorySearchRecordTests {
    @Test func bracketedSearchConverges() throws {
        let model = try MemoryModel(.denseNet(.polynomial(2)))
        let est = try CapacityEstimator.estimateP50(model: model, neurons: 30, criterion: .sequence, trials: 50, start: 10, seed: 2)
        #expect(est.record.status == .converged)
        #expect(est.record.iterations == est.points.count)
        #expect(est.record.residualHistory.count == est.points.count)
        #expect(est.record.residualHistory.contains { $0 <= 0.01 + 1.0 / Double(est.pLow) })
        #expect(!est.capped)
    }

    /// The budget max_patterns below P_50: not bracketed, not converged, with the reason.
    @Test func cappedSearchIsNotConverged() throws {
        let model = try MemoryModel(.denseNet(.polynomial(2)))
        let est = try CapacityEstimator.estimateP50(model: model, neurons: 30, criterion: .sequence, trials: 20, start: 4, seed: 2, maxPatterns: 8)
        #expect(est.capped)
        #expect(est.record.status == .maxIterations)
        #expect(est.record.message?.contains("max_patterns") == true)
        #expect(est.intervalUpper == .infinity)
    }
}

// MARK: the built CLI

private func solvableBinary() throws -> URL { try SolvableProcess.binary() }

private func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) { try SolvableProcess.run(args) }

@Suite struct MemoryCLITests {
    private func scratch(_ files: [String: String]) throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("solvable-memory-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: d.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return d.path
    }

    @Test func badInputExitsTwoNamingTheParameter() throws {
        let dir = try scratch(["bad.csv": "1,-1,1\n1,0,1\n", "ragged.csv": "1,-1,1\n1,-1\n", "empty.csv": ""])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cases: [([String], String)] = [
            (["memory", "simulate", "--patterns-file", "\(dir)/bad.csv"], "patterns_file"),
            (["memory", "simulate", "--patterns-file", "\(dir)/ragged.csv"], "patterns_file"),
            (["memory", "simulate", "--patterns-file", "\(dir)/empty.csv"], "patterns_file"),
            (["memory", "simulate", "--degree", "0"], "degree"),
            (["memory", "simulate", "--network", "mixed", "--lambda", "-1"], "lambda"),
            (["memory", "simulate", "--network", "mixed", "--lambda", "0", "--patterns", "5", "--neurons", "20"], "lambda"),
            (["memory", "timing", "--tau", "0"], "tau"),
            (["memory", "timing", "--lambda", "0"], "lambda"),
            (["memory", "capacity", "--degrees", "41"], "degrees"),
            (["memory", "capacity", "--neurons", "3"], "neurons"),
        ]
        for (args, param) in cases {
            let r = try run(args)
            #expect(r.status == 2, "\(args): status \(r.status), \(r.stderr)")
            #expect(r.stderr.contains("'\(param)'"), "\(args): \(r.stderr)")
        }
    }

    @Test func tooMuchMemoryIsRefusedWithTheEstimate() throws {
        let r = try run(["memory", "simulate", "--neurons", "100000", "--patterns", "1000000"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("needs about") && r.stderr.contains("available"), "\(r.stderr)")
    }

    /// A P_50 search whose budget (max_patterns) is below P_50 does not bracket it: status not converged, exit 3.
    @Test func unbracketedSearchExitsThree() throws {
        let r = try run(["memory", "capacity", "--neurons", "30", "--degrees", "2", "--trials", "10", "--max-patterns", "8", "--json", "--seed", "1"])
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stderr.contains("max_patterns"))
        #expect(r.stdout.contains("\"maxIterations\""))
        let ok = try run(["memory", "capacity", "--neurons", "20", "--degrees", "1", "--trials", "20", "--json", "--seed", "1"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("\"converged\""))
    }
}
