import Foundation
import NumericalCore
import SequenceMemory

/// Benchmark cases of the Memory model (Solvable's side; the numpy side is in `bench/cases/`).
public enum MemoryBench {
    public static let cases: [BenchCase] = [capacity]

    /// Case 3 of issue 8: sequence-recall success counts of the polynomial DenseNet for each (d, N, [P]) in `combos`,
    /// `trials` random sequences per P, all P periodic transitions checked, ties errors: the success curve s(P) that
    /// the docs/theory/sequence-memory.md §6 search samples, evaluated exactly as `CapacityEstimator.estimateP50` does (parallel trials, trial t
    /// at P drawing from RandomStream(seed, point: (k << 32) | P, sample: t)). The numpy port is
    /// `bench/cases/memory-capacity.py` (same grid, same trials, its own draws).
    static let capacity = BenchCase(name: "memory-capacity",
                                    summary: "sequence-capacity success curves of DenseNets d = 1, 2 at N = 100, 200 around P_50") { p in
        let trials = p.integer("trials", default: 100)
        let seed = UInt64(p.integer("seed", default: 1))
        var combos: [(Int, Int, [Int])] = []
        if case .array(let xs)? = p["combos"] {
            for x in xs {
                guard case .array(let v) = x, v.count == 3, let d = v[0].doubleValue, let n = v[1].doubleValue,
                      case .array(let grid) = v[2], grid.allSatisfy({ $0.doubleValue != nil }) else {
                    throw SolvableError.invalidParameter(name: "combos", value: x.description, allowed: "[degree, neurons, [P, ...]] triples")
                }
                combos.append((Int(d), Int(n), grid.map { Int($0.doubleValue!) }))
            }
        } else {
            combos = [(1, 100, [9, 11, 13]), (1, 200, [15, 18, 21]), (2, 100, [170, 200, 230]), (2, 200, [670])]
        }
        let clock = Stopwatch()
        var rows: [JSONValue] = []
        for (k, (d, n, grid)) in combos.enumerated() {
            let model = try MemoryModel(.denseNet(.polynomial(d)))
            for q in grid {
                let k = try CapacityEstimator.successes(model: model, neurons: n, patterns: q, criterion: .sequence, trials: trials,
                                                        seed: seed, pointID: UInt64(k))
                rows.append(.object([("degree", .int(d)), ("neurons", .int(n)), ("patterns", .int(q)), ("successes", .int(k)),
                                     ("trials", .int(trials))]))
            }
        }
        let seconds = clock.elapsed
        return BenchResult(answer: .array(rows), seconds: seconds,
                           size: "\(combos.count) (d,N), \(rows.count) P, \(trials) trials")
    }
}
