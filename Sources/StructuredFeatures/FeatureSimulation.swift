import Foundation
import LinearAlgebra
import NumericalCore

/// How the teacher is drawn in simulations (docs/theory/structured-features.md §6; issue 3).
public enum TeacherProtocol: String, Sendable, CaseIterable {
    /// θ*_i = ±√(power_i): exactly the described power per eigendirection, the same in every trial (fixed
    /// pseudo-random signs, irrelevant unless Σ1 is a full matrix that does not commute with Σ0).
    case fixed
    /// θ*_i = √(power_i)·g_i with fresh g_i ~ N(0, 1) per trial: the average power matches, and each draw is
    /// never rescaled (rescaling biases the average). The theory is linear in β², so it is evaluated at the mean.
    case random
}

/// Mean and standard error of one error measure over trials.
public struct Estimate: Sendable, Equatable {
    public var mean: Double
    /// Sample s.d./√trials.
    public var standardError: Double
}

/// Simulation result at one sample count.
public struct SimulationPoint: Sendable {
    public var samples: Int
    public var ridge: Double
    public var trials: Int
    /// ε_g = δᵀΣ0δ, exact (no test set).
    public var generalizationError: Estimate
    public var testError: Estimate
    public var trainingError: Estimate
}

/// Monte-Carlo simulation of ridge / min-norm regression on deep structured Gaussian features (docs/theory/structured-features.md §6).
///
/// One trial: draw G'_ℓ = diag(√σ_ℓ) G_ℓ/√n_ℓ (the scalings folded into the draws; Γ^{1/2} on the last one's
/// columns), X = N(0,1)·diag(√σ0), ξ ~ N(0, η²); form Z = X [Σ1^{1/2}] G'_1 ⋯ G'_L by gemms in the cheapest order
/// (matrix-chain dynamic programme: left to right for small P, the factors of F first for large P); fit v by Cholesky
/// on the primal (n_L ≤ P) or dual system, or by SVD least squares (`dgelsd`, minimum norm) when λ = 0;
/// θ̂ = F v by matrix-vector products; ε_g = Σ σ0_i δ_i². Normal draws by the ziggurat method (`ZigguratNormal`);
/// large buffers are reused across a worker's trials. Each (P, trial) draws from
/// `RandomStream(seed:, point: P, sample: trial)`, so results do not depend on threads.
public struct FeatureSimulator: Sendable {
    public let model: FeatureModel
    let sigma0: [Double]
    let sqrtSigma1: [Double]?
    /// Σ1^{1/2} as a full matrix (non-commuting first layer).
    let sqrtSigma1Matrix: Matrix?
    let teacherVector: [Double]
    /// √σ_ℓ for ℓ = 2..L and √γ for the readout (count L; the last acts on n_L).
    let sqrtLater: [[Double]]
    let widths: [Int]
    let power: [Double]

    public init(model: FeatureModel) throws {
        self.model = model
        let r = try model.resolve()
        var w: [Int] = []
        for x in model.widths {
            guard x.isFinite, x <= 200_000, x == x.rounded() else {
                throw SolvableError.invalidParameter(name: "widths", value: "\(x)", allowed: "integer widths <= 200000 for simulation")
            }
            w.append(Int(x))
        }
        widths = w
        sigma0 = r.data.eigenvalues(count: model.inputDimension)
        sqrtSigma1 = r.firstLayer.map { $0.eigenvalues(count: model.inputDimension).map { $0.squareRoot() } }
        if let m = r.firstLayerMatrix {
            // symmetric square root V diag(√max(λ, 0)) Vᵀ (negative rounding eigenvalues clamped, docs/theory/structured-features.md §6)
            // single-threaded BLAS/LAPACK, so the result does not depend on the thread count
            let (values, v) = try BLASRuntime.serial { try LAPACK.symmetricEigen(m) }
            var vs = v
            for j in 0..<values.count { let f = max(0, values[j]).squareRoot(); for i in 0..<vs.rows { vs[i, j] *= f } }
            var root = BLASRuntime.serial { BLAS.gemm(vs, v, transposeB: true) }
            root.symmetrize(fromUpper: true)
            sqrtSigma1Matrix = root
        } else {
            sqrtSigma1Matrix = nil
        }
        teacherVector = r.teacher
        sqrtLater = r.later.enumerated().map { k, s in s.eigenvalues(count: w[k]).map { $0.squareRoot() } }
        power = r.teacherPower
    }

