import Foundation
import LinearAlgebra
import NumericalCore

/// Deep linear network, P = 1, trained: the O(1/N) propagator from the Hessian of the full DMFT
/// action (docs/theory/finite-width.md §6). Order parameters (all T x T): H^l, G^l (l = 1..L), their duals, A^l, B^l (l = 1..L-1,
/// mutually conjugate), plus Delta and its dual (T each):
///
///     C_l = gamma0 (Theta_Delta (.) H^{l-1} + A^{l-1}) ,  D_l = gamma0 (Theta_Delta (.) G^{l+1} + B^l) ,  Theta_Delta = eta Theta diag(Delta)
///     M_l = [[-Hh, 0, I, -D^T], [0, -Gh, -C^T, I], [I, -C, H^{l-1}, 0], [-D, I, 0, G^{l+1}]]
///     S = 1/2 sum <H, Hh> + 1/2 sum <G, Gh> - gamma0^2 sum Tr(A^l B^l) - 1/2 sum ln det M_l + Dh.(Delta - y + eta Theta k Delta)
///
/// with k(t) = sum_{l=0}^{L} G^{l+1}(t,t) H^l(t,t), H^0 = G^{L+1} = 1, A^0 = B^L = 0 (A, B in the normalization
/// A = gamma0^{-1} A_grid). Sigma = -[grad^2 S]^{-1} restricted to the order parameters. The gradient is analytic
/// (d ln det M = Tr(M^{-1} dM)); the Hessian is its central difference. The saddle point is the deep-linear DMFT
/// (dmft.md section 5) at P = 1, solved here in the propagator's own variables; `CrossModuleTests` checks it against
/// `MeanFieldDynamics.DeepLinearDMFT` (Delta, H^l, G^l to 1e-9 for L = 1, 2, 3).
///
/// Exact-discrete variant (`exactDiscrete = true`, what GD ensembles follow): the Delta constraint becomes
/// Delta(t) = y - gamma0^{-1}(R(t) - R(0)) (centered output) with R(t) = <h^L(t) g^L(t)> a further order parameter
/// with dual Rh: S gains <R, Rh> and M_L gains -diag(Rh) in its (h, g) and (g, h) hat blocks, so that
/// dS/dRh = 0 gives R = Cov_hg. For L = 1 it reproduces the exact two-layer reduction to rounding.
public struct DeepLinearPropagator {
    public let depth: Int, steps: Int, gamma0: Double, eta: Double, y: Double
    public let exactDiscrete: Bool
    var T: Int { steps }
    var L: Int { depth }
    var T2: Int { steps * steps }
    /// Number of variables (6L - 2) T^2 + 4T (the last 2T, R and its dual, are used by the exact-discrete variant).
    public var variableCount: Int { (6 * L - 2) * T2 + 4 * T }

    public init(depth: Int, steps: Int, gamma0: Double, eta: Double, y: Double = 1, exactDiscrete: Bool = true) throws {
        try Validate.inRange("depth", depth, 1...20)
        try Validate.inRange("steps", steps, 2...200)
        try Validate.positive("gamma0", gamma0)
        try Validate.positive("eta", eta)
        self.depth = depth; self.steps = steps; self.gamma0 = gamma0; self.eta = eta; self.y = y
        self.exactDiscrete = exactDiscrete
    }

    // Offsets of the variable blocks.
    func oH(_ l: Int) -> Int { (l - 1) * T2 }
    func oHh(_ l: Int) -> Int { (L + l - 1) * T2 }
    func oG(_ l: Int) -> Int { (2 * L + l - 1) * T2 }
    func oGh(_ l: Int) -> Int { (3 * L + l - 1) * T2 }
    func oA(_ l: Int) -> Int { (4 * L + l - 1) * T2 }
    func oB(_ l: Int) -> Int { (5 * L - 1 + l - 1) * T2 }
    var oD: Int { (6 * L - 2) * T2 }
    var oDh: Int { (6 * L - 2) * T2 + T }
    var oR: Int { (6 * L - 2) * T2 + 2 * T }
    var oRh: Int { (6 * L - 2) * T2 + 3 * T }

