import Foundation
import LinearAlgebra
import NumericalCore

/// The state of the factored deep linear iteration: Delta, H^l = F_l F_l^T as thin factors, the T x T kernels G^l
/// and the response functions (grid normalized, as `DeepLinearDMFTSolution`).
struct LowRankSweepState {
    var delta: [[Double]]
    /// F_l, l = 0...L; F_0 is the input kernel factor tiled over time.
    var h: [Matrix]
    /// G^l at index l, l = 1...L+1 (G^{L+1} = 1); index 0 unused.
    var g: [Matrix]
    /// A^l at index l for 1 <= l < L, B^l at index l for 1 <= l < L; other entries empty (zero).
    var a: [Matrix]
    var b: [Matrix]
}

/// One Gauss-Seidel sweep of the closed deep linear equations (paper eqs. 11-12; the map of `DeepLinearDMFT`) on
/// factors: with F = F_{l-1} (H^{l-1} = F F^T) and E E^T = G^{l+1},
///
///     C = A^{l-1} + c0 1[s<t] F f^T,  f(s) = F(s)^T Delta(s);   D = B^l + c0 1[s<t] G^{l+1} Delta;   M_g = (I - D C)^{-1}
///     H^l = M_h [F, C E] [F, C E]^T M_h^T  with  M_h X = X + (C M_g)(D X)     (push-through)
///     G^l = M_g (G^{l+1} + (D F)(D F)^T) M_g^T,   A^l = C M_g,   B^{l-1} = M_g D
///
/// The new factor [F, C E] + A^l (D [F, C E]) has p + q columns and is cut back to its numerical rank
/// (`FactoredKernel.compress`). No (T n)^2 object is formed: O(T^3 n + T^2 n r + T n r^2) per layer.
/// The residual is the dense solver's rho (Delta change in the max norm, relative Frobenius changes of H^l, G^l).
struct LowRankSweep: IterativeMethod {
    let problem: DMFTProblem
    let gradientIndependence: Bool
    let start: LowRankSweepState
    let compressionTolerance: Double

    func initialState() throws -> LowRankSweepState { start }

    /// K[t] = sum_{l=0}^{L} G^{l+1}(t,t) H^l[t,.,t,.] with H^0 = K^x (exact) and H^l(t,t) = F_l(t) F_l(t)^T.
    static func ntk(_ s: LowRankSweepState, problem: DMFTProblem, t: Int) -> Matrix {
        let L = problem.depth, n = problem.n
        var k = problem.data.inputKernel.map { $0 * s.g[1][t, t] }
        for l in 1...L {
            let f = s.h[l]
            let gn = l == L ? 1.0 : s.g[l + 1][t, t]
            if f.cols == 0 { continue }
            f.storage.withUnsafeBufferPointer { fp in k.storage.withUnsafeMutableBufferPointer { kp in
                BLAS.dgemm(m: n, n: n, k: f.cols, fp.baseAddress! + t * n, lda: f.rows, transposeA: false, fp.baseAddress! + t * n,
                           ldb: f.rows, transposeB: true, kp.baseAddress!, ldc: n, alpha: gn, beta: 1)
            } }
        }
        return k
    }

    /// c0 1[s<t] (H Delta)[(t,mu), s] for H = F F^T as a (T n) x T matrix, with its flop count.
    static func deltaDrivenC(factor f: Matrix, delta dpad: [Double], c0: Double, T: Int, n: Int) -> (Matrix, Double) {
        let tn = T * n, p = f.cols
        var c = Matrix(rows: tn, cols: T)
        if p == 0 { return (c, 0) }
        var ft = Matrix(rows: p, cols: T)                     // column s: F(s)^T Delta(s)
        f.storage.withUnsafeBufferPointer { fp in dpad.withUnsafeBufferPointer { dp in ft.storage.withUnsafeMutableBufferPointer { op in
            for s in 0..<T {
                BLAS.dgemv(m: n, n: p, fp.baseAddress! + s * n, lda: tn, transpose: true, dp.baseAddress! + s * n, op.baseAddress! + s * p)
            }
        } } }
        BLAS.gemm(f, ft, alpha: c0, into: &c)
        for s in 0..<T { for i in 0..<min(tn, (s + 1) * n) { c[i, s] = 0 } }   // strictly causal: rows of times t > s
        return (c, 2 * Double(tn * p) + 2 * Double(tn * p * T))
    }

