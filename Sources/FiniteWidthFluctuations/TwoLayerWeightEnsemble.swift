import Foundation
import LinearAlgebra
import NumericalCore

/// Ensembles of width-N two-layer networks trained in *weight space* (first-layer weights W in R^{N x D}, readout w),
/// one training point (P = 1), the protocol of benchmark case 5 and of a researcher's numpy script:
///
///     h = W x / sqrt(D) ,  f = w.phi(h) / (gamma0 N) ,  Delta = y - (f - f(0))   (centered) or y - f
///     W += (eta gamma0 / sqrt(D)) Delta (phi'(h) w) x^T ,   w += eta gamma0 Delta phi(h)
///
/// (full-batch GD with learning rate eta gamma0^2 N on (1/2) Delta^2), with W_ij, w_i ~ N(0, 1) and |x|^2/D = 1.
/// Recorded per member: Delta(t) and the NTK K(t) = (1/N) sum_i [phi(h_i)^2 + (phi'(h_i) w_i)^2 |x|^2/D].
/// It follows the same trajectory law as the field-form `TwoLayerEnsemble` (h_i = w_i.x/sqrt(D) evolves by a rank-1
/// update); this form exists so that the dimension D is part of the cost, as in the weight-space port.
///
/// Implementation: members are trained in chunks of 8 (`trainChunk`: one BLAS rank-1 update and one gemv per step
/// for the whole chunk, then one allocation-free SIMD pass for tanh, phi', f, K and the readouts); chunks run in
/// parallel (`ThreadPolicy.parallelMap`) and each member draws from its own stream, so results are bitwise independent
/// of the thread count. tanh is `FastTanh` (absolute error ~3e-16). Memory: per thread one chunk's weights, plus the
/// E x T x 2 recorded values (the E x N x D weights of all members are never held at once); checked up front.
public struct TwoLayerWeightEnsemble: Sendable {
    public var width: Int
    public var inputDimension: Int
    public var delta: EnsembleSeries
    public var kernel: EnsembleSeries
    public var elapsedSeconds: Double

    /// Bytes a run needs: per thread, one chunk of `chunk` members' weights and work vectors, (N + 3) (D + 5) doubles
    /// each, plus the recorded E x T x 2 values (kept twice: per member and in the series). All E x N x D weights
    /// are never held at once.
    public static func memoryEstimate(width N: Int, inputDimension D: Int, members E: Int, steps T: Int, threads: Int) -> Int {
        MemoryBudget.sum(MemoryBudget.product(max(1, min(threads, E)), min(chunk, E), MemoryBudget.sum(N, 3), MemoryBudget.sum(D, 5), 8),
                           MemoryBudget.product(E, T, 2, 2, 8))
    }

    /// Trains E members of width N on `problem` (P = 1, no test points, input kernel |x|^2/D) with input dimension D.
    /// Member e draws from RandomStream(seed, point: N, sample: e, purpose: "two-layer-weight-ensemble").
    public init(problem: TwoLayerProblem, inputDimension D: Int, width N: Int, members E: Int, seed: UInt64,
                threads: Int? = nil, memoryCap: Int? = nil) throws {
        guard problem.trainCount == 1, problem.testCount == 0 else {
            throw SolvableError.invalidParameter(name: "problem", value: "P = \(problem.trainCount), \(problem.testCount) test points",
                                                 allowed: "one training point and no test point (weight-space ensemble)")
        }
        try Validate.inRange("input_dimension", D, 1...1_000_000)
        try Validate.inRange("width", N, 1...10_000_000)
        try Validate.inRange("members", E, 4...10_000_000)
        let T = problem.steps
        let workers = max(1, min(threads ?? ThreadPolicy.threads, E))
        let need = Self.memoryEstimate(width: N, inputDimension: D, members: E, steps: T, threads: workers)
        try MemoryBudget.check(need, cap: memoryCap,
                                 hint: "weight-space ensemble: \(workers) thread(s) x \(Self.chunk) members x N (D + 5) doubles of weights and work space plus E x T x 2 recorded values (N = \(N), D = \(D), E = \(E), T = \(T)); reduce members, steps, width or input_dimension, or use fewer threads")
        let clock = Stopwatch()
        let kx = problem.inputKernel[0, 0]
        guard kx > 0 else { throw SolvableError.invalidParameter(name: "input_kernel", value: "\(kx)", allowed: "|x|^2/D > 0") }
        // a fixed input with |x|^2/D = K^x (only |x| matters: the rows of W are isotropic)
        var xr = RandomStream(seed: seed, point: 0, sample: 0, purpose: "two-layer-weight-ensemble-input")
        var x = xr.gaussians(D)
        let nx = (x.reduce(0) { $0 + $1 * $1 } / (Double(D) * kx)).squareRoot()
        x = x.map { $0 / nx }
        let chunks = (E + Self.chunk - 1) / Self.chunk
        let runs: [([Double], [Double])] = ThreadPolicy.parallelMap(chunks, threads: workers) { c in
            Self.trainChunk(problem: problem, x: x, width: N, members: (c * Self.chunk)..<min(E, (c + 1) * Self.chunk), seed: seed)
        }.flatMap { $0 }
        width = N; inputDimension = D
        delta = EnsembleSeries(width: N, values: runs.map(\.0))
        kernel = EnsembleSeries(width: N, values: runs.map(\.1))
        elapsedSeconds = clock.elapsed
    }