    func mat(_ x: [Double], _ o: Int) -> Matrix { Matrix(rows: T, cols: T) { t, s in x[o + t * T + s] } }
    var ones: Matrix { Matrix(rows: T, cols: T, repeating: 1) }
    func Hm(_ x: [Double], _ l: Int) -> Matrix { l == 0 ? ones : mat(x, oH(l)) }
    func Gm(_ x: [Double], _ l: Int) -> Matrix { l == L + 1 ? ones : mat(x, oG(l)) }
    func Am(_ x: [Double], _ l: Int) -> Matrix { (l == 0 || l == L) ? Matrix(rows: T, cols: T) : mat(x, oA(l)) }
    func Bm(_ x: [Double], _ l: Int) -> Matrix { (l == 0 || l == L) ? Matrix(rows: T, cols: T) : mat(x, oB(l)) }
    func thetaDelta(_ x: [Double]) -> Matrix { Matrix(rows: T, cols: T) { t, s in s < t ? eta * x[oD + s] : 0 } }
    func CD(_ x: [Double], _ l: Int) -> (Matrix, Matrix) {
        let th = thetaDelta(x), H = Hm(x, l - 1), G = Gm(x, l + 1), A = Am(x, l - 1), B = Bm(x, l)
        let C = Matrix(rows: T, cols: T) { t, s in gamma0 * (th[t, s] * H[t, s] + A[t, s]) }
        let D = Matrix(rows: T, cols: T) { t, s in gamma0 * (th[t, s] * G[t, s] + B[t, s]) }
        return (C, D)
    }

    /// The DMFT saddle point (Euler Delta), by iterating the closed deep-linear equations (causal: converges in
    /// at most ~L T sweeps). Hats are zero at the saddle.
    /// `maxIterations` (1...1_000_000) and `tolerance` (in (0, 1], on the largest relative change of a variable per
    /// sweep) are validated; a budget that runs out returns the current iterate with status `maxIterations` and a
    /// message naming this solver (`DeepLinearPropagator.saddleSolverName`).
    public func saddle(maxIterations: Int = 2000, tolerance: Double = 1e-13) throws -> (x: [Double], record: ConvergenceRecord) {
        try Validate.inRange("max_iterations", maxIterations, 1...1_000_000)
        guard tolerance.isFinite, tolerance > 0, tolerance <= 1 else {
            throw SolvableError.invalidParameter(name: "tolerance", value: "\(tolerance)", allowed: "a number in (0, 1]")
        }
        var (x, record) = try saddleIteration(maxIterations: maxIterations, tolerance: tolerance)
        if record.status != .converged {
            record.message = "\(Self.saddleSolverName): \(record.status.rawValue) after \(record.iterations) sweeps, largest relative change \(record.residualHistory.last ?? .nan) (tolerance \(tolerance))"
                + (record.status == .diverged ? "; non-finite kernels (learning rate or gamma0 too large?)" : "; raise max_iterations or loosen tolerance")
            if !x.allSatisfy(\.isFinite) { x = x.map { $0.isFinite ? $0 : .nan } }
        }
        return (x, record)
    }

    /// Name of the saddle solver in records, messages and the CLI's exit-3 line.
    public static let saddleSolverName = "deep-linear DMFT saddle (fixed-point sweeps)"

