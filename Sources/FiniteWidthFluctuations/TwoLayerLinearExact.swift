import Foundation
import LinearAlgebra
import NumericalCore

/// Settings of the two-layer linear network with one training point (|x|^2/D = 1, target y), trained by exact
/// full-batch gradient descent in the mean-field parameterization (f = w.h/(gamma0 N), learning rate
/// eta gamma0^2 N, loss (1/2)(f - y)^2). Grid time t = 0..steps-1 means "after t updates".
public struct TwoLayerLinearSetting: Sendable, Equatable {
    public var gamma0: Double
    public var eta: Double
    public var y: Double
    public var steps: Int
    /// Train on f - f(0) (Delta(0) = y) when true; the edge-of-stability and online experiments are uncentered.
    public var centered: Bool

    public init(gamma0: Double, eta: Double, y: Double = 1, steps: Int, centered: Bool = true) throws {
        try Validate.positive("gamma0", gamma0)
        try Validate.positive("eta", eta)
        try Validate.finite("y", y)
        try Validate.inRange("steps", steps, 1...1_000_000)
        self.gamma0 = gamma0; self.eta = eta; self.y = y; self.steps = steps; self.centered = centered
    }

    /// c = eta gamma0, the per-step field coupling.
    public var c: Double { eta * gamma0 }
}

/// A trajectory of the scalar order parameters on the time grid.
public struct ScalarTrajectory: Sendable, Equatable {
    /// Training error Delta(t) = y - f(t) (+ f(0) when centered).
    public var delta: [Double]
    /// The (centered or uncentered, as trained) output f(t).
    public var output: [Double]
    /// The NTK K(t).
    public var kernel: [Double]
    public init(delta: [Double], output: [Double], kernel: [Double]) {
        self.delta = delta; self.output = output; self.kernel = kernel
    }
}

/// The O(1/N) variance of the scalar order parameters: N Var q(t) for q in {Delta, f, K}.
public struct ScalarVariance: Sendable, Equatable {
    public var delta: [Double]
    public var output: [Double]
    public var kernel: [Double]
    public init(delta: [Double], output: [Double], kernel: [Double]) {
        self.delta = delta; self.output = output; self.kernel = kernel
    }
}

/// Exact discrete-time reduction of the two-layer linear network, P = 1 (spec finite-width.md section 4(b)).
///
/// With u_i = w0_i.x/sqrt(D) and r_i = w_i, exact GD gives h(t+1) = h + c Delta z, z(t+1) = z + c Delta h,
/// so h + z = p(t)(u + r), h - z = m(t)(u - r) with p(t) = prod_{s<t}(1 + c Delta(s)), m(t) = prod_{s<t}(1 - c Delta(s)):
///
///     f_N(t) - f_N(0) = [A_N (p^2 - 1) - B_N (m^2 - 1)] / (4 gamma0) ,  K_N(t) = (A_N p^2 + B_N m^2)/2
///     A_N = (1/N) sum (u + r)^2 ,  B_N = (1/N) sum (u - r)^2      (independent, each 2 chi^2_N / N)
///
/// so the whole width-N trajectory is a deterministic function of (A_N, B_N), and at O(1/N)
///
///     N Var q(t) = 8 [ (dq/dA)^2 + (dq/dB)^2 ]    at A = B = 2 (infinite width).
///
/// Derivatives are forward-mode (exact to rounding). Uncentered: f_N = (A p^2 - B m^2)/(4 gamma0).
/// A closed form for this special case; the general DMFT solvers are in `MeanFieldDynamics`.
public enum TwoLayerLinearExact {
    /// A number with its derivatives with respect to A and B (forward mode).
    struct Dual {
        var v: Double, a: Double, b: Double
        static func + (x: Dual, y: Dual) -> Dual { Dual(v: x.v + y.v, a: x.a + y.a, b: x.b + y.b) }
        static func - (x: Dual, y: Dual) -> Dual { Dual(v: x.v - y.v, a: x.a - y.a, b: x.b - y.b) }
        static func * (x: Dual, y: Dual) -> Dual { Dual(v: x.v * y.v, a: x.a * y.v + x.v * y.a, b: x.b * y.v + x.v * y.b) }
        static func * (s: Double, x: Dual) -> Dual { Dual(v: s * x.v, a: s * x.a, b: s * x.b) }
        static func const(_ x: Double) -> Dual { Dual(v: x, a: 0, b: 0) }
    }

