import Foundation
import NumericalCore

/// A pointwise nonlinearity phi with its first and second derivatives (the second derivative enters the
/// Jacobian recursions and the equal-time part of B, docs/theory/dmft.md §4 and 6).
public struct Activation: Sendable, CustomStringConvertible {
    /// Which closed forms apply (static kernels, solver choice).
    public enum Kind: Sendable, Equatable { case linear, relu, other }

    public let name: String
    public let kind: Kind
    /// Multiplier of the ReLU closed forms (1 for ReLU, sqrt 2 for sqrt2-ReLU); unused otherwise.
    public let reluScale: Double
    public let phi: @Sendable (Double) -> Double
    public let derivative: @Sendable (Double) -> Double
    public let secondDerivative: @Sendable (Double) -> Double

    public var description: String { name }

    /// A differentiable phi given by closures (phi, phi', phi'').
    public init(name: String, phi: @escaping @Sendable (Double) -> Double,
                derivative: @escaping @Sendable (Double) -> Double,
                secondDerivative: @escaping @Sendable (Double) -> Double) {
        self.init(name: name, kind: .other, reluScale: 1, phi: phi, derivative: derivative, secondDerivative: secondDerivative)
    }

    init(name: String, kind: Kind, reluScale: Double, phi: @escaping @Sendable (Double) -> Double,
         derivative: @escaping @Sendable (Double) -> Double, secondDerivative: @escaping @Sendable (Double) -> Double) {
        self.name = name; self.kind = kind; self.reluScale = reluScale
        self.phi = phi; self.derivative = derivative; self.secondDerivative = secondDerivative
    }

    /// phi(h) = h (deep linear networks; Phi = H).
    public static let linear = Activation(name: "linear", kind: .linear, reluScale: 1, phi: { $0 }, derivative: { _ in 1 },
                                          secondDerivative: { _ in 0 })

    /// phi(h) = tanh(beta h) / beta, so phi'(0) = 1 (the official deep-nonlinear code uses beta = 0.8; beta = 1 is tanh).
    public static func tanh(gain beta: Double = 1) throws -> Activation {
        try Validate.positive("gain", beta)
        return Activation(name: beta == 1 ? "tanh" : "tanh(\(beta)h)/\(beta)", kind: .other, reluScale: 1,
                          phi: { Foundation.tanh(beta * $0) / beta },
                          derivative: { let t = Foundation.tanh(beta * $0); return 1 - t * t },
                          secondDerivative: { let t = Foundation.tanh(beta * $0); return -2 * beta * t * (1 - t * t) })
    }

    /// phi(h) = max(h, 0). Its second derivative is a delta function, which pathwise Jacobians drop (docs/theory/dmft.md §4).
    public static let relu = Activation(name: "relu", kind: .relu, reluScale: 1, phi: { max($0, 0) },
                                        derivative: { $0 > 0 ? 1 : 0 }, secondDerivative: { _ in 0 })

    /// phi(h) = sqrt(2) max(h, 0) (variance preserving).
    public static let sqrt2Relu = Activation(name: "sqrt2-relu", kind: .relu, reluScale: 2.0.squareRoot(),
                                             phi: { 2.0.squareRoot() * max($0, 0) },
                                             derivative: { $0 > 0 ? 2.0.squareRoot() : 0 }, secondDerivative: { _ in 0 })

    /// phi(h) = erf(h).
    public static let erf = Activation(name: "erf", kind: .other, reluScale: 1, phi: { Foundation.erf($0) },
                                       derivative: { 2 / Double.pi.squareRoot() * exp(-$0 * $0) },
                                       secondDerivative: { -4 * $0 / Double.pi.squareRoot() * exp(-$0 * $0) })

    /// phi(h) = log(1 + e^h).
    public static let softplus = Activation(name: "softplus", kind: .other, reluScale: 1,
                                            phi: { $0 > 30 ? $0 : log1p(exp($0)) },
                                            derivative: { 1 / (1 + exp(-$0)) },
                                            secondDerivative: { let s = 1 / (1 + exp(-$0)); return s * (1 - s) })

    /// Names accepted by `named(_:gain:)` (the CLI's `--activation`).
    public static let names = ["linear", "tanh", "relu", "sqrt2-relu", "erf", "softplus"]

    /// The activation called `name` (`gain` applies to tanh only).
    public static func named(_ name: String, gain: Double = 1) throws -> Activation {
        switch name {
        case "linear": return .linear
        case "tanh": return try .tanh(gain: gain)
        case "relu": return .relu
        case "sqrt2-relu": return .sqrt2Relu
        case "erf": return .erf
        case "softplus": return .softplus
        default: throw SolvableError.invalidParameter(name: "activation", value: name, allowed: "one of " + names.joined(separator: ", "))
        }
    }

    /// (E[phi(a) phi(b)], E[phi'(a) phi'(b)]) for a centred Gaussian pair with covariance [[kaa, kab], [kab, kbb]]:
    /// closed forms for linear and ReLU (arc-cosine kernels, docs/theory/dmft.md §6), Gauss-Hermite quadrature otherwise.
    public func gaussianMoments(kaa: Double, kab: Double, kbb: Double, quadrature: GaussHermite) -> (phi: Double, derivative: Double) {
        switch kind {
        case .linear: return (kab, 1)
        case .relu:
            let s2 = reluScale * reluScale
            let n = (kaa * kbb).squareRoot()
            if n <= 0 { return (0, s2 * 0.5) }
            let c = max(-1, min(1, kab / n))
            let th = acos(c)
            return (s2 / (2 * Double.pi) * n * (sin(th) + (Double.pi - th) * c), s2 * (Double.pi - th) / (2 * Double.pi))
        case .other:
            if kaa <= 0 {
                let p0 = phi(0), d0 = derivative(0)
                let pb = quadrature.expectation { self.phi(kbb.squareRoot() * $0) }
                let db = quadrature.expectation { self.derivative(kbb.squareRoot() * $0) }
                return (p0 * pb, d0 * db)
            }
            let e1 = quadrature.expectation2(c11: kaa, c12: kab, c22: kbb) { self.phi($0) * self.phi($1) }
            let e2 = quadrature.expectation2(c11: kaa, c12: kab, c22: kbb) { self.derivative($0) * self.derivative($1) }
            return (e1, e2)
        }
    }
}
