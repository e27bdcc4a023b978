import Foundation
import LinearAlgebra

/// Weighted linear least squares through LAPACK, with coefficient standard errors and the fit's chi^2.
public enum Regression {
    public struct Fit: Sendable {
        public var coefficients: [Double]
        public var standardErrors: [Double]
        /// sum_i ((y_i - fit_i) / sigma_i)^2 (with unit sigma when none were given).
        public var chiSquare: Double
        public var degreesOfFreedom: Int
        /// sum_j row_j c_j.
        public func predict(_ row: [Double]) -> Double { zip(row, coefficients).reduce(0) { $0 + $1.0 * $1.1 } }
    }

    /// Minimises sum_i ((y_i - sum_j A_ij c_j) / sigma_i)^2 by `dgelsd` on the rows scaled by 1/sigma_i.
    /// With `sigma` the coefficient covariance is (A^T W A)^-1 (known errors); without, it is s^2 (A^T A)^-1 with
    /// s^2 = RSS / (n - p) (ordinary least squares).
    public static func fit(design rows: [[Double]], values y: [Double], sigma: [Double]? = nil) throws -> Fit {
        let n = rows.count, p = rows.first?.count ?? 0
        guard n == y.count, n >= p, p >= 1, sigma.map({ $0.count == n && $0.allSatisfy { $0 > 0 && $0.isFinite } }) ?? true else {
            throw SolvableError.invalidParameter(name: "regression data", value: "\(n) rows, \(p) columns",
                                                 allowed: "at least as many rows as coefficients, positive finite standard errors")
        }
        let w = sigma?.map { 1 / $0 } ?? [Double](repeating: 1, count: n)
        let a = Matrix(rows: n, cols: p) { i, j in rows[i][j] * w[i] }
        let b = Matrix(rows: n, cols: 1) { i, _ in y[i] * w[i] }
        let c = try LAPACK.leastSquares(a, b).solution.storage
        var chi2 = 0.0
        for i in 0..<n { let r = (y[i] - zip(rows[i], c).reduce(0) { $0 + $1.0 * $1.1 }) * w[i]; chi2 += r * r }
        let dof = n - p
        let cov = try LAPACK.pseudoInverse(BLAS.gemm(a, a, transposeA: true))
        let s2 = sigma == nil ? (dof > 0 ? chi2 / Double(dof) : .nan) : 1
        return Fit(coefficients: c, standardErrors: (0..<p).map { (max(0, cov[$0, $0]) * s2).squareRoot() }, chiSquare: chi2,
                   degreesOfFreedom: dof)
    }

    /// The finite-width expansion y(N) = c0 + c1/N + ... + c_order/N^order fitted to values at widths N_i with
    /// standard errors (Bordelon & Pehlevan 2023, final experiment: c0 + c1/N + c2/N^2).
    public static func inverseWidth(widths: [Double], values: [Double], sigma: [Double]? = nil, order: Int) throws -> Fit {
        try fit(design: widths.map { N in (0...order).map { pow(1 / N, Double($0)) } }, values: values, sigma: sigma)
    }
}
