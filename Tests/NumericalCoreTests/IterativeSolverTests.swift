import Foundation
import NumericalCore
import Testing

/// x <- cos(x) (fixed point 0.739085133215160641655...), damped by the driver; `blowUpAt` makes one step return
/// infinity, `noise` adds a deterministic wiggle that keeps the residual at a floor.
private struct Cosine: CheckpointableMethod {
    var blowUpAt: Int? = nil
    var noise = 0.0
    var checkpointKey: UInt64 { 42 }

    func initialState() -> [Double] { [0] }

    func step(_ x: inout [Double], iteration: Int, damping beta: Double) -> StepResult {
        var fx = cos(x[0]) + noise * sin(Double(iteration) * 12.9898)
        if iteration == blowUpAt { fx = .infinity }
        let r = abs(fx - x[0])
        x[0] = (1 - beta) * x[0] + beta * fx
        return x[0].isFinite ? .advanced(residual: r) : .nonFinite(quantity: "x")
    }

    func save(_ x: [Double], into archive: inout CheckpointState, prefix: String) { archive[prefix + "x"] = x }
    func restore(from archive: CheckpointState, prefix: String) throws -> [Double] {
        guard let x = archive[prefix + "x"] else { throw SolvableError.runtime("missing x") }
        return x
    }
}

@Suite struct IterativeSolverTests {
    @Test func convergesToTheFixedPointWithStatusFromTheResidual() throws {
        let s = try solveIteratively(Cosine(), options: IterationOptions(tolerance: 1e-13, maxIterations: 500, damping: 0.7))
        #expect(s.status == .converged)
        #expect(abs(s.value[0] - 0.739085133215160641655) < 1e-12)
        #expect(s.record.finalResidual < 1e-13)
        #expect(s.record.iterations == s.record.residualHistory.count)
        #expect(s.record.damping == 0.7)
    }

    @Test func runningOutOfIterationsIsNotConvergence() throws {
        let s = try solveIteratively(Cosine(), options: IterationOptions(tolerance: 1e-13, maxIterations: 5))
        #expect(s.status == .maxIterations)
        #expect(s.record.finalResidual > 1e-13)
        #expect(s.record.message?.contains("above the tolerance") == true)
    }

    /// A step with non-finite values is rolled back: the value is the iterate before it, the status diverged, and
    /// the record says from which iteration.
    @Test func nonFiniteStepIsRolledBackAndMarkedDiverged() throws {
        let clean = try solveIteratively(Cosine(), options: IterationOptions(tolerance: 1e-30, maxIterations: 6))
        let s = try solveIteratively(Cosine(blowUpAt: 7), options: IterationOptions(tolerance: 1e-30, maxIterations: 50))
        #expect(s.status == .diverged)
        #expect(s.record.nonFiniteFrom == 7)
        #expect(s.value == clean.value)
        #expect(s.record.residualHistory == clean.record.residualHistory)
        #expect(s.value[0].isFinite)
    }

    /// A residual at a noise floor: one dip below the tolerance is not enough with `consecutiveBelowTolerance(3)`.
    @Test func consecutiveStoppingRuleNeedsARun() throws {
        let o = IterationOptions(tolerance: 0.02, maxIterations: 200, stopping: .consecutiveBelowTolerance(3))
        let s = try solveIteratively(Cosine(noise: 0.01), options: o)
        #expect(s.status == .converged)
        let h = s.record.residualHistory
        #expect(h.suffix(3).allSatisfy { $0 < 0.02 })
        let single = try solveIteratively(Cosine(noise: 0.01), options: IterationOptions(tolerance: 0.02, maxIterations: 200))
        #expect(single.record.iterations <= s.record.iterations)
    }

    /// Growing residuals (x <- 3 - 2x diverges undamped; damped at 0.2 the error contracts by 0.4) trigger the back-off.
    @Test func dampingBacksOffWhenTheResidualKeepsGrowing() throws {
        struct Expanding: IterativeMethod {
            func initialState() -> [Double] { [1.5] }
            func step(_ x: inout [Double], iteration: Int, damping beta: Double) -> StepResult {
                let fx = 3 - 2 * x[0]
                let r = abs(fx - x[0])
                x[0] = (1 - beta) * x[0] + beta * fx
                return .advanced(residual: r)
            }
        }
        let o = IterationOptions(tolerance: 1e-12, maxIterations: 200, damping: 1,
                                 backoff: DampingBackoff(afterGrowingIterations: 3, damping: 0.2))
        let s = try solveIteratively(Expanding(), options: o)
        #expect(s.status == .converged)
        #expect(s.record.damping == 0.2)
        #expect(abs(s.value[0] - 1) < 1e-11)
    }

