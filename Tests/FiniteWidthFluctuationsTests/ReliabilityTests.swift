import Testing
import Foundation
import SolvableTestSupport
import NumericalCore
import FiniteWidthFluctuations
import Experiments

/// The built `solvable` executable next to the test bundle (same build configuration).
private func runSolvable(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) { try SolvableProcess.run(args) }

private func scratch(_ name: String) throws -> String { try SolvableProcess.scratchDirectory("fluct-\(name)") }

/// Issue 9 for the finite-width fluctuations model: forced solver failure is reported (record, CLI exit 3 naming the
/// solver), NaN/Inf never reach an output file silently, oversized ensembles are refused with an estimate, and
/// ensembles do not depend on the thread count.
@Suite("Fluctuations reliability")
struct FluctuationsReliabilityTests {
    // MARK: solver failure

    @Test("Deep-linear saddle: a budget too small reports maxIterations, names the solver; budget and tolerance validated")
    func saddleBudget() throws {
        let pr = try DeepLinearPropagator(depth: 2, steps: 6, gamma0: 1, eta: 0.05)
        let ok = try pr.saddle()
        #expect(ok.record.status == .converged && ok.record.iterations > 2)
        for budget in [1, 2] {
            let r = try pr.saddle(maxIterations: budget).record
            #expect(r.status == .maxIterations, "budget \(budget)")
            #expect(r.iterations == budget && r.finalResidual > r.tolerance)
            #expect((r.message ?? "").contains(DeepLinearPropagator.saddleSolverName), "\(r.message ?? "")")
        }
        // a tolerance below what the sweeps reach in the budget
        #expect(try pr.saddle(maxIterations: 3, tolerance: 1e-15).record.status == .maxIterations)
        // the fluctuations carry the saddle's record
        let f = try pr.fluctuations(maxIterations: 1)
        #expect(f.record.status == .maxIterations)
        for (name, bad) in [("max_iterations", { _ = try pr.saddle(maxIterations: 0) }), ("tolerance", { _ = try pr.saddle(tolerance: -1) }),
                            ("tolerance", { _ = try pr.saddle(tolerance: .nan) })] as [(String, () throws -> Void)] {
            do { try bad(); Issue.record("\(name) accepted") } catch let SolvableError.invalidParameter(n, _, _) { #expect(n == name) }
        }
    }

    @Test("Theory task: forced non-convergence marks the output and names the solver; bad budget rejected by name")
    func theoryTaskMarksUnconverged() throws {
        let p = try Parameters(specs: FluctuationsTheoryTask.parameters, overrides: [
            ("model", .string("deep-linear")), ("depth", .string("2")), ("steps", .string("6")), ("max_iterations", .string("2"))])
        let out = try FluctuationsTheoryTask.run(p, RunContext(seed: 0, threads: 1))
        #expect(out.status == .maxIterations)
        #expect(out.records.count == 1 && out.records[0].name == DeepLinearPropagator.saddleSolverName)
        do {
            _ = try Parameters(specs: FluctuationsTheoryTask.parameters, overrides: [("max_iterations", .string("0"))])
            Issue.record("max_iterations = 0 accepted")
        } catch let SolvableError.invalidParameter(name, _, _) { #expect(name == "max_iterations") }
    }

    @Test("Two-layer propagator: a learning rate that blows up is recorded as diverged, with a message")
    func propagatorDiverges() throws {
        let pr = try TwoLayerProblem.singlePoint(activation: .linear, gamma0: 3, eta: 50, steps: 40, testOverlap: nil)
        let th = try pr.fluctuationTheory(TwoLayerTheoryOptions(quadratureOrder: 8, testQuadratureOrder: 4))
        #expect(th.record.status == .diverged)
        #expect((th.record.message ?? "").contains("two-layer propagator"))
    }

    @Test("Ensemble training that diverges gives a diverged record naming the members and observables")
    func ensembleDiverges() throws {
        let p = try Parameters(specs: FluctuationsEnsembleTask.parameters, overrides: [
            ("activation", .string("linear")), ("eta", .string("50")), ("gamma0", .string("3")), ("steps", .string("60")),
            ("width", .string("16")), ("members", .string("8"))])
        let out = try FluctuationsEnsembleTask.run(p, RunContext(seed: 0, threads: 1))
        #expect(out.status == .diverged)
        #expect((out.records.first?.record.message ?? "").contains("8 of 8 members diverged"))
        let ok = try FluctuationsEnsembleTask.run(try Parameters(specs: FluctuationsEnsembleTask.parameters, overrides: [
            ("steps", .string("10")), ("width", .string("16")), ("members", .string("8"))]), RunContext(seed: 0, threads: 1))
        #expect(ok.status == .converged)
    }

    @Test("CLI: exit 3 naming the solver (saddle budget, diverged ensemble); NaN refused from files; exit 2 for bad budget")
    func cliExitStatuses() throws {
        let saddle = try runSolvable(["fluctuations", "theory", "--model", "deep-linear", "--depth", "2", "--steps", "6",
                                      "--max-iterations", "2", "--json"])
        #expect(saddle.status == 3, "\(saddle.stderr)")
        #expect(saddle.stderr.contains(DeepLinearPropagator.saddleSolverName) && saddle.stderr.contains("maxIterations"), "\(saddle.stderr)")
        #expect(saddle.stdout.contains("\"status\": \"maxIterations\""))

        let ens = ["fluctuations", "ensemble", "--activation", "linear", "--eta", "50", "--gamma0", "3", "--steps", "60",
                   "--width", "16", "--members", "8"]
        let diverged = try runSolvable(ens + ["--json"])
        #expect(diverged.status == 3, "\(diverged.stderr)")
        #expect(diverged.stderr.contains("ensemble training") && diverged.stderr.contains("diverged"), "\(diverged.stderr)")
        // non-finite values only as labelled strings in the JSON document, never as bare literals
        #expect(!diverged.stdout.contains("NaN") && !diverged.stdout.contains("Infinity"))

        let dir = try scratch("nan") + "/out"
        let written = try runSolvable(ens + ["--out", dir])
        // the solver failed: exit 3, the non-finite statistics are left out (the finiteness gate) and the manifest
        // says what was omitted
        #expect(written.status == 3, "NaN statistics written silently (status \(written.status))")
        #expect(written.stderr.contains("diverged"), "\(written.stderr)")
        let manifest = try String(contentsOfFile: dir + "/manifest.json", encoding: .utf8)
        #expect(manifest.contains("\"status\": \"diverged\"") && manifest.contains("\"omitted\""), "\(manifest)")
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) where f.hasSuffix(".csv") || f.hasSuffix(".json") {
            let text = try String(contentsOfFile: dir + "/" + f, encoding: .utf8)
            #expect(!text.lowercased().contains("nan"), "\(f) holds NaN")
        }
        if let csv = try? String(contentsOfFile: dir + "/fluctuations.csv", encoding: .utf8) {
            #expect(!csv.lowercased().contains("nan"), "NaN reached fluctuations.csv")
        }

        let bad = try runSolvable(["fluctuations", "theory", "--model", "deep-linear", "--max-iterations", "0"])
        #expect(bad.status == 2 && bad.stderr.contains("max_iterations"), "\(bad.stderr)")
    }

    // MARK: memory

    @Test("Ensembles too large for memory are refused before allocating, with the estimate and a suggestion")
    func memoryRefusal() throws {
        let pr = try TwoLayerProblem.singlePoint(activation: .scaledTanh(0.4), gamma0: 1, eta: 0.05, steps: 100_000, testOverlap: nil)
        func expectRefused(_ what: String, hint: String, _ body: () throws -> Void) {
            do { try body(); Issue.record("\(what): accepted") } catch let SolvableError.insufficientMemory(needed, available, h) {
                #expect(needed > available, "\(what)")
                #expect(h.contains(hint) && h.contains("reduce"), "\(what): \(h)")
            } catch { Issue.record("\(what): \(error)") }
        }
        // E x T recorded values alone: 10^7 x 10^5 x 2 doubles
        expectRefused("weight-space E x T", hint: "weight-space ensemble") {
            _ = try TwoLayerWeightEnsemble(problem: pr, inputDimension: 10, width: 512, members: 10_000_000, seed: 0)
        }
        // N x D weights of one chunk of members exceed a (test) cap; the estimate is exact enough to be tight
        let small = try TwoLayerProblem.singlePoint(activation: .scaledTanh(0.4), gamma0: 1, eta: 0.05, steps: 5, testOverlap: nil)
        let need = TwoLayerWeightEnsemble.memoryEstimate(width: 100_000, inputDimension: 1000, members: 8, steps: 5, threads: 1)
        #expect(need > 8 * 100_000 * 1000 * 8)
        expectRefused("weight-space N x D", hint: "N (D + 5)") {
            _ = try TwoLayerWeightEnsemble(problem: small, inputDimension: 1000, width: 100_000, members: 8, seed: 0, threads: 1, memoryCap: need - 1)
        }
        expectRefused("field-form E x T", hint: "two-layer ensemble") {
            _ = try TwoLayerEnsemble(problem: pr, width: 64, members: 10_000_000, seed: 0)
        }
        expectRefused("deep linear N^2", hint: "deep-linear ensemble") {
            _ = try DeepLinearEnsemble.ensemble(depth: 3, width: 100_000, gamma0: 1, eta: 0.01, steps: 5, members: 4, seed: 0)
        }
        // CLI: exit 2 with the estimate
        let r = try runSolvable(["fluctuations", "ensemble", "--model", "deep-linear", "--depth", "3", "--width", "100000",
                                 "--members", "4", "--steps", "5"])
        #expect(r.status == 2 && r.stderr.contains("needs about") && r.stderr.contains("reduce width"), "\(r.stderr)")
    }

    // MARK: determinism and the weight-space ensemble

    @Test("Ensembles are bitwise identical for the same seed with 1 and 2 threads (weight space and field form)")
    func threadDeterminism() throws {
        let pr = try TwoLayerProblem.singlePoint(activation: .scaledTanh(0.4), gamma0: 1, eta: 0.05, steps: 20, testOverlap: nil)
        let one = try TwoLayerWeightEnsemble(problem: pr, inputDimension: 10, width: 50, members: 21, seed: 5, threads: 1)
        let two = try TwoLayerWeightEnsemble(problem: pr, inputDimension: 10, width: 50, members: 21, seed: 5, threads: 2)
        #expect(one.delta.values == two.delta.values && one.kernel.values == two.kernel.values)
        let other = try TwoLayerWeightEnsemble(problem: pr, inputDimension: 10, width: 50, members: 21, seed: 6, threads: 2)
        #expect(one.delta.values != other.delta.values)
        // field form, through the task layer with the context's thread count
        func run(_ threads: Int) throws -> TaskOutput {
            ThreadPolicy.configure(threads: threads)
            defer { ThreadPolicy.configure(threads: ThreadPolicy.defaultThreads()) }
            return try FluctuationsEnsembleTask.run(try Parameters(specs: FluctuationsEnsembleTask.parameters, overrides: [
                ("steps", .string("15")), ("width", .string("32")), ("members", .string("12"))]), RunContext(seed: 3, threads: threads))
        }
        // every summary entry but the wall time
        func numbers(_ o: TaskOutput) -> [(String, JSONValue)] {
            guard case .object(let kv) = o.summary else { return [] }
            return kv.filter { $0.0 != "elapsed_seconds" }
        }
        let a = numbers(try run(1)), b = numbers(try run(2))
        #expect(a.count == b.count && a.count > 5 && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
    }

    @Test("Weight-space ensemble follows the field-form law; vectorized tanh matches libm to 1e-15")
    func weightSpaceMatchesFieldForm() throws {
        var worst = 0.0
        var u = -40.0
        while u <= 40 {
            let v = FastTanh.tanh4(SIMD4(u, u / 3, u / 17, u * 1e-9))
            for (l, x) in [u, u / 3, u / 17, u * 1e-9].enumerated() { worst = max(worst, abs(v[l] - tanh(x))) }
            u += 0.0137
        }
        #expect(worst < 1e-15, "max |FastTanh - tanh| = \(worst)")
        #expect(FastTanh.tanh4(SIMD4(1e6, -1e6, 0, -0.0)) == SIMD4(1, -1, 0, 0))
        // same statistics as the field form (independent draws): mean and N Var of Delta and K at t = 5, 19
        let pr = try TwoLayerProblem.singlePoint(activation: .scaledTanh(0.4), gamma0: 2, eta: 0.05, steps: 20, testOverlap: nil)
        let w = try TwoLayerWeightEnsemble(problem: pr, inputDimension: 7, width: 40, members: 600, seed: 1)
        let f = try TwoLayerEnsemble(problem: pr, width: 40, members: 600, seed: 2)
        let fk = f.kernel  // P = 1, no test point: one kernel pair per time
        for t in [5, 19] {
            for (a, b) in [(w.delta, f.delta), (w.kernel, fk)] {
                let zm = abs(a.mean[t] - b.mean[t]) / (a.meanStandardError[t] * a.meanStandardError[t] + b.meanStandardError[t] * b.meanStandardError[t]).squareRoot()
                let zv = abs(a.scaledVariance[t] - b.scaledVariance[t]) / (a.scaledVarianceStandardError[t] * a.scaledVarianceStandardError[t] + b.scaledVarianceStandardError[t] * b.scaledVarianceStandardError[t]).squareRoot()
                #expect(zm < 4.5 && zv < 4.5, "t = \(t): z(mean) = \(zm), z(N Var) = \(zv)")
            }
        }
        // Delta(0) = y exactly (centered), and the bench's validation of the problem shape
        #expect(w.delta.values.allSatisfy { $0[0] == 1 })
        let withTest = try TwoLayerProblem.singlePoint(activation: .scaledTanh(0.4), gamma0: 1, eta: 0.05, steps: 5)
        #expect(throws: SolvableError.self) { _ = try TwoLayerWeightEnsemble(problem: withTest, inputDimension: 10, width: 8, members: 4, seed: 0) }
    }
}
