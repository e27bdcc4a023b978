import Foundation
import LinearAlgebra

/// Gauss-Hermite quadrature for the standard normal weight: E[g(z)], z ~ N(0, 1), is approximated by
/// sum_i w_i g(z_i), exact for polynomials of degree <= 2n - 1.
///
/// Nodes and weights come from the Golub-Welsch algorithm (Golub & Welsch 1969): the nodes are the eigenvalues
/// of the Jacobi matrix of the probabilists' Hermite polynomials (zero diagonal, off-diagonal sqrt(k),
/// k = 1..n-1), and w_i is the squared first component of the i-th normalised eigenvector (LAPACK `dstev`).
public struct GaussHermite: Sendable {
    public let nodes: [Double]
    public let weights: [Double]

    /// An n-point rule, n >= 1.
    public init(order n: Int) throws {
        try Validate.inRange("quadrature order", n, 1...2000)
        let off = (1..<max(1, n)).map { Double($0).squareRoot() }
        let (values, vectors) = try LAPACK.tridiagonalEigen(diagonal: [Double](repeating: 0, count: n),
                                                            offDiagonal: n > 1 ? off : [])
        nodes = values
        weights = (0..<n).map { vectors[0, $0] * vectors[0, $0] }
    }

    /// E[g(z)] for z ~ N(0, 1).
    public func expectation(_ g: (Double) -> Double) -> Double {
        var s = 0.0
        for i in 0..<nodes.count { s += weights[i] * g(nodes[i]) }
        return s
    }

    /// E[g(z1, z2)] for a centred Gaussian pair with covariance [[c11, c12], [c12, c22]] (tensor rule on a
    /// Cholesky factorisation; c11 > 0 required, c22 - c12^2/c11 clipped at 0).
    public func expectation2(c11: Double, c12: Double, c22: Double, _ g: (Double, Double) -> Double) -> Double {
        let a = c11.squareRoot()
        let b = a > 0 ? c12 / a : 0
        let c = max(0, c22 - b * b).squareRoot()
        var s = 0.0
        for i in 0..<nodes.count {
            let x = a * nodes[i]
            for j in 0..<nodes.count {
                s += weights[i] * weights[j] * g(x, b * nodes[i] + c * nodes[j])
            }
        }
        return s
    }
}
