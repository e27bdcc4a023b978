import Foundation
import NumericalCore
import StructuredFeatures

/// Benchmark cases of the Features model (Solvable's side; the numpy side is in `bench/cases/`).
///
/// * `features-theory`: a 100-point learning curve ε_g(P) of the ridge theory (§4.2–4.3 of the spec) with two
///   10⁴-eigenvalue spectra (C1 = Σ0^{1+p} with power-law Σ0, a power-law Σ2 of size n1), L = 2, λ > 0.
/// * `features-simulation`: the ridge simulation of docs/theory/structured-features.md §6 at n0 = 1000, L = 2 (the F9(a) setting scaled by 2.5),
///   8 trials at each of a few P. The answer carries the theory at the same P (computed outside the timing), so
///   the numpy side can be compared with the theory as well as with Solvable's means.
///
/// Where the time goes (perf on the release binary, 2-core AMD EPYC Zen 5 VM, OpenBLAS 0.3.21 Cooperlake core):
/// * theory: the inner κ_S(d) Newton solves, i.e. `Spectrum.moments` (SIMD4 sums over 10⁴ eigenvalues, one division
///   per eigenvalue), warm-started from the previous outer iterate; ~10 outer Newton steps per point. The numpy port
///   (scipy brentq outer and inner, as the spec describes) makes several times more passes over the spectra and
///   pays Python call overhead per pass; the points are independent, so Solvable also runs them in parallel.
/// * simulation, 2 threads (one trial per worker, BLAS single-threaded inside): ~77 % of the samples in OpenBLAS
///   (gemm 55 %, syrk 12 %, potrf 2 %, gemv 2 %), ~10 % normal draws and fills (ziggurat, memory-bound writes of
///   G'_1, G'_2, X), ~7 % kernel (page faults of the freshly allocated ridge Gram matrix and its Cholesky copy, which
///   `BLAS.syrk`/`Cholesky` allocate per call), ~2 % libc memset/memmove. Before the work on this case: 48 % OpenBLAS,
///   19 % polar-method normal draws (log per pair), ~15 % page faults of per-trial matrices, and Z formed left to
///   right at every P. Changes: the cheapest multiplication order of X·G'_1·G'_2 per P (matrix-chain DP: −17 % flops
///   here), scalings folded into the draws, per-worker reusable buffers, a blocked branch-free ziggurat
///   (2.1 vs 6.0 ns per draw). The rest of the gap to the dgemm peak is the allocation inside `BLAS.syrk`/`Cholesky`
///   (needs in-place variants in LinearAlgebra) and syrk/potrf running below gemm speed.
public enum FeaturesBench {
    public static let cases: [BenchCase] = [theory, simulation]

    /// The F9(a)-type model both cases use: power-law Σ0 (exponent `data_exponent`), Σ1 = Σ0^`first_layer_power`,
    /// power-law Σ2 (`hidden_exponent`), isotropic readout, power-law teacher w_i ∝ i^{−`target_exponent`}.
    static func model(_ p: JSONValue, n0: Int, widths: [Double]) throws -> FeatureModel {
        try FeatureModel(inputDimension: n0, dataCovariance: .powerLaw(exponent: p.number("data_exponent", default: 1)),
                         widths: widths,
                         layerCovariances: [.powerOfData(p.number("first_layer_power", default: 1)),
                                            .powerLaw(exponent: p.number("hidden_exponent", default: 0.7))],
                         target: .powerLaw(exponent: p.number("target_exponent", default: 0.25)),
                         signal: 1, noiseVariance: p.number("noise", default: 0.1))
    }

    static func doubles(_ p: JSONValue, _ key: String, default d: [Double]) -> [Double] {
        if case .array(let xs)? = p[key] { return xs.compactMap(\.doubleValue) }
        return d
    }

    public static let theory = BenchCase(
        name: "features-theory",
        summary: "structured-features ridge theory: 100-point eps_g(P) curve, 10^4-eigenvalue spectra, L = 2"
    ) { p in
        let n0 = p.integer("n0", default: 10_000)
        let widths = doubles(p, "widths", default: [10_000, 8_000])
        let lambda = p.number("lambda", default: 0.01)
        let points = p.integer("points", default: 100)
        let pMin = p.number("p_min", default: 10), pMax = p.number("p_max", default: 100_000)
        let Ps = (0..<points).map { exp(log(pMin) + (log(pMax) - log(pMin)) * Double($0) / Double(max(1, points - 1))) }
        let clock = Stopwatch()
        let theory = try model(p, n0: n0, widths: widths).resolve().theory
        let pts = try theory.curve(samples: Ps, ridge: lambda)
        let seconds = clock.elapsed
        let unconverged = pts.filter { !$0.record.status.isConverged }.count
        if unconverged > 0 { throw SolvableError.runtime("features-theory: \(unconverged) point(s) did not converge") }
        return BenchResult(answer: .object([
            ("samples", .numbers(Ps)), ("eps_g", .numbers(pts.map(\.generalizationError))),
            ("e_train", .numbers(pts.map(\.trainingError))), ("d", .numbers(pts.map(\.degreesOfFreedom))),
            ("iterations", .int(pts.map(\.record.iterations).reduce(0, +))),
        ]), seconds: seconds, flops: nil,
        size: "n0=\(n0) n=\(widths.map { Int($0) }) \(points) P, λ=\(lambda)")
    }

    public static let simulation = BenchCase(
        name: "features-simulation",
        summary: "structured-features ridge simulation: n0 = 1000, L = 2, 8 trials per P (docs/theory/structured-features.md §6 protocol)"
    ) { p in
        let n0 = p.integer("n0", default: 1000)
        let widths = doubles(p, "widths", default: [1500, 1250])
        let Ps = doubles(p, "samples", default: [200, 500, 800, 1750]).map { Int($0) }
        let trials = p.integer("trials", default: 8)
        let lambda = p.number("lambda", default: 0.01)
        let seed = UInt64(p.integer("seed", default: 1))
        let m = try model(p, n0: n0, widths: widths)
        let clock = Stopwatch()
        let sim = try FeatureSimulator(model: m)
        let pts = try sim.run(samples: Ps, ridge: lambda, trials: trials, teacher: .fixed, seed: seed)
        let seconds = clock.elapsed
        let th = try m.resolve().theory.curve(samples: Ps.map(Double.init), ridge: lambda)
        // flops actually performed: Z in the order the simulator chooses, the ridge Gram matrix and its Cholesky factor
        let flops = Ps.reduce(0.0) { $0 + Double(trials) * sim.trialFlops(samples: $1, ridge: lambda) }
        return BenchResult(answer: .object([
            ("samples", .numbers(Ps.map(Double.init))), ("trials", .int(trials)),
            ("eps_g_mean", .numbers(pts.map(\.generalizationError.mean))),
            ("eps_g_se", .numbers(pts.map(\.generalizationError.standardError))),
            ("e_train_mean", .numbers(pts.map(\.trainingError.mean))),
            ("e_train_se", .numbers(pts.map(\.trainingError.standardError))),
            ("eps_g_theory", .numbers(th.map(\.generalizationError))),
            ("e_train_theory", .numbers(th.map(\.trainingError))),
        ]), seconds: seconds, flops: flops,
        size: "n0=\(n0) n=\(widths.map { Int($0) }) P=\(Ps) \(trials) trials")
    }
}
