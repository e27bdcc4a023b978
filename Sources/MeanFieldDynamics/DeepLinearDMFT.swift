import Foundation
import LinearAlgebra
import NumericalCore

/// Options of the deep linear DMFT solver (docs/theory/dmft.md §5).
public struct DeepLinearDMFTOptions: Sendable {
    /// Stop when rho_n = max(|Delta_n - Delta_{n-1}|_inf, max_l |H^l_n - H^l_{n-1}|_F / |H^l_n|_F, same for G) < tolerance.
    public var tolerance: Double
    public var maxIterations: Int
    /// Damping alpha in X <- alpha X_new + (1 - alpha) X for H, G, A, B; backs off to 0.5 when rho grows for more
    /// than 2L + 1 sweeps in a row (the documented 3 sweeps cut the normal transient of deep networks short and then
    /// converge geometrically at rate ~0.6 instead of collapsing).
    public var damping: Double
    /// Gradient independence (A = B = 0; docs/theory/dmft.md §7).
    public var gradientIndependence: Bool
    /// Causal horizon continuation: solve on the first 16, 32, 64, ... grid times and embed each converged solution
    /// in the next (exact by causality). Undamped sweeps over the whole horizon behave like Picard iterations of a
    /// Volterra equation, whose transient grows like e^{c T} and overflows at large gamma0 and depth (e.g. L = 5,
    /// gamma0 = 1.5, T = 100); doubling horizons keep the transient small at ~1.15x the cost of one solve.
    public var horizonContinuation: Bool

    public init(tolerance: Double = 1e-8, maxIterations: Int = 200, damping: Double = 1, gradientIndependence: Bool = false,
                horizonContinuation: Bool = true) {
        self.tolerance = tolerance; self.maxIterations = maxIterations; self.damping = damping
        self.gradientIndependence = gradientIndependence; self.horizonContinuation = horizonContinuation
    }

    public func validate() throws {
        try Validate.positive("tolerance", tolerance)
        try Validate.inRange("iterations", maxIterations, 1...100_000)
        try Validate.inRange("damping", damping, 0.01...1)
    }
}

/// The result of a deep linear DMFT solve.
public struct DeepLinearDMFTSolution: Sendable {
    /// Loss, Delta, predictions, H^l (as `kernelPhi`), G^l (T x T) and the NTK.
    public var trajectory: KernelTrajectory
    /// A^l, l = 1..L-1, grid normalized, (T n) x T: entry (t n + mu, s) = A^l[t, mu, s] (strictly causal).
    public var responseA: [Matrix]
    /// B^l, l = 1..L-1, grid normalized, T x (T n): entry (t, s n + nu) = B^l[t, s, nu] (strictly causal).
    public var responseB: [Matrix]
    public var record: ConvergenceRecord
    /// The damping finally used.
    public var damping: Double
}

/// Deep linear DMFT (phi(h) = h), the closed matrix equations of docs/theory/dmft.md §5:
///
///     C = A^{l-1} + (eta gamma0/P) 1[s<t] H^{l-1} Delta,   D = B^l + (eta gamma0/P) 1[s<t] G^{l+1} Delta
///     M_g = (I_T - D C)^{-1},  M_h = I + C M_g D  (push-through)
///     H^l = M_h (H^{l-1} + C G^{l+1} C^T) M_h^T,  G^l = M_g (G^{l+1} + D H^{l-1} D^T) M_g^T
///     A^l = C M_g,  B^{l-1} = M_g D
///
/// (paper eqs. 11-12 with gamma0 absorbed in C, D). I - D C is unit lower triangular, so M_g is applied by
/// forward substitution (`trsm`), and no (TP) x (TP) inverse is formed: O(T^3 P^2) per layer. The layers are
/// swept Gauss-Seidel with the Euler Delta update until rho < tolerance.
public enum DeepLinearDMFT {
    /// Memory a solve needs (bytes): L + 1 kernels of (T n)^2 plus work space.
    public static func memoryEstimate(_ p: DMFTProblem) -> Int {
        let tn = MemoryBudget.product(p.timeSteps, p.n)
        return MemoryBudget.product(8, p.depth + 5, tn, tn)
    }