    func step(_ s: inout LowRankSweepState, iteration: Int, damping alpha: Double) throws -> StepResult {
        let L = problem.depth, T = problem.timeSteps, n = problem.n, tn = T * n
        let c0 = problem.eta * problem.gamma0 / Double(problem.p)
        let gi = gradientIndependence
        let euler = problem.eulerTrajectory { t in Self.ntk(s, problem: problem, t: t) }
        if !euler.loss.allSatisfy(\.isFinite) { return .nonFinite(quantity: "loss") }
        var rho = 0.0
        for t in 0..<T { for mu in 0..<problem.p { rho = nanMax(rho, abs(euler.delta[t][mu] - s.delta[t][mu])) } }
        s.delta = euler.delta
        let dpad = problem.paddedDelta(s.delta)
        for l in 1...L {
            let f = s.h[l - 1], p = f.cols
            let gNext = s.g[l + 1]
            var (c, _) = Self.deltaDrivenC(factor: f, delta: dpad, c0: c0, T: T, n: n)
            if !gi && l > 1 { c = c + s.a[l - 1] }
            var d = !gi && l < L ? s.b[l] : Matrix(rows: T, cols: tn)
            for sIdx in 0..<T { for nu in 0..<n {
                let dv = c0 * dpad[sIdx * n + nu]
                if dv == 0 { continue }
                let j = sIdx * n + nu
                for t in (sIdx + 1)..<max(T, sIdx + 1) { d[t, j] += dv * gNext[t, sIdx] }
            } }
            var im = BLAS.gemm(d, c, alpha: -1)                                  // I - D C, unit lower triangular
            for t in 0..<T { im[t, t] += 1 }
            let e = l == L ? Matrix(rows: T, cols: 1, repeating: 1) : try LowRankMarch.symmetricSquareRoot(gNext, relativeTolerance: Double(T) * Double.ulpOfOne)
            let ce = BLAS.gemm(c, e)
            var x = Matrix(rows: tn, cols: p + ce.cols)                         // [F, C E]
            x.storage.replaceSubrange(0..<(tn * p), with: f.storage)
            x.storage.replaceSubrange((tn * p)..<(tn * (p + ce.cols)), with: ce.storage)
            let df = BLAS.gemm(d, f)
            let dx = BLAS.gemm(d, x)                                             // D [F, C E]
            var gl = gNext                                                       // G^l = M_g (G^{l+1} + DF DF^T) M_g^T
            BLAS.gemm(df, df, transposeB: true, alpha: 1, beta: 1, into: &gl)
            BLAS.trsm(im, &gl, upper: false, left: true, unitDiagonal: true)
            BLAS.trsm(im, &gl, upper: false, transpose: true, left: false, unitDiagonal: true)
            gl.symmetrize()
            BLAS.trsm(im, &c, upper: false, left: false, unitDiagonal: true)     // A^l = C M_g
            BLAS.gemm(c, dx, alpha: 1, beta: 1, into: &x)                        // M_h X = X + C M_g D X = X + A^l (D X)
            if !x.allFinite || !gl.allFinite || !c.allFinite || x.maxAbs > 1e100 {
                return .nonFinite(quantity: "layer \(l) kernels (or factors beyond 1e100)")
            }
            var newFactor = x
            if alpha < 1 {
                let old = s.h[l]
                newFactor = Matrix(rows: tn, cols: x.cols + old.cols)
                newFactor.storage.replaceSubrange(0..<(tn * x.cols), with: x.storage.map { $0 * alpha.squareRoot() })
                newFactor.storage.replaceSubrange((tn * x.cols)..<(tn * (x.cols + old.cols)),
                                                  with: old.storage.map { $0 * (1 - alpha).squareRoot() })
            }
            let compressed = try FactoredKernel.compress(newFactor, relativeTolerance: compressionTolerance).factor
            let rh = try FactoredKernel(timeSteps: T, pointCount: n, factor: compressed)
                .relativeDifference(to: FactoredKernel(timeSteps: T, pointCount: n, factor: s.h[l]))
            s.h[l] = compressed
            let rg = s.g[l].damp(toward: gl, weight: alpha)
            rho = nanMax(rho, nanMax(rh, rg))
            if !gi && l < L { _ = s.a[l].damp(toward: c, weight: alpha) }
            if !gi && l >= 2 {
                BLAS.trsm(im, &d, upper: false, left: true, unitDiagonal: true)  // B^{l-1} = M_g D
                _ = s.b[l - 1].damp(toward: d, weight: alpha)
            }
        }
        return .advanced(residual: rho)
    }

    /// Multiply-adds x 2 of one sweep with factor widths `widths` (F_0...F_L), for the benchmark's flop count.
    static func flops(problem: DMFTProblem, widths: [Int], gradientRanks: [Int]) -> Double {
        let L = problem.depth, T = Double(problem.timeSteps), n = Double(problem.n), tn = T * n
        var total = 0.0
        for l in 1...L {
            let p = Double(widths[l - 1]), q = Double(l == L ? 1 : gradientRanks[l]), w = p + q
            total += 2 * tn * p * T                 // F f^T
            total += 2 * T * tn * T                 // D C
            total += 2 * tn * T * q + 2 * T * tn * p + 2 * T * tn * w   // C E, D F, D X
            total += 2 * T * T * p + 2 * T * T * T  // G^l
            total += tn * T * T                     // trsm C M_g
            total += 2 * tn * T * w                 // A^l (M_g D X)
            total += l >= 2 ? tn * T * T : 0        // trsm M_g D
            total += 2 * tn * w * w + 2 * tn * w * Double(widths[l]) * 2   // compression (Gram, F V), QR of [F_new, F_old]
        }
        return total
    }
}
