import Foundation
import LinearAlgebra
import NumericalCore

/// The response functions A^l = C^l M_g^l and B^{l-1} = M_g^l D^l of the deep linear DMFT (paper eqs. 11-12 with
/// linear phi; grid normalization as in `DeepLinearDMFTSolution`) for given kernels and Delta, by one pass in time.
///
/// With C^l = A^{l-1} + (eta gamma0/P) 1[s<t] H^{l-1} Delta, D^l = B^l + (eta gamma0/P) 1[s<t] G^{l+1} Delta and
/// M_g^l = (I - D^l C^l)^{-1}, every row of time t needs only earlier rows of the same layer and rows of time t of
/// the neighbours: upward, A^{l-1}(t) = C^{l-1}(t) M_g^{l-1}(<t) completes C^l(t); downward,
/// B^l(t) = M_g^{l+1}(t) D^{l+1}(<=t) completes D^l(t), then N = D^l C^l and M_g^l = I + N M_g^l give row t of M_g^l.
/// H^{l-1} enters through its factor (C^l = A^{l-1} + mask(F f^T)), so no (T n)^2 object is formed; the cost is
/// O(L T^3 n) and the memory 2 L (T n) x T matrices.
enum LowRankResponses {
    /// A^l ((T n) x T) and B^l (T x (T n)) for l = 1..<L (index l - 1), given Delta padded to T n, the factors of
    /// H^l for l = 0..<L (index l) and G^l for l = 2...L+1 (index l - 2; G^{L+1} = 1).
    static func compute(problem: DMFTProblem, delta dpad: [Double], hFactors: [Matrix], g: [Matrix]) -> (a: [Matrix], b: [Matrix], flops: Double) {
        let L = problem.depth, T = problem.timeSteps, n = problem.n, tn = T * n
        if L < 2 { return ([], [], 0) }
        let c0 = problem.eta * problem.gamma0 / Double(problem.p)
        var flops = 0.0
        // C^l and the transpose of D^l start as their Delta-driven parts
        var C = [Matrix](), Dt = [Matrix]()
        for l in 1...L {
            let (sc, f) = LowRankSweep.deltaDrivenC(factor: hFactors[l - 1], delta: dpad, c0: c0, T: T, n: n)
            C.append(sc); flops += f
            var d = Matrix(rows: tn, cols: T)
            let gn = g[l - 1]
            for s in 0..<T { for nu in 0..<n {
                let dv = c0 * dpad[s * n + nu]
                if dv == 0 { continue }
                for t in (s + 1)..<max(T, s + 1) { d[s * n + nu, t] = dv * gn[t, s] }
            } }
            Dt.append(d)
        }
        var M = [Matrix](repeating: Matrix.identity(T), count: L)
        var A = [Matrix](repeating: Matrix(rows: tn, cols: T), count: L - 1)
        var Bt = [Matrix](repeating: Matrix(rows: tn, cols: T), count: L - 1)
        var nrow = [Double](repeating: 0, count: T), mrow = nrow, xrow = nrow
        for t in 1..<max(T, 1) {
            // upward: A^{l-1}(t) = C^{l-1}(t, <t) M_g^{l-1}(<t, <t), added to C^l(t)
            for l in 2...L {
                C[l - 2].storage.withUnsafeBufferPointer { cp in M[l - 2].storage.withUnsafeBufferPointer { mp in
                A[l - 2].storage.withUnsafeMutableBufferPointer { ap in
                    BLAS.dgemm(m: n, n: t, k: t, cp.baseAddress! + t * n, lda: tn, transposeA: false, mp.baseAddress!, ldb: T,
                               transposeB: false, ap.baseAddress! + t * n, ldc: tn)
                } } }
                flops += 2 * Double(n * t * t)
                for s in 0..<t { for mu in 0..<n { C[l - 1][t * n + mu, s] += A[l - 2][t * n + mu, s] } }
            }
            // downward
            for l in stride(from: L, through: 1, by: -1) {
                if l < L {
                    // B^l(t) = M_g^{l+1}(t, <=t) D^{l+1}(<=t, :), nonzero in columns of times < t
                    for s in 0...t { xrow[s] = M[l][t, s] }
                    Dt[l].storage.withUnsafeBufferPointer { dp in Bt[l - 1].storage.withUnsafeMutableBufferPointer { bp in
                        xrow.withUnsafeBufferPointer { xp in
                            BLAS.dgemv(m: t * n, n: t + 1, dp.baseAddress!, lda: tn, transpose: false, xp.baseAddress!,
                                       bp.baseAddress! + t * tn)
                        } } }
                    flops += 2 * Double(t * n * (t + 1))
                    for i in 0..<(t * n) { Dt[l - 1][i, t] += Bt[l - 1][i, t] }
                }
                // N(t, s) = D^l(t, :) C^l(:, s) for s < t, then M_g^l(t, :) = e_t + N(t, <t) M_g^l(<t, :)
                C[l - 1].storage.withUnsafeBufferPointer { cp in Dt[l - 1].storage.withUnsafeBufferPointer { dp in
                    nrow.withUnsafeMutableBufferPointer { np in
                        BLAS.dgemv(m: t * n, n: t, cp.baseAddress!, lda: tn, transpose: true, dp.baseAddress! + t * tn, np.baseAddress!)
                    } } }
                M[l - 1].storage.withUnsafeBufferPointer { mp in nrow.withUnsafeBufferPointer { np in
                    mrow.withUnsafeMutableBufferPointer { op in
                        BLAS.dgemv(m: t, n: t, mp.baseAddress!, lda: T, transpose: true, np.baseAddress!, op.baseAddress!)
                    } } }
                flops += 2 * Double(t * n * t + t * t)
                for s in 0..<t { M[l - 1][t, s] = mrow[s] }
            }
        }
        return (A, Bt.map { $0.transposed() }, flops)
    }
}
