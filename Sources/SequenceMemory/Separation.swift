import Foundation
import NumericalCore

/// The separation function f of the DenseNet, T(S)_i = sgn sum_mu xi_i^{mu+1} f(m_i^mu(S)) (docs/theory/sequence-memory.md §2.1).
public enum Separation: Sendable, CustomStringConvertible {
    /// f(m) = m^d; d = 1 is the SeqNet (classical asymmetric Hebbian network).
    case polynomial(Int)
    /// f(m) = exp((N-1)(m-1)) on self-excluded overlaps (f(1) = 1), evaluated in the overflow-safe Hamming form
    /// e^{-2k}; on self-inclusive overlaps the raw-unit form e^{r-N} (docs/theory/sequence-memory.md §2.1, §2.4).
    case exponential
    /// A user f (should be increasing); `name` is shown in outputs.
    case custom(name: String, f: @Sendable (Double) -> Double)

    /// Throws unless d is in 1...1000.
    public static func validated(degree d: Int) throws -> Separation {
        try Validate.inRange("degree", d, 1...1000)
        return .polynomial(d)
    }

    public var description: String {
        switch self {
        case .polynomial(let d): return d == 1 ? "SeqNet (f = m)" : "DenseNet (f = m^\(d))"
        case .exponential: return "DenseNet (f = exp((N-1)(m-1)))"
        case .custom(let n, _): return "DenseNet (f = \(n))"
        }
    }

    public var shortName: String {
        switch self {
        case .polynomial(let d): return "d=\(d)"
        case .exponential: return "exp"
        case .custom(let n, _): return n
        }
    }

    /// f(m) for a network of N neurons (the exponential depends on N through its normalization).
    public func value(_ m: Double, neurons n: Int) -> Double {
        switch self {
        case .polynomial(let d): return Separation.ipow(m, d)
        case .exponential: return exp(Double(n - 1) * (m - 1))
        case .custom(_, let f): return f(m)
        }
    }

    /// ln f(m) for the exponential (used for shifted evaluation), nil for the others.
    func logValue(_ m: Double, neurons n: Int) -> Double? {
        if case .exponential = self { return Double(n - 1) * (m - 1) }
        return nil
    }

    @inlinable static func ipow(_ x: Double, _ d: Int) -> Double {
        var r = 1.0, b = x, e = d
        while e > 0 { if e & 1 == 1 { r *= b }; b *= b; e >>= 1 }
        return r
    }

    var isExponential: Bool { if case .exponential = self { return true }; return false }
    var degree: Int? { if case .polynomial(let d) = self { return d }; return nil }
}
