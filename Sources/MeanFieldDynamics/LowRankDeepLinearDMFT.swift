import Foundation
import LinearAlgebra
import NumericalCore

/// Options of the low-rank deep linear solver beyond `DeepLinearDMFTOptions`.
public struct LowRankDMFTOptions: Sendable {
    /// A new direction of a layer's fields is left out of its basis when its weight is below this times the
    /// largest row of that layer seen so far (rounding level by default; the left-out weight bounds the defect of
    /// the field equations and is reported).
    public var rankTolerance: Double
    /// The factors are cut to the directions whose singular values exceed this times the largest, i.e. to the
    /// eigenvalues of H^l above its square (1e-16 by default, the rounding level of H^l) times the largest.
    /// The forward pass must keep directions by their first weight (they may grow later); once all times are known
    /// the global cut is quadratic in the weight, hence the much larger tolerance here.
    public var compressionTolerance: Double
    /// After the forward pass, iterate the closed equations on factors (the dense solver's sweep) until its residual
    /// is below `DeepLinearDMFTOptions.tolerance`; usually one sweep, at most min(maxIterations, 50). Off: the forward pass alone, whose residual is
    /// the largest left-out weight. Costs O(L T^3 n) time and 4 L T^2 n numbers of memory (the response functions).
    public var verify: Bool
    /// Fall back to the dense solver when the numerical rank of some H^l exceeds this fraction of T n (the factors
    /// then save little) and the dense solver fits in memory.
    public var denseFallbackFraction: Double

    public init(rankTolerance: Double = 1e-14, compressionTolerance: Double = 1e-8, verify: Bool = true,
                denseFallbackFraction: Double = 0.5) {
        self.rankTolerance = rankTolerance
        self.compressionTolerance = compressionTolerance
        self.verify = verify
        self.denseFallbackFraction = denseFallbackFraction
    }

    public func validate() throws {
        try Validate.inRange("rank-tolerance", rankTolerance, 0...1e-3)
        try Validate.inRange("compression-tolerance", compressionTolerance, 0...1e-3)
        try Validate.inRange("dense-fallback-fraction", denseFallbackFraction, 0...1)
    }
}

/// What the low-rank solver found about the ranks, and how it solved.
public struct LowRankReport: Sendable, Equatable {
    /// "low-rank", or "dense fallback" when the rank was not small.
    public var method: String
    /// Numerical rank of H^l, l = 1...L: eigenvalues above 1e-15 of the largest (the columns of the returned
    /// factors are `factorWidths`, which also keep the directions down to rounding).
    public var kernelRanks: [Int]
    /// Columns of the factors of H^l returned (singular values above `compressionTolerance` of the largest).
    public var factorWidths: [Int]
    /// Numerical rank of G^l (T x T), eigenvalues above 1e-15 of the largest.
    public var gradientRanks: [Int]
    /// The exact upper bounds of docs/theory/dmft-low-rank.md: rank H^l <= rank K^x + sum over layers k <= l of
    /// min(T - 1, rank G^{k+1}) with rank G^{k+1} <= T (1 for k = L), capped at T n.
    public var kernelRankBounds: [Int]
    /// Gaussian sources per layer in the forward pass (rank H^{l-1} + rank G^{l+1} as the pass saw them).
    public var sources: [Int]
    /// Largest weight left out of a basis in the forward pass, relative to its layer's largest row.
    public var maxDiscarded: Double
    /// Seconds of the forward pass (with the cut of the factors to their rank), of the response pass, and of the
    /// whole verification (response pass and sweeps).
    public var forwardSeconds: Double
    public var responseSeconds: Double
    public var verificationSeconds: Double
    /// Floating-point operations of the forward pass, of the response pass and of one verification sweep.
    public var forwardFlops: Double
    public var responseFlops: Double
    public var sweepFlops: Double

    /// One line for logs and records.
    public var summary: String {
        "\(method): rank H^l = \(kernelRanks) (exact bound \(kernelRankBounds); factor widths \(factorWidths)), "
            + "rank G^l = \(gradientRanks), sources \(sources), left-out weight \(String(format: "%.1e", maxDiscarded))"
    }
}

