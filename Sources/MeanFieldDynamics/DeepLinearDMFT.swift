import Foundation
import LinearAlgebra
import NumericalCore

/// Options of the deep linear DMFT solver (spec section 5).
public struct DeepLinearDMFTOptions: Sendable {
    /// Stop when rho_n = max(|Delta_n - Delta_{n-1}|_inf, max_l |H^l_n - H^l_{n-1}|_F / |H^l_n|_F, same for G) < tolerance.
    public var tolerance: Double
    public var maxIterations: Int
    /// Damping alpha in X <- alpha X_new + (1 - alpha) X for H, G, A, B; backs off to 0.5 when rho grows for more
    /// than 2L + 1 sweeps in a row (the spec's 3 sweeps cut the normal transient of deep networks short and then
    /// converge geometrically at rate ~0.6 instead of collapsing).
    public var damping: Double
    /// Gradient independence (A = B = 0; spec section 7).
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

/// Deep linear DMFT (phi(h) = h), the closed matrix equations of spec section 5:
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
                             progress: ((Int, Double) -> Void)? = nil) throws -> DeepLinearDMFTSolution {
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
        var history: [Double] = [], iterations = 0, statuses: [SolverStatus] = []
        for h in horizons {
            let sub = try DMFTProblem(data: problem.data, depth: problem.depth, activation: problem.activation,
                                      gamma0: problem.gamma0, eta: problem.eta, timeSteps: h)
            let s = iterate(sub, options: options, initial: previous, progress: progress)
            history += s.record.residualHistory; iterations += s.record.iterations; statuses.append(s.record.status)
            previous = s
            if s.record.status != .converged { break }
        }
        var out = previous!
        let last = horizons.last!
        if out.trajectory.timeSteps != last { out.record.message = "stopped at horizon \(out.trajectory.timeSteps) of \(last): " + (out.record.message ?? "") }
        out.record = ConvergenceRecord(status: SolverStatus.worst(statuses), iterations: iterations, residualHistory: history,
                                       tolerance: options.tolerance, elapsedSeconds: clock.elapsed,
                                       message: out.record.message ?? (horizons.count > 1 ? "horizons \(horizons)" : nil))
        return out
    }

    /// True when every entry is finite (a sum over the entries, which is non-finite otherwise or on overflow).
    static func allFinite(_ m: Matrix) -> Bool {
        m.storage.withUnsafeBufferPointer { p in
            var acc = 0.0
            for v in p { acc += v * 0 }
            return acc == 0
        }
    }

    /// NaN-propagating maximum (a non-finite residual must never look converged).
    static func nanMax(_ a: Double, _ b: Double) -> Double { (a.isNaN || b.isNaN) ? .nan : max(a, b) }

    /// Gauss-Seidel sweeps on `problem`'s grid, starting from the static kernels with the top-left (earlier-time)
    /// blocks of `initial` embedded when given.
    static func iterate(_ problem: DMFTProblem, options: DeepLinearDMFTOptions, initial: DeepLinearDMFTSolution?,
                        progress: ((Int, Double) -> Void)?) -> DeepLinearDMFTSolution {
        let clock = Stopwatch()
        let L = problem.depth, T = problem.timeSteps, n = problem.n, tn = T * n
        let c0 = problem.eta * problem.gamma0 / Double(problem.p)
        let kx = problem.data.inputKernel
        let h0 = Matrix(rows: tn, cols: tn) { i, j in kx[i % n, j % n] }
        var H = [h0] + [Matrix](repeating: h0, count: L)               // H[l], l = 0...L
        var G = [Matrix](repeating: Matrix(rows: T, cols: T, repeating: 1), count: L + 2)  // G[l], l = 1...L+1 (G[0] unused)
        var A = [Matrix](repeating: Matrix(rows: tn, cols: T), count: L + 1)  // A[l], l = 0..<L (A[0] = 0)
        var B = [Matrix](repeating: Matrix(rows: T, cols: tn), count: L + 1)  // B[l], l = 1...L (B[L] = 0)
        var delta = [[Double]](repeating: problem.data.targets, count: T)
        if let ini = initial {
            // embed the converged earlier-time blocks (exact by causality)
            let h = ini.trajectory.timeSteps, hn = h * n
            func embed(_ dst: inout Matrix, _ src: Matrix) {
                for j in 0..<src.cols { for i in 0..<src.rows { dst[i, j] = src[i, j] } }
            }
            for l in 1...L {
                embed(&H[l], ini.trajectory.kernelPhi[l - 1]); embed(&G[l], ini.trajectory.kernelG[l - 1])
            }
            for l in 1..<L where !ini.responseA.isEmpty {
                embed(&A[l], ini.responseA[l - 1]); embed(&B[l], ini.responseB[l - 1])
            }
            _ = hn
        }
        var alpha = options.damping
        var history: [Double] = []
        var status = SolverStatus.maxIterations
        var growth = 0
        var euler = problem.eulerTrajectory { _ in Matrix(rows: n, cols: n) }
        var message: String? = nil
        // Work space reused by every layer update (no fresh (T n)^2 allocations, hence no page faults, per sweep).
        // H^l is written into spare[l], which is then swapped with H[l]: the old H^l stays referenced only by `good`
        // (the divergence-recovery state), and at the next sweep, when `good` moves on, only by spare[l], which is
        // overwritten in place. So no (T n)^2 matrix is copied for recovery.
        var zWork = Matrix(rows: tn, cols: tn)
        var spare = (0...L).map { _ in Matrix(rows: tn, cols: tn) }
        var overflowLayer: Int? = nil
        // the state at the start of the current sweep, whose loss is finite (shares its H^l buffers, see `spare`)
        var good: (H: [Matrix], G: [Matrix], A: [Matrix], B: [Matrix])? = nil
        for iter in 1...options.maxIterations {
            euler = problem.eulerTrajectory { t in ntk(H: H, G: G, L: L, n: n, t: t) }
            if !euler.loss.allSatisfy(\.isFinite) {
                // the kernels of the last sweep drive the loss to overflow: go back to the last good ones
                if let g = good { H = g.H; G = g.G; A = g.A; B = g.B }
                status = .diverged
                message = "the loss became non-finite at sweep \(iter) (returning the last iterate with a finite loss)"
                break
            }
            good = (H, G, A, B)
            var rho = 0.0
            for t in 0..<T { for mu in 0..<problem.p { rho = nanMax(rho, abs(euler.delta[t][mu] - delta[t][mu])) } }
            delta = euler.delta
            let dpad = problem.paddedDelta(delta)
            for l in 1...L {
                let new = layerUpdate(hPrev: H[l - 1], gNext: G[l + 1], aPrev: A[l - 1], b: B[l], delta: dpad,
                                      c0: c0, T: T, n: n, gi: options.gradientIndependence, z: &zWork,
                                      old: H[l], alpha: alpha, into: &spare[l])
                // a non-finite update is never applied: the state stays the last finite one, marked diverged
                // (new.hChange is non-finite when any entry of the new H^l is)
                if !new.hChange.isFinite || !allFinite(new.g) { overflowLayer = l; break }
                swap(&H[l], &spare[l])
                rho = nanMax(rho, nanMax(new.hChange, damp(&G[l], new.g, alpha)))
                if l < L && !options.gradientIndependence { _ = damp(&A[l], new.a, alpha) }
                if l >= 2 && !options.gradientIndependence { _ = damp(&B[l - 1], new.bPrev, alpha) }
            }
            if let l = overflowLayer {
                if let g = good { H = g.H; G = g.G; A = g.A; B = g.B }
                status = .diverged
                message = "layer \(l) update became non-finite at sweep \(iter) (returning the last finite iterate)"
                break
            }
            history.append(rho)
            progress?(iter, rho)
            if !rho.isFinite { status = .diverged; message = "residual became non-finite at sweep \(iter)"; break }
            if rho < options.tolerance { status = .converged; break }
            if history.count >= 2 && rho > history[history.count - 2] { growth += 1 } else { growth = 0 }
            // Undamped sweeps show a transient growth of about 2L sweeps (information climbs the layers) before
            // they collapse; back off only when the growth outlasts it.
            if growth >= 2 * L + 2 && alpha > 0.5 { alpha = 0.5; growth = 0 }
        }
        if status == .maxIterations { message = "rho = \(history.last ?? .nan) after \(history.count) sweeps (tolerance \(options.tolerance))" }
        // Final Delta consistent with the final kernels.
        euler = problem.eulerTrajectory { t in ntk(H: H, G: G, L: L, n: n, t: t) }
        let traj = KernelTrajectory(timeSteps: T, trainCount: problem.p, pointCount: n, depth: L, loss: euler.loss,
                                    delta: euler.delta, predictions: euler.predictions, kernelPhi: Array(H[1...L]),
                                    kernelG: Array(G[1...L]), ntk: (0..<T).map { ntk(H: H, G: G, L: L, n: n, t: $0) })
        let record = ConvergenceRecord(status: status, iterations: history.count, residualHistory: history,
                                       tolerance: options.tolerance, elapsedSeconds: clock.elapsed, message: message)
        return DeepLinearDMFTSolution(trajectory: traj, responseA: L > 1 ? Array(A[1..<L]) : [],
                                      responseB: L > 1 ? Array(B[1..<L]) : [], record: record, damping: alpha)
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

    /// X <- alpha new + (1 - alpha) X; returns |X_new_damped - X_old|_F / |X_new_damped|_F.
    static func damp(_ x: inout Matrix, _ new: Matrix, _ alpha: Double) -> Double {
        var diff = 0.0, norm = 0.0
        for i in 0..<x.storage.count {
            let v = alpha * new.storage[i] + (1 - alpha) * x.storage[i]
            let d = v - x.storage[i]
            diff += d * d; norm += v * v
            x.storage[i] = v
        }
        return relativeChange(diff2: diff, norm2: norm)
    }

    /// |X_new - X_old|_F / |X_new|_F from the two squared norms (the absolute change when X_new = 0).
    static func relativeChange(diff2: Double, norm2: Double) -> Double {
        norm2 > 0 ? (diff2 / norm2).squareRoot() : diff2.squareRoot()
    }

    /// One layer of spec section 5 given its neighbours; writes the damped H^l, alpha H^l_new + (1 - alpha) `old`,
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
