import Foundation
import LinearAlgebra
import NumericalCore

/// How the teacher is drawn in simulations (spec §6; issue 3).
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

/// Monte-Carlo simulation of ridge / min-norm regression on deep structured Gaussian features (spec §6).
///
/// One trial: draw G_1..G_L, X = N(0,1)·diag(√σ0), ξ ~ N(0, η²); form Z = X Σ1^{1/2} G_1 Σ2^{1/2} G_2 ⋯ Γ^{1/2}/√(n_1⋯n_L)
/// by a chain of gemms (F itself is never formed); fit v by Cholesky on the primal (n_L ≤ P) or dual system, or by
/// SVD least squares (`dgelsd`, minimum norm) when λ = 0; θ̂ = F v by matrix-vector products; ε_g = Σ σ0_i δ_i².
/// Each (P, trial) draws from `RandomStream(seed:, point: P, sample: trial)`, so results do not depend on threads.
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
            // symmetric square root V diag(√max(λ, 0)) Vᵀ (negative rounding eigenvalues clamped, spec §6)
            let (values, v) = try LAPACK.symmetricEigen(m)
            var vs = v
            for j in 0..<values.count { let f = max(0, values[j]).squareRoot(); for i in 0..<vs.rows { vs[i, j] *= f } }
            var root = BLAS.gemm(vs, v, transposeB: true)
            root.symmetrize(fromUpper: true)
            sqrtSigma1Matrix = root
        } else {
            sqrtSigma1Matrix = nil
        }
        teacherVector = r.teacher
        sqrtLater = r.later.enumerated().map { k, s in s.eigenvalues(count: w[k]).map { $0.squareRoot() } }
        power = r.teacherPower
    }

    /// Doubles one trial holds at sample count P (for the memory check).
    public func memoryPerTrial(samples P: Int) -> Int {
        let n0 = model.inputDimension
        var dims = [n0] + widths
        var g = 0
        for l in 1..<dims.count { g += dims[l - 1] * dims[l] }
        dims.sort()
        let nL = widths.last ?? n0
        return 8 * (g + 3 * P * (dims.last ?? n0) + min(P, nL) * min(P, nL) + P * nL)
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
        let available = Int(ProcessInfo.processInfo.physicalMemory / 2)
        if need > available {
            throw SolvableError.insufficientMemory(needed: need, available: available, hint: "reduce n0, the widths, P or --threads")
        }
        let items = samples.count * trials
        let results: [(Double, Double, Double)] = try ThreadPolicy.parallelMap(items, threads: workers) { k in
            let P = samples[k / trials], t = k % trials
            return try trial(samples: P, ridge: lambda, trial: t, teacher: teacher, seed: seed)
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

    /// The readout v̂ (spec §1.3, §6 step 3). λ > 0: Cholesky on the primal system (ZᵀZ/P + λI)v = Zᵀy/P when
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
        // layers G_ℓ (n_{ℓ−1} × n_ℓ)
        var dims = [n0] + widths
        var G: [Matrix] = []
        for l in 0..<L {
            var g = Matrix(rows: dims[l], cols: dims[l + 1])
            g.storage.withUnsafeMutableBufferPointer { rng.fillGaussian($0) }
            G.append(g)
        }
        // data X (P × n0), columns scaled by √σ0
        var X = Matrix(rows: P, cols: n0)
        X.storage.withUnsafeMutableBufferPointer { p in
            rng.fillGaussian(p)
            for j in 0..<n0 {
                let s = sigma0[j].squareRoot()
                for i in 0..<P { p[i + j * P] *= s }
            }
        }
        var y = BLAS.gemv(X, theta)
        let eta = model.noiseVariance.squareRoot()
        if eta > 0 { for i in 0..<P { y[i] += eta * rng.gaussian() } }
        // Z = X Σ1^{1/2} G1 /√n1 · diag(√σ2) G2/√n2 ⋯ diag(√γ)
        var Z = X
        if L > 0 {
            if let s1 = sqrtSigma1 { Z.scaleColumns(s1) }
            if let root = sqrtSigma1Matrix { Z = BLAS.gemm(Z, root) }
            for l in 0..<L {
                var next = Matrix(rows: P, cols: dims[l + 1])
                BLAS.gemm(Z, G[l], alpha: 1 / Double(dims[l + 1]).squareRoot(), into: &next)
                Z = next
                Z.scaleColumns(sqrtLater[l])
            }
        }
        let v = try FeatureSimulator.readout(Z: Z, y: y, ridge: lambda)
        // training error
        let fit = BLAS.gemv(Z, v)
        var train = 0.0
        for i in 0..<P { let r = y[i] - fit[i]; train += r * r }
        train /= Double(P)
        // θ̂ = F v, right to left
        var u = v
        if L > 0 {
            for l in stride(from: L - 1, through: 0, by: -1) {
                let s = sqrtLater[l]
                for i in 0..<u.count { u[i] *= s[i] }
                u = BLAS.gemv(G[l], u, alpha: 1 / Double(dims[l + 1]).squareRoot())
            }
            if let s1 = sqrtSigma1 { for i in 0..<n0 { u[i] *= s1[i] } }
            if let root = sqrtSigma1Matrix { u = BLAS.gemv(root, u) }
        }
        var eg = 0.0
        for i in 0..<n0 { let dl = u[i] - theta[i]; eg += sigma0[i] * dl * dl }
        dims.removeAll()
        return (eg, eg + model.noiseVariance, train)
    }
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