    /// Solves the deep linear DMFT iteratively (any L). Throws for non-linear activations and too-large grids.
    public static func solve(_ problem: DMFTProblem, options: DeepLinearDMFTOptions = DeepLinearDMFTOptions(),
                             progress: ((IterationReport) -> Void)? = nil) throws -> DeepLinearDMFTSolution {
        try options.validate()
        guard problem.activation.kind == .linear else {
            throw SolvableError.invalidParameter(name: "activation", value: problem.activation.name,
                                                 allowed: "linear for the deep linear solver (use NonlinearDMFT)")
        }
        try MemoryBudget.check(memoryEstimate(problem), hint: "reduce steps T or points P")
        let clock = Stopwatch()
        var horizons: [Int] = []
        if options.horizonContinuation {
            var h = 16
            while h < problem.timeSteps { horizons.append(h); h *= 2 }
        }
        horizons.append(problem.timeSteps)
        var previous: DeepLinearDMFTSolution? = nil
        var records: [ConvergenceRecord] = []
        let iteration = IterationOptions(tolerance: options.tolerance, maxIterations: options.maxIterations,
                                         damping: options.damping,
                                         backoff: DampingBackoff(afterGrowingIterations: 2 * problem.depth + 2, damping: 0.5))
        for h in horizons {
            let sub = try DMFTProblem(data: problem.data, depth: problem.depth, activation: problem.activation,
                                      gamma0: problem.gamma0, eta: problem.eta, timeSteps: h)
            let sweeps = DeepLinearSweeps(problem: sub, gradientIndependence: options.gradientIndependence, initial: previous)
            let s = try solveIteratively(sweeps, options: iteration, progress: progress)
            previous = sweeps.solution(s)
            records.append(s.record)
            if s.status != .converged { break }
        }
        var out = previous!
        let last = horizons.last!
        var message = out.record.message
        if out.trajectory.timeSteps != last { message = "stopped at horizon \(out.trajectory.timeSteps) of \(last): " + (message ?? "") }
        out.record = ConvergenceRecord(status: SolverStatus.worst(records.map(\.status)), iterations: records.map(\.iterations).reduce(0, +),
                                       residualHistory: records.flatMap(\.residualHistory), tolerance: options.tolerance,
                                       elapsedSeconds: clock.elapsed,
                                       message: message ?? (horizons.count > 1 ? "horizons \(horizons)" : nil))
        out.record.damping = records.last?.damping
        out.record.nonFiniteFrom = records.last?.nonFiniteFrom
        return out
    }

    /// K[t] = sum_{l=0}^{L} G^{l+1}(t,t) H^l[t, ., t, .] (G^{L+1} = 1, H^0 = K^x).
    static func ntk(H: [Matrix], G: [Matrix], L: Int, n: Int, t: Int) -> Matrix {
        var k = Matrix(rows: n, cols: n)
        for l in 0...L {
            let g = G[l + 1][t, t]
            let h = H[l]
            for nu in 0..<n { for mu in 0..<n { k[mu, nu] += g * h[t * n + mu, t * n + nu] } }
        }
        return k
    }

