import Foundation
import LinearAlgebra
import NumericalCore

/// A two-layer network problem of paper B: P training points and optional test points given through their input
/// kernel K^x_{mu nu} = x_mu.x_nu / D (training points first), targets y (training points only), activation phi,
/// feature-learning strength gamma0, learning rate eta gamma0^2 N, loss (1/2P) sum_mu (f_mu - y_mu)^2, T grid steps.
public struct TwoLayerProblem: Sendable {
    public var activation: FluctuationActivation
    public var gamma0: Double
    public var eta: Double
    /// Targets of the P training points.
    public var targets: [Double]
    /// K^x over training then test points, (P + P_test) x (P + P_test), positive semi-definite.
    public var inputKernel: Matrix
    public var steps: Int
    /// Train on f - f(0) (so Delta(0) = y at every width) when true.
    public var centered: Bool

    public init(activation: FluctuationActivation, gamma0: Double, eta: Double, targets: [Double], inputKernel: Matrix,
                steps: Int, centered: Bool = true) throws {
        try Validate.positive("gamma0", gamma0)
        try Validate.positive("eta", eta)
        try Validate.nonEmpty("targets", targets)
        for y in targets { try Validate.finite("y", y) }
        try Validate.inRange("steps", steps, 1...100_000)
        guard inputKernel.isSquare, inputKernel.rows >= targets.count else {
            throw SolvableError.invalidParameter(name: "input_kernel", value: "\(inputKernel.rows)x\(inputKernel.cols)",
                                                 allowed: "a square matrix with at least P = \(targets.count) rows")
        }
        if case .scaledTanh(let a) = activation { try Validate.positive("tanh scale", a) }
        self.activation = activation; self.gamma0 = gamma0; self.eta = eta; self.targets = targets
        self.inputKernel = inputKernel; self.steps = steps; self.centered = centered
        _ = try inputFactor()
    }

    /// The paper's main example: one training point with |x|^2/D = 1 and target y, plus (optionally) one test point
    /// with overlap K^x_* = x.x_*/D. The official test point is the normalized midpoint of x and a random x', whose
    /// overlap is 1/sqrt(2) for orthogonal x, x' (our default).
    public static func singlePoint(activation: FluctuationActivation, gamma0: Double, eta: Double, y: Double = 1,
                                   steps: Int, testOverlap: Double? = 0.5.squareRoot(), centered: Bool = true) throws -> TwoLayerProblem {
        var k = Matrix(rows: 1, cols: 1, repeating: 1)
        if let o = testOverlap {
            try Validate.inRange("test_overlap", o, -1...1)
            k = Matrix([[1, o], [o, 1]])
        }
        return try TwoLayerProblem(activation: activation, gamma0: gamma0, eta: eta, targets: [y], inputKernel: k,
                                   steps: steps, centered: centered)
    }

    public var trainCount: Int { targets.count }
    public var pointCount: Int { inputKernel.rows }
    public var testCount: Int { pointCount - trainCount }
    /// c / P with c = eta gamma0.
    var cOverP: Double { eta * gamma0 / Double(trainCount) }

    /// Kernel entries reported: P = 1: K (and K_* with a test point); P > 1: the training diagonal K_{mu mu}.
    public var kernelPairs: [(Int, Int)] {
        if trainCount == 1 { return testCount > 0 ? [(0, 0), (0, 1)] : [(0, 0)] }
        return (0..<trainCount).map { ($0, $0) }
    }

    /// A lower factor F with F F^T = K^x (pivot-free LDL-style Cholesky tolerant of semi-definite kernels).
    func inputFactor() throws -> Matrix {
        let n = inputKernel.rows
        var L = Matrix(rows: n, cols: n)
        for j in 0..<n {
            var d = inputKernel[j, j]
            for k in 0..<j { d -= L[j, k] * L[j, k] }
            if d < -1e-10 * max(1, inputKernel[j, j]) {
                throw SolvableError.invalidParameter(name: "input_kernel", value: "not PSD at \(j)", allowed: "a positive semi-definite kernel")
            }
            let piv = max(d, 0).squareRoot()
            L[j, j] = piv
            for i in (j + 1)..<max(j + 1, n) {
                var s = inputKernel[i, j]
                for k in 0..<j { s -= L[i, k] * L[j, k] }
                L[i, j] = piv > 1e-14 ? s / piv : 0
            }
        }
        return L
    }
}