    static func dualTrajectory(A: Double, B: Double, _ s: TwoLayerLinearSetting) -> (delta: [Dual], f: [Dual], k: [Dual]) {
        let c = s.c
        let a = Dual(v: A, a: 1, b: 0), b = Dual(v: B, a: 0, b: 1)
        var p = Dual.const(1), m = Dual.const(1)
        var dl = [Dual](), fs = [Dual](), ks = [Dual]()
        dl.reserveCapacity(s.steps); fs.reserveCapacity(s.steps); ks.reserveCapacity(s.steps)
        let one = Dual.const(1)
        for _ in 0..<s.steps {
            let p2 = p * p, m2 = m * m
            let f: Dual = s.centered ? (1 / (4 * s.gamma0)) * (a * (p2 - one) - b * (m2 - one))
                                     : (1 / (4 * s.gamma0)) * (a * p2 - b * m2)
            let d = Dual.const(s.y) - f
            dl.append(d); fs.append(f); ks.append(0.5 * (a * p2 + b * m2))
            p = p * (one + c * d)
            m = m * (one - c * d)
        }
        return (dl, fs, ks)
    }

    /// The exact width-N trajectory given the two sufficient statistics A_N and B_N (infinite width: A = B = 2).
    public static func trajectory(A: Double = 2, B: Double = 2, _ s: TwoLayerLinearSetting) -> ScalarTrajectory {
        let (d, f, k) = dualTrajectory(A: A, B: B, s)
        return ScalarTrajectory(delta: d.map(\.v), output: f.map(\.v), kernel: k.map(\.v))
    }

    /// N Var q(t) = 8[(dq/dA)^2 + (dq/dB)^2] at A = B = 2, with the infinite-width trajectory.
    /// Uncentered networks also carry Var f(0) = 1/(gamma0^2 N) (included automatically).
    public static func variance(_ s: TwoLayerLinearSetting) -> (mean: ScalarTrajectory, variance: ScalarVariance) {
        let (d, f, k) = dualTrajectory(A: 2, B: 2, s)
        func nv(_ x: [Dual]) -> [Double] { x.map { 8 * ($0.a * $0.a + $0.b * $0.b) } }
        return (ScalarTrajectory(delta: d.map(\.v), output: f.map(\.v), kernel: k.map(\.v)),
                ScalarVariance(delta: nv(d), output: nv(f), kernel: nv(k)))
    }

    /// The same variance from the linear-response (propagator) form of section 4(b), with exact D tensors and
    /// exact single-site noise kappa:  (gamma0 I + D_f) delta f = eps_f ,  delta K = eps_K - D_K delta f,
    ///
    ///     D_f(t,s) = c Theta_ts [P_t/(1 + c Delta(s)) + M_t/(1 - c Delta(s))]
    ///     D_K(t,s) = 2c Theta_ts [P_t/(1 + c Delta(s)) - M_t/(1 - c Delta(s))]
    ///     kappa_f = [(P_t - 1)(P_s - 1) + (M_t - 1)(M_s - 1)]/2 ,  kappa_fK = (P_t - 1)P_s - (M_t - 1)M_s ,
    ///     kappa_K = 2[P_t P_s + M_t M_s]     (uncentered: drop the -1s)
    ///
    /// gamma0 I + D_f is lower triangular with diagonal gamma0, so it is solved by forward substitution.
    public static func linearResponseVariance(_ s: TwoLayerLinearSetting) -> ScalarVariance {
        let T = s.steps, c = s.c
        let mean = trajectory(s)
        var P = [Double](repeating: 1, count: T), M = [Double](repeating: 1, count: T)
        for t in 1..<max(1, T) {
            P[t] = P[t - 1] * (1 + c * mean.delta[t - 1]) * (1 + c * mean.delta[t - 1])
            M[t] = M[t - 1] * (1 - c * mean.delta[t - 1]) * (1 - c * mean.delta[t - 1])
        }
        let sh = s.centered ? 1.0 : 0.0
        var L = Matrix(rows: T, cols: T), DK = Matrix(rows: T, cols: T)
        for t in 0..<T {
            L[t, t] = s.gamma0
            for u in 0..<t {
                let pp = P[t] / (1 + c * mean.delta[u]), mm = M[t] / (1 - c * mean.delta[u])
                L[t, u] = c * (pp + mm)
                DK[t, u] = 2 * c * (pp - mm)
            }
        }
        // Noise factors: eps_f = (dA (P-1) - dB (M-1))/4, eps_K = (dA P + dB M)/2 with N Var dA = N Var dB = 8.
        // Write eps = F xi with xi = (dA, dB) sqrt(N/8), Cov(xi) = I: F_f = sqrt(8)[(P-1)/4, -(M-1)/4], F_K = sqrt(8)[P/2, M/2].
        let r8 = 8.0.squareRoot()
        var Ff = Matrix(rows: T, cols: 2), FK = Matrix(rows: T, cols: 2)
        for t in 0..<T {
            Ff[t, 0] = r8 * (P[t] - sh) / 4; Ff[t, 1] = -r8 * (M[t] - sh) / 4
            FK[t, 0] = r8 * P[t] / 2; FK[t, 1] = r8 * M[t] / 2
        }
        var Xf = Ff
        BLAS.trsm(L, &Xf, upper: false)               // delta f = L^{-1} eps_f
        let XK = FK - BLAS.gemm(DK, Xf)               // delta K = eps_K - D_K delta f
        func rowVar(_ X: Matrix) -> [Double] { (0..<T).map { X[$0, 0] * X[$0, 0] + X[$0, 1] * X[$0, 1] } }
        let vf = rowVar(Xf)
        return ScalarVariance(delta: vf, output: vf, kernel: rowVar(XK))
    }