    func saddleIteration(maxIterations: Int, tolerance: Double) throws -> (x: [Double], record: ConvergenceRecord) {
        let clock = Stopwatch()
        var x = [Double](repeating: 0, count: variableCount)
        for l in 1...L { for i in 0..<T2 { x[oH(l) + i] = 1; x[oG(l) + i] = 1 } }
        var hist: [Double] = []
        let I = Matrix.identity(T)
        for it in 0..<maxIterations {
            let old = x
            if exactDiscrete {
                // Delta(t) = y - (R(t) - R(0))/gamma0 with R(t) = Cov(h^L(t), g^L(t)) from the current kernels.
                let (C, D) = CD(x, L)
                let Mh = try LAPACK.solve(I - BLAS.gemm(C, D), I), Mg = try LAPACK.solve(I - BLAS.gemm(D, C), I)
                let R = BLAS.gemm(BLAS.gemm(Mh, BLAS.gemm(Hm(x, L - 1), D, transposeB: true) + BLAS.gemm(C, Gm(x, L + 1))), Mg, transposeB: true)
                for t in 0..<T { x[oR + t] = R[t, t]; x[oD + t] = y - (R[t, t] - R[0, 0]) / gamma0 }
            } else {
                // Delta (Euler): Delta(t+1) = Delta(t) - eta k(t) Delta(t).
                var d = y
                for t in 0..<T {
                    x[oD + t] = d
                    var k = 0.0
                    for l in 0...L { k += Gm(x, l + 1)[t, t] * Hm(x, l)[t, t] }
                    d -= eta * k * d
                }
            }
            for l in 1...L {
                let (C, D) = CD(x, l)
                let Mh = try LAPACK.solve(I - BLAS.gemm(C, D), I), Mg = try LAPACK.solve(I - BLAS.gemm(D, C), I)
                let Hn = BLAS.gemm(BLAS.gemm(Mh, Hm(x, l - 1) + BLAS.gemm(BLAS.gemm(C, Gm(x, l + 1)), C, transposeB: true)), Mh, transposeB: true)
                let Gn = BLAS.gemm(BLAS.gemm(Mg, Gm(x, l + 1) + BLAS.gemm(BLAS.gemm(D, Hm(x, l - 1)), D, transposeB: true)), Mg, transposeB: true)
                for t in 0..<T { for s in 0..<T { x[oH(l) + t * T + s] = Hn[t, s]; x[oG(l) + t * T + s] = Gn[t, s] } }
                if l <= L - 1 { let A = BLAS.gemm(Mh, C); for t in 0..<T { for s in 0..<T { x[oA(l) + t * T + s] = A[t, s] / gamma0 } } }
                if l >= 2 { let B = BLAS.gemm(Mg, D); for t in 0..<T { for s in 0..<T { x[oB(l - 1) + t * T + s] = B[t, s] / gamma0 } } }
            }
            var r = 0.0
            for i in 0..<x.count { r = max(r, abs(x[i] - old[i]) / max(1, abs(x[i]))) }
            hist.append(r)
            if !r.isFinite { return (x, ConvergenceRecord(status: .diverged, iterations: it + 1, residualHistory: hist, tolerance: tolerance, elapsedSeconds: clock.elapsed)) }
            if r < tolerance { return (x, ConvergenceRecord(status: .converged, iterations: it + 1, residualHistory: hist, tolerance: tolerance, elapsedSeconds: clock.elapsed)) }
        }
        return (x, ConvergenceRecord(status: .maxIterations, iterations: maxIterations, residualHistory: hist, tolerance: tolerance, elapsedSeconds: clock.elapsed))
    }

