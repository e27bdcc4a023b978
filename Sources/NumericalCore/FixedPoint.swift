import Foundation

/// Options of the damped fixed-point driver.
public struct FixedPointOptions: Sendable, Codable, Equatable {
    /// Mixing weight beta of the new iterate: x <- (1 - beta) x + beta F(x); 1 means undamped.
    public var damping: Double
    /// Stop when the residual ||F(x) - x|| / max(1, ||x||) falls below this.
    public var tolerance: Double
    public var maxIterations: Int
    /// Declare divergence when the residual exceeds this (or is not finite).
    public var divergenceThreshold: Double

    public init(damping: Double = 1, tolerance: Double = 1e-10, maxIterations: Int = 500, divergenceThreshold: Double = 1e12) {
        self.damping = damping
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.divergenceThreshold = divergenceThreshold
    }

    /// Validates the options, naming the offending one.
    public func validate(prefix: String = "") throws {
        try Validate.inRange(prefix + "damping", damping, 1e-6...1)
        try Validate.positive(prefix + "tolerance", tolerance)
        try Validate.inRange(prefix + "max_iterations", maxIterations, 1...10_000_000)
    }
}

/// Damped fixed-point iteration x_{k+1} = (1 - beta) x_k + beta F(x_k) on a flat vector of unknowns.
///
/// The residual is the relative sup-norm change ||F(x) - x||_inf / max(1, ||x||_inf) unless `residual` is given.
/// Returns the last iterate with its record; a non-converged iterate is marked `.maxIterations` or `.diverged`.
public func solveFixedPoint(initial: [Double], options: FixedPointOptions = FixedPointOptions(),
                            residual: (([Double], [Double]) -> Double)? = nil,
                            _ map: ([Double]) throws -> [Double]) rethrows -> Solution<[Double]> {
    let clock = Stopwatch()
    var x = initial
    var history: [Double] = []
    let norm: ([Double], [Double]) -> Double = residual ?? { old, new in
        var diff = 0.0, scale = 1.0
        for i in 0..<old.count { diff = max(diff, abs(new[i] - old[i])); scale = max(scale, abs(old[i])) }
        return diff / scale
    }
    for it in 1...options.maxIterations {
        let fx = try map(x)
        precondition(fx.count == x.count, "fixed-point map changed the number of unknowns")
        let r = norm(x, fx)
        history.append(r)
        if !r.isFinite || r > options.divergenceThreshold {
            return Solution(value: x, record: ConvergenceRecord(status: .diverged, iterations: it, residualHistory: history,
                                                               tolerance: options.tolerance, elapsedSeconds: clock.elapsed,
                                                               message: "residual \(r) at iteration \(it)"))
        }
        let beta = options.damping
        for i in 0..<x.count { x[i] = (1 - beta) * x[i] + beta * fx[i] }
        if r < options.tolerance {
            return Solution(value: x, record: ConvergenceRecord(status: .converged, iterations: it, residualHistory: history,
                                                               tolerance: options.tolerance, elapsedSeconds: clock.elapsed))
        }
    }
    return Solution(value: x, record: ConvergenceRecord(status: .maxIterations, iterations: options.maxIterations,
                                                       residualHistory: history, tolerance: options.tolerance,
                                                       elapsedSeconds: clock.elapsed,
                                                       message: "residual \(history.last ?? .nan) > tolerance \(options.tolerance)"))
}
