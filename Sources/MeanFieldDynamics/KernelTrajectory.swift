import Foundation
import LinearAlgebra
import NumericalCore

/// The common output of every DMFT solver, approximation and network run: a trajectory on the grid t = 0..<T
/// (t = "after t updates", docs/theory/dmft.md §1) with the two-time kernels of every hidden layer.
///
/// Kernel layout: `kernelPhi[l-1]` is Phi^l as an (T n) x (T n) matrix, n = `pointCount` (train then test
/// points), entry (t n + mu, s n + nu) = Phi^l[t, mu, s, nu]. For deep linear DMFT the gradient kernels carry
/// no sample index (docs/theory/dmft.md §2) and `kernelG[l-1]` is T x T (`gradientIsSampleIndependent`); otherwise it
/// has the layout of Phi.
public struct KernelTrajectory: Sendable {
    /// Number of grid times T.
    public let timeSteps: Int
    /// P, the training points (the only ones in Delta-sums).
    public let trainCount: Int
    /// n = P + P_test.
    public let pointCount: Int
    /// L hidden layers.
    public let depth: Int
    /// Loss (1/2P) sum_mu Delta_mu(t)^2 at every grid time, before update t.
    public var loss: [Double]
    /// Delta_mu(t) = y_mu - (f_mu(t) - f_mu(0)) on training points, [t][mu].
    public var delta: [[Double]]
    /// Centered predictions f_mu(t) - f_mu(0) on train and test points, [t][mu].
    public var predictions: [[Double]]
    /// Phi^l (H^l for linear networks), l = 1...L.
    public var kernelPhi: [Matrix]
    /// G^l, l = 1...L: T x T when `gradientIsSampleIndependent`, else (T n) x (T n).
    public var kernelG: [Matrix]
    /// NTK K[t] = sum_{l=0}^{L} G^{l+1}[t,.,t,.] * Phi^l[t,.,t,.] (elementwise), n x n per time.
    public var ntk: [Matrix]

    public init(timeSteps: Int, trainCount: Int, pointCount: Int, depth: Int, loss: [Double], delta: [[Double]],
                predictions: [[Double]], kernelPhi: [Matrix], kernelG: [Matrix], ntk: [Matrix]) {
        self.timeSteps = timeSteps; self.trainCount = trainCount; self.pointCount = pointCount; self.depth = depth
        self.loss = loss; self.delta = delta; self.predictions = predictions
        self.kernelPhi = kernelPhi; self.kernelG = kernelG; self.ntk = ntk
    }

    /// True when G^l is stored as T x T (deep linear DMFT).
    public var gradientIsSampleIndependent: Bool { kernelG.first.map { $0.rows == timeSteps && pointCount > 1 } ?? false }

    /// Final training loss.
    public var finalLoss: Double { loss.last ?? .nan }

    /// G^l on the full (T n) x (T n) grid (a T x T kernel is tiled over samples).
    public func gradientFull(layer l: Int) -> Matrix {
        let g = kernelG[l - 1]
        let n = pointCount, tn = timeSteps * n
        if g.rows == tn { return g }
        return Matrix(rows: tn, cols: tn) { i, j in g[i / n, j / n] }
    }

    /// The equal-time slice Phi^l[t, ., t, .] (n x n).
    public func equalTimePhi(layer l: Int, time t: Int) -> Matrix {
        let n = pointCount
        return kernelPhi[l - 1].block(rows: (t * n)..<((t + 1) * n), cols: (t * n)..<((t + 1) * n))
    }

    /// The equal-time slice G^l[t, ., t, .] (n x n).
    public func equalTimeG(layer l: Int, time t: Int) -> Matrix {
        let n = pointCount
        let g = kernelG[l - 1]
        if g.rows == timeSteps * n { return g.block(rows: (t * n)..<((t + 1) * n), cols: (t * n)..<((t + 1) * n)) }
        return Matrix(rows: n, cols: n, repeating: g[t, t])
    }

    /// The sample-averaged two-time kernel (1/n) sum_mu X[t, mu, s, mu] as T x T rows (for heatmaps).
    public static func sampleTrace(_ x: Matrix, timeSteps: Int, points n: Int) -> [[Double]] {
        if x.rows == timeSteps { return x.rowArrays }
        return (0..<timeSteps).map { t in (0..<timeSteps).map { s in
            (0..<n).reduce(0) { $0 + x[t * n + $1, s * n + $1] } / Double(n) } }
    }

    /// Phi^l as a row-major [T, n, T, n] array.
    public func phiArray(layer l: Int) -> NDArray {
        let n = pointCount
        return NDArray(shape: [timeSteps, n, timeSteps, n], data: kernelPhi[l - 1].rowMajorStorage)
    }

    /// G^l as a row-major [T, T] array (sample independent) or [T, n, T, n].
    public func gArray(layer l: Int) -> NDArray {
        let g = kernelG[l - 1]
        if g.rows == timeSteps && pointCount > 1 { return NDArray(shape: [timeSteps, timeSteps], data: g.rowMajorStorage) }
        return NDArray(shape: [timeSteps, pointCount, timeSteps, pointCount], data: g.rowMajorStorage)
    }

