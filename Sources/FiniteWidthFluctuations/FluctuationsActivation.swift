import Foundation
import NumericalCore

/// Pointwise nonlinearities used by the finite-width fluctuation models, with the first two derivatives
/// (the D tensors of the two-layer propagator need phi'' through dg = phi''(h) z dh + phi'(h) dz).
public enum FluctuationActivation: Sendable, Equatable, CustomStringConvertible {
    /// phi(h) = h.
    case linear
    /// phi(h) = tanh(a h) / a (the paper's tanh(0.4 h)/0.4 has a = 0.4).
    case scaledTanh(Double)
    /// phi(h) = sqrt(2) max(h, 0): E phi(z)^2 = 1. phi'' is a delta function, dropped pathwise.
    case sqrt2ReLU

    /// Parses "linear", "tanh" (a = 0.4), "tanh:A" or "relu" (sqrt(2) ReLU).
    public static func parse(_ s: String) throws -> FluctuationActivation {
        let l = s.lowercased()
        if l == "linear" { return .linear }
        if l == "relu" || l == "sqrt2relu" { return .sqrt2ReLU }
        if l == "tanh" { return .scaledTanh(0.4) }
        if l.hasPrefix("tanh:"), let a = Double(l.dropFirst(5)), a > 0, a.isFinite { return .scaledTanh(a) }
        throw SolvableError.invalidParameter(name: "activation", value: s, allowed: "linear, relu, tanh or tanh:A with A > 0")
    }

    public var description: String {
        switch self {
        case .linear: return "linear"
        case .scaledTanh(let a): return a == 0.4 ? "tanh" : "tanh:\(a)"
        case .sqrt2ReLU: return "relu"
        }
    }

    @inline(__always) public func phi(_ h: Double) -> Double {
        switch self {
        case .linear: return h
        case .scaledTanh(let a): return tanh(a * h) / a
        case .sqrt2ReLU: return h > 0 ? 2.0.squareRoot() * h : 0
        }
    }

    @inline(__always) public func dphi(_ h: Double) -> Double {
        switch self {
        case .linear: return 1
        case .scaledTanh(let a): let t = tanh(a * h); return 1 - t * t
        case .sqrt2ReLU: return h > 0 ? 2.0.squareRoot() : 0
        }
    }

    @inline(__always) public func d2phi(_ h: Double) -> Double {
        switch self {
        case .linear, .sqrt2ReLU: return 0
        case .scaledTanh(let a): let t = tanh(a * h); return -2 * a * t * (1 - t * t)
        }
    }

    /// (phi, phi', phi'') in one call (one tanh evaluation).
    @inline(__always) public func all(_ h: Double) -> (Double, Double, Double) {
        switch self {
        case .linear: return (h, 1, 0)
        case .scaledTanh(let a):
            let t = tanh(a * h)
            let d = 1 - t * t
            return (t / a, d, -2 * a * t * d)
        case .sqrt2ReLU: return h > 0 ? (2.0.squareRoot() * h, 2.0.squareRoot(), 0) : (0, 0, 0)
        }
    }
}
