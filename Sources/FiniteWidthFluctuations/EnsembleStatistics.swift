import Foundation
import NumericalCore

/// Statistics of one observable series (e.g. Delta(t)) over an ensemble of E width-N networks.
public struct EnsembleSeries: Sendable {
    public var width: Int
    public var members: Int
    public var mean: [Double]
    /// Standard error of the mean, sqrt(Var / E).
    public var meanStandardError: [Double]
    /// N times the unbiased sample variance over members.
    public var scaledVariance: [Double]
    /// Standard error of `scaledVariance`: N sqrt((m4 - (E-3)/(E-1) s^4)/E) (`Statistics.varianceStandardError`),
    /// about sqrt(2/E) relative for Gaussian fluctuations.
    public var scaledVarianceStandardError: [Double]
    /// Per-member values (members x length, member-major), kept for deviation statistics against a reference.
    public var values: [[Double]]

    /// Statistics of `values[member][index]` at width N.
    public init(width: Int, values: [[Double]]) {
        self.width = width
        self.members = values.count
        self.values = values
        let len = values.first?.count ?? 0
        let N = Double(width)
        var m = [Double](), sem = [Double](), v = [Double](), sev = [Double]()
        for j in 0..<len {
            let x = values.map { $0[j] }
            m.append(Statistics.mean(x))
            sem.append(Statistics.standardError(x))
            v.append(N * Statistics.variance(x))
            sev.append(N * Statistics.varianceStandardError(x))
        }
        mean = m; meanStandardError = sem; scaledVariance = v; scaledVarianceStandardError = sev
    }

    /// Measured O(1/N) bias times N: N (mean - reference), with its standard error N s.e.(mean).
    public func scaledBias(reference: [Double]) -> (value: [Double], standardError: [Double]) {
        let N = Double(width)
        return (zip(mean, reference).map { N * ($0 - $1) }, meanStandardError.map { N * $0 })
    }

    /// Mean squared deviation from a reference (the DMFT): eps_N = E[(q_N - q_inf)^2] = Var + bias^2, with the
    /// standard error of that mean over members.
    public func squaredDeviation(reference: [Double]) -> (value: [Double], standardError: [Double]) {
        var v = [Double](), se = [Double]()
        for j in reference.indices {
            let d = values.map { ($0[j] - reference[j]) * ($0[j] - reference[j]) }
            v.append(Statistics.mean(d)); se.append(Statistics.standardError(d))
        }
        return (v, se)
    }

    /// The same statistics restricted to indices `idx` (e.g. one time slice).
    public func select(_ idx: [Int]) -> EnsembleSeries {
        EnsembleSeries(width: width, values: values.map { v in idx.map { v[$0] } })
    }
}

/// Per-member runs of an ensemble: member e of width N draws from RandomStream(seed, point: N, sample: e, purpose),
/// so members are reproducible and independent of the thread count; members run in parallel
/// (`ThreadPolicy.parallelMap`, BLAS single-threaded inside).
public enum Ensemble {
    public static func run<T>(width: Int, members: Int, seed: UInt64, purpose: String,
                              _ body: (inout RandomStream) throws -> T) throws -> [T] {
        try Validate.inRange("members", members, 4...10_000_000)
        return try ThreadPolicy.parallelMap(members) { e in
            var rng = RandomStream(seed: seed, point: UInt64(width), sample: UInt64(e), purpose: purpose)
            return try body(&rng)
        }
    }
}

/// Two-layer ensembles: E independent width-N networks trained by exact GD.
public struct TwoLayerEnsemble: Sendable {
    public var width: Int
    public var delta: EnsembleSeries
    public var testOutput: EnsembleSeries
    public var kernel: EnsembleSeries
    public var elapsedSeconds: Double

    /// Bytes a run needs: per thread one member's sites, N (3 Q + 2) doubles, plus the recorded trajectories
    /// E x T x (P + P_test + kernel pairs) values, kept twice (per member and in the series).
    public static func memoryEstimate(problem: TwoLayerProblem, width N: Int, members E: Int, threads: Int) -> Int {
        let perTime = problem.trainCount + problem.testCount + problem.kernelPairs.count
        return MemoryBudget.sum(MemoryBudget.product(max(1, min(threads, E)), N, 3 * problem.pointCount + 2, 8),
                                  MemoryBudget.product(E, problem.steps, perTime, 2, 8))
    }

    public init(problem: TwoLayerProblem, width: Int, members: Int, seed: UInt64, memoryCap: Int? = nil) throws {
        try Validate.inRange("members", members, 4...10_000_000)
        try Validate.inRange("width", width, 1...10_000_000)
        let need = Self.memoryEstimate(problem: problem, width: width, members: members, threads: ThreadPolicy.threads)
        try MemoryBudget.check(need, cap: memoryCap,
                                 hint: "two-layer ensemble: \(ThreadPolicy.threads) thread(s) x N (3 Q + 2) doubles of sites plus E x T x \(problem.trainCount + problem.testCount + problem.kernelPairs.count) recorded values (N = \(width), E = \(members), T = \(problem.steps)); reduce members, steps or width, or use fewer threads")
        let clock = Stopwatch()
        let runs = try Ensemble.run(width: width, members: members, seed: seed, purpose: "two-layer-ensemble") { rng in
            try problem.trainNetwork(width: width, rng: &rng)
        }
        self.width = width
        delta = EnsembleSeries(width: width, values: runs.map(\.delta))
        testOutput = EnsembleSeries(width: width, values: runs.map(\.testOutput))
        kernel = EnsembleSeries(width: width, values: runs.map(\.kernel))
        elapsedSeconds = clock.elapsed
    }
}