/// A block of i.i.d. two-layer single sites (neurons) evolved by the exact discrete-time field equations
///
///     h_mu(t+1) = h_mu(t) + (c/P) sum_alpha K^x_{mu alpha} Delta_alpha(t) g_alpha(t) ,   g = phi'(h) z
///     z(t+1)    = z(t)    + (c/P) sum_alpha Delta_alpha(t) phi(h_alpha(t))
///
/// with h(0) = u ~ N(0, K^x), z(0) = r ~ N(0, 1). These are exactly the per-neuron equations of full-batch GD of the
/// width-N network (h_mu = w0.x_mu/sqrt(D), z = readout weight), so a block of N sites whose Delta is computed from
/// its own empirical mean *is* a width-N network (spec 3, "exact discrete-time alternative"), and a block of S >> N
/// sites driven by the same rule is the Monte Carlo solution of the DMFT (its S -> infinity limit).
/// It is the two-layer case of the single-site process that `MeanFieldDynamics.NonlinearDMFT` samples for any depth
/// (there with the Euler Delta by default); here it is kept as one block so the propagator can differentiate it.
struct SiteBlock {
    let problem: TwoLayerProblem
    let count: Int
    var h: [Double]      // count x Q (site-major)
    var z: [Double]
    let r: [Double]
    let rphi0: [Double]  // count x Q: r phi(u_mu), subtracted for centered outputs
    let kx: [Double]     // Q x Q column-major
    /// Quadrature weights (nil: every site has weight 1, as in a network or plain Monte Carlo).
    let weight: [Double]?

    /// Draws `count` sites from `rng`.
    init(problem: TwoLayerProblem, count: Int, factor: Matrix, rng: inout RandomStream) {
        self.problem = problem
        self.count = count
        let Q = problem.pointCount
        var h = [Double](repeating: 0, count: count * Q)
        var r = [Double](repeating: 0, count: count)
        var xi = [Double](repeating: 0, count: Q)
        for i in 0..<count {
            for k in 0..<Q { xi[k] = rng.gaussian() }
            for mu in 0..<Q {
                var s = 0.0
                for k in 0...mu { s += factor[mu, k] * xi[k] }
                h[i * Q + mu] = s
            }
            r[i] = rng.gaussian()
        }
        let act = problem.activation
        var rp = [Double](repeating: 0, count: count * Q)
        for i in 0..<count { for mu in 0..<Q { rp[i * Q + mu] = r[i] * act.phi(h[i * Q + mu]) } }
        self.h = h; self.z = r; self.r = r; self.rphi0 = rp
        self.kx = problem.inputKernel.storage
        self.weight = nil
    }

    /// Sites at given initial fields u (count x Q) and readouts r with weights.
    init(problem: TwoLayerProblem, u: [Double], r: [Double], weight: [Double]) {
        self.problem = problem
        self.count = r.count
        let Q = problem.pointCount, act = problem.activation
        var rp = [Double](repeating: 0, count: count * Q)
        for i in 0..<count { for mu in 0..<Q { rp[i * Q + mu] = r[i] * act.phi(u[i * Q + mu]) } }
        self.h = u; self.z = r; self.r = r; self.rphi0 = rp
        self.kx = problem.inputKernel.storage
        self.weight = weight
    }

    /// Total weight of the block.
    var totalWeight: Double { weight.map { $0.reduce(0, +) } ?? Double(count) }

    /// Adds to `qSum` (Q entries) sum_i q_mu and to `kSum` (pairs) sum_i k_pair over the block at the current time,
    /// with q_mu = z phi(h_mu) - r phi(u_mu) (centered) or z phi(h_mu), k_ab = phi_a phi_b + K^x_ab g_a g_b.
    func observe(qSum: inout [Double], kSum: inout [Double], pairs: [(Int, Int)]) {
        let Q = problem.pointCount, act = problem.activation, centered = problem.centered
        var ph = [Double](repeating: 0, count: Q), g = [Double](repeating: 0, count: Q)
        for i in 0..<count {
            let zi = z[i], wi = weight?[i] ?? 1
            for mu in 0..<Q {
                let (p, d, _) = act.all(h[i * Q + mu])
                ph[mu] = p; g[mu] = d * zi
                qSum[mu] += wi * (zi * p - (centered ? rphi0[i * Q + mu] : 0))
            }
            for (j, (a, b)) in pairs.enumerated() { kSum[j] += wi * (ph[a] * ph[b] + kx[a + b * Q] * g[a] * g[b]) }
        }
    }