/// The result of a low-rank deep linear DMFT solve: the dense solver's quantities with H^l held as factors.
public struct LowRankDeepLinearDMFTSolution: Sendable {
    /// Loss, Delta, predictions, G^l (T x T) and the NTK. `kernelPhi` is EMPTY: H^l is in `kernels`
    /// (`denseSolution()` forms it where it fits).
    public var trajectory: KernelTrajectory
    /// H^l = F_l F_l^T, l = 1...L (index l - 1).
    public var kernels: [FactoredKernel]
    /// A^l and B^l, l = 1..<L, as in `DeepLinearDMFTSolution`; empty when not computed (`verify` off, gradient
    /// independence, L = 1).
    public var responseA: [Matrix]
    public var responseB: [Matrix]
    public var record: ConvergenceRecord
    public var damping: Double
    public var report: LowRankReport

    /// The equal-time slice H^l[t, ., t, .] (n x n).
    public func equalTimeH(layer l: Int, time t: Int) -> Matrix { kernels[l - 1].block(time: t, t) }

    /// The same solution with dense (T n) x (T n) kernels, the shape of `DeepLinearDMFT.solve`'s result; refused
    /// (insufficient memory) when the L kernels do not fit.
    public func denseSolution() throws -> DeepLinearDMFTSolution {
        let bytes = MemoryBudget.product(kernels.count, kernels.first?.denseBytes ?? 0)
        try MemoryBudget.check(bytes, hint: "keep the factored kernels (LowRankDeepLinearDMFTSolution.kernels) instead")
        var tr = trajectory
        tr.kernelPhi = try kernels.map { try $0.dense() }
        return DeepLinearDMFTSolution(trajectory: tr, responseA: responseA, responseB: responseB, record: record, damping: damping)
    }
}

/// The deep linear DMFT on factors (docs/theory/dmft-low-rank.md; Bordelon & Pehlevan, NeurIPS 2022, eqs. 11-12 with
/// linear phi). The same answer as `DeepLinearDMFT` (the dense reference), at O(L T n m^2) for the forward pass with m
/// sources per layer instead of O(L T (T n)^2) per sweep, and T n m numbers per kernel instead of (T n)^2.
///
/// 1. Forward pass (`LowRankMarch`): the fields of every layer are linear in finitely many Gaussian sources; the
///    coefficients of time t follow from earlier times and the neighbours at t, so one pass in t solves the closed
///    equations exactly (no iteration, no horizon continuation). Rank and left-out weight are reported.
/// 2. Verification (`verify`, default on): the responses A, B by one more pass in time, then the dense solver's
///    Gauss-Seidel sweep on factors driven by `solveIteratively` (damping, back-off, non-finite rollback, residual
///    trace) until rho < tolerance. The forward pass is exact, so this normally stops after one sweep; the record is
///    that of this iteration.
/// 3. Fallback: when the numerical rank of some H^l exceeds `denseFallbackFraction` T n, the factored form saves
///    little; the solve then runs `DeepLinearDMFT.solve` (if it fits in memory) and says so in `report.method` and
///    the record.
public enum LowRankDeepLinearDMFT {
    /// Bytes of the factored solve: the coefficient matrices of the forward pass (about 2 rank K^x + 8 sources per
    /// layer to start, grown on demand) and, with `verify`, the response functions and sweep work space
    /// (about 4 L + 6 matrices of T^2 n).
    public static func memoryEstimate(_ p: DMFTProblem, lowRank: LowRankDMFTOptions = LowRankDMFTOptions()) -> Int {
        let tn = MemoryBudget.product(p.timeSteps, p.n)
        let m = 2 * min(p.n, p.data.inputDimension) + 8 + 2 * p.timeSteps
        let forward = MemoryBudget.product(8, p.depth + 1, tn, m)
        let responses = lowRank.verify ? MemoryBudget.product(8, 4 * p.depth + 6, tn, p.timeSteps) : 0
        return MemoryBudget.sum(forward, responses)
    }