    /// A solve interrupted after k iterations (simulated by a smaller iteration budget that saves its state) and
    /// resumed gives bitwise the uninterrupted result; a finished checkpoint is returned as it was.
    @Test func checkpointResumeIsBitwise() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("iterative-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = try Checkpoint(path: dir.appendingPathComponent("c.checkpoint").path, interval: 0)
        let full = IterationOptions(tolerance: 1e-14, maxIterations: 300, damping: 0.5)
        let reference = try solveIteratively(Cosine(noise: 1e-3), options: full)
        // first run: stop early, leaving an unfinished state (saved every iteration, interval 0)
        let method = Cosine(noise: 1e-3)
        var archive = CheckpointState()
        var partial = try solveIteratively(method, options: IterationOptions(tolerance: 1e-14, maxIterations: 9, damping: 0.5),
                                           checkpoint: CheckpointSession(ck, key: 42), prefix: "a.")
        #expect(partial.status == .maxIterations)
        // make it look interrupted: drop the "done" mark so the next run continues from iteration 10
        if case .resumable(let s) = ck.load(key: 42) { archive = s }
        archive.set("a.done", integer: 0)
        archive.set("a.next_iteration", integer: 10)
        try ck.save(archive, key: 42)
        let resumed = try solveIteratively(method, options: full, checkpoint: CheckpointSession(ck, key: 42), prefix: "a.")
        #expect(resumed.value == reference.value)
        #expect(resumed.record.residualHistory == reference.record.residualHistory)
        #expect(resumed.status == reference.status)
        // finished: returned without iterating
        partial = try solveIteratively(method, options: full, checkpoint: CheckpointSession(ck, key: 42), prefix: "a.")
        #expect(partial.value == reference.value)
        #expect(partial.record.iterations == reference.record.iterations)
    }
}

@Suite struct DeclaredTests {
    enum Shape: String, CaseIterable, Sendable { case isotropic, power_law }

    @Test func validationNamesTheParameterAndItsRange() throws {
        let depth = Declared<Int>("depth", in: 1...64, default: 3, help: "hidden layers L")
        #expect(try depth.validate(64) == 64)
        #expect(throws: SolvableError.invalidParameter(name: "depth", value: "65", allowed: "an integer in [1, 64]")) {
            try depth.validate(65)
        }
        let eta = Declared<Double>("eta", in: 1e-9...1e3, help: "learning rate")
        #expect(throws: SolvableError.self) { try eta.validate(.nan) }
        let widths = Declared<[Int]>("widths", eachIn: 1...100, help: "widths")
        #expect(throws: SolvableError.self) { try widths.validate([]) }
        #expect(widths.spelled([3, 4]) == "3,4")
        let shape = Declared<Shape>("shape", default: .isotropic, help: "spectrum")
        #expect(shape.allowed == "one of isotropic, power_law")
        let long = String(repeating: "x", count: 5_000_000)
        do { try Declared<String>("inputs", isFile: true, help: "data").validate(long); Issue.record("accepted a missing file") }
        catch let e as SolvableError { #expect(e.description.count < 400) }
    }
}

/// The statistics home against published table values (independent of our implementations).
@Suite struct IntervalAndQuantileTests {
    @Test func quantilesMatchTables() {
        #expect(abs(Statistics.normalTwoSidedQuantile(0.05) - 1.959963984540054) < 1e-12)
        #expect(abs(Statistics.chiSquareQuantile(0.95, dof: 1) - 3.841458820694124) < 1e-9)
        #expect(abs(Statistics.chiSquareQuantile(0.05, dof: 10) - 3.940299136119) < 1e-8)
        // Student t, two-sided 1 %, nu = 20: 2.845339710 (tables)
        #expect(abs(Statistics.studentTwoSidedQuantile(0.01, dof: 20) - 2.845339710) < 5e-3)
        #expect(abs(SpecialFunctions.normalUpperTail(1.959963984540054) - 0.025) < 1e-15)
    }

    @Test func clopperPearsonMatchesTheBetaQuantiles() {
        // 5 of 10 at 95 %: [0.187086028, 0.812913972] (beta quantiles)
        let b = Statistics.clopperPearson(successes: 5, trials: 10)
        #expect(abs(b.lower - 0.187086028) < 1e-8 && abs(b.upper - 0.812913972) < 1e-8)
        let zero = Statistics.clopperPearson(successes: 0, trials: 20)
        #expect(zero.lower == 0 && abs(zero.upper - 0.168433470) < 1e-8)
    }

    @Test func bisectionFindsRootsArithmeticallyAndGeometrically() {
        #expect(abs(bisect({ $0 * $0 - 2 }, in: (0, 2)) - 2.0.squareRoot()) < 1e-15)
        let r = bisect({ log($0) - log(1e7) }, in: (1, 1e12), geometric: true, relativeTolerance: 1e-12)
        #expect(abs(r / 1e7 - 1) < 1e-11)
    }
}
