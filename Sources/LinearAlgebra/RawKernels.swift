import CBLAS
import CLAPACKE

extension BLAS {
    /// y = alpha op(A) x + beta y on raw column-major buffers (`dgemv`), for hot loops that manage their own
    /// storage; A is m x n with leading dimension `lda`, unit strides.
    public static func dgemv(m: Int, n: Int, _ a: UnsafePointer<Double>, lda: Int, transpose: Bool,
                             _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>,
                             alpha: Double = 1, beta: Double = 0) {
        if m == 0 || n == 0 {
            let len = transpose ? n : m
            for i in 0..<len { y[i] = beta == 0 ? 0 : beta * y[i] }
            return
        }
        cblas_dgemv(CblasColMajor, trans(transpose), Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// A += alpha x y^T on a raw column-major buffer (`dger`); A is m x n with leading dimension `lda`.
    public static func dger(m: Int, n: Int, alpha: Double, _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>,
                            _ a: UnsafeMutablePointer<Double>, lda: Int) {
        if m == 0 || n == 0 { return }
        cblas_dger(CblasColMajor, Int32(m), Int32(n), alpha, x, 1, y, 1, a, Int32(lda))
    }
}

extension LAPACK {
    /// The triangular factor R of a thin QR decomposition A = Q R (`dgeqrf`): min(m, n) x n, upper trapezoidal.
    /// Q is not formed. Used where only Gram-type quantities are needed, e.g. |B1 B1^T - B2 B2^T|_F =
    /// |R1 R1^T - R2 R2^T|_F for A = [B1, B2], which is accurate to rounding of |A|^2 (forming B^T B is not).
    public static func qrR(_ a: Matrix) throws -> Matrix {
        let m = a.rows, n = a.cols, k = min(m, n)
        var work = a
        var tau = [Double](repeating: 0, count: max(1, k))
        if k == 0 { return Matrix(rows: 0, cols: n) }
        let info = work.storage.withUnsafeMutableBufferPointer { pa in
            tau.withUnsafeMutableBufferPointer { pt in
                LAPACKE_dgeqrf(LAPACK_COL_MAJOR, Int32(m), Int32(n), pa.baseAddress, Int32(max(1, m)), pt.baseAddress)
            }
        }
        try LinearAlgebraError.check("dgeqrf", info) { _ in "unexpected positive info" }
        return Matrix(rows: k, cols: n) { i, j in i <= j ? work[i, j] : 0 }
    }
}
