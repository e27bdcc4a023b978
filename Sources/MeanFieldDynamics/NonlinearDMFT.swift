import Foundation
import LinearAlgebra
import NumericalCore

/// Options of the alternating Monte Carlo DMFT solver (spec section 6).
public struct NonlinearDMFTOptions: Sendable {
    /// Monte Carlo paths S per layer.
    public var samples: Int
    /// Damping alpha, the same for Phi, G, A and B (spec: 0.6-0.8).
    public var damping: Double
    public var maxIterations: Int
    /// Absolute tolerance on rho; nil means `toleranceFactor / sqrt(S)`, i.e. relative to the Monte Carlo noise level.
    public var tolerance: Double?
    public var toleranceFactor: Double
    /// Fresh normals every iteration (the official way) instead of common random numbers. rho then plateaus at the
    /// noise floor sigma = alpha sqrt(2/S); the solver stops once rho < 3 sigma for 3 consecutive iterations.
    public var freshSamples: Bool
    /// Gradient independence: keep A = B = 0 (spec section 7).
    public var gradientIndependence: Bool
    /// Independent replicas (seeds) for Monte Carlo standard errors (spec: R >= 4 to report errors).
    public var replicas: Int
    /// Bytes the solve may use (nil: `MemoryBudget.available`).
    public var memoryLimit: Int?
    /// Delta update: Euler (default, the official convention) or exact discrete time,
    /// f_mu(t) = gamma0^{-1} <z^L(t) phi(h^L_mu(t))> - (same at t = 0) from the current paths (spec section 4).
    /// With the exact update, an L = 1 solve with S paths is pathwise a width-S network (spec section 6).
    public var exactDelta: Bool
    /// Explicit initial fields for L = 1: u (S x n, row i = W^0_i X / sqrt(D)) and r (length S, the readout), which
    /// make the solve reproduce a given network exactly. Only with one replica.
    public var initialFields: (u: Matrix, r: [Double])?
    /// Periodic checkpoints: the state of every replica (kernels, responses, Delta, residual history) is written
    /// every `checkpoint.interval` seconds and when a replica finishes; a solve with the same problem, options and
    /// seed resumes from it and returns bitwise the same result as an uninterrupted one.
    public var checkpoint: Checkpoint?

    public init(samples: Int = 1000, damping: Double = 0.7, maxIterations: Int = 50, tolerance: Double? = nil,
                toleranceFactor: Double = 0.01, freshSamples: Bool = false, gradientIndependence: Bool = false,
                replicas: Int = 1, memoryLimit: Int? = nil, exactDelta: Bool = false, initialFields: (u: Matrix, r: [Double])? = nil,
                checkpoint: Checkpoint? = nil) {
        self.exactDelta = exactDelta; self.initialFields = initialFields; self.checkpoint = checkpoint
        self.samples = samples; self.damping = damping; self.maxIterations = maxIterations; self.tolerance = tolerance
        self.toleranceFactor = toleranceFactor; self.freshSamples = freshSamples
        self.gradientIndependence = gradientIndependence; self.replicas = replicas; self.memoryLimit = memoryLimit
    }

    public func validate() throws {
        try Validate.inRange("samples", samples, 2...10_000_000)
        try Validate.inRange("damping", damping, 0.01...1)
        try Validate.inRange("iterations", maxIterations, 1...100_000)
        if let t = tolerance { try Validate.positive("tolerance", t) }
        try Validate.positive("tolerance_factor", toleranceFactor)
        try Validate.inRange("replicas", replicas, 1...1000)
        if let f = initialFields {
            guard replicas == 1, f.u.rows == samples, f.r.count == samples else {
                throw SolvableError.invalidParameter(name: "initial_fields", value: "u \(f.u.rows)x\(f.u.cols), r \(f.r.count)",
                                                     allowed: "u with S rows, r of length S, one replica")
            }
        }
    }

    /// The tolerance in force.
    public var effectiveTolerance: Double { tolerance ?? toleranceFactor / Double(samples).squareRoot() }
}

