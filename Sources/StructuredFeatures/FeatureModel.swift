import Foundation
import LinearAlgebra
import NumericalCore

/// A covariance as users describe it (docs/theory/structured-features.md §1.2, §7). All are diagonal in the eigenbasis of the data
/// covariance Σ0 (index i = 0, 1, ... orders that basis), so Σ0 and Σ1 commute.
public enum CovarianceSpec: Sendable, Equatable {
    /// c·I (never allocated for hidden layers; allows infinite widths).
    case isotropic(scale: Double)
    /// Eigenvalues ∝ (i+1)^{−ν}, normalised to mean 1: σ_i = i^{−ν}·n/Σ_j j^{−ν}.
    case powerLaw(exponent: Double)
    /// An explicit eigenvalue list (its length must equal the dimension the covariance acts on).
    case list([Double])
    /// I + (c − 1) e_k e_kᵀ: eigenvalue c along eigendirection k (k = 0 is the target direction of
    /// `TargetSpec.spike()`), 1 elsewhere. c < 1 anti-aligns.
    case spike(strength: Double, direction: Int)
    /// Σ1 = Σ0^p (first layer only; zero eigenvalues of Σ0 stay zero).
    case powerOfData(Double)
    /// A full symmetric positive-semidefinite matrix in Σ0's eigenbasis. For the first layer it need not commute with
    /// Σ0: C1 = Σ0^{1/2} Σ1 Σ0^{1/2} is diagonalised explicitly (docs/theory/structured-features.md §4.1). For later layers and Γ only its
    /// eigenvalues matter (docs/theory/structured-features.md §1.2). Not allowed for Σ0 (give Σ0 by its eigenvalues).
    case matrix(Matrix)

    /// Q diag(eigenvalues) Qᵀ with Q Haar-distributed on O(n), drawn from `seed` (eigenvectors of a GOE matrix
    /// with random column signs).
    public static func haarRotated(eigenvalues: [Double], seed: UInt64) throws -> CovarianceSpec {
        let n = eigenvalues.count
        try Validate.nonEmpty("first_layer", eigenvalues)
        var r = RandomStream(seed: seed, purpose: "haar")
        var g = Matrix(rows: n, cols: n)
        for j in 0..<n { for i in 0...j { let x = r.gaussian(); g[i, j] = x; g[j, i] = x } }
        // single-threaded BLAS/LAPACK: OpenBLAS's threaded kernels round differently for different thread counts
        var q = try BLASRuntime.serial { try LAPACK.symmetricEigen(g).vectors }
        for j in 0..<n where r.rademacher() < 0 { for i in 0..<n { q[i, j] = -q[i, j] } }
        var qd = q
        for j in 0..<n { for i in 0..<n { qd[i, j] *= eigenvalues[j] } }
        var m = BLASRuntime.serial { BLAS.gemm(qd, q, transposeB: true) }
        m.symmetrize(fromUpper: true)
        return .matrix(m)
    }

    public static let identity = CovarianceSpec.isotropic(scale: 1)

    /// Parses the CLI mini-language: `isotropic[:c]`, `power_law:nu`, `list:v1,v2,...`, `spike:c[@k]`,
    /// `data_power:p` (`file:PATH` is resolved by the command layer into `list`).
    public static func parse(_ text: String, name: String) throws -> CovarianceSpec {
        let t = text.trimmingCharacters(in: .whitespaces)
        let parts = t.split(separator: ":", maxSplits: 1).map(String.init)
        let head = parts.first?.lowercased() ?? ""
        let arg = parts.count > 1 ? parts[1] : nil
        let bad = SolvableError.invalidParameter(
            name: name, value: "'\(text)'",
            allowed: "isotropic[:c], power_law:nu, list:v1,v2,..., spike:c[@k], data_power:p or file:PATH")
        func num(_ s: String?) throws -> Double {
            guard let s, let v = Double(s.trimmingCharacters(in: .whitespaces)), v.isFinite else { throw bad }
            return v
        }
        switch head {
        case "isotropic", "iso", "identity": return .isotropic(scale: arg == nil ? 1 : try num(arg))
        case "power_law", "powerlaw": return .powerLaw(exponent: try num(arg))
        case "data_power", "power_of_data": return .powerOfData(try num(arg))
        case "list": return .list(try (arg ?? "").split(separator: ",").map { try num(String($0)) })
        case "spike":
            guard let a = arg else { throw bad }
            let sp = a.split(separator: "@").map(String.init)
            let k = sp.count > 1 ? Int(sp[1].trimmingCharacters(in: .whitespaces)) : 0
            guard let k else { throw bad }
            return .spike(strength: try num(sp[0]), direction: k)
        default: throw bad
        }
    }

