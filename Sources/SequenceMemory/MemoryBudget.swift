import Foundation
import NumericalCore

/// Memory estimates of the sequence-memory computations, checked before anything large is allocated: a request
/// that would need more than half the physical memory is refused with `SolvableError.insufficientMemory` (exit 2)
/// carrying the estimate.
public enum MemoryBudget {
    /// Bytes one run may use: half the physical memory.
    public static var available: Int { Int(ProcessInfo.processInfo.physicalMemory / 2) }

    /// Throws `insufficientMemory(needed:available:hint:)` when `needed` exceeds `available`.
    public static func check(_ needed: Int, hint: String) throws {
        if needed > available { throw SolvableError.insufficientMemory(needed: needed, available: available, hint: hint) }
    }

    /// A pattern set: P N Int8 values plus P ceil(N/64) packed words.
    public static func patternBytes(neurons n: Int, patterns p: Int) -> Int {
        let (pn, o1) = p.multipliedReportingOverflow(by: n)
        if o1 { return .max }
        return sat(pn, sat(p, 8 * ((n + 63) / 64)))
    }

    /// One capacity trial or one bulk transition check of a network on P patterns of N neurons: the patterns, the
    /// GEMM operands (float copies of X and of the targets, up to 5 P N values) and the row blocks (128 P), or for
    /// GPI the SVD and pseudoinverse (about 6 P N doubles).
    public static func trialBytes(neurons n: Int, patterns p: Int, pseudoinverse: Bool = false) -> Int {
        let (pn, o) = p.multipliedReportingOverflow(by: n)
        if o { return .max }
        let dense = pn.multipliedReportingOverflow(by: pseudoinverse ? 48 : 20)
        if dense.overflow { return .max }
        let blocks = p.multipliedReportingOverflow(by: 128 * 16)
        if blocks.overflow { return .max }
        return sat(patternBytes(neurons: n, patterns: p), sat(dense.partialValue, blocks.partialValue))
    }

    static func sat(_ a: Int, _ b: Int) -> Int { let (s, o) = a.addingReportingOverflow(b); return o ? .max : s }
}

extension MemoryModel {
    /// Bytes of one trial of this model at (N, P) (see `MemoryBudget.trialBytes`).
    public func bytesPerTrial(neurons n: Int, patterns p: Int) -> Int {
        if case .pseudoinverse = kind { return MemoryBudget.trialBytes(neurons: n, patterns: p, pseudoinverse: true) }
        return MemoryBudget.trialBytes(neurons: n, patterns: p)
    }
}
