import CLAPACKE

/// LAPACK drivers on `Matrix`. Every routine that LAPACK can fail in throws `LinearAlgebraError.lapack`
/// naming the routine and the meaning of its `info`.
public enum LAPACK {
    @inline(__always) static func ch(_ c: Character) -> CChar { CChar(c.asciiValue!) }

    /// Eigendecomposition of a symmetric matrix, A = V diag(w) V^T, with `w` ascending (`dsyevd`).
    /// Only the upper triangle of `a` is read.
    public static func symmetricEigen(_ a: Matrix, vectors: Bool = true) throws -> (values: [Double], vectors: Matrix) {
        guard a.isSquare else { throw LinearAlgebraError.shapeMismatch(routine: "dsyevd", detail: "A is \(a.rows)x\(a.cols), must be square") }
        let n = a.rows
        var v = a
        var w = [Double](repeating: 0, count: n)
        if n == 0 { return (w, v) }
        let info = v.storage.withUnsafeMutableBufferPointer { pv in
            w.withUnsafeMutableBufferPointer { pw in
                LAPACKE_dsyevd(LAPACK_COL_MAJOR, ch(vectors ? "V" : "N"), ch("U"), Int32(n), pv.baseAddress, Int32(n), pw.baseAddress)
            }
        }
        try LinearAlgebraError.check("dsyevd", info) { "the algorithm failed to converge; \($0) off-diagonal elements did not converge to zero" }
        return (w, vectors ? v : Matrix(rows: 0, cols: 0))
    }

    /// Eigenvalues (ascending) and eigenvectors of the symmetric tridiagonal matrix with diagonal `d` and
    /// off-diagonal `e` (`dstev`); used by Golub-Welsch quadrature.
    public static func tridiagonalEigen(diagonal d: [Double], offDiagonal e: [Double]) throws -> (values: [Double], vectors: Matrix) {
        let n = d.count
        guard e.count == max(0, n - 1) else {
            throw LinearAlgebraError.shapeMismatch(routine: "dstev", detail: "off-diagonal has \(e.count) elements, expected \(max(0, n - 1))")
        }
        var w = d
        var off = e + [0]
        var z = Matrix(rows: n, cols: n)
        if n == 0 { return (w, z) }
        let info = w.withUnsafeMutableBufferPointer { pw in
            off.withUnsafeMutableBufferPointer { pe in
                z.storage.withUnsafeMutableBufferPointer { pz in
                    LAPACKE_dstev(LAPACK_COL_MAJOR, ch("V"), Int32(n), pw.baseAddress, pe.baseAddress, pz.baseAddress, Int32(n))
                }
            }
        }
        try LinearAlgebraError.check("dstev", info) { "the algorithm failed to converge; \($0) off-diagonal elements did not converge to zero" }
        return (w, z)
    }

    /// Solves A X = B for general square A by LU with partial pivoting (`dgesv`).
    public static func solve(_ a: Matrix, _ b: Matrix) throws -> Matrix {
        guard a.isSquare, b.rows == a.rows else {
            throw LinearAlgebraError.shapeMismatch(routine: "dgesv", detail: "A is \(a.rows)x\(a.cols), B is \(b.rows)x\(b.cols)")
        }
        let n = a.rows
        var lu = a
        var x = b
        if n == 0 || b.cols == 0 { return x }
        var ipiv = [Int32](repeating: 0, count: n)
        let info = lu.storage.withUnsafeMutableBufferPointer { pa in
            x.storage.withUnsafeMutableBufferPointer { pb in
                ipiv.withUnsafeMutableBufferPointer { pp in
                    LAPACKE_dgesv(LAPACK_COL_MAJOR, Int32(n), Int32(b.cols), pa.baseAddress, Int32(n), pp.baseAddress, pb.baseAddress, Int32(n))
                }
            }
        }
        try LinearAlgebraError.check("dgesv", info) { "U(\($0),\($0)) is exactly zero: the matrix is singular" }
        return x
    }

    /// Solves A x = b for a vector b.
    public static func solve(_ a: Matrix, _ b: [Double]) throws -> [Double] {
        try solve(a, Matrix(column: b)).storage
    }

    /// Least-squares / minimum-norm solution of A X = B by the SVD (`dgelsd`); singular values below
    /// `rcond * s_max` are treated as zero. Returns the solution and the effective rank.
    public static func leastSquares(_ a: Matrix, _ b: Matrix, rcond: Double = -1) throws -> (solution: Matrix, rank: Int) {
        guard b.rows == a.rows else {
            throw LinearAlgebraError.shapeMismatch(routine: "dgelsd", detail: "A is \(a.rows)x\(a.cols), B is \(b.rows)x\(b.cols)")
        }
        let m = a.rows, n = a.cols, nrhs = b.cols
        let ldb = max(1, max(m, n))
        var work = a
        var bb = Matrix(rows: ldb, cols: nrhs)
        for j in 0..<nrhs { for i in 0..<m { bb[i, j] = b[i, j] } }
        if m == 0 || n == 0 || nrhs == 0 { return (Matrix(rows: n, cols: nrhs), 0) }
        var s = [Double](repeating: 0, count: min(m, n))
        var rank: Int32 = 0
        let info = work.storage.withUnsafeMutableBufferPointer { pa in
            bb.storage.withUnsafeMutableBufferPointer { pb in
                s.withUnsafeMutableBufferPointer { ps in
                    LAPACKE_dgelsd(LAPACK_COL_MAJOR, Int32(m), Int32(n), Int32(nrhs), pa.baseAddress, Int32(max(1, m)),
                                   pb.baseAddress, Int32(ldb), ps.baseAddress, rcond, &rank)
                }
            }
        }
        try LinearAlgebraError.check("dgelsd", info) { "the SVD failed to converge; \($0) off-diagonal elements did not converge to zero" }
        return (bb.block(rows: 0..<n, cols: 0..<nrhs), Int(rank))
    }