    /// The spectrum on a space of dimension n (n may be +∞ only for isotropic covariances).
    /// `data` is Σ0's eigenvalue list, needed by `powerOfData`.
    func spectrum(dimension n: Double, name: String, data: Spectrum? = nil) throws -> Spectrum {
        if case .isotropic(let c) = self { return try .isotropic(size: n, value: c, name: name) }
        guard n.isFinite, n <= 50_000_000 else {
            throw SolvableError.invalidParameter(name: name, value: "\(self) on dimension \(n)",
                                                 allowed: "an isotropic covariance on infinite or > 5e7 dimensions")
        }
        let m = Int(n)
        guard Double(m) == n else {
            throw SolvableError.invalidParameter(name: name, value: "dimension \(n)", allowed: "an integer dimension for a non-isotropic covariance")
        }
        switch self {
        case .isotropic: fatalError("unreachable")
        case .powerLaw(let nu):
            guard nu.isFinite, nu >= 0, nu <= 20 else {
                throw SolvableError.invalidParameter(name: name, value: "power_law:\(nu)", allowed: "an exponent in [0, 20]")
            }
            return try Spectrum(eigenvalues: CovarianceSpec.powerLaw(count: m, exponent: nu), name: name)
        case .list(let v):
            guard v.count == m else {
                throw SolvableError.invalidParameter(name: name, value: "\(v.count) eigenvalues", allowed: "exactly \(m) eigenvalues")
            }
            return try Spectrum(eigenvalues: v, name: name)
        case .spike(let c, let k):
            guard c.isFinite, c >= 0 else {
                throw SolvableError.invalidParameter(name: name, value: "spike:\(c)", allowed: "a spike eigenvalue >= 0")
            }
            guard k >= 0, k < m else {
                throw SolvableError.invalidParameter(name: name, value: "spike direction \(k)", allowed: "a direction in [0, \(m - 1)]")
            }
            var v = [Double](repeating: 1, count: m)
            v[k] = c
            return try Spectrum(eigenvalues: v, name: name)
        case .matrix(let mat):
            guard mat.rows == m, mat.cols == m else {
                throw SolvableError.invalidParameter(name: name, value: "a \(mat.rows)x\(mat.cols) matrix", allowed: "a \(m)x\(m) symmetric matrix")
            }
            let values = try BLASRuntime.serial { try LAPACK.symmetricEigen(mat, vectors: false).values }   // thread-count independent
            return try Spectrum(eigenvalues: values, name: name, fromEigensolver: true)
        case .powerOfData(let p):
            guard let data, p.isFinite, abs(p) <= 20 else {
                throw SolvableError.invalidParameter(name: name, value: "data_power:\(p)",
                                                     allowed: "a power in [-20, 20], for the first layer only")
            }
            let s0 = data.eigenvalues(count: m)
            return try Spectrum(eigenvalues: s0.map { $0 > 0 ? pow($0, p) : 0 }, name: name)
        }
    }

    /// (i+1)^{−ν} normalised to mean 1.
    public static func powerLaw(count n: Int, exponent nu: Double) -> [Double] {
        var v = (0..<n).map { pow(Double($0 + 1), -nu) }
        let scale = Double(n) / v.reduce(0, +)
        for i in 0..<n { v[i] *= scale }
        return v
    }
}

/// The teacher as users describe it: its power w_i² per eigendirection of Σ0 (θ* = w/√n0), rescaled so that
/// the signal s = Σ_i σ0_i w_i²/n0 equals `FeatureModel.signal`.
public enum TargetSpec: Sendable, Equatable {
    /// w_i² = const (E[w w^T] ∝ I): β_i² ∝ σ0_i.
    case isotropic
    /// w_i ∝ (i+1)^{−q}, so w_i² ∝ (i+1)^{−2q}.
    case powerLaw(exponent: Double)
    /// All power along eigendirection k (w* = √n0·e_k·const).
    case spike(direction: Int)
    /// Explicit powers w_i².
    case list([Double])

