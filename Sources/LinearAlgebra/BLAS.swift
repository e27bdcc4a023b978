import CBLAS

/// Level-2/3 BLAS on `Matrix` (column-major, `lda = rows`). Shapes are checked before the call.
public enum BLAS {
    @inline(__always) static func trans(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

    /// C = alpha * op(A) op(B) + beta * C  (`dgemm`), where op(X) = X or X^T.
    public static func gemm(_ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false,
                            alpha: Double = 1, beta: Double = 0, into c: inout Matrix) {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb, "gemm: inner dimensions \(k) and \(kb) differ")
        precondition(c.rows == m && c.cols == n, "gemm: C is \(c.rows)x\(c.cols), expected \(m)x\(n)")
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<c.storage.count { c.storage[i] *= beta }
            return
        }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasColMajor, trans(transposeA), trans(transposeB), Int32(m), Int32(n), Int32(k),
                                alpha, pa.baseAddress, Int32(max(1, a.rows)), pb.baseAddress, Int32(max(1, b.rows)),
                                beta, pc.baseAddress, Int32(max(1, m)))
                }
            }
        }
    }

    /// Returns alpha * op(A) op(B).
    public static func gemm(_ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false,
                            alpha: Double = 1) -> Matrix {
        var c = Matrix(rows: transposeA ? a.cols : a.rows, cols: transposeB ? b.rows : b.cols)
        gemm(a, b, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: 0, into: &c)
        return c
    }

    /// y = alpha * op(A) x + beta * y  (`dgemv`).
    public static func gemv(_ a: Matrix, _ x: [Double], transpose: Bool = false, alpha: Double = 1,
                            beta: Double = 0, into y: inout [Double]) {
        let n = transpose ? a.rows : a.cols
        let m = transpose ? a.cols : a.rows
        precondition(x.count == n, "gemv: x has \(x.count) elements, expected \(n)")
        precondition(y.count == m, "gemv: y has \(y.count) elements, expected \(m)")
        if m == 0 { return }
        if n == 0 { for i in 0..<m { y[i] *= beta }; return }
        a.storage.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    cblas_dgemv(CblasColMajor, trans(transpose), Int32(a.rows), Int32(a.cols), alpha, pa.baseAddress,
                                Int32(max(1, a.rows)), px.baseAddress, 1, beta, py.baseAddress, 1)
                }
            }
        }
    }

    /// Returns alpha * op(A) x.
    public static func gemv(_ a: Matrix, _ x: [Double], transpose: Bool = false, alpha: Double = 1) -> [Double] {
        var y = [Double](repeating: 0, count: transpose ? a.cols : a.rows)
        gemv(a, x, transpose: transpose, alpha: alpha, beta: 0, into: &y)
        return y
    }

    /// The Gram matrix alpha * A A^T (or alpha * A^T A with `transpose`) via `dsyrk`, both triangles filled.
    public static func syrk(_ a: Matrix, transpose: Bool = false, alpha: Double = 1) -> Matrix {
        let n = transpose ? a.cols : a.rows
        let k = transpose ? a.rows : a.cols
        var c = Matrix(rows: n, cols: n)
        if n == 0 || k == 0 { return c }
        a.storage.withUnsafeBufferPointer { pa in
            c.storage.withUnsafeMutableBufferPointer { pc in
                cblas_dsyrk(CblasColMajor, CblasUpper, trans(transpose), Int32(n), Int32(k), alpha, pa.baseAddress,
                            Int32(max(1, a.rows)), 0, pc.baseAddress, Int32(n))
            }
        }
        c.symmetrize(fromUpper: true)
        return c
    }

    /// Solves op(A) X = alpha B (left) or X op(A) = alpha B (right) for triangular A (`dtrsm`); B is overwritten.
    public static func trsm(_ a: Matrix, _ b: inout Matrix, upper: Bool, transpose: Bool = false, left: Bool = true,
                            unitDiagonal: Bool = false, alpha: Double = 1) {
        precondition(a.isSquare, "trsm: A must be square")
        precondition((left ? b.rows : b.cols) == a.rows, "trsm: A is \(a.rows)x\(a.cols), B is \(b.rows)x\(b.cols)")
        if b.count == 0 { return }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeMutableBufferPointer { pb in
                cblas_dtrsm(CblasColMajor, left ? CblasLeft : CblasRight, upper ? CblasUpper : CblasLower,
                            trans(transpose), unitDiagonal ? CblasUnit : CblasNonUnit, Int32(b.rows), Int32(b.cols),
                            alpha, pa.baseAddress, Int32(max(1, a.rows)), pb.baseAddress, Int32(max(1, b.rows)))
            }
        }
    }

    /// Solves op(A) x = b for triangular A (`dtrsv`); x overwrites b.
    public static func trsv(_ a: Matrix, _ x: inout [Double], upper: Bool, transpose: Bool = false,
                            unitDiagonal: Bool = false) {
        precondition(a.isSquare && x.count == a.rows, "trsv: A is \(a.rows)x\(a.cols), x has \(x.count)")
        if x.isEmpty { return }
        a.storage.withUnsafeBufferPointer { pa in
            x.withUnsafeMutableBufferPointer { px in
                cblas_dtrsv(CblasColMajor, upper ? CblasUpper : CblasLower, trans(transpose),
                            unitDiagonal ? CblasUnit : CblasNonUnit, Int32(a.rows), pa.baseAddress,
                            Int32(max(1, a.rows)), px.baseAddress, 1)
            }
        }
    }

    /// x . y (`ddot`).
    public static func dot(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "dot: lengths \(x.count) and \(y.count) differ")
        return x.withUnsafeBufferPointer { px in
            y.withUnsafeBufferPointer { py in cblas_ddot(Int32(x.count), px.baseAddress, 1, py.baseAddress, 1) }
        }
    }

    /// Single-precision C = alpha op(A) op(B) + beta C on raw column-major buffers (`sgemm`), for models
    /// whose simulations are exact in Float (e.g. overlaps of +-1 patterns).
    public static func sgemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
                             _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                             _ c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, beta: Float = 0) {
        cblas_sgemm(CblasColMajor, trans(transposeA), trans(transposeB), Int32(m), Int32(n), Int32(k), alpha, a,
                    Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Double-precision gemm on raw column-major buffers, for hot loops that manage their own storage.
    public static func dgemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Double>, lda: Int, transposeA: Bool,
                             _ b: UnsafePointer<Double>, ldb: Int, transposeB: Bool,
                             _ c: UnsafeMutablePointer<Double>, ldc: Int, alpha: Double = 1, beta: Double = 0) {
        cblas_dgemm(CblasColMajor, trans(transposeA), trans(transposeB), Int32(m), Int32(n), Int32(k), alpha, a,
                    Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

extension Matrix {
    /// A^T B via dgemm.
    public func transposeTimes(_ b: Matrix) -> Matrix { BLAS.gemm(self, b, transposeA: true) }
    /// A x via dgemv.
    public func times(_ x: [Double]) -> [Double] { BLAS.gemv(self, x) }
}