    /// Analytic gradient of S.
    public func gradient(_ x: [Double]) throws -> [Double] {
        var g = [Double](repeating: 0, count: variableCount)
        let th = thetaDelta(x)
        for l in 1...L {
            // 1/2 <H, Hh> + 1/2 <G, Gh>
            for i in 0..<T2 {
                g[oH(l) + i] += 0.5 * x[oHh(l) + i]; g[oHh(l) + i] += 0.5 * x[oH(l) + i]
                g[oG(l) + i] += 0.5 * x[oGh(l) + i]; g[oGh(l) + i] += 0.5 * x[oG(l) + i]
            }
            // -gamma0^2 Tr(A^l B^l) = -gamma0^2 sum_ts A(t,s) B(s,t)
            if l <= L - 1 {
                for t in 0..<T { for s in 0..<T {
                    g[oA(l) + t * T + s] -= gamma0 * gamma0 * x[oB(l) + s * T + t]
                    g[oB(l) + s * T + t] -= gamma0 * gamma0 * x[oA(l) + t * T + s]
                } }
            }
            // -1/2 ln det M_l
            let (C, D) = CD(x, l)
            let n = 4 * T
            var M = Matrix(rows: n, cols: n)
            let Hh = mat(x, oHh(l)), Gh = mat(x, oGh(l)), Hp = Hm(x, l - 1), Gn = Gm(x, l + 1)
            for t in 0..<T { for s in 0..<T {
                M[t, s] = -Hh[t, s]; M[T + t, T + s] = -Gh[t, s]
                M[t, 3 * T + s] = -D[s, t]; M[T + t, 2 * T + s] = -C[s, t]
                M[2 * T + t, T + s] = -C[t, s]; M[2 * T + t, 2 * T + s] = Hp[t, s]
                M[3 * T + t, s] = -D[t, s]; M[3 * T + t, 3 * T + s] = Gn[t, s]
            }
                M[t, 2 * T + t] = 1; M[T + t, 3 * T + t] = 1; M[2 * T + t, t] = 1; M[3 * T + t, T + t] = 1
                if exactDiscrete && l == L { M[t, T + t] = -x[oRh + t]; M[T + t, t] = -x[oRh + t] }
            }
            let Minv = try LAPACK.solve(M, Matrix.identity(n))
            func Z(_ a: Int, _ b: Int, _ t: Int, _ s: Int) -> Double { Minv[b * T + s, a * T + t] }   // (M^{-1})^T block (a,b)
            for t in 0..<T { for s in 0..<T {
                let i = t * T + s
                g[oHh(l) + i] += 0.5 * Z(0, 0, t, s)
                g[oGh(l) + i] += 0.5 * Z(1, 1, t, s)
                let gC = -Z(2, 1, t, s) - Z(1, 2, s, t)
                let gD = -Z(3, 0, t, s) - Z(0, 3, s, t)
                if l - 1 >= 1 {
                    g[oH(l - 1) + i] -= 0.5 * (Z(2, 2, t, s) + gamma0 * th[t, s] * gC)
                    g[oA(l - 1) + i] -= 0.5 * gamma0 * gC
                }
                if l + 1 <= L {
                    g[oG(l + 1) + i] -= 0.5 * (Z(3, 3, t, s) + gamma0 * th[t, s] * gD)
                    g[oB(l) + i] -= 0.5 * gamma0 * gD
                }
                if s < t { g[oD + s] -= 0.5 * gamma0 * eta * (Hp[t, s] * gC + Gn[t, s] * gD) }
            } }
            if exactDiscrete && l == L {
                for t in 0..<T { g[oRh + t] -= 0.5 * (-Z(0, 1, t, t) - Z(1, 0, t, t)) }
            }
        }
        // <R, Rh> (a decoupled pair in the Euler variant).
        for t in 0..<T { g[oR + t] += x[oRh + t]; g[oRh + t] += x[oR + t] }
        if exactDiscrete {
            // Dh . (Delta - y + (R - R(0))/gamma0)
            var sumDh = 0.0
            for t in 0..<T {
                g[oDh + t] += x[oD + t] - y + (x[oR + t] - x[oR]) / gamma0
                g[oD + t] += x[oDh + t]
                g[oR + t] += x[oDh + t] / gamma0
                sumDh += x[oDh + t]
            }
            g[oR] -= sumDh / gamma0
            return g
        }
        // Dh . (Delta - y + eta Theta k Delta)
        var k = [Double](repeating: 0, count: T)
        for t in 0..<T { for l in 0...L { k[t] += Gm(x, l + 1)[t, t] * Hm(x, l)[t, t] } }
        var tail = [Double](repeating: 0, count: T)   // sum_{t > s} Dh(t)
        for s in stride(from: T - 2, through: 0, by: -1) { tail[s] = tail[s + 1] + x[oDh + s + 1] }
        var acc = 0.0
        for t in 0..<T {
            g[oDh + t] += x[oD + t] - y + eta * acc
            acc += k[t] * x[oD + t]
        }
        for s in 0..<T {
            g[oD + s] += x[oDh + s] + eta * k[s] * tail[s]
            let w = eta * x[oD + s] * tail[s]
            for l in 1...L {
                g[oH(l) + s * T + s] += w * Gm(x, l + 1)[s, s]
                g[oG(l) + s * T + s] += w * Hm(x, l - 1)[s, s]
            }
        }
        return g
    }

