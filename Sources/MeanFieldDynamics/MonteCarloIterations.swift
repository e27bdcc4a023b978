import Foundation
import LinearAlgebra
import NumericalCore

/// One replica of the alternating Monte Carlo DMFT as a method of the solver driver. A step:
///
/// 1. Delta from the current kernels (Euler, paper eq. 10 discretised) or from the last step's top-layer paths
///    (exact discrete time); the change of Delta enters the residual;
/// 2. for each layer l: sources u^l ~ GP(0, Phi^{l-1}) and r^l ~ GP(0, G^{l+1}) from fixed normals (common random
///    numbers, or fresh ones each iteration), the fields of all S paths (`solveFields`), Phi^l = <phi phi^T>,
///    G^l = <g g^T> and, for L >= 2, the responses A^l, B^{l-1} (`responses`), each damped with the driver's weight;
/// 3. the Euler path of the new kernels (a non-finite loss makes the driver roll the step back).
///
/// The residual is max(|Delta change|_inf, the relative Frobenius changes of Phi^l, G^l, A^l, B^l).
struct MonteCarloIterations: CheckpointableMethod {
    let problem: DMFTProblem
    let options: NonlinearDMFTOptions
    let seed: UInt64
    let replica: Int
    let threads: Int
    let checkpointKey: UInt64
    private let sqrtKx: Matrix
    private let staticKernels: (phi: [Matrix], g: [Matrix])
    private let normals: Normals

    /// The standard normals behind the sources, regenerated only when fresh samples are asked for.
    final class Normals {
        var iteration = -1
        var u: [Matrix] = []
        var r: [Matrix] = []
    }

    struct State {
        var Phi: [Matrix]   // Phi[l], l = 0...L (Phi^0 = K^x tiled)
        var G: [Matrix]     // G[l], l = 1...L+1 (G^{L+1} = 1)
        var A: [Matrix]     // A[l], l = 0..<L (A[0] = 0)
        var B: [Matrix]     // B[l], l = 1...L (B[L] = 0)
        var delta: [[Double]]
        /// The Euler path of the current kernels.
        var path: OutputPath
        /// With the exact Delta update: the path of the last step's top-layer fields.
        var exact: OutputPath?
    }

    init(problem: DMFTProblem, options: NonlinearDMFTOptions, seed: UInt64, replica: Int, threads: Int, key: UInt64) throws {
        self.problem = problem
        self.options = options
        self.seed = seed
        self.replica = replica
        self.threads = threads
        checkpointKey = key
        sqrtKx = try NonlinearDMFT.psdSqrt(problem.data.inputKernel)
        staticKernels = try NonlinearDMFT.staticKernels(problem)
        normals = Normals()
    }

    /// The driver's options: tolerance relative to the Monte Carlo noise; with fresh samples the residual plateaus at
    /// sigma = alpha sqrt(2/S), and the solve stops once rho < 3 sigma in 3 consecutive iterations.
    var iterationOptions: IterationOptions {
        let floor = options.damping * (2 / Double(options.samples)).squareRoot()
        return IterationOptions(tolerance: options.freshSamples ? 3 * floor : options.effectiveTolerance,
                                maxIterations: options.maxIterations, damping: options.damping,
                                stopping: options.freshSamples ? .consecutiveBelowTolerance(3) : .residualBelowTolerance)
    }

    private var tn: Int { problem.timeSteps * problem.n }

    private func tile(_ m: Matrix) -> Matrix {
        let n = problem.n
        return Matrix(rows: tn, cols: tn) { i, j in m[i % n, j % n] }
    }

    func initialState() -> State {
        let L = problem.depth, tn = self.tn
        var s = State(Phi: [tile(problem.data.inputKernel)] + staticKernels.phi.map(tile),
                      G: [Matrix(rows: 0, cols: 0)] + staticKernels.g.map(tile) + [Matrix(rows: tn, cols: tn, repeating: 1)],
                      A: [Matrix](repeating: Matrix(rows: tn, cols: tn), count: L + 1),
                      B: [Matrix](repeating: Matrix(rows: tn, cols: tn), count: L + 1),
                      delta: [[Double]](repeating: problem.data.targets, count: problem.timeSteps), path: ([], [], []), exact: nil)
        s.path = eulerPath(s)
        return s
    }

