import Foundation
import LinearAlgebra
import NumericalCore

/// Monte Carlo sizes of the two-layer propagator.
public struct TwoLayerTheoryOptions: Sendable {
    /// Single-site paths for the mean-field trajectory and the noise covariance (S >> the widths compared against).
    public var samples: Int
    /// Paths (a subset of the above, common random numbers) for the sensitivity tensors M, M_*, D.
    public var jacobianSamples: Int
    public var seed: UInt64
    /// Gauss-Hermite tensor quadrature instead of Monte Carlo when the single site has at most 3 Gaussian inputs
    /// (P = 1, with or without one test point): `quadratureOrder` nodes for (u, r), `testQuadratureOrder` for the
    /// test point's independent component. Deterministic and far more accurate than Monte Carlo: the late-time
    /// variance involves cancellations that amplify the sampling noise of the sensitivity tensors.
    public var quadratureOrder: Int?
    public var testQuadratureOrder: Int

    public init(samples: Int = 100_000, jacobianSamples: Int? = nil, seed: UInt64 = 0, quadratureOrder: Int? = 64,
                testQuadratureOrder: Int = 16) throws {
        try Validate.inRange("samples", samples, 16...100_000_000)
        if let j = jacobianSamples { try Validate.inRange("jacobian_samples", j, 16...100_000_000) }
        if let q = quadratureOrder { try Validate.inRange("quadrature_order", q, 4...400) }
        try Validate.inRange("test_quadrature_order", testQuadratureOrder, 2...200)
        self.samples = samples; self.jacobianSamples = min(jacobianSamples ?? samples, samples); self.seed = seed
        self.quadratureOrder = quadratureOrder; self.testQuadratureOrder = testQuadratureOrder
    }
}

/// Leading-order finite-width theory of a two-layer network (any phi, any P, test points) in the rich regime.
public struct TwoLayerFluctuationTheory: Sendable {
    public var problem: TwoLayerProblem
    /// Infinite-width (DMFT) trajectory, by S-path Monte Carlo with common random numbers.
    public var mean: TwoLayerTrajectory
    /// N Var of Delta, f_* and the kernel entries at O(1/N) (same layout as `mean`).
    public var variance: TwoLayerTrajectory
    /// Monte Carlo standard error of `variance` from the noise paths (does not include the smaller error of the
    /// S_J-path sensitivity tensors).
    public var varianceStandardError: TwoLayerTrajectory
    public var record: ConvergenceRecord
}

/// One single-site path on a known Delta trajectory, recorded for the sensitivity (D tensor) and noise passes.
struct SitePath {
    var phi: [Double], dphi: [Double], d2phi: [Double], z: [Double]   // T x Q, T x Q, T x Q, T
    var q: [Double], k: [Double]                                        // T x Q, T x pairs

    init(problem pr: TwoLayerProblem, u: ArraySlice<Double>, r: Double, delta: [Double]) {
        let Q = pr.pointCount, P = pr.trainCount, T = pr.steps, act = pr.activation, cp = pr.cOverP
        let pairs = pr.kernelPairs, kx = pr.inputKernel.storage
        phi = [Double](repeating: 0, count: T * Q); dphi = phi; d2phi = phi; q = phi
        z = [Double](repeating: 0, count: T)
        k = [Double](repeating: 0, count: T * pairs.count)
        var h = Array(u)
        var rphi0 = [Double](repeating: 0, count: Q)
        if pr.centered { for mu in 0..<Q { rphi0[mu] = r * act.phi(h[mu]) } }
        var zc = r
        var wg = [Double](repeating: 0, count: P)
        for t in 0..<T {
            z[t] = zc
            for mu in 0..<Q {
                let (p, d, dd) = act.all(h[mu])
                phi[t * Q + mu] = p; dphi[t * Q + mu] = d; d2phi[t * Q + mu] = dd
                q[t * Q + mu] = zc * p - rphi0[mu]
            }
            for (j, (a, b)) in pairs.enumerated() {
                k[t * pairs.count + j] = phi[t * Q + a] * phi[t * Q + b] + kx[a + b * Q] * dphi[t * Q + a] * dphi[t * Q + b] * zc * zc
            }
            if t + 1 < T {
                var dz = 0.0
                for a in 0..<P {
                    wg[a] = cp * delta[t * P + a] * dphi[t * Q + a] * zc
                    dz += cp * delta[t * P + a] * phi[t * Q + a]
                }
                for mu in 0..<Q { var s = 0.0; for a in 0..<P { s += kx[mu + a * Q] * wg[a] }; h[mu] += s }
                zc += dz
            }
        }
    }
}

