import Foundation
import LinearAlgebra
import NumericalCore

// The per-path work of the Monte Carlo DMFT (paper eqs. 9-10 on the time grid): the forward sweep of the fields
// of S paths at once, the exact discrete-time output, and the response functions from forward Jacobian recursions.
// See docs/theory/dmft.md.

extension NonlinearDMFT {
    struct Fields { var h: Matrix; var phi: Matrix; var z: Matrix; var g: Matrix }

    /// Exact discrete-time output from the top-layer paths: f_mu(t) = (1/(gamma0 S)) sum_i z_i(t) phi(h_i,mu(t)),
    /// centered at t = 0; Delta = y - f on training points.
    static func exactTrajectory(_ f: Fields, problem: DMFTProblem, S: Int) -> (delta: [[Double]], predictions: [[Double]], loss: [Double]) {
        let T = problem.timeSteps, n = problem.n, p = problem.p
        var raw = [[Double]](repeating: [Double](repeating: 0, count: n), count: T)
        for t in 0..<T { for mu in 0..<n {
            let j = (t * n + mu) * S
            var acc = 0.0
            for i in 0..<S { acc += f.z.storage[j + i] * f.phi.storage[j + i] }
            raw[t][mu] = acc / (problem.gamma0 * Double(S))
        } }
        let preds = raw.map { r in (0..<n).map { r[$0] - raw[0][$0] } }
        let deltas = preds.map { pr in (0..<p).map { problem.data.targets[$0] - pr[$0] } }
        let loss = deltas.map { d in d.reduce(0) { $0 + $1 * $1 } / (2 * Double(p)) }
        return (deltas, preds, loss)
    }

    /// The forward sweep of docs/theory/dmft.md §4 for all S paths at once (rows are paths):
    /// h(t) = u(t) + sum_{s<t} M(t,s) g(s); phi(h(t)); z(t) = r(t) + sum_{s<=t} N(t,s) phi(h(s)); g(t) = phi'(h(t)) z(t).
    static func solveFields(u: Matrix, r: Matrix, M: Matrix, N: Matrix, act: Activation, S: Int, T: Int, n: Int) -> Fields {
        let tn = T * n
        var h = u, z = r
        var ph = Matrix(rows: S, cols: tn), g = Matrix(rows: S, cols: tn)
        h.storage.withUnsafeMutableBufferPointer { hp in
        z.storage.withUnsafeMutableBufferPointer { zp in
        ph.storage.withUnsafeMutableBufferPointer { pp in
        g.storage.withUnsafeMutableBufferPointer { gp in
        M.storage.withUnsafeBufferPointer { mp in
        N.storage.withUnsafeBufferPointer { np in
            for t in 0..<T {
                let off = t * n * S
                if t > 0 {
                    BLAS.dgemm(m: S, n: n, k: t * n, gp.baseAddress!, lda: S, transposeA: false,
                               mp.baseAddress! + t * n, ldb: tn, transposeB: true, hp.baseAddress! + off, ldc: S, alpha: 1, beta: 1)
                }
                for i in off..<(off + n * S) { pp[i] = act.phi(hp[i]) }
                BLAS.dgemm(m: S, n: n, k: (t + 1) * n, pp.baseAddress!, lda: S, transposeA: false,
                           np.baseAddress! + t * n, ldb: tn, transposeB: true, zp.baseAddress! + off, ldc: S, alpha: 1, beta: 1)
                for i in off..<(off + n * S) { gp[i] = act.derivative(hp[i]) * zp[i] }
            }
        } } } } } }
        return Fields(h: h, phi: ph, z: z, g: g)
    }