    /// Members per BLAS batch: their stacked weights (M N D doubles, 330 KB at N = 512, D = 10) stay in L2.
    static let chunk = 8

    /// A chunk of members trained together: their first-layer weights stacked into one column-major (M N_pad) x D
    /// matrix (each member's N_pad rows in turn; N padded to a multiple of 4 with zero neurons, which stay zero and add
    /// nothing to f or K), so each GD step is one rank-1 update W += G x^T (`dgemm` with k = 1, i.e. dger) and one
    /// `dgemv` h = W x / sqrt(D) for all M members, and the elementwise work (tanh, phi', f, K, readout update) is one
    /// allocation-free SIMD pass. Member e draws its N D weights (neuron by neuron) then its N readouts from its own
    /// stream, so results do not depend on how members are chunked or threaded.
    static func trainChunk(problem: TwoLayerProblem, x: [Double], width N: Int, members: Range<Int>, seed: UInt64) -> [([Double], [Double])] {
        let D = x.count, T = problem.steps, g0 = problem.gamma0, eta = problem.eta, y = problem.targets[0], M = members.count
        let Np = (N + 3) / 4 * 4, rows = M * Np
        let kx = problem.inputKernel[0, 0], invSD = 1 / Double(D).squareRoot(), norm = 1 / (g0 * Double(N)), invN = 1 / Double(N)
        var W = Matrix(rows: rows, cols: D)
        var w = [Double](repeating: 0, count: rows)
        for (m, e) in members.enumerated() {
            // member e's N x D block of W (its rows m Np ..< m Np + N of every column), then its readout, by the ziggurat
            var rng = RandomStream(seed: seed, point: UInt64(N), sample: UInt64(e), purpose: "two-layer-weight-ensemble")
            W.storage.withUnsafeMutableBufferPointer { p in
                for j in 0..<D { ZigguratNormal.fill(p.baseAddress! + j * rows + m * Np, count: N, scale: nil, factor: 1, using: &rng) }
            }
            w.withUnsafeMutableBufferPointer { p in ZigguratNormal.fill(p.baseAddress! + m * Np, count: N, scale: nil, factor: 1, using: &rng) }
        }
        let xRow = Matrix(rows: 1, cols: D, columnMajor: x)
        var G = Matrix(rows: rows, cols: 1)
        var h = [Double](repeating: 0, count: rows)
        var ph = [Double](repeating: 0, count: rows), g = [Double](repeating: 0, count: rows)
        var dOut = [[Double]](repeating: [Double](repeating: 0, count: T), count: M), kOut = dOut
        var f0 = [Double](repeating: 0, count: M), d = [Double](repeating: 0, count: M)
        let act = problem.activation
        var tanhScale = 0.0
        if case .scaledTanh(let a) = act { tanhScale = a }
        BLAS.gemv(W, x, alpha: invSD, into: &h)
        for t in 0..<T {
            // phi, g = phi'(h) w, and per member f and K (4 lanes at a time)
            let last = t + 1 == T
            h.withUnsafeBufferPointer { hb in
            w.withUnsafeMutableBufferPointer { wb in
            ph.withUnsafeMutableBufferPointer { pb in
            g.withUnsafeMutableBufferPointer { gb in
            G.storage.withUnsafeMutableBufferPointer { Gb in
                let hp = hb.baseAddress!, wp = wb.baseAddress!, pp = pb.baseAddress!, gp = gb.baseAddress!, Gp = Gb.baseAddress!
                for m in 0..<M {
                    var fs = SIMD4<Double>(repeating: 0), ks = SIMD4<Double>(repeating: 0)
                    var i = m * Np
                    while i < (m + 1) * Np {
                        let hv = UnsafeRawPointer(hp + i).loadUnaligned(as: SIMD4<Double>.self)
                        let wv = UnsafeRawPointer(wp + i).loadUnaligned(as: SIMD4<Double>.self)
                        var p = SIMD4<Double>(), gi = SIMD4<Double>()
                        if tanhScale > 0 {
                            let th = FastTanh.tanh4(tanhScale * hv)
                            p = th * (1 / tanhScale); gi = (1 - th * th) * wv
                        } else {
                            for l in 0..<4 { p[l] = act.phi(hv[l]); gi[l] = act.dphi(hv[l]) * wv[l] }
                        }
                        UnsafeMutableRawPointer(pp + i).storeBytes(of: p, as: SIMD4<Double>.self)
                        UnsafeMutableRawPointer(gp + i).storeBytes(of: gi, as: SIMD4<Double>.self)
                        fs += wv * p
                        ks += p * p + kx * gi * gi
                        i += 4
                    }
                    let f = fs.sum() * norm
                    if t == 0 { f0[m] = f }
                    d[m] = y - (problem.centered ? f - f0[m] : f)
                    dOut[m][t] = d[m]; kOut[m][t] = ks.sum() * invN
                    if last { continue }
                    // this member's GD step, while its rows are in L1: G = (eta gamma0 Delta / sqrt(D)) g, w += eta gamma0 Delta phi
                    let cW = eta * g0 * d[m] * invSD, cw = eta * g0 * d[m]
                    var j = m * Np
                    while j < (m + 1) * Np {
                        let gv = UnsafeRawPointer(gp + j).loadUnaligned(as: SIMD4<Double>.self)
                        let pv = UnsafeRawPointer(pp + j).loadUnaligned(as: SIMD4<Double>.self)
                        let wv = UnsafeRawPointer(wp + j).loadUnaligned(as: SIMD4<Double>.self)
                        UnsafeMutableRawPointer(Gp + j).storeBytes(of: cW * gv, as: SIMD4<Double>.self)
                        UnsafeMutableRawPointer(wp + j).storeBytes(of: wv + cw * pv, as: SIMD4<Double>.self)
                        j += 4
                    }
                }
            } } } } }
            if last { break }
            // W += G x^T (dger as dgemm with k = 1), h = W x / sqrt(D)
            BLAS.gemm(G, xRow, beta: 1, into: &W)
            BLAS.gemv(W, x, alpha: invSD, into: &h)
        }
        return (0..<M).map { (dOut[$0], kOut[$0]) }
    }
}

