import Foundation
import LinearAlgebra
import NumericalCore

/// The data a DMFT solve and a network share: P training inputs x_mu in R^D with targets y_mu, optional test
/// inputs, and the input kernel K^x_{mu nu} = x_mu . x_nu / D over train and test points (docs/theory/dmft.md §1).
///
/// Sample index convention: training points first (0..<trainCount), test points after them. Test points are
/// carried in every kernel but left out of every Delta-sum (their Delta entries are zero).
public struct DMFTData: Sendable {
    /// Inputs, D x (P + P_test), one column per sample (train first).
    public let inputs: Matrix
    /// Training targets y (length P).
    public let targets: [Double]
    /// Test targets (length P_test; empty when there are no test points or no test targets).
    public let testTargets: [Double]
    /// Number of training points P.
    public let trainCount: Int
    /// Number of test points.
    public let testCount: Int
    /// K^x = X^T X / D over all points, (P + P_test) x (P + P_test).
    public let inputKernel: Matrix

    /// Input dimension D.
    public var inputDimension: Int { inputs.rows }
    /// P + P_test.
    public var totalCount: Int { trainCount + testCount }

    /// Builds the data from explicit arrays. `trainInputs` are rows (samples) of length D.
    public init(trainInputs: [[Double]], targets: [Double], testInputs: [[Double]] = [], testTargets: [Double] = []) throws {
        try Validate.nonEmpty("inputs", trainInputs)
        let d = trainInputs[0].count
        guard d > 0 else { throw SolvableError.invalidParameter(name: "inputs", value: "rows of length 0", allowed: "D >= 1") }
        guard targets.count == trainInputs.count else {
            throw SolvableError.invalidParameter(name: "targets", value: "\(targets.count) values",
                                                 allowed: "one target per training input (\(trainInputs.count))")
        }
        for (i, row) in (trainInputs + testInputs).enumerated() where row.count != d {
            throw SolvableError.invalidParameter(name: "inputs", value: "row \(i) has \(row.count) values", allowed: "all rows of length D = \(d)")
        }
        if !testTargets.isEmpty && testTargets.count != testInputs.count {
            throw SolvableError.invalidParameter(name: "test_targets", value: "\(testTargets.count) values",
                                                 allowed: "none or one per test input (\(testInputs.count))")
        }
        // a non-finite value is reported under the parameter that holds it, with its position
        for (name, rows) in [("inputs", trainInputs), ("test_inputs", testInputs)] {
            for (i, row) in rows.enumerated() {
                if let j = row.firstIndex(where: { !$0.isFinite }) {
                    throw SolvableError.invalidParameter(name: name, value: "\(row[j]) at row \(i), column \(j)", allowed: "finite numbers")
                }
            }
        }
        for (name, values) in [("targets", targets), ("test_targets", testTargets)] {
            if let i = values.firstIndex(where: { !$0.isFinite }) {
                throw SolvableError.invalidParameter(name: name, value: "\(values[i]) at row \(i)", allowed: "finite numbers")
            }
        }
        let all = trainInputs + testInputs
        let x = Matrix(rows: d, cols: all.count) { i, j in all[j][i] }
        self.inputs = x
        self.targets = targets
        self.testTargets = testTargets
        self.trainCount = trainInputs.count
        self.testCount = testInputs.count
        self.inputKernel = BLAS.gemm(x, x, transposeA: true, alpha: 1 / Double(d))
    }

    /// How synthetic targets are made.
    public enum Labels: String, Sendable, CaseIterable {
        /// First half +1, second half -1 (the paper's synthetic setting, docs/theory/dmft.md §10).
        case binary
        /// A linear teacher y = beta . x / sqrt(D), beta ~ N(0, I).
        case teacher
    }

    /// Synthetic data of docs/theory/dmft.md §10: x ~ N(0, I_D) for P training and `testPoints` test points, targets
    /// by `labels` (binary: first half +1, second half -1; test binary labels alternate). Seeded from `seed`.
    public static func synthetic(trainPoints p: Int, inputDimension d: Int, testPoints: Int = 0,
                                 labels: Labels = .binary, seed: UInt64 = 0) throws -> DMFTData {
        try Validate.inRange("P", p, 1...100_000)
        try Validate.inRange("D", d, 1...10_000_000)
        try Validate.inRange("test_points", testPoints, 0...100_000)
        var rng = RandomStream(seed: seed, point: 0, sample: 0, purpose: "dmft-data")
        let xs = (0..<(p + testPoints)).map { _ in rng.gaussians(d) }
        var y: [Double], yt: [Double]
        switch labels {
        case .binary:
            y = (0..<p).map { $0 < (p + 1) / 2 ? 1 : -1 }
            yt = (0..<testPoints).map { $0 % 2 == 0 ? 1 : -1 }
        case .teacher:
            var trng = RandomStream(seed: seed, point: 0, sample: 0, purpose: "dmft-teacher")
            let beta = trng.gaussians(d)
            let f = { (x: [Double]) in zip(beta, x).reduce(0) { $0 + $1.0 * $1.1 } / Double(d).squareRoot() }
            y = xs[0..<p].map(f)
            yt = xs[p...].map(f)
        }
        return try DMFTData(trainInputs: Array(xs[0..<p]), targets: y, testInputs: Array(xs[p...]), testTargets: yt)
    }
}
