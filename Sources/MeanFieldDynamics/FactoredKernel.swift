import Foundation
import LinearAlgebra
import NumericalCore

/// A two-time kernel on the (T n) x (T n) grid held as a thin factor, X = F F^T (docs/theory/dmft-low-rank.md).
///
/// `factor` F is (T n) x r with row t n + mu, so any block is a small product:
///
///     X[t, mu, s, nu] = sum_k F[t n + mu, k] F[s n + nu, k],      X[t, ., s, .] = F_t F_s^T  (n x n)
///
/// where F_t is the n x r block of rows t n ..< (t + 1) n. As a row-major [T, n, r] array (`factorArray`, the
/// form written to .npy) the same reads `X[t, :, s, :] = F[t] @ F[s].T` in numpy, or
/// `np.einsum('ik,jk->ij', F[t], F[s])`; the full kernel, where it fits, is `F.reshape(T*n, r) @ F.reshape(T*n, r).T`.
/// Storage is T n r numbers instead of (T n)^2 (P = 200, T = 200: 40000 x ~100 factor, 32 MB, against 12.8 GB).
public struct FactoredKernel: Sendable, Equatable {
    /// Number of grid times T.
    public let timeSteps: Int
    /// n = P + P_test.
    public let pointCount: Int
    /// F, (T n) x r, column-major.
    public let factor: Matrix

    public init(timeSteps: Int, pointCount: Int, factor: Matrix) {
        precondition(factor.rows == timeSteps * pointCount, "factor has \(factor.rows) rows, expected T n = \(timeSteps * pointCount)")
        self.timeSteps = timeSteps
        self.pointCount = pointCount
        self.factor = factor
    }

    /// Number of columns r of the factor (the numerical rank when the factor came from `compressed`).
    public var rank: Int { factor.cols }

    /// Bytes of the dense (T n) x (T n) kernel.
    public var denseBytes: Int { MemoryBudget.product(8, timeSteps * pointCount, timeSteps * pointCount) }