/// tanh on 4 lanes, vectorizable, one division: with 2u = k ln2 + r (2u clamped to [-700, 700], |r| <= ln2/2) and
/// e^r = (Q + r P)/(Q - r P) (the Cephes rational form, P(r^2) degree 2, Q(r^2) degree 3, relative error ~1e-16),
///
///     tanh u = (e^{2u} - 1)/(e^{2u} + 1) = (2^k (Q + rP) - (Q - rP)) / (2^k (Q + rP) + (Q - rP)) .
///
/// Absolute error ~3e-16 (a few ulps near |u| ~ 1; absolute rather than relative accuracy as u -> 0), ample for
/// trajectories whose statistics carry O(1/sqrt(N E)) sampling error. Used by `TwoLayerWeightEnsemble`.
public enum FastTanh {
    @inline(__always) public static func tanh4(_ u: SIMD4<Double>) -> SIMD4<Double> {
        let lo = SIMD4<Double>(repeating: -700), hi = SIMD4<Double>(repeating: 700)
        var x = 2 * u
        x.replace(with: lo, where: x .< lo)
        x.replace(with: hi, where: x .> hi)
        let shifter = SIMD4<Double>(repeating: 6755399441055744.0)          // 1.5 * 2^52: rounds to an integer
        let kd = x * 1.4426950408889634 + shifter
        let k = kd - shifter
        let r = x - k * 6.93147180369123816490e-01 - k * 1.90821492927058770002e-10
        let rr = r * r
        let px = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr + 9.99999999999999999910e-1)
        let qx = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr + 2.27265548208155028766e-1) * rr + 2.00000000000000000009e0
        // 2^k from the integer bits of kd (|k| <= 1010 after the clamp: a normal number)
        let kb = unsafeBitCast(kd, to: SIMD4<Int64>.self) &- unsafeBitCast(shifter, to: SIMD4<Int64>.self)
        let scale = unsafeBitCast((kb &+ 1023) &<< 52, to: SIMD4<Double>.self)
        let a = (qx + px) * scale, b = qx - px
        return (a - b) / (a + b)
    }
}