    /// Parses `isotropic`, `power_law:q`, `spike[:k]`, `list:p1,p2,...`.
    public static func parse(_ text: String) throws -> TargetSpec {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1).map(String.init)
        let head = parts.first?.lowercased() ?? ""
        let arg = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : nil
        let bad = SolvableError.invalidParameter(name: "target", value: "'\(text)'",
                                                 allowed: "isotropic, power_law:q, spike[:k], list:p1,p2,... or file:PATH")
        switch head {
        case "isotropic", "iso": return .isotropic
        case "power_law", "powerlaw":
            guard let a = arg, let q = Double(a), q.isFinite else { throw bad }
            return .powerLaw(exponent: q)
        case "spike", "aligned":
            guard let k = arg == nil ? 0 : Int(arg!) else { throw bad }
            return .spike(direction: k)
        case "list":
            let vals = (arg ?? "").split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !vals.isEmpty, vals.allSatisfy({ $0 != nil }) else { throw bad }
            return .list(vals.map { $0! })
        default: throw bad
        }
    }

    /// Raw (unnormalised) powers w_i² for n0 directions.
    func power(n0: Int) throws -> [Double] {
        switch self {
        case .isotropic: return [Double](repeating: 1, count: n0)
        case .powerLaw(let q):
            guard q.isFinite, abs(q) <= 20 else {
                throw SolvableError.invalidParameter(name: "target", value: "power_law:\(q)", allowed: "an exponent in [-20, 20]")
            }
            return (0..<n0).map { pow(Double($0 + 1), -2 * q) }
        case .spike(let k):
            guard k >= 0, k < n0 else {
                throw SolvableError.invalidParameter(name: "target", value: "spike:\(k)", allowed: "a direction in [0, \(n0 - 1)]")
            }
            var v = [Double](repeating: 0, count: n0); v[k] = 1; return v
        case .list(let v):
            guard v.count == n0 else {
                throw SolvableError.invalidParameter(name: "target", value: "\(v.count) powers", allowed: "exactly n0 = \(n0) powers")
            }
            for x in v where !(x.isFinite && x >= 0) {
                throw SolvableError.invalidParameter(name: "target", value: "\(x)", allowed: "powers w_i^2 >= 0")
            }
            return v
        }
    }
}

/// A deep structured Gaussian feature model (docs/theory/structured-features.md §1): x ~ N(0, Σ0) in n0 dimensions, y = θ*·x + ξ with
/// ξ ~ N(0, η²), features z = Fᵀx with F = F_1⋯F_L Γ^{1/2}/√(n_1⋯n_L), F_ℓ = Σ_ℓ^{1/2} G_ℓ, readout by ridge λ.
/// All values are validated at construction; errors name the parameter and its allowed range.
public struct FeatureModel: Sendable {
    /// n0.
    public let inputDimension: Int
    /// Σ0.
    public let dataCovariance: CovarianceSpec
    /// n_1..n_L (positive reals; +∞ allowed when the next covariance is isotropic). Empty: L = 0.
    public let widths: [Double]
    /// Σ_1..Σ_L (Σ_ℓ acts on n_{ℓ−1} dimensions).
    public let layerCovariances: [CovarianceSpec]
    /// Γ (n_L × n_L); nil means I.
    public let readoutCovariance: CovarianceSpec?
    public let target: TargetSpec
    /// s = θ*ᵀΣ0θ*.
    public let signal: Double
    /// η².
    public let noiseVariance: Double