/// The result of a Monte Carlo DMFT solve.
public struct NonlinearDMFTSolution: Sendable {
    /// Mean over replicas of loss, Delta, predictions, Phi^l, G^l ((T n) x (T n)) and the NTK.
    public var trajectory: KernelTrajectory
    /// Each replica's trajectory (one per independent seed).
    public var replicaTrajectories: [KernelTrajectory]
    /// Standard error of the loss over replicas (zeros when replicas = 1).
    public var lossStandardError: [Double]
    /// A^l, B^l (l = 1..L-1), (T n) x (T n), grid normalized, of the first replica.
    public var responseA: [Matrix]
    public var responseB: [Matrix]
    /// Combined record over replicas.
    public var record: ConvergenceRecord
    /// What the checkpoint did: where the solve resumed, or why a checkpoint file was not used (nil without one).
    public var checkpointNote: String?
}

/// Nonlinear DMFT by the alternating Monte Carlo solver of spec section 6 (paper eqs. 9-10):
///
/// * sample u^l ~ GP(0, Phi^{l-1}) and r^l ~ GP(0, G^{l+1}) on the (t, mu) grid (symmetric PSD square roots,
///   common random numbers by default),
/// * solve h = u + (A^{l-1} + C) g, z = r + (B^l + D) phi(h), g = phi'(h) z per path by one forward sweep in t
///   (batched over paths with BLAS),
/// * responses A^l = <phi'(h) J_hr>, B^{l-1} = <J_gu> from forward Jacobian recursions per path,
/// * Phi^l = <phi(h) phi(h)^T>, G^l = <g g^T>, damped updates, Euler Delta, until rho < tolerance.
public enum NonlinearDMFT {
    /// Static (initial) kernels of spec section 6, n x n per layer l = 1...L: Phi^l_0 = E[phi(u) phi(u)^T] with
    /// u ~ N(0, Phi^{l-1}_0), G^l_0 = E[phi'(u) phi'(u)^T] * G^{l+1}_0 (closed forms for linear and ReLU).
    public static func staticKernels(_ problem: DMFTProblem, quadratureOrder: Int = 48) throws -> (phi: [Matrix], g: [Matrix]) {
        let gh = try GaussHermite(order: quadratureOrder)
        let n = problem.n, L = problem.depth
        var prev = problem.data.inputKernel
        var phis: [Matrix] = [], dd: [Matrix] = []
        for _ in 1...L {
            var ph = Matrix(rows: n, cols: n), dp = Matrix(rows: n, cols: n)
            for j in 0..<n { for i in 0...j {
                let m = problem.activation.gaussianMoments(kaa: prev[i, i], kab: prev[i, j], kbb: prev[j, j], quadrature: gh)
                ph[i, j] = m.phi; ph[j, i] = m.phi; dp[i, j] = m.derivative; dp[j, i] = m.derivative
            } }
            phis.append(ph); dd.append(dp); prev = ph
        }
        var gs = [Matrix](repeating: Matrix(rows: n, cols: n), count: L)
        var next = Matrix(rows: n, cols: n, repeating: 1)
        for l in stride(from: L - 1, through: 0, by: -1) {
            var g = dd[l]
            for i in 0..<g.storage.count { g.storage[i] *= next.storage[i] }
            gs[l] = g; next = g
        }
        return (phis, gs)
    }

    /// Bytes a solve needs: kernels, responses, operators and square roots ((T n)^2 each), path fields, and per-worker
    /// Jacobian work space.
    public static func memoryEstimate(_ p: DMFTProblem, options: NonlinearDMFTOptions, threads: Int = ThreadPolicy.threads) -> Int {
        let tn = MemoryBudget.product(p.timeSteps, p.n), L = p.depth, s = options.samples
        let kernels = MemoryBudget.product(2 * L + 2 * max(0, L - 1) + 6, tn, tn)
        let paths = MemoryBudget.product(s, tn, 8 + 2 * L)
        let work = options.gradientIndependence || L == 1 ? 0 : MemoryBudget.product(max(1, threads), 5, tn, tn)
        return MemoryBudget.product(8, MemoryBudget.sum(kernels, paths, work))
    }

