import Foundation
import LinearAlgebra
import NumericalCore

/// One learning problem shared by the theory and the networks (docs/theory/dmft.md §1): data, depth L, activation phi,
/// feature-learning strength gamma0, learning rate eta (the network's is eta gamma0^2 N) and the number of grid
/// times T (t = 0..<T, i.e. T - 1 updates are reflected in the last recorded time).
public struct DMFTProblem: Sendable {
    public let data: DMFTData
    /// Number of hidden layers L.
    public let depth: Int
    public let activation: Activation
    /// Feature-learning strength gamma0 (gamma0 -> 0 is the static NTK limit).
    public let gamma0: Double
    /// eta: the network learning rate is eta gamma0^2 N; the DMFT time step is eta / P.
    public let eta: Double
    /// Number of grid times T.
    public let timeSteps: Int

    public init(data: DMFTData, depth: Int, activation: Activation = .linear, gamma0: Double, eta: Double, timeSteps: Int) throws {
        try Validate.inRange("depth", depth, 1...64)
        try Validate.nonNegative("gamma0", gamma0)
        try Validate.inRange("gamma0", gamma0, 0...1e3)
        try Validate.positive("eta", eta)
        try Validate.inRange("steps", timeSteps, 1...1_000_000)
        self.data = data
        self.depth = depth
        self.activation = activation
        self.gamma0 = gamma0
        self.eta = eta
        self.timeSteps = timeSteps
    }

    /// A copy with another gamma0.
    public func with(gamma0 g: Double) throws -> DMFTProblem {
        try DMFTProblem(data: data, depth: depth, activation: activation, gamma0: g, eta: eta, timeSteps: timeSteps)
    }

    /// A copy with another depth.
    public func with(depth l: Int) throws -> DMFTProblem {
        try DMFTProblem(data: data, depth: l, activation: activation, gamma0: gamma0, eta: eta, timeSteps: timeSteps)
    }

    /// P, n = P + P_test, T.
    var p: Int { data.trainCount }
    var n: Int { data.totalCount }

    /// The Euler update of docs/theory/dmft.md §4 given the NTK at time t: Delta(t+1) = Delta(t) - (eta/P) K[t] Delta(t)
    /// on training points; test predictions f_*(t+1) = f_*(t) + (eta/P) K_{*, train}(t) Delta(t).
    /// Returns (Delta [t][mu] train, predictions [t][mu] all points, loss).
    func eulerTrajectory(ntk: (Int) -> Matrix) -> (delta: [[Double]], predictions: [[Double]], loss: [Double]) {
        let y = data.targets
        var d = y
        var f = [Double](repeating: 0, count: n)
        var deltas: [[Double]] = [], preds: [[Double]] = [], loss: [Double] = []
        let c = eta / Double(p)
        for t in 0..<timeSteps {
            deltas.append(d); preds.append(f)
            loss.append(d.reduce(0) { $0 + $1 * $1 } / (2 * Double(p)))
            if t == timeSteps - 1 { break }
            let k = ntk(t)
            var step = [Double](repeating: 0, count: n)
            for nu in 0..<p { let dn = d[nu]; if dn == 0 { continue }; for mu in 0..<n { step[mu] += k[mu, nu] * dn } }
            for mu in 0..<n { f[mu] += c * step[mu] }
            for mu in 0..<p { d[mu] = y[mu] - f[mu] }
        }
        return (deltas, preds, loss)
    }

    /// Delta over the full grid as a T x n array with zeros at test points (the form the field equations use).
    func paddedDelta(_ delta: [[Double]]) -> [Double] {
        var out = [Double](repeating: 0, count: timeSteps * n)
        for t in 0..<timeSteps { for mu in 0..<p { out[t * n + mu] = delta[t][mu] } }
        return out
    }
}