    /// The (f, K) recursion (section 4(c)), the discrete-time DMFT of the uncentered network:
    ///
    ///     f(t+1) = f + eta K Delta + eta^2 gamma0^2 f Delta^2 ,  K(t+1) = K + 4 eta gamma0^2 f Delta + eta^2 gamma0^2 Delta^2 K
    ///
    /// from f(0) = (A - B)/(4 gamma0), K(0) = (A + B)/2 (infinite width: 0 and 2). It equals `trajectory` with
    /// `centered = false` to rounding.
    public static func fkRecursion(gamma0: Double, eta: Double, y: Double, steps: Int, A: Double = 2, B: Double = 2) -> ScalarTrajectory {
        var f = (A - B) / (4 * gamma0), K = (A + B) / 2
        var d = [Double](), fs = [Double](), ks = [Double]()
        let g2 = gamma0 * gamma0
        for _ in 0..<steps {
            let D = y - f
            d.append(D); fs.append(f); ks.append(K)
            let fn = f + eta * K * D + eta * eta * g2 * f * D * D
            let kn = K + 4 * eta * g2 * f * D + eta * eta * g2 * D * D * K
            f = fn; K = kn
        }
        return ScalarTrajectory(delta: d, output: fs, kernel: ks)
    }

    /// Gradient-flow limit of the final kernel of the uncentered network, 2 sqrt(1 + gamma0^2 y^2).
    public static func gradientFlowFinalKernel(gamma0: Double, y: Double) -> Double { 2 * (1 + gamma0 * gamma0 * y * y).squareRoot() }

    /// The finite-N law of the trajectory (mean and variance at any N, including the bias): a 2-D midpoint rule
    /// over the probability levels of the two independent 2 chi^2_N / N variables (exact chi^2 quantiles),
    /// `order` levels each, i.e. order^2 trajectories. Quadrature error decreases as the grid is refined.
    public static func finiteWidthLaw(width N: Int, _ s: TwoLayerLinearSetting, order: Int = 200) -> (mean: ScalarTrajectory, variance: ScalarVariance) {
        // Midpoint rule on probability levels via the chi^2 quantile (inverse regularized gamma by Newton/bisection).
        let qs = (0..<order).map { k -> Double in
            let pr = (Double(k) + 0.5) / Double(order)
            return 2 * Statistics.chiSquareQuantile(pr, dof: Double(N)) / Double(N)
        }
        let T = s.steps
        var m1 = [[Double]](repeating: [Double](repeating: 0, count: T), count: 3)
        var m2 = m1
        let w = 1.0 / Double(order * order)
        for a in qs { for b in qs {
            let tr = trajectory(A: a, B: b, s)
            for (j, x) in [tr.delta, tr.output, tr.kernel].enumerated() {
                for t in 0..<T { m1[j][t] += w * x[t]; m2[j][t] += w * x[t] * x[t] }
            }
        } }
        let v = (0..<3).map { j in (0..<T).map { m2[j][$0] - m1[j][$0] * m1[j][$0] } }
        return (ScalarTrajectory(delta: m1[0], output: m1[1], kernel: m1[2]), ScalarVariance(delta: v[0], output: v[1], kernel: v[2]))
    }
}
