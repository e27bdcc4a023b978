import Foundation
import NumericalCore
import FiniteWidthFluctuations

/// Benchmark cases of the Fluctuations model (Solvable's side; the numpy side is in `bench/cases/`).
public enum FluctuationsBench {
    public static let cases: [BenchCase] = [ensemble]

    /// Case 5 (issue 8): E two-layer tanh networks of width N, P = 1, trained T grid times in weight space (D inputs),
    /// mean-field parameterization, centered output; answer: mean and N Var of Delta and K at a few times.
    ///
    /// Where the time goes (callgrind, 48 members, one thread; N = 512, D = 10, T = 100): the fused elementwise pass
    /// (SIMD tanh, phi', f and K sums, readout update) ~40% of instructions, the BLAS rank-1 update W += G x^T
    /// (dgemm with k = 1 on a chunk of 8 members, ~330 KB, in L2) ~25%, the chunk's dgemv h = W x ~7%, Gaussian
    /// draws ~6% with the polar method (now the ziggurat: 0.22 s -> 0.19-0.21 s, 6.7x -> 7.3-7.6x numpy on a quiet
    /// machine), process start-up (not timed) ~15%. Everything after the draws
    /// is per-member work of O(N D) per step with D = 10, so it is bound by the elementwise pass (SSE2: the package
    /// builds for baseline x86-64, so Swift SIMD4<Double> runs 2 lanes wide without FMA) and by L2 bandwidth in BLAS.
    static let ensemble = BenchCase(name: "fluctuations-ensemble",
                                    summary: "ensemble of E two-layer tanh networks (weight space, P = 1): mean and N Var of Delta(t), K(t)") { p in
        let N = p.integer("width", default: 512), E = p.integer("members", default: 1000), T = p.integer("steps", default: 100)
        let D = p.integer("input_dimension", default: 10)
        var times = [1, 10, 50, 99]
        if case .array(let a)? = p["times"] { times = a.compactMap { $0.doubleValue.map { Int($0) } } }
        guard times.allSatisfy({ (0..<T).contains($0) }) else {
            throw SolvableError.invalidParameter(name: "times", value: "\(times)", allowed: "grid times in 0..<\(T)")
        }
        let problem = try TwoLayerProblem.singlePoint(activation: .scaledTanh(p.number("tanh_scale", default: 0.4)),
                                                      gamma0: p.number("gamma0", default: 1), eta: p.number("eta", default: 0.05),
                                                      y: p.number("y", default: 1), steps: T, testOverlap: nil)
        let clock = Stopwatch()
        let e = try TwoLayerWeightEnsemble(problem: problem, inputDimension: D, width: N, members: E,
                                           seed: UInt64(p.integer("seed", default: 1)))
        let seconds = clock.elapsed
        func stats(_ s: EnsembleSeries) -> JSONValue {
            .object([("mean", .numbers(times.map { s.mean[$0] })), ("mean_se", .numbers(times.map { s.meanStandardError[$0] })),
                     ("n_var", .numbers(times.map { s.scaledVariance[$0] })), ("n_var_se", .numbers(times.map { s.scaledVarianceStandardError[$0] }))])
        }
        // per member and step: W.x and the rank-1 update (4 N D), tanh and the sums (~10 N)
        let flops = Double(E) * Double(T) * (4 * Double(N) * Double(D) + 10 * Double(N))
        return BenchResult(answer: .object([("delta", stats(e.delta)), ("kernel", stats(e.kernel))]), seconds: seconds, flops: flops,
                           size: "N=\(N) P=1 T=\(T) E=\(E) D=\(D)")
    }
}