    /// The exact rank bounds of H^l (docs/theory/dmft-low-rank.md) for input-kernel rank `rho`.
    public static func kernelRankBounds(depth L: Int, timeSteps T: Int, points n: Int, inputRank rho: Int) -> [Int] {
        var bounds: [Int] = [], a = rho
        for l in 1...L {
            a += min(T - 1, l == L ? 1 : T)
            bounds.append(min(a, T * n))
        }
        return bounds
    }

    /// Solves and returns dense kernels, the drop-in for `DeepLinearDMFT.solve`; throws insufficient memory when the
    /// dense kernels do not fit (use `solveFactored` then).
    public static func solve(_ problem: DMFTProblem, options: DeepLinearDMFTOptions = DeepLinearDMFTOptions(),
                             lowRank: LowRankDMFTOptions = LowRankDMFTOptions(),
                             progress: ((IterationReport) -> Void)? = nil) throws -> DeepLinearDMFTSolution {
        let tn = MemoryBudget.product(problem.timeSteps, problem.n)
        try MemoryBudget.check(MemoryBudget.product(8, problem.depth, tn, tn),
                               hint: "use LowRankDeepLinearDMFT.solveFactored, which keeps the kernels as factors")
        return try solveFactored(problem, options: options, lowRank: lowRank, progress: progress).denseSolution()
    }