    /// The NTK as a row-major [T, n, n] array.
    public func ntkArray() -> NDArray {
        NDArray(shape: [timeSteps, pointCount, pointCount], data: ntk.flatMap { $0.rowMajorStorage })
    }

    /// Alignment of the training block of K[t] with y y^T: A(K, y y^T) = y^T K y / (||K||_F |y|^2).
    public func ntkTargetAlignment(targets y: [Double]) -> [Double] {
        ntk.map { k in
            var yky = 0.0, kk = 0.0
            for i in 0..<trainCount { for j in 0..<trainCount { yky += y[i] * k[i, j] * y[j]; kk += k[i, j] * k[i, j] } }
            let yy = y.reduce(0) { $0 + $1 * $1 }
            return yky / (kk.squareRoot() * yy)
        }
    }

    /// Elementwise mean of trajectories (an ensemble average of networks or Monte Carlo replicas).
    public static func mean(_ xs: [KernelTrajectory]) -> KernelTrajectory {
        precondition(!xs.isEmpty)
        var m = xs[0]
        let c = 1 / Double(xs.count)
        func avg(_ f: (KernelTrajectory) -> [Double]) -> [Double] {
            var s = f(xs[0]); for x in xs.dropFirst() { let v = f(x); for i in 0..<s.count { s[i] += v[i] } }
            return s.map { $0 * c }
        }
        func avgM(_ f: (KernelTrajectory) -> Matrix) -> Matrix {
            var s = f(xs[0]); for x in xs.dropFirst() { let v = f(x); for i in 0..<s.storage.count { s.storage[i] += v.storage[i] } }
            return s.map { $0 * c }
        }
        m.loss = avg { $0.loss }
        m.delta = (0..<m.timeSteps).map { t in avg { $0.delta[t] } }
        m.predictions = (0..<m.timeSteps).map { t in avg { $0.predictions[t] } }
        m.kernelPhi = (0..<m.depth).map { l in avgM { $0.kernelPhi[l] } }
        m.kernelG = (0..<m.depth).map { l in avgM { $0.kernelG[l] } }
        m.ntk = (0..<m.timeSteps).map { t in avgM { $0.ntk[t] } }
        return m
    }
}

/// Theory-vs-network comparisons (docs/theory/dmft.md §9): kernel alignment A(X, Y) = <X, Y>_F / (|X|_F |Y|_F) of
/// flattened kernels, per layer and time, and loss differences.
public enum KernelComparison {
    /// Which kernel to compare.
    public enum Kernel: String, Sendable { case phi, g }

    /// Alignment of the full (T, n, T, n) kernels of layer `l` (G tiled where sample independent).
    public static func alignment(_ a: KernelTrajectory, _ b: KernelTrajectory, layer l: Int, kernel: Kernel) -> Double {
        // a trajectory cut short (a diverged solve keeps the steps before the blow-up) has no kernel to compare:
        // NaN, which the finiteness gate reports, instead of a trap
        guard a.kernelPhi.count >= l, b.kernelPhi.count >= l,
              a.kernelPhi[l - 1].storage.count == b.kernelPhi[l - 1].storage.count else { return .nan }
        switch kernel {
        case .phi: return Statistics.alignment(a.kernelPhi[l - 1].storage, b.kernelPhi[l - 1].storage)
        case .g:
            if a.kernelG[l - 1].rows == b.kernelG[l - 1].rows {
                return Statistics.alignment(a.kernelG[l - 1].storage, b.kernelG[l - 1].storage)
            }
            return Statistics.alignment(a.gradientFull(layer: l).storage, b.gradientFull(layer: l).storage)
        }
    }

    /// Alignment of the equal-time slices X^l[t, ., t, .] at every t.
    public static func equalTimeAlignment(_ a: KernelTrajectory, _ b: KernelTrajectory, layer l: Int, kernel: Kernel) -> [Double] {
        (0..<a.timeSteps).map { t in
            switch kernel {
            case .phi: return Statistics.alignment(a.equalTimePhi(layer: l, time: t).storage, b.equalTimePhi(layer: l, time: t).storage)
            case .g: return Statistics.alignment(a.equalTimeG(layer: l, time: t).storage, b.equalTimeG(layer: l, time: t).storage)
            }
        }
    }

    /// |loss_a(t) - loss_b(t)| / loss_b(t) at the final time.
    public static func finalLossRelativeDifference(_ a: KernelTrajectory, _ b: KernelTrajectory) -> Double {
        abs(a.finalLoss - b.finalLoss) / b.finalLoss
    }

    /// Alignment of Phi^l(t_final, t_final) with Phi^l(0, 0) (how far the feature kernel moved; Fig. 2c).
    public static func kernelMovement(_ a: KernelTrajectory, layer l: Int) -> Double {
        Statistics.alignment(a.equalTimePhi(layer: l, time: a.timeSteps - 1).storage, a.equalTimePhi(layer: l, time: 0).storage)
    }
}