    /// Bytes one trial holds at sample count P (for the memory check): the layers, X, the products of the chosen
    /// multiplication order, the Gram matrix and its factor.
    public func memoryPerTrial(samples P: Int) -> Int {
        let dims = chainDimensions(samples: P)
        var g = 0
        for l in 1..<(dims.count - 1) { g += dims[l] * dims[l + 1] }   // R, G_1..G_L (X counted below)
        let plan = FeatureSimulator.chainOrder(dims)
        let nL = dims.last!
        return 8 * (g + P * dims[1] + plan.products + 2 * min(P, nL) * min(P, nL) + 2 * P)
    }

    /// The factor dimensions of Z = X·[R]·G'_1⋯G'_L: [P, n0, (n0 when Σ1 is a full matrix R = Σ1^{1/2}), n_1, …, n_L].
    func chainDimensions(samples P: Int) -> [Int] {
        let n0 = model.inputDimension
        return [P, n0] + (sqrtSigma1Matrix == nil ? [] : [n0]) + widths
    }

    /// The cheapest multiplication order of a matrix chain with factor k of size dims[k] × dims[k+1] (the classic
    /// O(m³) dynamic programme): `split[i][j]` is where the product of factors i...j splits, `flops` its cost
    /// (2·m·k·n per gemm) and `products` the doubles its intermediate products hold.
    public struct ChainOrder: Sendable {
        public var split: [[Int]]
        public var flops: Double
        public var products: Int
    }

    public static func chainOrder(_ dims: [Int]) -> ChainOrder {
        let m = dims.count - 1
        var cost = [[Double]](repeating: [Double](repeating: 0, count: m), count: m)
        var split = [[Int]](repeating: [Int](repeating: 0, count: m), count: m)
        if m >= 2 {
            for len in 2...m {
                for i in 0...(m - len) {
                    let j = i + len - 1
                    cost[i][j] = .infinity
                    for k in i..<j {
                        let c = cost[i][k] + cost[k + 1][j] + 2 * Double(dims[i]) * Double(dims[k + 1]) * Double(dims[j + 1])
                        if c < cost[i][j] { cost[i][j] = c; split[i][j] = k }
                    }
                }
            }
        }
        func products(_ i: Int, _ j: Int) -> Int {
            if i == j { return 0 }
            let k = split[i][j]
            return dims[i] * dims[j + 1] + products(i, k) + products(k + 1, j)
        }
        return ChainOrder(split: split, flops: m >= 1 ? cost[0][m - 1] : 0, products: m >= 1 ? products(0, m - 1) : 0)
    }

    /// Floating-point operations of one trial at P: the features product Z in its cheapest order, the ridge Gram
    /// matrix (`dsyrk`, primal or dual, the smaller) and its Cholesky factor; O(P·n) and matrix-vector work left out.
    public func trialFlops(samples P: Int, ridge lambda: Double) -> Double {
        let dims = chainDimensions(samples: P)
        let nL = Double(dims.last!), p = Double(P)
        var f = widths.isEmpty && sqrtSigma1Matrix == nil ? 0 : FeatureSimulator.chainOrder(dims).flops
        if lambda > 0 {
            let m = min(p, nL)
            f += m * m * max(p, nL) + m * m * m / 3
        }
        return f
    }

    /// Simulates at each P with `trials` trials (≥ 2), in parallel over (P, trial).
    public func run(samples: [Int], ridge lambda: Double, trials: Int, teacher: TeacherProtocol = .fixed,
                    seed: UInt64, threads: Int? = nil) throws -> [SimulationPoint] {
        try Validate.nonEmpty("samples", samples)
        for P in samples { try Validate.inRange("samples", P, 1...1_000_000) }
        try Validate.inRange("trials", trials, 2...1_000_000)
        guard lambda.isFinite, lambda >= 0 else {
            throw SolvableError.invalidParameter(name: "lambda", value: "\(lambda)", allowed: "a finite ridge >= 0")
        }
        let workers = max(1, threads ?? ThreadPolicy.threads)
        let need = (samples.map { memoryPerTrial(samples: $0) }.max() ?? 0) * min(workers, samples.count * trials)
        try MemoryBudget.check(need, hint: "reduce n0, the widths, P or --threads")
        let items = samples.count * trials
        let pool = WorkspacePool()
        let results: [(Double, Double, Double)] = try ThreadPolicy.parallelMap(items, threads: workers) { k in
            let P = samples[k / trials], t = k % trials
            let ws = pool.take()
            defer { pool.give(ws) }
            return try trial(samples: P, ridge: lambda, trial: t, teacher: teacher, seed: seed, workspace: ws)
        }
        return samples.enumerated().map { j, P in
            let rs = results[(j * trials)..<((j + 1) * trials)]
            func est(_ xs: [Double]) -> Estimate { Estimate(mean: Statistics.mean(xs), standardError: Statistics.standardError(xs)) }
            return SimulationPoint(samples: P, ridge: lambda, trials: trials,
                                   generalizationError: est(rs.map(\.0)), testError: est(rs.map(\.1)),
                                   trainingError: est(rs.map(\.2)))
        }
    }