    /// Solves the DMFT by Monte Carlo (any activation, any depth). Throws `insufficientMemory` with the estimate
    /// when the request does not fit.
    public static func solve(_ problem: DMFTProblem, options: NonlinearDMFTOptions = NonlinearDMFTOptions(), seed: UInt64 = 0,
                             threads: Int? = nil, progress: ((Int, Double) -> Void)? = nil,
                             log: ((String) -> Void)? = nil) throws -> NonlinearDMFTSolution {
        try options.validate()
        if options.exactDelta && problem.gamma0 == 0 {
            throw SolvableError.invalidParameter(name: "gamma0", value: "0", allowed: "gamma0 > 0 with the exact Delta update (f carries 1/gamma0)")
        }
        if let f = options.initialFields, problem.depth != 1 || f.u.cols != problem.n {
            throw SolvableError.invalidParameter(name: "initial_fields", value: "depth \(problem.depth), u with \(f.u.cols) columns",
                                                 allowed: "depth 1 and one column per point")
        }
        let th = threads ?? ThreadPolicy.threads
        try MemoryBudget.check(memoryEstimate(problem, options: options, threads: th), cap: options.memoryLimit,
                               hint: "reduce samples, steps T, points P or threads (kernels scale as (T P)^2, Jacobians as threads (T P)^2)")
        var runs: [(KernelTrajectory, [Matrix], [Matrix], ConvergenceRecord)] = []
        var archive = CheckpointState()
        var note: String? = nil
        let key = checkpointKey(problem, options: options, seed: seed)
        if let ck = options.checkpoint {
            switch ck.load(key: key) {
            case .resumable(let state):
                archive = state
                let where_ = (0..<options.replicas).compactMap { r -> String? in
                    guard let it = state.integer("r\(r).next_iteration") else { return nil }
                    let at = state.integer("r\(r).done") == 1 ? "done" : "iteration \(it)"
                    return options.replicas > 1 ? "replica \(r) \(at)" : at
                }
                note = "resumed from the checkpoint at \(ck.url.path): " + where_.joined(separator: ", ")
            case .none: note = "no checkpoint at \(ck.url.path) yet; starting afresh"
            case .otherParameters: note = "the checkpoint at \(ck.url.path) is for other parameters; starting afresh (it will be replaced)"
            case .unreadable(let why): note = "the checkpoint at \(ck.url.path) is unreadable (\(why)); starting afresh"
            }
        }
        if let note { log?(note) }
        for r in 0..<options.replicas {
            // BLAS stays single-threaded for the serial part so the result does not depend on the thread count (the
            // eigendecompositions are fed back into the iteration, which amplified OpenBLAS's thread-dependent
            // rounding in dsyevd to ~1e-11); the path sums are parallel over fixed chunks.
            runs.append(try BLASRuntime.serial {
                try solveOne(problem, options: options, seed: seed, replica: r, threads: th, progress: progress,
                             archive: &archive, key: key)
            })
        }
        let trajs = runs.map(\.0)
        let mean = KernelTrajectory.mean(trajs)
        var se = [Double](repeating: 0, count: problem.timeSteps)
        if trajs.count > 1 { se = (0..<problem.timeSteps).map { t in Statistics.standardError(trajs.map { $0.loss[t] }) } }
        return NonlinearDMFTSolution(trajectory: mean, replicaTrajectories: trajs, lossStandardError: se,
                                     responseA: runs[0].1, responseB: runs[0].2,
                                     record: runs.count == 1 ? runs[0].3 : ConvergenceRecord.combine(runs.map(\.3)),
                                     checkpointNote: note)
    }

    /// Symmetric PSD square root V sqrt(max(lambda, 0)) V^T (spec section 6; continuous under common random numbers).
    static func psdSqrt(_ m: Matrix) throws -> Matrix {
        let e = try LAPACK.symmetricEigen(m)
        var vs = e.vectors
        let k = m.rows
        for j in 0..<k { let s = max(e.values[j], 0).squareRoot(); for i in 0..<k { vs.storage[j * k + i] *= s } }
        var r = BLAS.gemm(vs, e.vectors, transposeB: true)
        r.symmetrize()
        return r
    }

