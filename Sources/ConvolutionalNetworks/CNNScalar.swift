import LinearAlgebra

/// The floating-point type a CNN trains in: `Float` (sgemm, the default; see docs/cnn.md for the measured
/// float-vs-double agreement) or `Double` (dgemm, the reference).
public protocol CNNScalar: BinaryFloatingPoint, Sendable {
    /// C = alpha op(A) op(B) + beta C on column-major buffers through BLAS.
    static func gemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Self>, lda: Int, transposeA: Bool,
                     _ b: UnsafePointer<Self>, ldb: Int, transposeB: Bool,
                     _ c: UnsafeMutablePointer<Self>, ldc: Int, alpha: Self, beta: Self)
    static var precisionName: String { get }
}

extension Float: CNNScalar {
    public static func gemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
                            _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                            _ c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float) {
        BLAS.sgemm(m: m, n: n, k: k, a, lda: lda, transposeA: transposeA, b, ldb: ldb, transposeB: transposeB, c, ldc: ldc,
                   alpha: alpha, beta: beta)
    }
    public static var precisionName: String { "float" }
}

extension Double: CNNScalar {
    public static func gemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Double>, lda: Int, transposeA: Bool,
                            _ b: UnsafePointer<Double>, ldb: Int, transposeB: Bool,
                            _ c: UnsafeMutablePointer<Double>, ldc: Int, alpha: Double, beta: Double) {
        BLAS.dgemm(m: m, n: n, k: k, a, lda: lda, transposeA: transposeA, b, ldb: ldb, transposeB: transposeB, c, ldc: ldc,
                   alpha: alpha, beta: beta)
    }
    public static var precisionName: String { "double" }
}

/// C (m x n) = alpha A B with A, B, C column-major arrays (op by flags), a thin helper over `CNNScalar.gemm`.
@inline(__always)
func gemm<T: CNNScalar>(_ m: Int, _ n: Int, _ k: Int, _ a: [T], transposeA: Bool = false, _ b: [T], transposeB: Bool = false,
                        into c: inout [T], alpha: T = 1, beta: T = 0) {
    if m == 0 || n == 0 { return }
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in
                T.gemm(m: m, n: n, k: k, pa.baseAddress!, lda: transposeA ? max(1, k) : max(1, m), transposeA: transposeA,
                       pb.baseAddress!, ldb: transposeB ? max(1, n) : max(1, k), transposeB: transposeB,
                       pc.baseAddress!, ldc: max(1, m), alpha: alpha, beta: beta)
            }
        }
    }
}