    /// One GD step with training errors `delta` (P entries).
    mutating func update(delta: [Double]) {
        let Q = problem.pointCount, P = problem.trainCount, act = problem.activation, cp = problem.cOverP
        var wg = [Double](repeating: 0, count: P)
        h.withUnsafeMutableBufferPointer { hb in
            z.withUnsafeMutableBufferPointer { zb in
                for i in 0..<count {
                    let zi = zb[i]
                    var dz = 0.0
                    for a in 0..<P {
                        let (p, d, _) = act.all(hb[i * Q + a])
                        wg[a] = cp * delta[a] * d * zi
                        dz += cp * delta[a] * p
                    }
                    for mu in 0..<Q {
                        var s = 0.0
                        for a in 0..<P { s += kx[mu + a * Q] * wg[a] }
                        hb[i * Q + mu] += s
                    }
                    zb[i] = zi + dz
                }
            }
        }
    }
}

/// Trajectories of a two-layer network (or of the DMFT): Delta (T x P), test outputs f_* (T x P_test, centered
/// when trained centered) and kernel entries (T x pairs), each flattened time-major.
public struct TwoLayerTrajectory: Sendable {
    public var delta: [Double]
    public var testOutput: [Double]
    public var kernel: [Double]
    public init(delta: [Double], testOutput: [Double], kernel: [Double]) {
        self.delta = delta; self.testOutput = testOutput; self.kernel = kernel
    }
}

extension TwoLayerProblem {
    /// Runs blocks of sites synchronously, each step computing Delta from the pooled empirical mean:
    /// Delta_alpha(t) = y_alpha - gamma0^{-1} <q_alpha(t)>. With one block of N sites this is the width-N network.
    func runSynchronous(blocks: inout [SiteBlock], parallel: Bool) -> TwoLayerTrajectory {
        let Q = pointCount, P = trainCount, pairs = kernelPairs, T = steps
        let total = blocks.reduce(0.0) { $0 + $1.totalWeight }
        var dOut = [Double](), fOut = [Double](), kOut = [Double]()
        dOut.reserveCapacity(T * P); fOut.reserveCapacity(T * testCount); kOut.reserveCapacity(T * pairs.count)
        for t in 0..<T {
            var qs = [Double](repeating: 0, count: Q), ks = [Double](repeating: 0, count: pairs.count)
            if parallel && blocks.count > 1 {
                let parts: [([Double], [Double])] = ThreadPolicy.parallelMap(blocks.count) { b in
                    var q = [Double](repeating: 0, count: Q), k = [Double](repeating: 0, count: pairs.count)
                    blocks[b].observe(qSum: &q, kSum: &k, pairs: pairs)
                    return (q, k)
                }
                for (q, k) in parts { for i in 0..<Q { qs[i] += q[i] }; for i in 0..<pairs.count { ks[i] += k[i] } }
            } else {
                for b in blocks.indices { blocks[b].observe(qSum: &qs, kSum: &ks, pairs: pairs) }
            }
            let delta = (0..<P).map { targets[$0] - qs[$0] / (total * gamma0) }
            dOut += delta
            for mu in P..<Q { fOut.append(qs[mu] / (total * gamma0)) }
            for j in 0..<pairs.count { kOut.append(ks[j] / total) }
            if t + 1 < T {
                if parallel && blocks.count > 1 {
                    let copy = blocks
                    blocks = ThreadPolicy.parallelMap(copy.count) { b in var x = copy[b]; x.update(delta: delta); return x }
                } else {
                    for b in blocks.indices { blocks[b].update(delta: delta) }
                }
            }
        }
        return TwoLayerTrajectory(delta: dOut, testOutput: fOut, kernel: kOut)
    }

    /// Exact full-batch GD of one width-N two-layer network in field form (see `SiteBlock`), seeded by `rng`.
    public func trainNetwork(width N: Int, rng: inout RandomStream) throws -> TwoLayerTrajectory {
        try Validate.inRange("width", N, 1...10_000_000)
        var blocks = [SiteBlock(problem: self, count: N, factor: try inputFactor(), rng: &rng)]
        return runSynchronous(blocks: &blocks, parallel: false)
    }
}
