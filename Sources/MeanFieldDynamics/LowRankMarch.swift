import Foundation
import LinearAlgebra
import NumericalCore

/// The exact forward pass of the deep linear DMFT in source coordinates (docs/theory/dmft-low-rank.md).
///
/// Every field of layer l is a linear function of that layer's Gaussian sources xi^l = (forward sources, whose
/// covariance factor is H^{l-1}, and backward sources, whose covariance factor is G^{l+1}):
///
///     h^l = Q_l xi^l  (Q_l: (T n) x m_l),     g^l = R_l xi^l  (R_l: T x m_l),     H^l = Q_l Q_l^T,  G^l = R_l R_l^T.
///
/// The closed equations of paper eqs. (11)-(12) for linear phi become equations for the coefficient rows,
///
///     Q_l(t) = F_{l-1}(t) [E_u + Pi_l(t)] + Qr_{l-1}(t) V_l^T                     (forward field, A^{l-1} term last)
///     R_l(t) = E_{l+1}(t) [E_r + Gamma_l(t)] + Ru_{l+1}(t) U_l^T                  (backward field, B^l term last)
///     Pi_l(t) = (eta gamma0/P) sum_{s<t} f_{l-1}(s) R_l(s),  f_{l-1}(s) = F_{l-1}(s)^T Delta(s)
///     Gamma_l(t) = (eta gamma0/P) sum_{s<t} E_{l+1}(s)^T Delta(s)^T Q_l(s)
///
/// where F_{l-1} = Q_{l-1} U_{l-1} and E_{l+1} = R_{l+1} V_{l+1} are the coordinates of the neighbouring layers'
/// fields in orthonormal bases U, V of the row spaces of Q and R (these coordinates are the next layers' sources),
/// Qr_{l-1} are the coefficients of h^{l-1} on its backward sources (= A^{l-1} E_l, the response function restricted
/// to the span of g^l), and Ru_{l+1} those of g^{l+1} on its forward sources (= B^l F_l). All sums are strictly
/// causal, so one pass over t = 0..<T (upward over layers for Q, downward for R, then the Euler step of Delta)
/// solves the equations exactly; the bases grow by the directions each new time adds, and a direction is left out
/// only when its weight is below `rankTolerance` times the largest row seen in that layer (the error bound this
/// leaves is reported as `maxDiscarded`). Cost O(L T n m^2) for m sources per layer, against O(L T (T n)^2) per
/// sweep of the dense iteration.
struct LowRankMarch {
    let problem: DMFTProblem
    let gradientIndependence: Bool
    let rankTolerance: Double
    /// The pass stops (`exceededSources`) when a layer needs more sources than this.
    let maxSources: Int

    struct Result {
        /// Grid times computed: T, or fewer when values stopped being finite or the source limit was hit.
        var steps: Int
        var ntk: [Matrix]
        /// Q_l and R_l, l = 1...L (index l - 1), rows of later times zero when `steps` < T.
        var h: [Matrix]
        var g: [Matrix]
        /// m_l, sources of each layer.
        var sources: [Int]
        /// Largest left-out weight relative to its layer's largest row (0 when nothing was left out).
        var maxDiscarded: Double
        var stopReason: String?
        var exceededSources: Bool
        /// Multiply-adds of the BLAS calls, for the benchmark's flop count.
        var flops: Double
    }

    /// A factor S with S S^T = K for symmetric PSD K: the eigenvectors of the eigenvalues above `relativeTolerance`
    /// times the largest, scaled by their square roots. With (size) x eps, the numerical rank, what is dropped is at
    /// the level of the rounding errors K already carries.
    static func symmetricSquareRoot(_ k: Matrix, relativeTolerance: Double) throws -> Matrix {
        let (w, v) = try BLASRuntime.serial { try LAPACK.symmetricEigen(k) }
        let top = w.last ?? 0
        let keep = (0..<w.count).reversed().filter { w[$0] > relativeTolerance * top && w[$0] > 0 }
        var s = Matrix(rows: k.rows, cols: keep.count)
        for (c, j) in keep.enumerated() { let r = w[j].squareRoot(); for i in 0..<k.rows { s[i, c] = v[i, j] * r } }
        return s
    }

    /// L_x with L_x L_x^T = K^x (n x numerical rank of K^x).
    static func inputFactor(_ kx: Matrix) throws -> Matrix {
        try symmetricSquareRoot(kx, relativeTolerance: Double(max(1, kx.rows)) * Double.ulpOfOne)
    }