    /// Solves with the kernels kept as factors (any size that the factors fit).
    public static func solveFactored(_ problem: DMFTProblem, options: DeepLinearDMFTOptions = DeepLinearDMFTOptions(),
                                     lowRank: LowRankDMFTOptions = LowRankDMFTOptions(),
                                     progress: ((IterationReport) -> Void)? = nil) throws -> LowRankDeepLinearDMFTSolution {
        try options.validate()
        try lowRank.validate()
        guard problem.activation.kind == .linear else {
            throw SolvableError.invalidParameter(name: "activation", value: problem.activation.name,
                                                 allowed: "linear for the deep linear solver (use NonlinearDMFT)")
        }
        try MemoryBudget.check(memoryEstimate(problem, lowRank: lowRank), hint: "reduce steps T or points P")
        let clock = Stopwatch()
        let L = problem.depth, T = problem.timeSteps, n = problem.n, tn = T * n
        let gi = options.gradientIndependence
        let march = try LowRankMarch(problem: problem, gradientIndependence: gi, rankTolerance: lowRank.rankTolerance,
                                     maxSources: tn + T).run()
        let forwardSeconds = clock.elapsed
        let reached = march.steps, keep = max(1, reached) * n
        let hFactors = try march.h.map {
            try FactoredKernel.compress($0.block(rows: 0..<keep, cols: 0..<$0.cols), relativeTolerance: lowRank.compressionTolerance).factor
        }
        // the factored form pays only while the kernels' rank is small against T n
        let rankLimit = lowRank.denseFallbackFraction * Double(tn)
        var fallbackNote: String? = nil
        if reached == T, let worst = hFactors.map(\.cols).max(), Double(worst) > rankLimit {
            let why = "rank H^l = \(hFactors.map(\.cols)) exceeds \(lowRank.denseFallbackFraction) T n = \(Int(rankLimit))"
            if DeepLinearDMFT.memoryEstimate(problem) <= MemoryBudget.available {
                return try denseFallback(problem, options: options, lowRank: lowRank, reason: why, progress: progress)
            }
            fallbackNote = why + ", but the dense solver does not fit in memory: solved on factors"
        }
        let lx = try LowRankMarch.inputFactor(problem.data.inputKernel)
        var f0 = Matrix(rows: tn, cols: lx.cols)
        for k in 0..<lx.cols { for t in 0..<T { for mu in 0..<n { f0[t * n + mu, k] = lx[mu, k] } } }
        var state = LowRankSweepState(
            delta: [], h: [f0] + hFactors,
            g: [Matrix(rows: 0, cols: 0)] + march.g.map { BLAS.syrk($0) } + [Matrix(rows: T, cols: T, repeating: 1)],
            a: [Matrix](repeating: Matrix(rows: 0, cols: 0), count: L + 1), b: [Matrix](repeating: Matrix(rows: 0, cols: 0), count: L + 1))
        var report = LowRankReport(method: "low-rank", kernelRanks: [], factorWidths: [], gradientRanks: [],
                                   kernelRankBounds: kernelRankBounds(depth: L, timeSteps: T, points: n, inputRank: lx.cols),
                                   sources: march.sources, maxDiscarded: march.maxDiscarded, forwardSeconds: forwardSeconds,
                                   responseSeconds: 0, verificationSeconds: 0, forwardFlops: march.flops, responseFlops: 0, sweepFlops: 0)
        var record: ConvergenceRecord
        var damping = options.damping
        if march.steps < T {
            // values stopped being finite at grid time `steps`: the earlier times are exact, nothing later exists
            let sub = try DMFTProblem(data: problem.data, depth: L, activation: problem.activation, gamma0: problem.gamma0,
                                      eta: problem.eta, timeSteps: max(1, march.steps))
            state.h[0] = f0.block(rows: 0..<keep, cols: 0..<f0.cols)
            state.g = state.g.map { $0.rows == T ? $0.block(rows: 0..<(keep / n), cols: 0..<(keep / n)) : $0 }
            record = ConvergenceRecord(status: .diverged, iterations: 0, residualHistory: [], tolerance: options.tolerance,
                                       elapsedSeconds: clock.elapsed,
                                       message: "\(march.stopReason ?? "values not finite"); returning grid times 0..<\(march.steps)")
            return finish(sub, state: state, record: record, damping: damping, report: report, lowRank: lowRank)
        }
        // Delta of the state's own (compressed) factors, so that a sweep measures the defect of the equations and not
        // the change of representation
        let stateNTK = (0..<T).map { LowRankSweep.ntk(state, problem: problem, t: $0) }
        state.delta = problem.eulerTrajectory { stateNTK[$0] }.delta
        report.forwardSeconds = clock.elapsed                              // pass, factors cut to rank, Delta
        if lowRank.verify {
            let vClock = Stopwatch()
            if !gi && L >= 2 {
                let r = LowRankResponses.compute(problem: problem, delta: problem.paddedDelta(state.delta),
                                                 hFactors: Array(state.h[0..<L]), g: Array(state.g[2...(L + 1)]))
                for l in 1..<L { state.a[l] = r.a[l - 1]; state.b[l] = r.b[l - 1] }
                report.responseFlops = r.flops
            }
            report.responseSeconds = vClock.elapsed
            let sweep = LowRankSweep(problem: problem, gradientIndependence: gi, start: state,
                                     compressionTolerance: lowRank.compressionTolerance)
            // From the exact forward pass a sweep only moves rounding errors; when it grows them (the undamped
            // full-horizon sweep is non-normal: nilpotent, but with a large transient gain at large eta gamma0), the
            // iteration continues at damping 0.5 at once, where the change halves per sweep.
            // (at most 50 sweeps: from the exact pass more would only move rounding noise, at O(L T^3 n) each)
            let iteration = IterationOptions(tolerance: options.tolerance, maxIterations: min(options.maxIterations, 50),
                                             damping: options.damping,
                                             backoff: DampingBackoff(afterGrowingIterations: 1, damping: min(0.5, options.damping)))
            let sol = try solveIteratively(sweep, options: iteration, progress: progress)
            state = sol.value
            record = sol.record
            damping = sol.record.damping ?? options.damping
            report.verificationSeconds = vClock.elapsed
        } else {
            let ok = march.maxDiscarded <= options.tolerance
            record = ConvergenceRecord(status: ok ? .converged : .failed, iterations: 0, residualHistory: [march.maxDiscarded],
                                       tolerance: options.tolerance, elapsedSeconds: clock.elapsed,
                                       message: ok ? nil : "a direction of weight \(march.maxDiscarded) was left out (above the tolerance)")
        }
        record.elapsedSeconds = clock.elapsed
        if let note = fallbackNote { record.message = [note, record.message].compactMap { $0 }.joined(separator: "; ") }
        return finish(problem, state: state, record: record, damping: damping, report: report, lowRank: lowRank)
    }