    /// Which linear system a ridge fit solves.
    public enum RidgeForm: Sendable { case automatic, primal, dual }

    /// The readout v̂ (docs/theory/structured-features.md §1.3, §6 step 3). λ > 0: Cholesky on the primal system (ZᵀZ/P + λI)v = Zᵀy/P when
    /// n_L ≤ P (or `.primal`), else on the dual (ZZᵀ/P + λI)u = y/P with v = Zᵀu. λ = 0: the minimum-norm
    /// least-squares solution Z⁺y by SVD (`dgelsd`, singular values below max(P, n_L)·ε·s_max dropped).
    public static func readout(Z: Matrix, y: [Double], ridge lambda: Double, form: RidgeForm = .automatic) throws -> [Double] {
        let P = Z.rows, nL = Z.cols
        guard y.count == P else { throw SolvableError.runtime("readout: y has \(y.count) entries, Z has \(P) rows") }
        if lambda > 0 {
            if form == .primal || (form == .automatic && nL <= P) {
                var K = BLAS.syrk(Z, transpose: true, alpha: 1 / Double(P))
                for i in 0..<nL { K[i, i] += lambda }
                let rhs = BLAS.gemv(Z, y, transpose: true, alpha: 1 / Double(P))
                return try Cholesky(K).solve(rhs)
            }
            var K = BLAS.syrk(Z, alpha: 1 / Double(P))
            for i in 0..<P { K[i, i] += lambda }
            let u = try Cholesky(K).solve(y.map { $0 / Double(P) })
            return BLAS.gemv(Z, u, transpose: true)
        }
        let rcond = Double(max(P, nL)) * Double.ulpOfOne
        return try LAPACK.leastSquares(Z, Matrix(column: y), rcond: rcond).solution.storage
    }

    /// One trial: (ε_g, E_test, E_train).
    public func trial(samples P: Int, ridge lambda: Double, trial t: Int, teacher: TeacherProtocol,
                      seed: UInt64) throws -> (Double, Double, Double) {
        try trial(samples: P, ridge: lambda, trial: t, teacher: teacher, seed: seed, workspace: Workspace())
    }

