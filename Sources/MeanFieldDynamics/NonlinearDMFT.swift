import Foundation
import LinearAlgebra
import NumericalCore

/// Options of the alternating Monte Carlo DMFT solver (docs/theory/dmft.md §6).
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
    /// Gradient independence: keep A = B = 0 (docs/theory/dmft.md §7).
    public var gradientIndependence: Bool
    /// Independent replicas (seeds) for Monte Carlo standard errors (spec: R >= 4 to report errors).
    public var replicas: Int
    /// Bytes the solve may use (nil: `MemoryBudget.available`).
    public var memoryLimit: Int?
    /// Delta update: Euler (default, the official convention) or exact discrete time,
    /// f_mu(t) = gamma0^{-1} <z^L(t) phi(h^L_mu(t))> - (same at t = 0) from the current paths (docs/theory/dmft.md §4).
    /// With the exact update, an L = 1 solve with S paths is pathwise a width-S network (docs/theory/dmft.md §6).
    public var exactDelta: Bool
    /// Explicit initial fields for L = 1: u (S x n, row i = W^0_i X / sqrt(D)) and r (length S, the readout), which
    /// make the solve reproduce a given network exactly. Only with one replica.
    public var initialFields: (u: Matrix, r: [Double])?
    /// Periodic checkpoints: the state of every replica (kernels, responses, Delta, residual history) is written
    /// every `checkpoint.interval` seconds and when a replica finishes; a solve with the same problem, options and
    /// seed resumes from it and returns bitwise the same result as an uninterrupted one.
    public var checkpoint: Checkpoint?
    /// Run the per-path Jacobian recursions of the responses A, B in single precision (default): their rounding,
    /// ~1e-6 relative, is far below the Monte Carlo error ~1/sqrt(S) of the averages, and it halves their time
    /// (sgemm). false: double precision throughout.
    public var singlePrecisionResponses = true

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

/// Nonlinear DMFT by the alternating Monte Carlo solver of docs/theory/dmft.md §6 (paper eqs. 9-10):
///
/// * sample u^l ~ GP(0, Phi^{l-1}) and r^l ~ GP(0, G^{l+1}) on the (t, mu) grid (symmetric PSD square roots,
///   common random numbers by default),
/// * solve h = u + (A^{l-1} + C) g, z = r + (B^l + D) phi(h), g = phi'(h) z per path by one forward sweep in t
///   (batched over paths with BLAS),
/// * responses A^l = <phi'(h) J_hr>, B^{l-1} = <J_gu> from forward Jacobian recursions per path,
/// * Phi^l = <phi(h) phi(h)^T>, G^l = <g g^T>, damped updates, Euler Delta, until rho < tolerance.
public enum NonlinearDMFT {
    /// Static (initial) kernels of docs/theory/dmft.md §6, n x n per layer l = 1...L: Phi^l_0 = E[phi(u) phi(u)^T] with
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
        // per worker: three single-precision Jacobians (T n)^2, the time block of J_z and two double accumulators;
        // M and N in single precision once
        let work = options.gradientIndependence || L == 1 ? 0
            : MemoryBudget.sum(MemoryBudget.product(max(1, threads), 4, tn, tn), MemoryBudget.product(tn, tn))
        return MemoryBudget.product(8, MemoryBudget.sum(kernels, paths, work))
    }

    /// Solves the DMFT by Monte Carlo (any activation, any depth). Throws `insufficientMemory` with the estimate
    /// when the request does not fit.
    public static func solve(_ problem: DMFTProblem, options: NonlinearDMFTOptions = NonlinearDMFTOptions(), seed: UInt64 = 0,
                             threads: Int? = nil, progress: ((IterationReport) -> Void)? = nil,
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
        let key = checkpointKey(problem, options: options, seed: seed)
        let session = options.checkpoint.map { CheckpointSession($0, key: key) }
        var note: String? = session?.note
        if let session, session.archive.arrays.isEmpty == false {
            let at = (0..<options.replicas).compactMap { r -> String? in
                guard let it = session.archive.integer("r\(r).next_iteration") else { return nil }
                let at = session.archive.integer("r\(r).done") == 1 ? "done" : "iteration \(it)"
                return options.replicas > 1 ? "replica \(r) \(at)" : at
            }
            note = "\(session.note): " + at.joined(separator: ", ")
        }
        if let note { log?(note) }
        var runs: [(KernelTrajectory, [Matrix], [Matrix], ConvergenceRecord)] = []
        for r in 0..<options.replicas {
            // BLAS stays single-threaded for the serial part so the result does not depend on the thread count (the
            // eigendecompositions are fed back into the iteration, which amplified OpenBLAS's thread-dependent
            // rounding in dsyevd to ~1e-11); the path sums are parallel over fixed chunks.
            runs.append(try BLASRuntime.serial {
                let method = try MonteCarloIterations(problem: problem, options: options, seed: seed, replica: r, threads: th,
                                                      key: key)
                let s = try solveIteratively(method, options: method.iterationOptions, checkpoint: session,
                                             prefix: "r\(r).", progress: progress)
                return method.result(s)
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

    /// Symmetric PSD square root V sqrt(max(lambda, 0)) V^T (docs/theory/dmft.md §6; continuous under common random numbers).
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
        var k = CheckpointKey("nonlinear-dmft/3")
        k.add(p.depth); k.add(p.timeSteps); k.add(p.eta); k.add(p.gamma0); k.add(p.activation.name)
        k.add(p.data.trainCount); k.add(p.data.inputKernel.storage); k.add(p.data.targets); k.add(p.data.testTargets)
        k.add(o.samples); k.add(o.damping); k.add(o.maxIterations); k.add(o.effectiveTolerance); k.add(o.freshSamples)
        k.add(o.gradientIndependence); k.add(o.replicas); k.add(o.exactDelta); k.add(o.singlePrecisionResponses)
        k.add(o.initialFields?.u.storage ?? []); k.add(o.initialFields?.r ?? [])
        k.add(seed)
        return k.value
    }
}