    /// Thin singular value decomposition A = U diag(s) V^T by divide and conquer (`dgesdd`).
    /// U is m x k, s has k = min(m, n) entries (descending), Vt is k x n.
    public static func svd(_ a: Matrix) throws -> (u: Matrix, s: [Double], vt: Matrix) {
        let m = a.rows, n = a.cols, k = min(m, n)
        var work = a
        var u = Matrix(rows: m, cols: k)
        var vt = Matrix(rows: k, cols: n)
        var s = [Double](repeating: 0, count: k)
        if k == 0 { return (u, s, vt) }
        let info = work.storage.withUnsafeMutableBufferPointer { pa in
            u.storage.withUnsafeMutableBufferPointer { pu in
                vt.storage.withUnsafeMutableBufferPointer { pv in
                    s.withUnsafeMutableBufferPointer { ps in
                        LAPACKE_dgesdd(LAPACK_COL_MAJOR, ch("S"), Int32(m), Int32(n), pa.baseAddress, Int32(m), ps.baseAddress,
                                       pu.baseAddress, Int32(m), pv.baseAddress, Int32(k))
                    }
                }
            }
        }
        try LinearAlgebraError.check("dgesdd", info) { _ in "the SVD did not converge (DBDSDC failed)" }
        return (u, s, vt)
    }

    /// Moore-Penrose pseudo-inverse A^+ = V diag(1/s) U^T, dropping singular values below `rcond * s_max`
    /// (default: max(m, n) * machine epsilon, as numpy.linalg.pinv).
    public static func pseudoInverse(_ a: Matrix, rcond: Double? = nil) throws -> Matrix {
        let (u, s, vt) = try svd(a)
        let cutoff = (rcond ?? Double(max(a.rows, a.cols)) * Double.ulpOfOne) * (s.first ?? 0)
        var vs = vt.transposed()  // n x k
        for j in 0..<s.count {
            let inv = s[j] > cutoff ? 1 / s[j] : 0
            for i in 0..<vs.rows { vs[i, j] *= inv }
        }
        return BLAS.gemm(vs, u, transposeB: true)
    }
}

/// The Cholesky factor A = L L^T of a symmetric positive-definite matrix (`dpotrf`), with solves (`dpotrs`).
public struct Cholesky: Sendable {
    /// Lower-triangular factor L (upper triangle zeroed).
    public let lower: Matrix

    /// Factors `a` (only its lower triangle is read). Throws when `a` is not positive definite.
    public init(_ a: Matrix) throws {
        guard a.isSquare else { throw LinearAlgebraError.shapeMismatch(routine: "dpotrf", detail: "A is \(a.rows)x\(a.cols), must be square") }
        var l = a
        let n = a.rows
        if n > 0 {
            let info = l.storage.withUnsafeMutableBufferPointer { p in
                LAPACKE_dpotrf(LAPACK_COL_MAJOR, LAPACK.ch("L"), Int32(n), p.baseAddress, Int32(n))
            }
            try LinearAlgebraError.check("dpotrf", info) { "the leading minor of order \($0) is not positive definite" }
        }
        for j in 0..<n { for i in 0..<j { l[i, j] = 0 } }
        lower = l
    }

    /// Solves A X = B.
    public func solve(_ b: Matrix) throws -> Matrix {
        let n = lower.rows
        guard b.rows == n else { throw LinearAlgebraError.shapeMismatch(routine: "dpotrs", detail: "A is \(n)x\(n), B is \(b.rows)x\(b.cols)") }
        var x = b
        if n == 0 || b.cols == 0 { return x }
        let info = lower.storage.withUnsafeBufferPointer { pl in
            x.storage.withUnsafeMutableBufferPointer { pb in
                LAPACKE_dpotrs(LAPACK_COL_MAJOR, LAPACK.ch("L"), Int32(n), Int32(b.cols), pl.baseAddress, Int32(n), pb.baseAddress, Int32(n))
            }
        }
        try LinearAlgebraError.check("dpotrs", info) { _ in "unexpected positive info" }
        return x
    }

    /// Solves A x = b.
    public func solve(_ b: [Double]) throws -> [Double] { try solve(Matrix(column: b)).storage }

    /// log det A = 2 sum_i log L_ii.
    public var logDeterminant: Double { 2 * lower.diagonalElements.reduce(0) { $0 + log($1) } }
}

#if canImport(Glibc)
import Glibc
#endif