extension TwoLayerProblem {
    /// Solves the leading-order fluctuation theory by the exact discrete-time propagator of docs/theory/finite-width.md §3.
    /// For sqrt(2) ReLU the phi'' = delta terms of the sensitivities are dropped (approximate in the rich regime;
    /// the record's message says so).
    ///
    /// At width N the network is exactly N i.i.d. single sites coupled through Delta, with
    /// Delta_N(t) = y - gamma0^{-1} (1/N) sum_i q_i(t), q = z phi(h) - r phi(u). Linearizing around the DMFT:
    ///
    ///     (gamma0 I + M) dDelta = -eps_q ,   M[(t,a),(s,b)] = <d q_a(t) / d Delta_b(s)>   (strictly causal)
    ///     d f_*  = gamma0^{-1} (eps_q* + M_* dDelta) ,   dK = eps_K + D dDelta ,  D = <d k(t) / d Delta(s)>
    ///
    /// with N Cov(eps) the single-site covariance kappa of (q, q_*, k). Equivalently N Cov = (I - D)^{-1} kappa (I - D)^{-T}
    /// in the Jacobian form of docs/theory/finite-width.md §1. We evaluate it as the per-path variance of the *influence*
    /// psi = J (psi_path - mean), J built from (gamma0 I + M)^{-1} (forward substitution, never regularized), M_*, D.
    ///
    /// Passes: (1) the DMFT mean by a synchronous forward sweep of S paths (causal, so no iteration is needed);
    /// (2) sensitivity tensors by forward-mode tangents on S_J paths (cost S_J T^2 P (P + P_test));
    /// (3) influences on all S paths in chunks (BLAS trsm/gemm).
    public func fluctuationTheory(_ options: TwoLayerTheoryOptions) throws -> TwoLayerFluctuationTheory {
        let clock = Stopwatch()
        let Q = pointCount, P = trainCount, T = steps, pairs = kernelPairs, np = pairs.count, Pt = testCount
        // memory estimated before anything is allocated: per site the path arrays (phi, phi', phi'', q over T x Q,
        // the kernel over T x pairs), per worker slice and for the sum the sensitivity accumulators
        // ((TQ + T np) x TP), and the TP x TP solve with its right-hand sides
        do {
            let quadrature = options.quadratureOrder != nil && P == 1 && Q <= 2
            let sites = quadrature ? MemoryBudget.product(options.quadratureOrder ?? 0, options.quadratureOrder ?? 0, Q == 2 ? options.testQuadratureOrder : 1)
                                   : options.samples
            let slices = 16 + 1
            let tp = MemoryBudget.product(T, P)
            let perSite = MemoryBudget.sum(MemoryBudget.product(4, T, Q), MemoryBudget.product(T, np), Q + 3)
            let acc = MemoryBudget.product(slices, MemoryBudget.sum(MemoryBudget.product(T, Q), MemoryBudget.product(T, np)), tp)
            let solve = MemoryBudget.product(3, tp, MemoryBudget.sum(tp, MemoryBudget.product(T, Pt + np)))
            try MemoryBudget.check(MemoryBudget.product(8, MemoryBudget.sum(MemoryBudget.product(sites, perSite), acc, solve)),
                                   hint: "reduce steps, points, samples or the quadrature order")
        }
        let factor = try inputFactor()
        // Sites: a Gauss-Hermite tensor grid (P = 1, <= 3 Gaussian inputs) or Monte Carlo draws, with weights.
        var uAll = [Double](), rAll = [Double](), wAll = [Double]()
        let useQuadrature = options.quadratureOrder != nil && P == 1 && Q <= 2
        if let n = options.quadratureOrder, useQuadrature {
            let gh = try GaussHermite(order: n)
            let ght = try GaussHermite(order: options.testQuadratureOrder)
            let testNodes = Q == 2 ? ght.nodes : [0.0], testWeights = Q == 2 ? ght.weights : [1.0]
            for a in 0..<n { for b in 0..<n { for c in testNodes.indices {
                let xi = [gh.nodes[a], testNodes[c]]
                for mu in 0..<Q { var v = 0.0; for k in 0...mu { v += factor[mu, k] * xi[k] }; uAll.append(v) }
                rAll.append(gh.nodes[b]); wAll.append(gh.weights[a] * gh.weights[b] * testWeights[c])
            } } }
        } else {
            var rng = RandomStream(seed: options.seed, point: 0, sample: 0, purpose: "two-layer-propagator")
            let one = SiteBlock(problem: self, count: options.samples, factor: factor, rng: &rng)
            uAll = one.h; rAll = one.r; wAll = [Double](repeating: 1 / Double(options.samples), count: options.samples)
        }
        let S = rAll.count
        let chunk = 2048
        let nChunks = (S + chunk - 1) / chunk
        let initial: [SiteBlock] = (0..<nChunks).map { b in
            let lo = b * chunk, hi = min(S, lo + chunk)
            return SiteBlock(problem: self, u: Array(uAll[(lo * Q)..<(hi * Q)]), r: Array(rAll[lo..<hi]), weight: Array(wAll[lo..<hi]))
        }
        // Pass 1: the mean-field trajectory.
        var blocks = initial
        let mean = runSynchronous(blocks: &blocks, parallel: true)
        let delta = mean.delta
        // Means of the path quantities: q_a = gamma0 (y_a - Delta_a), q_* = gamma0 f_*, k.
        var qbar = [Double](repeating: 0, count: T * Q)
        for t in 0..<T {
            for a in 0..<P { qbar[t * Q + a] = gamma0 * (targets[a] - delta[t * P + a]) }
            for m in 0..<Pt { qbar[t * Q + P + m] = gamma0 * mean.testOutput[t * Pt + m] }
        }
        let kbar = mean.kernel
        func site(_ i: Int) -> (ArraySlice<Double>, Double, Double) {
            (uAll[(i * Q)..<(i * Q + Q)], rAll[i], wAll[i])
        }
        // Pass 2: sensitivity tensors M (TP x TP), M_* (T Pt x TP), D (T np x TP), column-major.
        // Sensitivities: all quadrature nodes, or the first S_J Monte Carlo paths (weights renormalized).
        let SJ = useQuadrature ? S : options.jacobianSamples
        let wJ = useQuadrature ? 1.0 : Double(S) / Double(SJ)
        // a fixed partition of the sites (not one per thread): the sum of the slices' parts, reduced in slice order,
        // is then the same for any thread count
        let slices = max(1, min(SJ, 16))
        let TP = T * P
        let cp = cOverP, kx = inputKernel.storage
        let parts: [[Double]] = ThreadPolicy.parallelMap(slices) { w in
            var acc = [Double](repeating: 0, count: (T * Q + T * np) * TP)   // rows: (t, mu) then (t, pair)
            let rowsQ = T * Q, rowsAll = T * Q + T * np
            var da = [Double](repeating: 0, count: P), dh = [Double](repeating: 0, count: Q)
            var dg = [Double](repeating: 0, count: Q), dp = [Double](repeating: 0, count: Q)
            var i = w
            while i < SJ {
                let (u, r, wi) = site(i)
                let path = SitePath(problem: self, u: u, r: r, delta: delta)
                let w = wi * wJ
                for s in 0..<(T - 1) {
                    for beta in 0..<P {
                        for a in 0..<P { da[a] = 0 }
                        let z0 = path.z[s]
                        da[beta] = cp * path.dphi[s * Q + beta] * z0
                        var dz = cp * path.phi[s * Q + beta]
                        let col = (s * P + beta) * rowsAll
                        for t in (s + 1)..<T {
                            let zt = path.z[t]
                            for mu in 0..<Q {
                                var x = 0.0
                                for a in 0..<P { x += kx[mu + a * Q] * da[a] }
                                dh[mu] = x
                                let d1 = path.dphi[t * Q + mu]
                                dp[mu] = d1 * x
                                dg[mu] = path.d2phi[t * Q + mu] * zt * x + d1 * dz
                                acc[col + t * Q + mu] += w * (dz * path.phi[t * Q + mu] + zt * dp[mu])
                            }
                            for (j, (a, b)) in pairs.enumerated() {
                                let pa = path.phi[t * Q + a], pb = path.phi[t * Q + b]
                                let ga = path.dphi[t * Q + a] * zt, gb = path.dphi[t * Q + b] * zt
                                acc[col + rowsQ + t * np + j] += w * (dp[a] * pb + pa * dp[b] + kx[a + b * Q] * (dg[a] * gb + ga * dg[b]))
                            }
                            if t + 1 < T {
                                var ddz = 0.0
                                for a in 0..<P {
                                    let dl = delta[t * P + a]
                                    da[a] += cp * dl * dg[a]
                                    ddz += cp * dl * dp[a]
                                }
                                dz += ddz
                            }
                        }
                    }
                }
                i += slices
            }
            return acc
        }
        let rowsQ = T * Q, rowsAll = T * Q + T * np
        var accAll = [Double](repeating: 0, count: rowsAll * TP)
        for p in parts { for j in 0..<accAll.count { accAll[j] += p[j] } }
        let invSJ = 1.0
        var L = Matrix(rows: TP, cols: TP), Mte = Matrix(rows: T * Pt, cols: TP), Dk = Matrix(rows: T * np, cols: TP)
        for col in 0..<TP {
            for t in 0..<T {
                for a in 0..<P { L[t * P + a, col] = accAll[col * rowsAll + t * Q + a] * invSJ }
                for m in 0..<Pt { Mte[t * Pt + m, col] = accAll[col * rowsAll + t * Q + P + m] * invSJ }
                for j in 0..<np { Dk[t * np + j, col] = accAll[col * rowsAll + rowsQ + t * np + j] * invSJ }
            }
        }
        for d in 0..<TP { L[d, d] += gamma0 }
        // Pass 3: influences on all S paths.
        let nOut = TP + T * Pt + T * np
        let pchunks = (S + 511) / 512
        let moments: [[Double]] = ThreadPolicy.parallelMap(pchunks) { b in
            let lo = b * 512, n = min(512, S - lo)
            var Xd = Matrix(rows: TP, cols: n), Xs = Matrix(rows: T * Pt, cols: n), Xk = Matrix(rows: T * np, cols: n)
            for j in 0..<n {
                let (u, r, _) = site(lo + j)
                let path = SitePath(problem: self, u: u, r: r, delta: delta)
                for t in 0..<T {
                    for a in 0..<P { Xd[t * P + a, j] = -(path.q[t * Q + a] - qbar[t * Q + a]) }
                    for m in 0..<Pt { Xs[t * Pt + m, j] = path.q[t * Q + P + m] - qbar[t * Q + P + m] }
                    for jj in 0..<np { Xk[t * np + jj, j] = path.k[t * np + jj] - kbar[t * np + jj] }
                }
            }
            BLAS.trsm(L, &Xd, upper: false)                               // psi_Delta = -(gamma0 I + M)^{-1} (q - qbar)
            if Pt > 0 { BLAS.gemm(Mte, Xd, alpha: 1, beta: 1, into: &Xs) } // gamma0 psi_* = (q_* - qbar_*) + M_* psi_Delta
            BLAS.gemm(Dk, Xd, alpha: 1, beta: 1, into: &Xk)               // psi_K = (k - kbar) + D psi_Delta
            var m = [Double](repeating: 0, count: 2 * nOut)
            for j in 0..<n {
                let w = wAll[lo + j]
                for i in 0..<TP { let x = Xd[i, j]; m[i] += w * x * x; m[nOut + i] += w * x * x * x * x }
                for i in 0..<(T * Pt) { let x = Xs[i, j] / gamma0; m[TP + i] += w * x * x; m[nOut + TP + i] += w * x * x * x * x }
                for i in 0..<(T * np) { let x = Xk[i, j]; let o = TP + T * Pt + i; m[o] += w * x * x; m[nOut + o] += w * x * x * x * x }
            }
            return m
        }
        var m2 = [Double](repeating: 0, count: nOut), m4 = m2
        for m in moments { for i in 0..<nOut { m2[i] += m[i]; m4[i] += m[nOut + i] } }
        // Weighted moments (weights sum to 1). Monte Carlo: unbiased (S/(S-1)) with standard error
        // sqrt((m4 - m2^2)/S); quadrature: no sampling error (reported as 0).
        let Sd = Double(S)
        var v = [Double](repeating: 0, count: nOut), se = v
        for i in 0..<nOut {
            v[i] = useQuadrature ? m2[i] : m2[i] * Sd / (Sd - 1)
            se[i] = useQuadrature ? 0 : (max(0, m4[i] - m2[i] * m2[i]) / Sd).squareRoot()
        }
        func split(_ x: [Double]) -> TwoLayerTrajectory {
            TwoLayerTrajectory(delta: Array(x[0..<TP]), testOutput: Array(x[TP..<(TP + T * Pt)]), kernel: Array(x[(TP + T * Pt)...]))
        }
        let variance = split(v)
        // The mean-field sweep is an exact causal solve (no fixed point); its residual is the Monte Carlo standard
        // error of Delta, sqrt(N Var Delta / S), maximized over the grid.
        let mcError = useQuadrature ? 0 : (variance.delta.map { ($0 / Sd).squareRoot() }.max() ?? 0)
        var record = ConvergenceRecord(status: (v.allSatisfy(\.isFinite) && mean.delta.allSatisfy(\.isFinite)) ? .converged : .diverged,
                                       iterations: 1, residualHistory: [mcError], tolerance: .infinity,
                                       elapsedSeconds: clock.elapsed,
                                       message: useQuadrature ? "causal forward sweep over a \(S)-node Gauss-Hermite grid (deterministic)"
                                         : "causal forward sweep over S = \(S) Monte Carlo paths (sensitivities from \(SJ)); residual = max Monte Carlo s.e. of Delta")
        if record.status != .converged { record.message = "non-finite values in the two-layer propagator (learning rate too large?)" }
        if activation == .sqrt2ReLU {
            record.message = (record.message ?? "") + "; ReLU: phi'' is a delta function that the pathwise sensitivities drop, so the rich-regime result is approximate (ensembles at N = 256, gamma0 = 1 measure N Var K ~9% above it late in training); exact in the lazy limit. Prefer a smooth phi"
        }
        return TwoLayerFluctuationTheory(problem: self, mean: mean, variance: variance, varianceStandardError: split(se), record: record)
    }
}
