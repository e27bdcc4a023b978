import Foundation
import NumericalCore

/// Memory estimates of the sequence-memory computations, checked (`MemoryBudget.check`) before anything large is
/// allocated.
extension MemoryBudget {
    /// A pattern set: P N Int8 values plus P ceil(N/64) packed words.
    public static func patternBytes(neurons n: Int, patterns p: Int) -> Int {
        sum(product(p, n), product(p, 8, (n + 63) / 64))
    }

    /// One capacity trial or one bulk transition check of a network on P patterns of N neurons: the patterns, the
    /// GEMM operands (float copies of X and of the targets, up to 5 P N values) and the row blocks (128 P), or for
    /// GPI the SVD and pseudoinverse (about 6 P N doubles).
    public static func trialBytes(neurons n: Int, patterns p: Int, pseudoinverse: Bool = false) -> Int {
        sum(patternBytes(neurons: n, patterns: p), product(p, n, pseudoinverse ? 48 : 20), product(p, 128 * 16))
    }
}

extension MemoryModel {
    /// Bytes of one trial of this model at (N, P) (see `MemoryBudget.trialBytes`).
    public func bytesPerTrial(neurons n: Int, patterns p: Int) -> Int {
        if case .pseudoinverse = kind { return MemoryBudget.trialBytes(neurons: n, patterns: p, pseudoinverse: true) }
        return MemoryBudget.trialBytes(neurons: n, patterns: p)
    }
}