    /// One trial reusing the buffers of `ws` (a worker's own): G'_ℓ, X and the chain products keep their storage from
    /// one trial to the next, so large matrices are not re-allocated (and page-faulted in) every trial.
    func trial(samples P: Int, ridge lambda: Double, trial t: Int, teacher: TeacherProtocol,
               seed: UInt64, workspace ws: Workspace) throws -> (Double, Double, Double) {
        let n0 = model.inputDimension
        let L = widths.count
        var rng = RandomStream(seed: seed, point: UInt64(P), sample: UInt64(t))
        // teacher θ* (θ* = w/√n0 already folded into `power`)
        var theta = [Double](repeating: 0, count: n0)
        switch teacher {
        case .fixed: theta = teacherVector
        case .random:
            var trng = RandomStream(seed: seed, point: UInt64(P), sample: UInt64(t), purpose: "teacher")
            for i in 0..<n0 { theta[i] = power[i].squareRoot() * trng.gaussian() }
        }
        // layers G'_ℓ = diag(r_ℓ) G_ℓ diag(c_ℓ) (n_{ℓ−1} × n_ℓ), the scalings folded into the draw:
        // r_1 = √σ1/√n1 (commuting Σ1; 1/√n1 with a full Σ1^{1/2} = R), r_ℓ = √σ_ℓ/√n_ℓ, c_L = √γ, else 1,
        // so that F = [R] G'_1 ⋯ G'_L (docs/theory/structured-features.md §1.2). Normal draws by the ziggurat method (`ZigguratNormal`), in the
        // order G_1, ..., G_L, X, ξ, all from the trial's stream.
        let dims = [n0] + widths
        var G: [Matrix] = []
        for l in 0..<L {
            var g = ws.matrix("G\(l)", rows: dims[l], cols: dims[l + 1])
            let inv = 1 / Double(dims[l + 1]).squareRoot()
            let rowScale: [Double] = l == 0 ? (sqrtSigma1 ?? [Double](repeating: 1, count: n0)).map { $0 * inv }
                                            : sqrtLater[l - 1].map { $0 * inv }
            let colScale: [Double]? = l == L - 1 ? sqrtLater[L - 1] : nil
            let rows = dims[l]
            g.storage.withUnsafeMutableBufferPointer { p in
                rowScale.withUnsafeBufferPointer { r in
                    for j in 0..<dims[l + 1] {
                        ZigguratNormal.fill(p.baseAddress! + j * rows, count: rows, scale: r.baseAddress!,
                                            factor: colScale?[j] ?? 1, using: &rng)
                    }
                }
            }
            G.append(g)
        }
        // data X (P × n0), columns scaled by √σ0
        var X = ws.matrix("X", rows: P, cols: n0)
        X.storage.withUnsafeMutableBufferPointer { p in
            for j in 0..<n0 {
                ZigguratNormal.fill(p.baseAddress! + j * P, count: P, scale: nil, factor: sigma0[j].squareRoot(), using: &rng)
            }
        }
        var y = BLAS.gemv(X, theta)
        let eta = model.noiseVariance.squareRoot()
        if eta > 0 { for i in 0..<P { y[i] += eta * ZigguratNormal.draw(&rng) } }
        // Z = X·[R]·G'_1⋯G'_L in the cheapest order (left to right when P is small; F's factors first when P is large)
        var factors = [X]
        if let root = sqrtSigma1Matrix { factors.append(root) }
        factors += G
        var chainDims = [P]
        for f in factors { chainDims.append(f.cols) }
        let order = FeatureSimulator.chainOrder(chainDims)
        var used: [(String, Matrix)] = []
        func product(_ i: Int, _ j: Int) -> Matrix {
            if i == j { return factors[i] }
            let k = order.split[i][j]
            let a = product(i, k), b = product(k + 1, j)
            let key = "P\(i)_\(j)"
            var c = ws.matrix(key, rows: a.rows, cols: b.cols)
            BLAS.gemm(a, b, into: &c)
            used.append((key, c))
            return c
        }
        let Z = product(0, factors.count - 1)
        let v = try FeatureSimulator.readout(Z: Z, y: y, ridge: lambda)
        // training error
        let fit = BLAS.gemv(Z, v)
        var train = 0.0
        for i in 0..<P { let r = y[i] - fit[i]; train += r * r }
        train /= Double(P)
        // θ̂ = F v = [R] G'_1 ⋯ G'_L v, right to left
        var u = v
        for l in stride(from: L - 1, through: 0, by: -1) { u = BLAS.gemv(G[l], u) }
        if let root = sqrtSigma1Matrix { u = BLAS.gemv(root, u) }
        var eg = 0.0
        for i in 0..<n0 { let dl = u[i] - theta[i]; eg += sigma0[i] * dl * dl }
        // hand the buffers back (the last references, so the next trial writes them in place)
        factors.removeAll()
        for (l, g) in G.enumerated().reversed() { G.removeLast(); ws.recycle("G\(l)", g) }
        ws.recycle("X", X)
        for (key, m) in used { ws.recycle(key, m) }
        return (eg, eg + model.noiseVariance, train)
    }
}

/// Reusable matrix storage of one worker (see `FeatureSimulator.trial`). Not thread-safe: a worker takes one from a
/// `WorkspacePool` for the duration of a trial.
final class Workspace: @unchecked Sendable {
    private var store: [String: Matrix] = [:]

    /// A rows × cols matrix with unspecified contents (the caller overwrites all of it): the stored one when its
    /// shape matches (taken out of the store, so it is uniquely referenced and written in place), else a new one.
    func matrix(_ key: String, rows: Int, cols: Int) -> Matrix {
        if let m = store.removeValue(forKey: key), m.rows == rows, m.cols == cols { return m }
        let n = rows * cols
        return Matrix(rows: rows, cols: cols, columnMajor: [Double](unsafeUninitializedCapacity: n) { buf, count in
            buf.initialize(repeating: 0)
            count = n
        })
    }

    func recycle(_ key: String, _ m: Matrix) { store[key] = m }
}

/// Workspaces shared by the workers of one `run` (at most one per worker exists at a time).
final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Workspace] = []
    func take() -> Workspace { lock.lock(); defer { lock.unlock() }; return free.popLast() ?? Workspace() }
    func give(_ w: Workspace) { lock.lock(); free.append(w); lock.unlock() }
}

extension Matrix {
    /// Multiplies column j by s[j] in place.
    mutating func scaleColumns(_ s: [Double]) {
        let r = rows
        storage.withUnsafeMutableBufferPointer { p in
            for j in 0..<cols {
                let f = s[j]
                if f == 1 { continue }
                for i in 0..<r { p[i + j * r] *= f }
            }
        }
    }
}
