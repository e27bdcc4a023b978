import Foundation

/// How an iterative solver ended. Only `.converged` results may be presented as answers.
public enum SolverStatus: String, Codable, Sendable, Comparable {
    /// The residual fell below the tolerance.
    case converged
    /// The iteration budget ran out before the tolerance was met.
    case maxIterations
    /// The residual grew without bound or became non-finite.
    case diverged
    /// A numerical failure (singular matrix, bracketing impossible, ...).
    case failed

    public var isConverged: Bool { self == .converged }

    var severity: Int {
        switch self { case .converged: 0; case .maxIterations: 1; case .diverged: 2; case .failed: 3 }
    }

    public static func < (a: SolverStatus, b: SolverStatus) -> Bool { a.severity < b.severity }

    /// The worse of several statuses (`converged` only if all converged).
    public static func worst(_ s: [SolverStatus]) -> SolverStatus { s.max() ?? .converged }
}

/// The convergence record every solver returns next to its value (after NonlinearSolve.jl's solution objects:
/// `status` is the retcode, `iterations` and `elapsedSeconds` the stats, `residualHistory` the trace).
public struct ConvergenceRecord: Codable, Sendable, Equatable {
    public var status: SolverStatus
    /// Iterations (sweeps, Brent steps, ...) performed.
    public var iterations: Int
    /// Residual after each iteration, in the solver's own norm.
    public var residualHistory: [Double]
    /// Tolerance the residual was compared with.
    public var tolerance: Double
    /// Wall-clock seconds.
    public var elapsedSeconds: Double
    /// Free-form detail when not converged (which quantity failed and why).
    public var message: String?
    /// The damping weight in force at the end (damped iterations only).
    public var damping: Double?
    /// The iteration whose values were not finite (a `diverged` solve returns the iterate before it).
    public var nonFiniteFrom: Int?

    public init(status: SolverStatus, iterations: Int, residualHistory: [Double], tolerance: Double,
                elapsedSeconds: Double, message: String? = nil) {
        self.status = status
        self.iterations = iterations
        self.residualHistory = residualHistory
        self.tolerance = tolerance
        self.elapsedSeconds = elapsedSeconds
        self.message = message
    }

    /// The record with a status that follows from its own numbers: "converged" only when the final residual is
    /// finite and at most the tolerance; otherwise `maxIterations` (or `diverged` when the residual is not finite),
    /// with the reason appended to the message.
    public func statusFromNumbers() -> ConvergenceRecord {
        guard status == .converged else { return self }
        let r = finalResidual
        if r.isFinite && r <= tolerance { return self }
        var out = self
        out.status = r.isFinite ? .maxIterations : .diverged
        let why = r.isFinite ? "final residual \(r) is above the tolerance \(tolerance)" : "final residual is not finite"
        out.message = message.map { $0 + "; " + why } ?? why
        return out
    }

    /// The last residual (infinity when none was recorded).
    public var finalResidual: Double { residualHistory.last ?? .infinity }

    /// A record for a closed-form evaluation (no iteration).
    public static func closedForm(elapsed: Double = 0) -> ConvergenceRecord {
        ConvergenceRecord(status: .converged, iterations: 0, residualHistory: [0], tolerance: 0, elapsedSeconds: elapsed)
    }

    /// Combines records of sub-solves: worst status, summed iterations and time, max residual.
    public static func combine(_ records: [ConvergenceRecord]) -> ConvergenceRecord {
        guard !records.isEmpty else { return .closedForm() }
        let worst = SolverStatus.worst(records.map(\.status))
        return ConvergenceRecord(
            status: worst, iterations: records.map(\.iterations).reduce(0, +),
            residualHistory: [records.map(\.finalResidual).max() ?? 0],
            tolerance: records.map(\.tolerance).max() ?? 0,
            elapsedSeconds: records.map(\.elapsedSeconds).reduce(0, +),
            message: records.compactMap(\.message).first)
    }
}

/// A solver's value (NonlinearSolve.jl's `u`) together with its convergence record (retcode, stats, trace).
/// Every solver of Solvable returns this shape.
public struct Solution<Value> {
    public var value: Value
    public var record: ConvergenceRecord
    public init(value: Value, record: ConvergenceRecord) { self.value = value; self.record = record }
    public var status: SolverStatus { record.status }
}

extension Solution: Sendable where Value: Sendable {}

/// Wall-clock stopwatch.
public struct Stopwatch: Sendable {
    let start = DispatchTime.now().uptimeNanoseconds
    public init() {}
    public var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 }
}