    /// The checkpoint key: a hash of everything the result depends on (not the thread count, which it does not).
    static func checkpointKey(_ p: DMFTProblem, options o: NonlinearDMFTOptions, seed: UInt64) -> UInt64 {
        var k = CheckpointKey("nonlinear-dmft/1")
        k.add(p.depth); k.add(p.timeSteps); k.add(p.eta); k.add(p.gamma0); k.add(p.activation.name)
        k.add(p.data.trainCount); k.add(p.data.inputKernel.storage); k.add(p.data.targets); k.add(p.data.testTargets)
        k.add(o.samples); k.add(o.damping); k.add(o.maxIterations); k.add(o.effectiveTolerance); k.add(o.freshSamples)
        k.add(o.gradientIndependence); k.add(o.replicas); k.add(o.exactDelta)
        k.add(o.initialFields?.u.storage ?? []); k.add(o.initialFields?.r ?? [])
        k.add(seed)
        return k.value
    }

    /// One replica. With a checkpoint, its state lives in `archive` under "r<replica>." (beside the finished
    /// replicas'), is restored from there when present, and the archive is saved every `interval` seconds and when
    /// the replica finishes.
    static func solveOne(_ problem: DMFTProblem, options: NonlinearDMFTOptions, seed: UInt64, replica: Int, threads: Int,
                         progress: ((Int, Double) -> Void)?, archive: inout CheckpointState, key: UInt64) throws
        -> (KernelTrajectory, [Matrix], [Matrix], ConvergenceRecord) {
        let clock = Stopwatch()
        let L = problem.depth, T = problem.timeSteps, n = problem.n, tn = T * n, S = options.samples
        let act = problem.activation
        let c0 = problem.eta * problem.gamma0 / Double(problem.p)
        let st = try staticKernels(problem)
        func tile(_ m: Matrix) -> Matrix { Matrix(rows: tn, cols: tn) { i, j in m[i % n, j % n] } }
        var Phi = [tile(problem.data.inputKernel)] + st.phi.map(tile)           // Phi[l], l = 0...L
        var G = [Matrix(rows: 0, cols: 0)] + st.g.map(tile) + [Matrix(rows: tn, cols: tn, repeating: 1)]  // G[l], l = 1...L+1
        var A = [Matrix](repeating: Matrix(rows: tn, cols: tn), count: L + 1)   // A[l], l = 0..<L
        var B = [Matrix](repeating: Matrix(rows: tn, cols: tn), count: L + 1)   // B[l], l = 1...L (B[L] = 0)
        let sqrtKx = try psdSqrt(problem.data.inputKernel)
        let useJacobians = !options.gradientIndependence && L >= 2
        func normals(_ l: Int, _ kind: String, _ iteration: Int) -> Matrix {
            let it = options.freshSamples ? iteration : 0
            let cols = kind == "u" ? (l == 1 ? n : tn) : (l == L ? 1 : tn)
            var m = Matrix(rows: S, cols: cols)
            for path in 0..<S {
                var rng = RandomStream(seed: seed, point: UInt64(replica), sample: UInt64(path),
                                       purpose: "dmft-mc-\(kind)\(l)-\(it)")
                for j in 0..<cols { m.storage[j * S + path] = rng.gaussian() }
            }
            return m
        }
        var xiU = (0...L).map { $0 == 0 ? Matrix(rows: 0, cols: 0) : normals($0, "u", 0) }
        var xiR = (0...L).map { $0 == 0 ? Matrix(rows: 0, cols: 0) : normals($0, "r", 0) }
        var delta = [[Double]](repeating: problem.data.targets, count: T)
        var history: [Double] = []
        var status = SolverStatus.maxIterations
        let tol = options.effectiveTolerance
        let floor = options.damping * (2 / Double(S)).squareRoot()
        var below = 0
        var message: String? = nil
        var exact: (delta: [[Double]], predictions: [[Double]], loss: [Double])? = nil
        func ntk(_ t: Int) -> Matrix {
            var k = Matrix(rows: n, cols: n)
            for l in 0...L { for nu in 0..<n { for mu in 0..<n {
                k[mu, nu] += G[l + 1][t * n + mu, t * n + nu] * Phi[l][t * n + mu, t * n + nu]
            } } }
            return k
        }
        var overflowLayer: Int? = nil
        var good: (Phi: [Matrix], G: [Matrix], A: [Matrix], B: [Matrix])? = nil

        // checkpoint: the whole iteration state (the normals are regenerated from the seed)
        let prefix = "r\(replica)."
        var finished = false, elapsedBefore = 0.0, sinceSave = Stopwatch()
        func stateMatrices(_ tag: String, _ ph: [Matrix], _ g: [Matrix], _ a: [Matrix], _ b: [Matrix]) -> [(String, Matrix)] {
            (1...L).flatMap { l in [("\(tag)phi\(l)", ph[l]), ("\(tag)g\(l)", g[l])] }
                + (1..<L).flatMap { l in [("\(tag)a\(l)", a[l]), ("\(tag)b\(l)", b[l])] }
        }
        func save(nextIteration: Int, done: Bool) throws {
            guard let ck = options.checkpoint else { return }
            archive.removeAll(prefix: prefix)
            archive.set(prefix + "next_iteration", integer: nextIteration)
            archive.set(prefix + "done", integer: done ? 1 : 0)
            archive.set(prefix + "status", string: status.rawValue)
            if let m = message { archive.set(prefix + "message", string: m) }
            archive[prefix + "elapsed"] = [elapsedBefore + clock.elapsed]
            archive[prefix + "history"] = history
            archive.set(prefix + "below", integer: below)
            archive[prefix + "delta"] = delta.flatMap { $0 }
            for (name, m) in stateMatrices("", Phi, G, A, B) { archive[prefix + name] = m.storage }
            if let ex = exact {
                archive[prefix + "exact_delta"] = ex.delta.flatMap { $0 }
                archive[prefix + "exact_predictions"] = ex.predictions.flatMap { $0 }
                archive[prefix + "exact_loss"] = ex.loss
            }
            if !done, let g = good { for (name, m) in stateMatrices("good_", g.Phi, g.G, g.A, g.B) { archive[prefix + name] = m.storage } }
            try ck.save(archive, key: key)
            sinceSave = Stopwatch()
        }
        func restore() throws -> Int? {
            guard options.checkpoint != nil, let next = archive.integer(prefix + "next_iteration") else { return nil }
            func array(_ name: String, _ count: Int) throws -> [Double] {
                guard let v = archive[prefix + name], v.count == count else {
                    throw SolvableError.runtime("checkpoint entry \(prefix + name) is missing or has the wrong size; delete the checkpoint file")
                }
                return v
            }
            func rows(_ v: [Double], _ width: Int) -> [[Double]] { (0..<T).map { Array(v[($0 * width)..<(($0 + 1) * width)]) } }
            func matrices(_ tag: String, _ ph: inout [Matrix], _ g: inout [Matrix], _ a: inout [Matrix], _ b: inout [Matrix]) throws {
                for l in 1...L {
                    ph[l] = Matrix(rows: tn, cols: tn, columnMajor: try array("\(tag)phi\(l)", tn * tn))
                    g[l] = Matrix(rows: tn, cols: tn, columnMajor: try array("\(tag)g\(l)", tn * tn))
                }
                for l in 1..<L {
                    a[l] = Matrix(rows: tn, cols: tn, columnMajor: try array("\(tag)a\(l)", tn * tn))
                    b[l] = Matrix(rows: tn, cols: tn, columnMajor: try array("\(tag)b\(l)", tn * tn))
                }
            }
            try matrices("", &Phi, &G, &A, &B)
            finished = archive.integer(prefix + "done") == 1
            status = archive.string(prefix + "status").flatMap(SolverStatus.init(rawValue:)) ?? .maxIterations
            message = archive.string(prefix + "message")
            elapsedBefore = try array("elapsed", 1)[0]
            history = archive[prefix + "history"] ?? []
            below = archive.integer(prefix + "below") ?? 0
            delta = rows(try array("delta", T * problem.p), problem.p)
            if archive[prefix + "exact_loss"] != nil {
                exact = (rows(try array("exact_delta", T * problem.p), problem.p), rows(try array("exact_predictions", T * n), n),
                         try array("exact_loss", T))
            }
            if archive[prefix + "good_phi1"] != nil {
                var g = (Phi: Phi, G: G, A: A, B: B)
                try matrices("good_", &g.Phi, &g.G, &g.A, &g.B)
                good = g
            }
            return next   // fresh normals of iteration `next` are drawn by the loop, as in an uninterrupted run
        }
        let firstIteration = try restore() ?? 1

        for iter in (finished ? 1..<1 : firstIteration..<(options.maxIterations + 1)) {
            if options.freshSamples && iter > 1 {
                xiU = (0...L).map { $0 == 0 ? Matrix(rows: 0, cols: 0) : normals($0, "u", iter) }
                xiR = (0...L).map { $0 == 0 ? Matrix(rows: 0, cols: 0) : normals($0, "r", iter) }
            }
            var rho = 0.0
            if let ex = exact {
                for t in 0..<T { for mu in 0..<problem.p { rho = DeepLinearDMFT.nanMax(rho, abs(ex.delta[t][mu] - delta[t][mu])) } }
                delta = ex.delta
            } else {
                let euler = problem.eulerTrajectory(ntk: ntk)
                if !euler.loss.allSatisfy(\.isFinite) {
                    if let g = good { Phi = g.Phi; G = g.G; A = g.A; B = g.B }
                    status = .diverged
                    message = "the loss became non-finite at iteration \(iter) (returning the last iterate with a finite loss)"
                    break
                }
                for t in 0..<T { for mu in 0..<problem.p { rho = DeepLinearDMFT.nanMax(rho, abs(euler.delta[t][mu] - delta[t][mu])) } }
                delta = euler.delta
            }
            good = (Phi, G, A, B)
            let dpad = problem.paddedDelta(delta)
            for l in 1...L {
                // sources
                var u = Matrix(rows: S, cols: tn)
                if l == 1 {
                    let u1 = options.initialFields?.u ?? BLAS.gemm(xiU[1], sqrtKx)
                    for t in 0..<T { u.storage.replaceSubrange((t * n * S)..<((t + 1) * n * S), with: u1.storage) }
                } else {
                    u = BLAS.gemm(xiU[l], try psdSqrt(Phi[l - 1]))
                }
                var r = Matrix(rows: S, cols: tn)
                if l == L {
                    let r1 = options.initialFields?.r ?? xiR[L].storage
                    for j in 0..<tn { r.storage.replaceSubrange((j * S)..<((j + 1) * S), with: r1) }
                } else {
                    r = BLAS.gemm(xiR[l], try psdSqrt(G[l + 1]))
                }
                // operators M = A^{l-1} + C, N = B^l + D
                var M = A[l - 1], N = B[l]
                let phiPrev = Phi[l - 1], gNext = G[l + 1]
                for s in 0..<T { for nu in 0..<n {
                    let dv = c0 * dpad[s * n + nu]
                    if dv == 0 { continue }
                    let col = (s * n + nu) * tn
                    for i in ((s + 1) * n)..<tn {
                        M.storage[col + i] += dv * phiPrev.storage[col + i]
                        N.storage[col + i] += dv * gNext.storage[col + i]
                    }
                } }
                let f = solveFields(u: u, r: r, M: M, N: N, act: act, S: S, T: T, n: n)
                if l == L && options.exactDelta { exact = exactTrajectory(f, problem: problem, S: S) }
                var phiNew = BLAS.syrk(f.phi, transpose: true, alpha: 1 / Double(S))
                var gNew = BLAS.syrk(f.g, transpose: true, alpha: 1 / Double(S))
                phiNew.symmetrize(); gNew.symmetrize()
                // a non-finite update is never applied: the state stays the last finite one, marked diverged
                if !DeepLinearDMFT.allFinite(phiNew) || !DeepLinearDMFT.allFinite(gNew) { overflowLayer = l; break }
                rho = DeepLinearDMFT.nanMax(rho, DeepLinearDMFT.nanMax(DeepLinearDMFT.damp(&Phi[l], phiNew, options.damping),
                                                                       DeepLinearDMFT.damp(&G[l], gNew, options.damping)))
                if useJacobians {
                    let resp = responses(fields: f, M: M, N: N, act: act, S: S, T: T, n: n,
                                         wantA: l < L, wantB: l >= 2, threads: threads)
                    if l < L { rho = DeepLinearDMFT.nanMax(rho, DeepLinearDMFT.damp(&A[l], resp.a, options.damping)) }
                    if l >= 2 { rho = DeepLinearDMFT.nanMax(rho, DeepLinearDMFT.damp(&B[l - 1], resp.b, options.damping)) }
                }
            }
            if let l = overflowLayer {
                if let g = good { Phi = g.Phi; G = g.G; A = g.A; B = g.B }
                status = .diverged
                message = "layer \(l) update became non-finite at iteration \(iter) (returning the last finite iterate)"
                break
            }
            history.append(rho)
            progress?(iter, rho)
            if !rho.isFinite { status = .diverged; message = "residual became non-finite at iteration \(iter)"; break }
            if options.freshSamples {
                below = rho < 3 * floor ? below + 1 : 0
                if below >= 3 { status = .converged; break }
            } else if rho < tol { status = .converged; break }
            if let ck = options.checkpoint, iter < options.maxIterations, sinceSave.elapsed >= ck.interval {
                try save(nextIteration: iter + 1, done: false)
            }
        }
        if status == .maxIterations && !finished {
            message = "rho = \(history.last ?? .nan) after \(history.count) iterations (tolerance \(options.freshSamples ? 3 * floor : tol))"
        }
        let euler = exact ?? problem.eulerTrajectory(ntk: ntk)
        let traj = KernelTrajectory(timeSteps: T, trainCount: problem.p, pointCount: n, depth: L, loss: euler.loss,
                                    delta: euler.delta, predictions: euler.predictions, kernelPhi: Array(Phi[1...L]),
                                    kernelG: Array(G[1...L]), ntk: (0..<T).map(ntk))
        if !finished { try save(nextIteration: history.count + 1, done: true) }
        let rec = ConvergenceRecord(status: status, iterations: history.count, residualHistory: history,
                                    tolerance: options.freshSamples ? 3 * floor : tol, elapsedSeconds: elapsedBefore + clock.elapsed,
                                    message: message)
        return (traj, L > 1 ? Array(A[1..<L]) : [], L > 1 ? Array(B[1..<L]) : [], rec)
    }

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