    /// N Var Delta(t) and N Var K(t) (and <K(t)>) from Sigma = -[grad^2 S]^{-1} at the saddle. Memory: the dense
    /// Hessian and its finite-difference columns take about 16 n^2 bytes; refused above `memoryCap`.
    public func fluctuations(step: Double = 1e-5, memoryCap: Int = 2 << 30, maxIterations: Int = 2000, tolerance: Double = 1e-13) throws -> (delta: [Double], kernel: [Double], varDelta: [Double], varKernel: [Double], record: ConvergenceRecord) {
        // single-threaded BLAS/LAPACK (the saddle's Newton solves): the same numbers for any thread count
        try BLASRuntime.serial { try fluctuationsSerial(step: step, memoryCap: memoryCap, maxIterations: maxIterations, tolerance: tolerance) }
    }

    func fluctuationsSerial(step: Double, memoryCap: Int, maxIterations: Int, tolerance: Double) throws -> (delta: [Double], kernel: [Double], varDelta: [Double], varKernel: [Double], record: ConvergenceRecord) {
        let n = variableCount
        if n * n * 8 * 2 > memoryCap {
            throw SolvableError.insufficientMemory(needed: n * n * 16, available: memoryCap, hint: "reduce steps or depth (n = \(n) variables)")
        }
        let (x0, rec) = try saddle(maxIterations: maxIterations, tolerance: tolerance)
        if rec.status == .diverged {
            // no Hessian at a non-finite point: the record says why, the curves are NaN (never written to files)
            let nan = [Double](repeating: .nan, count: T)
            return (nan, nan, nan, nan, rec)
        }
        var Hs = Matrix(rows: n, cols: n)
        let cols: [[Double]] = try ThreadPolicy.parallelMap(n) { j in
            var xp = x0, xm = x0
            xp[j] += step; xm[j] -= step
            let gp = try gradient(xp), gm = try gradient(xm)
            return (0..<n).map { (gp[$0] - gm[$0]) / (2 * step) }
        }
        for j in 0..<n { for i in 0..<n { Hs[i, j] = 0.5 * (cols[j][i] + cols[i][j]) } }
        // Observables: Delta(t) (one variable) and k(t) = sum_l G^{l+1}(t,t) H^l(t,t).
        var J = Matrix(rows: n, cols: 2 * T)
        var kMean = [Double](repeating: 0, count: T)
        for t in 0..<T {
            J[oD + t, t] = 1
            for l in 0...L {
                let gv = Gm(x0, l + 1)[t, t], hv = Hm(x0, l)[t, t]
                kMean[t] += gv * hv
                if l >= 1 { J[oH(l) + t * T + t, T + t] += gv }
                if l + 1 <= L { J[oG(l + 1) + t * T + t, T + t] += hv }
            }
        }
        let X = try LAPACK.solve(Hs, J)            // Sigma J = -H^{-1} J
        var vd = [Double](), vk = [Double]()
        for t in 0..<T {
            var a = 0.0, b = 0.0
            for i in 0..<n { a -= J[i, t] * X[i, t]; b -= J[i, T + t] * X[i, T + t] }
            vd.append(a); vk.append(b)
        }
        return ((0..<T).map { x0[oD + $0] }, kMean, vd, vk, rec)
    }
}