    func run() throws -> Result {
        try BLASRuntime.serial { try march() }
    }

    // swiftlint:disable:next function_body_length
    private func march() throws -> Result {
        let L = problem.depth, T = problem.timeSteps, n = problem.n, P = problem.p, tn = T * n
        let c0 = problem.eta * problem.gamma0 / Double(P)
        let kx = problem.data.inputKernel
        let lx = try Self.inputFactor(kx)
        let rho = lx.cols
        let gi = gradientIndependence
        var flops = 0.0

        // Per layer l = 1...L (index l; index 0 and L + 1 unused unless stated)
        var Q = [GrowingMatrix](repeating: GrowingMatrix(rows: 0), count: L + 2)
        var R = Q, Pi = Q, Gam = Q, U = Q, V = Q, fc = Q, ec = Q
        for l in 1...L {
            Q[l] = GrowingMatrix(rows: tn, columnCapacity: 2 * rho + 8)
            R[l] = GrowingMatrix(rows: T, columnCapacity: 2 * rho + 8)
            Pi[l] = GrowingMatrix(rows: 0, rowCapacity: rho + 8, columnCapacity: 2 * rho + 8)
            Gam[l] = GrowingMatrix(rows: 0, rowCapacity: 16, columnCapacity: 2 * rho + 8)
            if l < L { U[l] = GrowingMatrix(rows: 0, rowCapacity: 2 * rho + 8, columnCapacity: rho + 8) }   // basis of rows of Q_l
            if l >= 2 { V[l] = GrowingMatrix(rows: 0, rowCapacity: 2 * rho + 8, columnCapacity: 16) }      // basis of rows of R_l
            fc[l - 1] = GrowingMatrix(rows: tn, columnCapacity: rho + 8)                                   // F_{l-1} coordinates
            ec[l + 1] = GrowingMatrix(rows: T, columnCapacity: 16)                                         // E_{l+1} coordinates
        }
        var uCol = [[Int]](repeating: [], count: L + 2), rCol = uCol
        var scaleQ = [Double](repeating: 0, count: L + 2), scaleR = scaleQ
        var maxDiscarded = 0.0

        func addSource(_ l: Int) -> Int {
            Q[l].appendColumns(); R[l].appendColumns(); Pi[l].appendColumns(); Gam[l].appendColumns()
            if l < L { U[l].appendRows() }
            if l >= 2 { V[l].appendRows() }
            return Q[l].cols - 1
        }
        // forward source of layer l along the new basis direction w of the rows of Q_{l-1}
        func addForwardSource(_ l: Int, _ w: [Double]?) {
            if let w { U[l - 1].appendColumns(); U[l - 1].setColumn(U[l - 1].cols - 1, w) }
            uCol[l].append(addSource(l)); Pi[l].appendRows(); fc[l - 1].appendColumns()
        }
        // backward source of layer l along the new basis direction w of the rows of R_{l+1}
        func addBackwardSource(_ l: Int, _ w: [Double]?) {
            if let w { V[l + 1].appendColumns(); V[l + 1].setColumn(V[l + 1].cols - 1, w) }
            rCol[l].append(addSource(l)); Gam[l].appendRows(); ec[l + 1].appendColumns()
        }
        // boundaries: u^1 ~ N(0, K^x) constant in time (rho sources), r^L the initial readout (1 source)
        for _ in 0..<rho { addForwardSource(1, nil) }
        for t in 0..<T { for k in 0..<rho { for mu in 0..<n { fc[0][t * n + mu, k] = lx[mu, k] } } }
        addBackwardSource(L, nil)
        for t in 0..<T { ec[L + 1][t, 0] = 1 }

        /// Rows of time t of a (T n)-row growing matrix as an n x cols Matrix.
        func rowBlock(_ g: GrowingMatrix, _ t: Int) -> Matrix { g.matrix(rows: (t * n)..<((t + 1) * n)) }
        func rowOf(_ g: GrowingMatrix, _ t: Int) -> [Double] { (0..<g.cols).map { g[t, $0] } }

        /// Extends the basis U_j of the rows of Q_j by the directions of Q_j(t) outside it (new forward sources
        /// of layer j + 1) and stores the coordinates F_j(t) = Q_j(t) U_j.
        func updateForwardBasis(_ j: Int, _ t: Int) throws {
            let qt = rowBlock(Q[j], t)
            let m = qt.cols, p = U[j].cols
            scaleQ[j] = max(scaleQ[j], qt.frobeniusNorm)
            var z = qt
            if p > 0 && m > 0 {
                let ub = U[j].matrix()                                    // m x p
                for _ in 0..<2 {                                          // projection twice (re-orthogonalization)
                    let c = BLAS.gemm(z, ub)
                    BLAS.gemm(c, ub, transposeB: true, alpha: -1, beta: 1, into: &z)
                }
                flops += 8 * Double(n * m * p)
            }
            let threshold = rankTolerance * scaleQ[j]
            let zn = z.frobeniusNorm
            if zn > threshold && m > 0 {
                let (_, s, vt) = try LAPACK.svd(z)
                flops += 4 * Double(n * m * min(n, m))
                var fresh: [[Double]] = []
                for i in 0..<s.count {
                    if s[i] <= threshold { maxDiscarded = max(maxDiscarded, s[i] / scaleQ[j]); continue }
                    var w = vt.row(i)
                    for _ in 0..<2 {
                        for c in 0..<U[j].cols {
                            var d = 0.0; for a in 0..<m { d += U[j][a, c] * w[a] }
                            for a in 0..<m { w[a] -= d * U[j][a, c] }
                        }
                        for f in fresh { let d = zip(f, w).reduce(0) { $0 + $1.0 * $1.1 }; for a in 0..<m { w[a] -= d * f[a] } }
                    }
                    let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    if norm < 0.5 { maxDiscarded = max(maxDiscarded, s[i] / scaleQ[j]); continue }   // numerically dependent
                    w = w.map { $0 / norm }
                    fresh.append(w)
                }
                for w in fresh { addForwardSource(j + 1, w) }
            } else if zn > 0 {
                maxDiscarded = max(maxDiscarded, zn / scaleQ[j])
            }
            // coordinates in the (extended) basis
            let coords = BLAS.gemm(qt, U[j].matrix())
            flops += 2 * Double(n * m * U[j].cols)
            for k in 0..<coords.cols { for mu in 0..<n { fc[j][t * n + mu, k] = coords[mu, k] } }
        }

        /// Extends the basis V_j of the rows of R_j by the direction of R_j(t) outside it (a new backward source of
        /// layer j - 1) and stores the coordinates E_j(t) = R_j(t) V_j.
        func updateBackwardBasis(_ j: Int, _ t: Int) {
            let r = rowOf(R[j], t), m = r.count
            scaleR[j] = max(scaleR[j], r.reduce(0) { $0 + $1 * $1 }.squareRoot())
            var z = r
            for _ in 0..<2 {
                for c in 0..<V[j].cols {
                    var d = 0.0; for a in 0..<m { d += V[j][a, c] * z[a] }
                    for a in 0..<m { z[a] -= d * V[j][a, c] }
                }
            }
            let zn = z.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if zn > rankTolerance * scaleR[j] {
                addBackwardSource(j - 1, z.map { $0 / zn })
            } else if zn > 0 {
                maxDiscarded = max(maxDiscarded, zn / scaleR[j])
            }
            for c in 0..<V[j].cols {
                var d = 0.0; for a in 0..<m { d += V[j][a, c] * r[a] }
                ec[j][t, c] = d
            }
        }

        let y = problem.data.targets
        var delta = y, pred = [Double](repeating: 0, count: n)
        var dpad = [Double](repeating: 0, count: n)
        var ntks: [Matrix] = []
        var steps = T, stopReason: String? = nil, exceeded = false
        timeLoop: for t in 0..<T {
            for mu in 0..<n { dpad[mu] = mu < P ? delta[mu] : 0 }
            // upward: h^l(t) needs h^{l-1}(t) and earlier rows
            for l in 1...L {
                if l > 1 { try updateForwardBasis(l - 1, t) }
                let p = uCol[l].count, m = Q[l].cols
                let fcur = rowBlock(fc[l - 1], t)                          // n x p
                var q = Matrix(rows: n, cols: m)
                for k in 0..<p { for mu in 0..<n { q[mu, uCol[l][k]] = fcur[mu, k] } }
                if !gi && l > 1 && !rCol[l - 1].isEmpty {
                    let qp = rowBlock(Q[l - 1], t)
                    let qr = Matrix(rows: n, cols: rCol[l - 1].count) { mu, k in qp[mu, rCol[l - 1][k]] }
                    BLAS.gemm(qr, V[l].matrix(), transposeB: true, alpha: 1, beta: 1, into: &q)   // A^{l-1} g^l
                    flops += 2 * Double(n * qr.cols * m)
                }
                if p > 0 && m > 0 {
                    BLAS.gemm(fcur, Pi[l].matrix(), alpha: 1, beta: 1, into: &q)                  // Delta-driven term
                    flops += 2 * Double(n * p * m)
                }
                for k in 0..<m { for mu in 0..<n { Q[l][t * n + mu, k] = q[mu, k] } }
            }
            // downward: g^l(t) needs g^{l+1}(t) and earlier rows
            for l in stride(from: L, through: 1, by: -1) {
                if l < L { updateBackwardBasis(l + 1, t) }
                let ecur = rowOf(ec[l + 1], t)                            // q_l
                let m = R[l].cols
                var r = [Double](repeating: 0, count: m)
                for k in 0..<ecur.count { r[rCol[l][k]] += ecur[k] }
                if !gi && l < L && !uCol[l + 1].isEmpty {
                    let ru = uCol[l + 1].map { R[l + 1][t, $0] }
                    let ub = U[l].matrix()
                    for c in 0..<ru.count where ru[c] != 0 { for a in 0..<m { r[a] += ub[a, c] * ru[c] } }   // B^l h^l
                    flops += 2 * Double(m * ru.count)
                }
                let gm = Gam[l].matrix()
                for k in 0..<ecur.count where ecur[k] != 0 { for a in 0..<m { r[a] += ecur[k] * gm[k, a] } }
                flops += 2 * Double(m * ecur.count)
                for a in 0..<m { R[l][t, a] = r[a] }
            }
            // NTK K(t) = sum_{l=0}^{L} G^{l+1}(t,t) H^l[t,.,t,.]   (H^0 = K^x, G^{L+1} = 1)
            let g1 = rowOf(R[1], t).reduce(0) { $0 + $1 * $1 }
            var k = kx.map { $0 * g1 }
            for l in 1...L {
                let gnext = l == L ? 1.0 : rowOf(R[l + 1], t).reduce(0) { $0 + $1 * $1 }
                let qb = rowBlock(Q[l], t)
                BLAS.gemm(qb, qb, transposeB: true, alpha: gnext, beta: 1, into: &k)
                flops += 2 * Double(n * n * qb.cols)
            }
            // growth beyond 1e100 (kernels beyond 1e200) ends the pass before Gram matrices of the factors overflow
            if !k.allFinite || k.maxAbs > 1e200 {
                steps = t; stopReason = "the NTK is not finite (or beyond 1e200) at grid time \(t)"; break timeLoop
            }
            ntks.append(k)
            // running causal sums Pi_l(t+1), Gamma_l(t+1)
            for l in 1...L {
                let fcur = rowBlock(fc[l - 1], t), qb = rowBlock(Q[l], t)
                let f = BLAS.gemv(fcur, dpad, transpose: true)            // F_{l-1}(t)^T Delta(t)
                let dq = BLAS.gemv(qb, dpad, transpose: true)             // Q_l(t)^T Delta(t)
                let rrow = rowOf(R[l], t), ecur = rowOf(ec[l + 1], t)
                for a in 0..<rrow.count { for kk in 0..<f.count { Pi[l][kk, a] += c0 * f[kk] * rrow[a] } }
                for a in 0..<dq.count { for kk in 0..<ecur.count { Gam[l][kk, a] += c0 * ecur[kk] * dq[a] } }
                let products: Int = n * (f.count + dq.count) + rrow.count * f.count + dq.count * ecur.count
                flops += 2 * Double(products)
            }
            if let l = (1...L).first(where: { Q[$0].cols > maxSources }) {
                steps = t + 1; exceeded = true
                stopReason = "layer \(l) needs \(Q[l].cols) sources at grid time \(t) (limit \(maxSources))"
                break timeLoop
            }
            // Euler step of Delta (the arithmetic of DMFTProblem.eulerTrajectory)
            if t == T - 1 { break }
            let c = problem.eta / Double(P)
            var step = [Double](repeating: 0, count: n)
            for nu in 0..<P { let dn = delta[nu]; if dn == 0 { continue }; for mu in 0..<n { step[mu] += k[mu, nu] * dn } }
            for mu in 0..<n { pred[mu] += c * step[mu] }
            for mu in 0..<P { delta[mu] = y[mu] - pred[mu] }
        }
        return Result(steps: steps, ntk: ntks, h: (1...L).map { Q[$0].matrix() }, g: (1...L).map { R[$0].matrix() },
                      sources: (1...L).map { Q[$0].cols }, maxDiscarded: maxDiscarded, stopReason: stopReason,
                      exceededSources: exceeded, flops: flops)
    }
}