    /// One layer of docs/theory/dmft.md §5 given its neighbours; writes the damped H^l, alpha H^l_new + (1 - alpha) `old`,
    /// into `h` (using `z` as work space, all (T n) x (T n)) and returns G^l, A^l = C M_g, B^{l-1} = M_g D and
    /// |H^l - old|_F / |H^l|_F (non-finite when any entry is).
    static func layerUpdate(hPrev: Matrix, gNext: Matrix, aPrev: Matrix, b: Matrix, delta: [Double], c0: Double,
                            T: Int, n: Int, gi: Bool, z: inout Matrix, old: Matrix, alpha: Double, into h: inout Matrix)
        -> (g: Matrix, a: Matrix, bPrev: Matrix, hChange: Double) {
        let tn = T * n
        // C[(t,mu), s] = A^{l-1} + c0 1[s<t] sum_nu H^{l-1}[(t,mu),(s,nu)] Delta[s,nu]
        // (memory-bound passes over (T n)^2 matrices run on the thread budget, each column or tile by one worker, so
        // the result does not depend on the thread count)
        var C = gi ? Matrix(rows: tn, cols: T) : aPrev
        hPrev.storage.withUnsafeBufferPointer { hp in
            C.storage.withUnsafeMutableBufferPointer { cp in
                ThreadPolicy.parallelFor(T) { s in
                    for nu in 0..<n {
                        let dv = c0 * delta[s * n + nu]
                        if dv == 0 { continue }
                        let col = (s * n + nu) * tn
                        for i in ((s + 1) * n)..<tn { cp[s * tn + i] += dv * hp[col + i] }
                    }
                }
            }
        }
        // D[t, (s,nu)] = B^l + c0 1[s<t] G^{l+1}[t,s] Delta[s,nu]
        var D = gi ? Matrix(rows: T, cols: tn) : b
        for s in 0..<T { for nu in 0..<n {
            let dv = c0 * delta[s * n + nu]
            if dv == 0 { continue }
            let j = s * n + nu
            for t in (s + 1)..<max(T, s + 1) { D.storage[j * T + t] += dv * gNext[t, s] }
        } }
        // I - D C, unit lower triangular
        var im = BLAS.gemm(D, C, alpha: -1)
        for t in 0..<T { im[t, t] += 1 }
        var aNew = C
        BLAS.trsm(im, &aNew, upper: false, left: false, unitDiagonal: true)       // C M_g
        var bNew = D
        BLAS.trsm(im, &bNew, upper: false, left: true, unitDiagonal: true)        // M_g D
        // G^l = M_g (G^{l+1} + D H^{l-1} D^T) M_g^T
        // D H^{l-1} in one gemm: H^{l-1} is packed once (a staircase split by rows of D re-packs H per block;
        // with T rows of D that packing cost more than the flops it saved).
        let dh = BLAS.gemm(D, hPrev)
        var s1 = gNext
        BLAS.gemm(dh, D, transposeB: true, alpha: 1, beta: 1, into: &s1)
        BLAS.trsm(im, &s1, upper: false, left: true, unitDiagonal: true)
        BLAS.trsm(im, &s1, upper: false, transpose: true, left: false, unitDiagonal: true)
        s1.symmetrize()
        // H^l = H^{l-1} + Z + Z^T, Z = (1/2) C G C^T + A V, V = W + (1/2) S A^T, W = D X, S = W D^T
        let dc = BLAS.gemm(D, C)                                                   // T x T
        var w = dh
        let dcg = BLAS.gemm(dc, gNext)
        BLAS.gemm(dcg, C, transposeB: true, alpha: 1, beta: 1, into: &w)          // W = D X
        let sMat = BLAS.gemm(w, D, transposeB: true)                               // T x T
        var v = w
        BLAS.gemm(sMat, aNew, transposeB: true, alpha: 0.5, beta: 1, into: &v)     // V
        let gct = BLAS.gemm(gNext, C, transposeB: true, alpha: 0.5)               // (1/2) G C^T, T x TN
        // Z = [C | A] [(1/2) G C^T ; V]; rows of time t only use columns s < t of C and A. The factors are
        // interleaved (U column 2s = C_s, 2s+1 = A_s; Y rows likewise) so that a block of rows is one gemm whose
        // inner dimension stops at its last time (a staircase in 4 row blocks, k >= T/2).
        var U = Matrix(rows: tn, cols: 2 * T), Y = Matrix(rows: 2 * T, cols: tn)
        for s in 0..<T {
            for i in 0..<tn { U.storage[2 * s * tn + i] = C.storage[s * tn + i]; U.storage[(2 * s + 1) * tn + i] = aNew.storage[s * tn + i] }
        }
        for j in 0..<tn { for s in 0..<T {
            Y.storage[j * 2 * T + 2 * s] = gct.storage[j * T + s]; Y.storage[j * 2 * T + 2 * s + 1] = v.storage[j * T + s]
        } }
        let blockT = max(1, (T + 3) / 4)
        U.storage.withUnsafeBufferPointer { up in Y.storage.withUnsafeBufferPointer { yp in
        z.storage.withUnsafeMutableBufferPointer { zp in
            for t0 in stride(from: 0, to: T, by: blockT) {
                let t1 = min(T, t0 + blockT)
                let k = 2 * (t1 - 1)
                let m = (t1 - t0) * n
                if k == 0 {   // no earlier times: these rows of Z are zero
                    for j in 0..<tn { for i in (t0 * n)..<(t1 * n) { zp[j * tn + i] = 0 } }
                    continue
                }
                BLAS.dgemm(m: m, n: tn, k: k, up.baseAddress! + t0 * n, lda: tn, transposeA: false,
                           yp.baseAddress!, ldb: 2 * T, transposeB: false, zp.baseAddress! + t0 * n, ldc: tn)
            }
        } } }
        // H^l = H^{l-1} + Z + Z^T, damped against the old H^l, with the change norms, in one pass over 64 x 64
        // tiles (the transposed reads of Z stay in cache)
        let tile = 64, tileColumns = (tn + tile - 1) / tile
        var partial = [Double](repeating: 0, count: 2 * tileColumns)   // (diff2, norm2) per tile column, summed in order
        h.storage.withUnsafeMutableBufferPointer { hp in
            z.storage.withUnsafeBufferPointer { zp in hPrev.storage.withUnsafeBufferPointer { pp in
            old.storage.withUnsafeBufferPointer { op in partial.withUnsafeMutableBufferPointer { part in
                // tile column jb writes the entries (i, j), (j, i) with i <= j in its columns j: each entry once
                ThreadPolicy.parallelFor(tileColumns) { c in
                    let jb = c * tile, je = min(tn, jb + tile)
                    var diff2 = 0.0, norm2 = 0.0
                    for ib in stride(from: 0, through: jb, by: tile) {
                        let ie = min(tn, ib + tile)
                        for j in jb..<je { for i in ib..<min(ie, j + 1) {
                            let val = pp[j * tn + i] + zp[j * tn + i] + zp[i * tn + j]
                            let o = op[j * tn + i]
                            let v = alpha * val + (1 - alpha) * o
                            let d = v - o, w = i == j ? 1.0 : 2.0   // off-diagonal entries stand for two
                            diff2 += w * d * d; norm2 += w * v * v
                            hp[j * tn + i] = v; hp[i * tn + j] = v
                        } }
                    }
                    part[2 * c] = diff2; part[2 * c + 1] = norm2
                }
            } } } }
        }
        var diff2 = 0.0, norm2 = 0.0
        for c in 0..<tileColumns { diff2 += partial[2 * c]; norm2 += partial[2 * c + 1] }
        return (s1, aNew, bNew, norm2.isFinite && diff2.isFinite ? relativeChange(diff2: diff2, norm2: norm2) : .nan)
    }
}
