import Foundation

/// Options of the damped fixed-point iteration of a vector map.
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

/// Damped fixed-point iteration x_{k+1} = (1 - beta) x_k + beta F(x_k) on a flat vector of unknowns, run by the
/// driver `solveIteratively`.
///
/// The residual is the relative sup-norm change ||F(x) - x||_inf / max(1, ||x||_inf) unless `residual` is given.
/// Returns the last iterate with its record; a non-converged iterate is marked `.maxIterations` or `.diverged`.
public func solveFixedPoint(initial: [Double], options: FixedPointOptions = FixedPointOptions(),
                            residual: (([Double], [Double]) -> Double)? = nil,
                            _ map: ([Double]) throws -> [Double]) rethrows -> Solution<[Double]> {
    try withoutActuallyEscaping(map) { map in
        let method = VectorFixedPoint(initial: initial, map: map, residual: residual ?? VectorFixedPoint.relativeSupChange)
        let o = IterationOptions(tolerance: options.tolerance, maxIterations: options.maxIterations, damping: options.damping,
                                 divergenceThreshold: options.divergenceThreshold)
        do { return try solveIteratively(method, options: o) } catch { try method.rethrow(error) }
    }
}

/// The method behind `solveFixedPoint`: one evaluation of F per step, damped as a whole.
private struct VectorFixedPoint: IterativeMethod {
    let initial: [Double]
    let map: ([Double]) throws -> [Double]
    let residual: ([Double], [Double]) -> Double

    static func relativeSupChange(_ old: [Double], _ new: [Double]) -> Double {
        var diff = 0.0, scale = 1.0
        for i in 0..<old.count { diff = max(diff, abs(new[i] - old[i])); scale = max(scale, abs(old[i])) }
        return diff / scale
    }

    func initialState() -> [Double] { initial }

    func step(_ x: inout [Double], iteration: Int, damping beta: Double) throws -> StepResult {
        let fx = try map(x)
        precondition(fx.count == x.count, "fixed-point map changed the number of unknowns")
        let r = residual(x, fx)
        for i in 0..<x.count { x[i] = (1 - beta) * x[i] + beta * fx[i] }
        return .advanced(residual: r)
    }

    /// `solveFixedPoint` is `rethrows`: only the map's own errors can come out of the driver here.
    func rethrow(_ error: Error) throws -> Never { throw error }
}