    /// Averaged response functions by forward Jacobian recursions per path (docs/theory/dmft.md §6, step 4):
    ///
    ///     J_h(t) = E_h(t) + sum_{t'<t} M(t,t') J_g(t'),   J_z(t) = E_z(t) + sum_{t'<=t} N(t,t') phi'(h(t')) J_h(t'),
    ///     J_g(t) = phi''(h(t)) z(t) J_h(t) + phi'(h(t)) J_z(t),
    ///
    /// with (E_h, E_z) = (0, I) for derivatives by r (A^l = <phi'(h) J_hr>) and (I, 0) for derivatives by u
    /// (B^{l-1} = <J_gu>). Only the causal triangle is computed: a Jacobian J(t, s) vanishes for t < s, so the
    /// contribution of earlier time blocks is a staircase of gemms whose inner dimension starts at the column
    /// block's time (about (T n)^3 / 6 multiply-adds per gemm, path and mode instead of (T n)^3 / 3).
    ///
    /// The recursions run in `Scalar` (Float unless `NonlinearDMFTOptions.singlePrecisionResponses` is off): their
    /// rounding error, ~1e-6 relative, is far below the Monte Carlo error ~1/sqrt(S) of the averages (measured in
    /// MonteCarloTests), and sgemm runs at twice the rate of dgemm. The path sums are accumulated in Double.
    ///
    /// One path at a time: its three (T n)^2 Jacobians (3 MB at T n = 500 in single precision) stay in cache.
    /// Batching paths side by side into one gemm per batch (M and N are shared) was measured slower (8 paths:
    /// 1.6x, 16: 2.9x on the bench case), the working set then streams from memory.
    static func responses<Scalar: ResponseScalar>(fields f: Fields, M: Matrix, N: Matrix, act: Activation, S: Int, T: Int, n: Int,
                                                  wantA: Bool, wantB: Bool, threads: Int, precision: Scalar.Type) -> (a: Matrix, b: Matrix) {
        let tn = T * n
        // Paths are summed in fixed chunks (chunk c holds paths c*chunk ..< (c+1)*chunk), each chunk sequentially,
        // and the chunk sums are added in chunk order, so the result does not depend on the number of threads.
        // Chunks run `workers` at a time, so memory stays at `workers` accumulators.
        let chunk = 32
        let chunks = (S + chunk - 1) / chunk
        let workers = max(1, min(threads, chunks))
        var a = Matrix(rows: tn, cols: tn), b = Matrix(rows: tn, cols: tn)
        let inv = 1 / Double(S)
        let mS = M.storage.map { Scalar($0) }, nS = N.storage.map { Scalar($0) }
        let bt = max(1, min(T, 96 / max(1, n)))
        var firstChunk = 0
        while firstChunk < chunks {
        let round = min(workers, chunks - firstChunk)
        let parts: [(Matrix, Matrix)] = ThreadPolicy.parallelMap(round, threads: round) { w in
            var accA = Matrix(rows: wantA ? tn : 0, cols: wantA ? tn : 0)
            var accB = Matrix(rows: wantB ? tn : 0, cols: wantB ? tn : 0)
            // Entries a path never writes (J(t, s) for s beyond t's time) stay zero from here on.
            // nd = N diag(phi'(h)) of the path, so that J_z = E_z + nd J_h needs no scaled copy of J_h per step
            var jh = [Scalar](repeating: 0, count: tn * tn), jg = jh, nd = jh
            var jz = [Scalar](repeating: 0, count: bt * n * tn)
            var d1 = [Scalar](repeating: 0, count: tn), d2 = d1
            var path = (firstChunk + w) * chunk
            let lastPath = min(S, path + chunk)
            while path < lastPath {
                for j in 0..<tn {
                    let hv = f.h.storage[j * S + path]
                    d1[j] = Scalar(act.derivative(hv))
                    d2[j] = Scalar(act.secondDerivative(hv) * f.z.storage[j * S + path])
                }
                nS.withUnsafeBufferPointer { np in
                    nd.withUnsafeMutableBufferPointer { ndp in
                        for k in 0..<tn { let d = d1[k], c = k * tn; for i in ((k / n) * n)..<tn { ndp[c + i] = np[c + i] * d } }
                    }
                }
                for mode in 0..<2 {
                    if mode == 0 && !wantA { continue }
                    if mode == 1 && !wantB { continue }
                    let isR = mode == 0
                    mS.withUnsafeBufferPointer { mp in
                    nd.withUnsafeBufferPointer { np in
                    jh.withUnsafeMutableBufferPointer { jhp in
                    jg.withUnsafeMutableBufferPointer { jgp in
                    jz.withUnsafeMutableBufferPointer { jzp in
                    d1.withUnsafeBufferPointer { d1p in
                    d2.withUnsafeBufferPointer { d2p in
                        let m0 = mp.baseAddress!, n0 = np.baseAddress!, jh0 = jhp.baseAddress!, jg0 = jgp.baseAddress!
                        let jz0 = jzp.baseAddress!
                        // Blocked in time (blocks of `bt` steps): the contributions of all earlier blocks to a
                        // block's J_h and J_z rows are gemms with bt n rows (instead of n-row gemms per step,
                        // which re-pack the growing Jacobian at every t); inside a block the recursion runs step
                        // by step. Columns beyond a row's time are zero by causality and are skipped.
                        for t0 in stride(from: 0, to: T, by: bt) {
                            let t1 = min(T, t0 + bt), R0 = t0 * n, R1 = t1 * n, bn = R1 - R0
                            // the staircase below writes the columns of earlier sources (beta = 0); the block's own
                            // sources start from zero and the identity
                            for j in R0..<R1 { for i in R0..<R1 { jhp[j * tn + i] = 0 } }
                            for j in R0..<R1 { for i in 0..<bn { jzp[j * bn + i] = 0 } }
                            if !isR { for i in R0..<R1 { jhp[i * tn + i] = 1 } } else { for i in 0..<bn { jzp[(R0 + i) * bn + i] = 1 } }
                            // J(k, c) = 0 for time(k) < time(c): column block [C0, C1) needs rows k >= C0 only
                            for C0 in stride(from: 0, to: R0, by: bn) {
                                let C1 = min(R0, C0 + bn)
                                Scalar.gemm(m: bn, n: C1 - C0, k: R0 - C0, m0 + C0 * tn + R0, lda: tn,
                                            jg0 + C0 * tn + C0, ldb: tn, jh0 + C0 * tn + R0, ldc: tn, beta: 0)
                                Scalar.gemm(m: bn, n: C1 - C0, k: R0 - C0, n0 + C0 * tn + R0, lda: tn,
                                            jh0 + C0 * tn + C0, ldb: tn, jz0 + C0 * bn, ldc: bn, beta: 0)
                            }
                            for t in t0..<t1 {
                                let r0 = t * n, cols = (t + 1) * n, zr = r0 - R0
                                if t > t0 {
                                    Scalar.gemm(m: n, n: r0, k: r0 - R0, m0 + R0 * tn + r0, lda: tn,
                                                jg0 + R0, ldb: tn, jh0 + r0, ldc: tn, beta: 1)
                                }
                                Scalar.gemm(m: n, n: cols, k: cols - R0, n0 + R0 * tn + r0, lda: tn,
                                            jh0 + R0, ldb: tn, jz0 + zr, ldc: bn, beta: 1)
                                for j in 0..<cols {
                                    let c = j * tn + r0, cz = j * bn + zr
                                    for i in 0..<n { jgp[c + i] = d2p[r0 + i] * jhp[c + i] + d1p[r0 + i] * jzp[cz + i] }
                                }
                            }
                        }
                    } } } } } } }
                    if isR {
                        // A^l = <phi'(h) J_hr>
                        accA.storage.withUnsafeMutableBufferPointer { ap in
                            jh.withUnsafeBufferPointer { jhp in
                                for j in 0..<tn { let t0 = j / n; for i in ((t0 + 1) * n)..<tn { ap[j * tn + i] += Double(d1[i] * jhp[j * tn + i]) } }
                            }
                        }
                    } else {
                        accB.storage.withUnsafeMutableBufferPointer { bp in
                            jg.withUnsafeBufferPointer { jgp in
                                for j in 0..<tn { let t0 = j / n; for i in (t0 * n)..<tn { bp[j * tn + i] += Double(jgp[j * tn + i]) } }
                            }
                        }
                    }
                }
                path += 1
            }
            return (accA, accB)
        }
        for p in parts {
            if wantA { for i in 0..<a.storage.count { a.storage[i] += inv * p.0.storage[i] } }
            if wantB { for i in 0..<b.storage.count { b.storage[i] += inv * p.1.storage[i] } }
        }
        firstChunk += round
        }
        return (a, b)
    }
}

/// The floating-point type of the Monte Carlo Jacobian recursions: C = A B + beta C on raw column-major buffers.
protocol ResponseScalar: BinaryFloatingPoint {
    init(_ v: Double)
    static func gemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Self>, lda: Int, _ b: UnsafePointer<Self>, ldb: Int,
                     _ c: UnsafeMutablePointer<Self>, ldc: Int, beta: Self)
}


extension Float: ResponseScalar {
    static func gemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                     _ c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float) {
        if m == 0 || n == 0 || k == 0 { return }
        BLAS.sgemm(m: m, n: n, k: k, a, lda: lda, transposeA: false, b, ldb: ldb, transposeB: false, c, ldc: ldc, alpha: 1, beta: beta)
    }
}

extension Double: ResponseScalar {
    static func gemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Double>, lda: Int, _ b: UnsafePointer<Double>, ldb: Int,
                     _ c: UnsafeMutablePointer<Double>, ldc: Int, beta: Double) {
        if m == 0 || n == 0 || k == 0 { return }
        BLAS.dgemm(m: m, n: n, k: k, a, lda: lda, transposeA: false, b, ldb: ldb, transposeB: false, c, ldc: ldc, alpha: 1, beta: beta)
    }
}