    public init(inputDimension: Int, dataCovariance: CovarianceSpec = .identity, widths: [Double],
                layerCovariances: [CovarianceSpec]? = nil, readoutCovariance: CovarianceSpec? = nil,
                target: TargetSpec = .isotropic, signal: Double = 1, noiseVariance: Double = 0) throws {
        try Validate.inRange("n0", inputDimension, 1...50_000_000)
        for w in widths where !(w > 0) || w.isNaN {
            throw SolvableError.invalidParameter(name: "widths", value: "\(w)", allowed: "widths > 0 (may be infinite)")
        }
        let covs = layerCovariances ?? [CovarianceSpec](repeating: .identity, count: widths.count)
        guard covs.count == widths.count else {
            throw SolvableError.invalidParameter(name: "layer_covariances", value: "\(covs.count) covariances",
                                                 allowed: "one per layer (\(widths.count))")
        }
        try Validate.nonNegative("signal", signal)
        try Validate.nonNegative("noise", noiseVariance)
        switch dataCovariance {
        case .powerOfData, .matrix:
            throw SolvableError.invalidParameter(name: "data_spectrum", value: "\(dataCovariance)".prefix(40) + "",
                                                 allowed: "isotropic, power_law, list or spike (Σ0 by its eigenvalues)")
        default: break
        }
        for (k, c) in covs.enumerated() where k > 0 {
            if case .powerOfData = c {
                throw SolvableError.invalidParameter(name: "hidden_layers", value: "data_power (layer \(k + 1))",
                                                     allowed: "data_power only for the first layer")
            }
        }
        self.inputDimension = inputDimension
        self.dataCovariance = dataCovariance
        self.widths = widths
        self.layerCovariances = covs
        self.readoutCovariance = readoutCovariance
        self.target = target
        self.signal = signal
        self.noiseVariance = noiseVariance
        _ = try resolve()   // validates every spectrum now
    }

    /// L.
    public var depth: Int { widths.count }

    /// The resolved spectra: Σ0, Σ1 (in Σ0's basis), the later spectra S_2..S_{L+1}, and the teacher powers.
    public struct Resolved: Sendable {
        public var data: Spectrum
        /// Σ1's eigenvalues in Σ0's basis (commuting case; nil for L = 0 or a full-matrix Σ1).
        public var firstLayer: Spectrum?
        /// Σ1 as a full matrix in Σ0's basis (non-commuting case).
        public var firstLayerMatrix: Matrix?
        public var later: [Spectrum]
        /// θ*_i² in Σ0's eigenbasis (θ* = w/√n0), scaled so Σ σ0_i θ*_i² = s.
        public var teacherPower: [Double]
        /// The fixed teacher θ*_i = ±√(power_i) (deterministic pseudo-random signs; they matter only when Σ1 does not
        /// commute with Σ0).
        public var teacher: [Double]
        /// Theory for the fixed teacher (β_i = u_i·Σ0^{1/2}θ*).
        public var theory: LearningCurveTheory
        /// Theory averaged over random teachers with E[θ*θ*ᵀ] = diag(power) (β_i² = u_iᵀΣ0^{1/2} diag(power) Σ0^{1/2}u_i);
        /// identical to `theory` when Σ1 commutes with Σ0.
        public var randomTeacherTheory: LearningCurveTheory

        public func theory(for teacher: TeacherProtocol) -> LearningCurveTheory {
            teacher == .fixed ? theory : randomTeacherTheory
        }
    }

    /// Bytes `resolve` and the theory hold at most: per input direction the spectra of Σ0 and Σ1, the teacher
    /// powers and their products (about 8 arrays of n0 Doubles; later layers' spectra are evaluated in closed form).
    public var resolveBytes: Int { MemoryBudget.product(8, 8, inputDimension) }