    /// The block of rows of the times `rows` and columns of the times `cols`: F_rows F_cols^T,
    /// (|rows| n) x (|cols| n), entry (i n + mu, j n + nu) = X[rows[i], mu, cols[j], nu].
    public func block(times rows: Range<Int>, _ cols: Range<Int>) -> Matrix {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= timeSteps && cols.lowerBound >= 0 && cols.upperBound <= timeSteps,
                     "time ranges \(rows), \(cols) outside 0..<\(timeSteps)")
        let n = pointCount, r = factor.cols, ld = factor.rows
        var out = Matrix(rows: rows.count * n, cols: cols.count * n)
        if out.count == 0 { return out }
        if r == 0 { return out }
        factor.storage.withUnsafeBufferPointer { f in
            out.storage.withUnsafeMutableBufferPointer { o in
                BLAS.dgemm(m: rows.count * n, n: cols.count * n, k: r, f.baseAddress! + rows.lowerBound * n, lda: ld, transposeA: false,
                           f.baseAddress! + cols.lowerBound * n, ldb: ld, transposeB: true, o.baseAddress!, ldc: rows.count * n)
            }
        }
        return out
    }

    /// The n x n block X[t, ., s, .].
    public func block(time t: Int, _ s: Int) -> Matrix { block(times: t..<(t + 1), s..<(s + 1)) }

    /// One entry X[t, mu, s, nu].
    public func entry(_ t: Int, _ mu: Int, _ s: Int, _ nu: Int) -> Double {
        let i = t * pointCount + mu, j = s * pointCount + nu
        var v = 0.0
        for k in 0..<factor.cols { v += factor[i, k] * factor[j, k] }
        return v
    }

    /// The dense (T n) x (T n) kernel (the layout of `KernelTrajectory.kernelPhi`); refused with the estimate when
    /// it does not fit in the memory budget.
    public func dense() throws -> Matrix {
        try MemoryBudget.check(denseBytes, hint: "use the factor (block(times:_:) forms any block) instead of the dense kernel")
        return block(times: 0..<timeSteps, 0..<timeSteps)
    }

    /// The factor as a row-major [T, n, r] array: X[t, mu, s, nu] = sum_k F[t, mu, k] F[s, nu, k].
    public func factorArray() -> NDArray {
        NDArray(shape: [timeSteps, pointCount, factor.cols], data: factor.rowMajorStorage)
    }

    /// The sample-averaged kernel (1/n) sum_mu X[t, mu, s, mu] (T x T, as `KernelTrajectory.sampleTrace` of the dense
    /// kernel): (1/n) sum_mu F_mu F_mu^T with F_mu the T x r rows t n + mu, at T^2 n r flops.
    public func sampleTrace() -> [[Double]] {
        let T = timeSteps, n = pointCount, r = factor.cols
        var acc = Matrix(rows: T, cols: T)
        if r > 0 {
            var rowsOfPoint = Matrix(rows: T, cols: r)
            for mu in 0..<n {
                for k in 0..<r { for t in 0..<T { rowsOfPoint[t, k] = factor[t * n + mu, k] } }
                acc = acc + BLAS.syrk(rowsOfPoint)
            }
        }
        return (0..<T).map { t in (0..<T).map { s in acc[t, s] / Double(n) } }
    }

    /// |X|_F from the r x r Gram matrix (|F F^T|_F = |F^T F|_F).
    public var frobeniusNorm: Double { BLAS.syrk(factor, transpose: true).frobeniusNorm }

    /// The same kernel with the factor cut to the directions whose singular values exceed `relativeTolerance` times
    /// the largest: X changes by at most the square of that (relative, 2-norm), 1e-16 by default (rounding of X).
    public func compressed(relativeTolerance: Double = 1e-8) throws -> FactoredKernel {
        FactoredKernel(timeSteps: timeSteps, pointCount: pointCount,
                       factor: try Self.compress(factor, relativeTolerance: relativeTolerance).factor)
    }

    /// The eigenvalues of X (squared singular values of F), descending, resolved down to rounding of the largest
    /// singular value (from the triangular factor of F, not from F^T F).
    public func eigenvalues() throws -> [Double] { try Self.compress(factor, relativeTolerance: 0).singularValues.map { $0 * $0 } }

    /// Number of eigenvalues of X above `relativeTolerance` times the largest (1e-15: the numerical rank of
    /// docs/theory/dmft-low-rank.md).
    public func numericalRank(relativeTolerance: Double = 1e-15) throws -> Int {
        let w = try eigenvalues()
        return w.filter { $0 > relativeTolerance * (w.first ?? 0) }.count
    }

    /// F V_k for the right singular vectors of F whose singular values exceed `relativeTolerance` x the largest, with
    /// all singular values (descending). The singular values come from the triangular factor R of F = Q R (backward
    /// stable, so small ones are resolved to rounding of the largest, unlike eigenvalues of F^T F). LAPACK runs
    /// single-threaded so the result does not depend on the thread count.
    static func compress(_ f: Matrix, relativeTolerance: Double) throws -> (factor: Matrix, singularValues: [Double]) {
        if f.cols == 0 || f.rows == 0 { return (Matrix(rows: f.rows, cols: 0), []) }
        let (s, vt) = try BLASRuntime.serial { () throws -> ([Double], Matrix) in
            let r = try LAPACK.qrR(f)
            let d = try LAPACK.svd(r)
            return (d.s, d.vt)
        }
        let top = s.first ?? 0
        let keep = (0..<s.count).filter { s[$0] > relativeTolerance * top && s[$0] > 0 }
        var vk = Matrix(rows: f.cols, cols: keep.count)
        for (c, j) in keep.enumerated() { for i in 0..<f.cols { vk[i, c] = vt[j, i] } }
        return (BLAS.gemm(f, vk), s)
    }

    /// |X - Y|_F / |X|_F for X = self, Y = `other`, accurate to rounding of |X|: the triangular factor R = [R1, R2]
    /// of [F_X, F_Y] gives X - Y = Q (R1 R1^T - R2 R2^T) Q^T (no cancellation between two large Gram norms).
    /// Non-finite when any entry is.
    public func relativeDifference(to other: FactoredKernel) throws -> Double {
        let a = factor, b = other.factor, rows = a.rows
        precondition(b.rows == rows, "factors have \(a.rows) and \(b.rows) rows")
        var both = Matrix(rows: rows, cols: a.cols + b.cols)
        both.storage.replaceSubrange(0..<(rows * a.cols), with: a.storage)
        both.storage.replaceSubrange((rows * a.cols)..<(rows * (a.cols + b.cols)), with: b.storage)
        if both.cols == 0 { return 0 }
        let r = try BLASRuntime.serial { try LAPACK.qrR(both) }
        let r1 = r.block(rows: 0..<r.rows, cols: 0..<a.cols), r2 = r.block(rows: 0..<r.rows, cols: a.cols..<(a.cols + b.cols))
        let x = BLAS.gemm(r1, r1, transposeB: true), y = BLAS.gemm(r2, r2, transposeB: true)
        let diff = (x - y).frobeniusNorm, norm = x.frobeniusNorm
        return norm > 0 ? diff / norm : diff
    }
}