    /// The solution from a final state: Delta, predictions and loss by the Euler update with the state's NTK.
    static func finish(_ problem: DMFTProblem, state: LowRankSweepState, record: ConvergenceRecord, damping: Double,
                       report: LowRankReport, lowRank: LowRankDMFTOptions) -> LowRankDeepLinearDMFTSolution {
        let L = problem.depth, T = problem.timeSteps, n = problem.n
        let ntk = (0..<T).map { LowRankSweep.ntk(state, problem: problem, t: $0) }
        let euler = problem.eulerTrajectory { ntk[$0] }
        var rep = report
        rep.factorWidths = state.h[1...L].map(\.cols)
        rep.kernelRanks = state.h[1...L].map { (try? FactoredKernel(timeSteps: T, pointCount: n, factor: $0).numericalRank()) ?? $0.cols }
        rep.gradientRanks = state.g[1...L].map { gradientRank($0) }
        if rep.method == "low-rank" && lowRank.verify {
            // the sweep factors G^{l+1} to its numerical rank (eigenvalues above T eps of the largest)
            rep.sweepFlops = LowRankSweep.flops(problem: problem, widths: state.h.map(\.cols),
                                                gradientRanks: state.g[1...L].map { gradientRank($0, relativeTolerance: Double(T) * Double.ulpOfOne) })
        }
        var rec = record
        rec.message = [rep.summary, record.message].compactMap { $0 }.joined(separator: "; ")
        let traj = KernelTrajectory(timeSteps: T, trainCount: problem.p, pointCount: n, depth: L, loss: euler.loss,
                                    delta: euler.delta, predictions: euler.predictions, kernelPhi: [],
                                    kernelG: Array(state.g[1...L]), ntk: ntk)
        return LowRankDeepLinearDMFTSolution(
            trajectory: traj, kernels: state.h[1...L].map { FactoredKernel(timeSteps: T, pointCount: n, factor: $0) },
            responseA: (1..<max(L, 1)).compactMap { state.a[$0].count > 0 ? state.a[$0] : nil },
            responseB: (1..<max(L, 1)).compactMap { state.b[$0].count > 0 ? state.b[$0] : nil },
            record: rec, damping: damping, report: rep)
    }

    /// Eigenvalues of a T x T kernel above `relativeTolerance` times the largest.
    static func gradientRank(_ g: Matrix, relativeTolerance: Double = 1e-15) -> Int {
        let w = ((try? BLASRuntime.serial { try LAPACK.symmetricEigen(g, vectors: false) })?.values) ?? []
        return w.filter { $0 > relativeTolerance * (w.last ?? 0) && $0 > 0 }.count
    }

    /// The dense solver's answer in the factored shape (the factors from the eigendecomposition of each H^l).
    static func denseFallback(_ problem: DMFTProblem, options: DeepLinearDMFTOptions, lowRank: LowRankDMFTOptions,
                              reason: String, progress: ((IterationReport) -> Void)?) throws -> LowRankDeepLinearDMFTSolution {
        let clock = Stopwatch()
        let dense = try DeepLinearDMFT.solve(problem, options: options, progress: progress)
        let tr = dense.trajectory, T = tr.timeSteps, n = tr.pointCount
        let kernels = try tr.kernelPhi.map { FactoredKernel(timeSteps: T, pointCount: n, factor: try LowRankMarch.symmetricSquareRoot($0, relativeTolerance: Double($0.rows) * Double.ulpOfOne)) }
        var record = dense.record
        record.message = "dense fallback (\(reason)); " + (record.message ?? "")
        let lx = try LowRankMarch.inputFactor(problem.data.inputKernel)
        let report = LowRankReport(method: "dense fallback", kernelRanks: try kernels.map { try $0.numericalRank() },
                                   factorWidths: kernels.map(\.rank), gradientRanks: tr.kernelG.map { gradientRank($0) },
                                   kernelRankBounds: kernelRankBounds(depth: problem.depth, timeSteps: T, points: n, inputRank: lx.cols),
                                   sources: [], maxDiscarded: 0, forwardSeconds: 0, responseSeconds: 0, verificationSeconds: clock.elapsed,
                                   forwardFlops: 0, responseFlops: 0, sweepFlops: 0)
        var out = tr
        out.kernelPhi = []
        return LowRankDeepLinearDMFTSolution(trajectory: out, kernels: kernels, responseA: dense.responseA, responseB: dense.responseB,
                                             record: record, damping: dense.damping, report: report)
    }
}