    /// The normals of layer l for sources u or r (row = path), drawn from (seed, replica, path) and the iteration
    /// when samples are fresh.
    private func draw(_ l: Int, _ kind: String, _ iteration: Int) -> Matrix {
        let L = problem.depth, n = problem.n, S = options.samples
        let cols = kind == "u" ? (l == 1 ? n : tn) : (l == L ? 1 : tn)
        var m = Matrix(rows: S, cols: cols)
        for path in 0..<S {
            var rng = RandomStream(seed: seed, point: UInt64(replica), sample: UInt64(path), purpose: "dmft-mc-\(kind)\(l)-\(iteration)")
            for j in 0..<cols { m.storage[j * S + path] = rng.gaussian() }
        }
        return m
    }

    private func prepareNormals(iteration: Int) {
        let wanted = options.freshSamples && iteration > 1 ? iteration : 0
        guard normals.iteration != wanted else { return }
        let L = problem.depth
        normals.u = (0...L).map { $0 == 0 ? Matrix(rows: 0, cols: 0) : draw($0, "u", wanted) }
        normals.r = (0...L).map { $0 == 0 ? Matrix(rows: 0, cols: 0) : draw($0, "r", wanted) }
        normals.iteration = wanted
    }

    func step(_ s: inout State, iteration: Int, damping alpha: Double) throws -> StepResult {
        let L = problem.depth, T = problem.timeSteps, n = problem.n, tn = self.tn, S = options.samples
        let act = problem.activation
        let c0 = problem.eta * problem.gamma0 / Double(problem.p)
        let useJacobians = !options.gradientIndependence && L >= 2
        prepareNormals(iteration: iteration)
        let source = s.exact ?? s.path
        var rho = 0.0
        for t in 0..<T { for mu in 0..<problem.p { rho = nanMax(rho, abs(source.delta[t][mu] - s.delta[t][mu])) } }
        s.delta = source.delta
        let dpad = problem.paddedDelta(s.delta)
        for l in 1...L {
            var u = Matrix(rows: S, cols: tn)
            if l == 1 {
                let u1 = options.initialFields?.u ?? BLAS.gemm(normals.u[1], sqrtKx)
                for t in 0..<T { u.storage.replaceSubrange((t * n * S)..<((t + 1) * n * S), with: u1.storage) }
            } else {
                u = BLAS.gemm(normals.u[l], try NonlinearDMFT.psdSqrt(s.Phi[l - 1]))
            }
            var r = Matrix(rows: S, cols: tn)
            if l == L {
                let r1 = options.initialFields?.r ?? normals.r[L].storage
                for j in 0..<tn { r.storage.replaceSubrange((j * S)..<((j + 1) * S), with: r1) }
            } else {
                r = BLAS.gemm(normals.r[l], try NonlinearDMFT.psdSqrt(s.G[l + 1]))
            }
            // operators M = A^{l-1} + C, N = B^l + D
            var M = s.A[l - 1], N = s.B[l]
            let phiPrev = s.Phi[l - 1], gNext = s.G[l + 1]
            for t0 in 0..<T { for nu in 0..<n {
                let dv = c0 * dpad[t0 * n + nu]
                if dv == 0 { continue }
                let col = (t0 * n + nu) * tn
                for i in ((t0 + 1) * n)..<tn {
                    M.storage[col + i] += dv * phiPrev.storage[col + i]
                    N.storage[col + i] += dv * gNext.storage[col + i]
                }
            } }
            let f = NonlinearDMFT.solveFields(u: u, r: r, M: M, N: N, act: act, S: S, T: T, n: n)
            if l == L && options.exactDelta { s.exact = NonlinearDMFT.exactTrajectory(f, problem: problem, S: S) }
            var phiNew = BLAS.syrk(f.phi, transpose: true, alpha: 1 / Double(S))
            var gNew = BLAS.syrk(f.g, transpose: true, alpha: 1 / Double(S))
            phiNew.symmetrize(); gNew.symmetrize()
            if !phiNew.allFinite || !gNew.allFinite { return .nonFinite(quantity: "the layer \(l) kernels") }
            rho = nanMax(rho, nanMax(s.Phi[l].damp(toward: phiNew, weight: alpha), s.G[l].damp(toward: gNew, weight: alpha)))
            if useJacobians {
                let resp = options.singlePrecisionResponses
                    ? NonlinearDMFT.responses(fields: f, M: M, N: N, act: act, S: S, T: T, n: n, wantA: l < L, wantB: l >= 2,
                                              threads: threads, precision: Float.self)
                    : NonlinearDMFT.responses(fields: f, M: M, N: N, act: act, S: S, T: T, n: n, wantA: l < L, wantB: l >= 2,
                                              threads: threads, precision: Double.self)
                if l < L { rho = nanMax(rho, s.A[l].damp(toward: resp.a, weight: alpha)) }
                if l >= 2 { rho = nanMax(rho, s.B[l - 1].damp(toward: resp.b, weight: alpha)) }
            }
        }
        if !options.exactDelta {
            s.path = eulerPath(s)
            if !s.path.loss.allSatisfy(\.isFinite) { return .nonFinite(quantity: "the loss") }
        }
        return .advanced(residual: rho)
    }