    /// The forward sweep of spec section 4 for all S paths at once (rows are paths):
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

    /// Averaged response functions by forward Jacobian recursions per path (spec section 6, step 4):
    ///
    ///     J_h(t) = E_h(t) + sum_{t'<t} M(t,t') J_g(t'),   J_z(t) = E_z(t) + sum_{t'<=t} N(t,t') phi'(h(t')) J_h(t'),
    ///     J_g(t) = phi''(h(t)) z(t) J_h(t) + phi'(h(t)) J_z(t),
    ///
    /// with (E_h, E_z) = (0, I) for derivatives by r (A^l = <phi'(h) J_hr>) and (I, 0) for derivatives by u
    /// (B^{l-1} = <J_gu>). Only the causal triangle is computed, O((T n)^3) per path.
    static func responses(fields f: Fields, M: Matrix, N: Matrix, act: Activation, S: Int, T: Int, n: Int,
                          wantA: Bool, wantB: Bool, threads: Int) -> (a: Matrix, b: Matrix) {
        let tn = T * n
        // Paths are summed in fixed chunks (chunk c holds paths c*chunk ..< (c+1)*chunk), each chunk sequentially,
        // and the chunk sums are added in chunk order, so the result does not depend on the number of threads.
        // Chunks run `workers` at a time, so memory stays at `workers` accumulators.
        let chunk = 32
        let chunks = (S + chunk - 1) / chunk
        let workers = max(1, min(threads, chunks))
        var a = Matrix(rows: tn, cols: tn), b = Matrix(rows: tn, cols: tn)
        let inv = 1 / Double(S)
        var firstChunk = 0
        while firstChunk < chunks {
        let round = min(workers, chunks - firstChunk)
        let parts: [(Matrix, Matrix)] = ThreadPolicy.parallelMap(round, threads: round) { w in
            var accA = Matrix(rows: wantA ? tn : 0, cols: wantA ? tn : 0)
            var accB = Matrix(rows: wantB ? tn : 0, cols: wantB ? tn : 0)
            var jh = [Double](repeating: 0, count: tn * tn), jg = jh, dj = jh
            let bt = max(1, min(T, 96 / max(1, n)))
            var jz = [Double](repeating: 0, count: bt * n * tn)
            var d1 = [Double](repeating: 0, count: tn), d2 = d1
            var path = (firstChunk + w) * chunk
            let lastPath = min(S, path + chunk)
            while path < lastPath {
                for j in 0..<tn {
                    let hv = f.h.storage[j * S + path]
                    d1[j] = act.derivative(hv)
                    d2[j] = act.secondDerivative(hv) * f.z.storage[j * S + path]
                }
                for mode in 0..<2 {
                    if mode == 0 && !wantA { continue }
                    if mode == 1 && !wantB { continue }
                    let isR = mode == 0
                    for i in 0..<(tn * tn) { jh[i] = 0; jg[i] = 0; dj[i] = 0 }
                    M.storage.withUnsafeBufferPointer { mp in
                    N.storage.withUnsafeBufferPointer { np in
                    jh.withUnsafeMutableBufferPointer { jhp in
                    jg.withUnsafeMutableBufferPointer { jgp in
                    dj.withUnsafeMutableBufferPointer { djp in
                    jz.withUnsafeMutableBufferPointer { jzp in
                        // Blocked in time (blocks of `bt` steps): the contributions of all earlier blocks to a
                        // block's J_h and J_z rows are two gemms with bt n rows (instead of n-row gemms per step,
                        // which re-pack the growing Jacobian at every t); inside a block the recursion runs step
                        // by step. Columns beyond a row's time are zero by causality and are skipped.
                        for t0 in stride(from: 0, to: T, by: bt) {
                            let t1 = min(T, t0 + bt), R0 = t0 * n, R1 = t1 * n, bn = R1 - R0
                            for j in 0..<R1 { for i in R0..<R1 { jhp[j * tn + i] = 0 } }
                            for j in 0..<R1 { for i in 0..<bn { jzp[j * bn + i] = 0 } }
                            if !isR { for i in R0..<R1 { jhp[i * tn + i] = 1 } } else { for i in 0..<bn { jzp[(R0 + i) * bn + i] = 1 } }
                            if t0 > 0 {
                                BLAS.dgemm(m: bn, n: R0, k: R0, mp.baseAddress! + R0, lda: tn, transposeA: false,
                                           jgp.baseAddress!, ldb: tn, transposeB: false, jhp.baseAddress! + R0, ldc: tn,
                                           alpha: 1, beta: 1)
                                BLAS.dgemm(m: bn, n: R0, k: R0, np.baseAddress! + R0, lda: tn, transposeA: false,
                                           djp.baseAddress!, ldb: tn, transposeB: false, jzp.baseAddress!, ldc: bn,
                                           alpha: 1, beta: 1)
                            }
                            for t in t0..<t1 {
                                let r0 = t * n, cols = (t + 1) * n, zr = r0 - R0
                                if t > t0 {
                                    BLAS.dgemm(m: n, n: r0, k: r0 - R0, mp.baseAddress! + R0 * tn + r0, lda: tn, transposeA: false,
                                               jgp.baseAddress! + R0, ldb: tn, transposeB: false, jhp.baseAddress! + r0, ldc: tn,
                                               alpha: 1, beta: 1)
                                }
                                for j in 0..<cols { for i in 0..<n { djp[j * tn + r0 + i] = d1[r0 + i] * jhp[j * tn + r0 + i] } }
                                BLAS.dgemm(m: n, n: cols, k: cols - R0, np.baseAddress! + R0 * tn + r0, lda: tn, transposeA: false,
                                           djp.baseAddress! + R0, ldb: tn, transposeB: false, jzp.baseAddress! + zr, ldc: bn,
                                           alpha: 1, beta: 1)
                                for j in 0..<cols { for i in 0..<n {
                                    jgp[j * tn + r0 + i] = d2[r0 + i] * jhp[j * tn + r0 + i] + d1[r0 + i] * jzp[j * bn + zr + i]
                                } }
                            }
                        }
                    } } } } } }
                    if isR {
                        accA.storage.withUnsafeMutableBufferPointer { ap in
                            dj.withUnsafeBufferPointer { djp in
                                for j in 0..<tn { let t0 = j / n; for i in ((t0 + 1) * n)..<tn { ap[j * tn + i] += djp[j * tn + i] } }
                            }
                        }
                    } else {
                        accB.storage.withUnsafeMutableBufferPointer { bp in
                            jg.withUnsafeBufferPointer { jgp in
                                for j in 0..<tn { let t0 = j / n; for i in (t0 * n)..<tn { bp[j * tn + i] += jgp[j * tn + i] } }
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