    public func resolve() throws -> Resolved {
        // estimated before anything of size n0 is allocated (a refused run stays small)
        try MemoryBudget.check(resolveBytes, hint: "reduce n0 or the widths")
        let n = inputDimension
        let n0 = Double(n)
        let data = try dataCovariance.spectrum(dimension: n0, name: "data_spectrum")
        var firstMatrix: Matrix? = nil
        if depth > 0, case .matrix(let m) = layerCovariances[0] { firstMatrix = m }
        let sigma1: Spectrum? = depth > 0 && firstMatrix == nil
            ? try layerCovariances[0].spectrum(dimension: n0, name: "first_layer", data: data) : nil
        var later: [Spectrum] = []
        for l in 1..<(depth + 1) where depth > 0 {
            let dim = widths[l - 1]
            if l < depth {
                later.append(try layerCovariances[l].spectrum(dimension: dim, name: "hidden_layers"))
            } else {
                later.append(try (readoutCovariance ?? .identity).spectrum(dimension: dim, name: "readout"))
            }
        }
        // teacher powers: θ*_i² = w_i²/n0 scaled to s
        let raw = try target.power(n0: n)
        let s0 = data.eigenvalues(count: n)
        var rawSignal = 0.0
        for i in 0..<n { rawSignal += s0[i] * raw[i] }
        guard rawSignal > 0 || signal == 0 else {
            throw SolvableError.invalidParameter(name: "target", value: "\(target)", allowed: "a teacher with power on a direction where Σ0 > 0")
        }
        let scale = rawSignal > 0 ? signal / rawSignal : 0
        let power = raw.map { $0 * scale }
        var signs = RandomStream(seed: 0x7EAC_4E55_1635, purpose: "teacher signs")
        let teacher = power.map { $0.squareRoot() * signs.rademacher() }
        let first: ProjectedTeacher, firstRandom: ProjectedTeacher
        if let m = firstMatrix {
            // non-commuting: C1 = Σ0^{1/2} Σ1 Σ0^{1/2} = U diag(c) Uᵀ by a symmetric eigensolver (docs/theory/structured-features.md §4.1)
            guard m.rows == n, m.cols == n else {
                throw SolvableError.invalidParameter(name: "first_layer", value: "a \(m.rows)x\(m.cols) matrix", allowed: "an n0 x n0 = \(n)x\(n) matrix")
            }
            var asym = 0.0
            for j in 0..<n { for i in 0..<j { asym = max(asym, abs(m[i, j] - m[j, i])) } }
            guard asym <= 1e-10 * max(m.maxAbs, 1e-300), m.storage.allSatisfy(\.isFinite) else {
                throw SolvableError.invalidParameter(name: "first_layer", value: "asymmetry \(asym)", allowed: "a finite symmetric matrix")
            }
            let r0 = s0.map { $0.squareRoot() }
            let k = Matrix(rows: n, cols: n) { i, j in r0[i] * m[i, j] * r0[j] }
            let (values, u) = try BLASRuntime.serial { try LAPACK.symmetricEigen(k) }   // thread-count independent
            let c1 = try Spectrum(eigenvalues: values, name: "first_layer", fromEigensolver: true)
            let beta = BLAS.gemv(u, (0..<n).map { r0[$0] * teacher[$0] }, transpose: true)
            first = try ProjectedTeacher(spectrum: c1, beta2: beta.map { $0 * $0 })
            var b2 = [Double](repeating: 0, count: n)
            u.storage.withUnsafeBufferPointer { p in
                for col in 0..<n {
                    var acc = 0.0
                    for j in 0..<n { let x = p[j + col * n]; acc += x * x * s0[j] * power[j] }
                    b2[col] = acc
                }
            }
            firstRandom = try ProjectedTeacher(spectrum: c1, beta2: b2)
        } else {
            // commuting: c_i = σ0_i σ1_i and β_i² = σ0_i θ*_i²
            let c1: Spectrum
            switch (data.kind, sigma1?.kind) {
            case (.isotropic(_, let a), nil): c1 = try .isotropic(size: n0, value: a, name: "data_spectrum")
            case (.isotropic(_, let a), .isotropic(_, let b)?): c1 = try .isotropic(size: n0, value: a * b, name: "first_layer")
            default:
                let s1 = sigma1?.eigenvalues(count: n) ?? [Double](repeating: 1, count: n)
                c1 = try Spectrum(eigenvalues: (0..<n).map { s0[$0] * s1[$0] }, name: "first_layer")
            }
            let beta2 = c1.isIsotropic ? nil : (0..<n).map { s0[$0] * power[$0] }
            first = try ProjectedTeacher(spectrum: c1, beta2: beta2, signal: signal)
            firstRandom = first
        }
        let theory = try LearningCurveTheory(first: first, later: later, noiseVariance: noiseVariance)
        let randomTheory = firstMatrix == nil ? theory : try LearningCurveTheory(first: firstRandom, later: later, noiseVariance: noiseVariance)
        return Resolved(data: data, firstLayer: sigma1, firstLayerMatrix: firstMatrix, later: later, teacherPower: power,
                        teacher: teacher, theory: theory, randomTeacherTheory: randomTheory)
    }
}