    /// K[t] = sum_l G^{l+1}(t,t) * Phi^l(t,t) entrywise over points.
    private func ntk(_ s: State, _ t: Int) -> Matrix {
        let L = problem.depth, n = problem.n
        var k = Matrix(rows: n, cols: n)
        for l in 0...L { for nu in 0..<n { for mu in 0..<n {
            k[mu, nu] += s.G[l + 1][t * n + mu, t * n + nu] * s.Phi[l][t * n + mu, t * n + nu]
        } } }
        return k
    }

    private func eulerPath(_ s: State) -> OutputPath { problem.eulerTrajectory { self.ntk(s, $0) } }

    /// The replica's trajectory, responses and record.
    func result(_ solution: Solution<State>) -> (KernelTrajectory, [Matrix], [Matrix], ConvergenceRecord) {
        let L = problem.depth, s = solution.value
        let path = s.exact ?? s.path
        let traj = KernelTrajectory(timeSteps: problem.timeSteps, trainCount: problem.p, pointCount: problem.n, depth: L,
                                    loss: path.loss, delta: path.delta, predictions: path.predictions,
                                    kernelPhi: Array(s.Phi[1...L]), kernelG: Array(s.G[1...L]),
                                    ntk: (0..<problem.timeSteps).map { ntk(s, $0) })
        return (traj, L > 1 ? Array(s.A[1..<L]) : [], L > 1 ? Array(s.B[1..<L]) : [], solution.record)
    }

    // MARK: checkpoints (the normals are regenerated from the seed)

    func save(_ s: State, into a: inout CheckpointState, prefix: String) {
        let L = problem.depth
        for l in 1...L { a[prefix + "phi\(l)"] = s.Phi[l].storage; a[prefix + "g\(l)"] = s.G[l].storage }
        for l in 1..<L { a[prefix + "a\(l)"] = s.A[l].storage; a[prefix + "b\(l)"] = s.B[l].storage }
        a[prefix + "delta"] = s.delta.flatMap { $0 }
        if let ex = s.exact {
            a[prefix + "exact_delta"] = ex.delta.flatMap { $0 }
            a[prefix + "exact_predictions"] = ex.predictions.flatMap { $0 }
            a[prefix + "exact_loss"] = ex.loss
        }
    }

    func restore(from a: CheckpointState, prefix: String) throws -> State {
        let L = problem.depth, T = problem.timeSteps, n = problem.n, p = problem.p, tn = self.tn
        func array(_ name: String, _ count: Int) throws -> [Double] {
            guard let v = a[prefix + name], v.count == count else {
                throw SolvableError.runtime("checkpoint entry \(prefix + name) is missing or has the wrong size; delete the checkpoint file")
            }
            return v
        }
        func rows(_ v: [Double], _ width: Int) -> [[Double]] { (0..<T).map { Array(v[($0 * width)..<(($0 + 1) * width)]) } }
        var s = initialState()
        for l in 1...L {
            s.Phi[l] = Matrix(rows: tn, cols: tn, columnMajor: try array("phi\(l)", tn * tn))
            s.G[l] = Matrix(rows: tn, cols: tn, columnMajor: try array("g\(l)", tn * tn))
        }
        for l in 1..<L {
            s.A[l] = Matrix(rows: tn, cols: tn, columnMajor: try array("a\(l)", tn * tn))
            s.B[l] = Matrix(rows: tn, cols: tn, columnMajor: try array("b\(l)", tn * tn))
        }
        s.delta = rows(try array("delta", T * p), p)
        if a[prefix + "exact_loss"] != nil {
            s.exact = (rows(try array("exact_delta", T * p), p), rows(try array("exact_predictions", T * n), n),
                       try array("exact_loss", T))
        }
        s.path = eulerPath(s)
        return s
    }
}
