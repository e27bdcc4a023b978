import Foundation
import LinearAlgebra
import NumericalCore

/// Reference trainer in weight space (BLAS), used to validate the field-form ensembles: W0 in R^{N x D},
/// readout w in R^N, inputs X in R^{D x (P + P_test)}, h = W0 X / sqrt(D), f = w.phi(h)/(gamma0 N),
/// full-batch GD with learning rate eta gamma0^2 N on (1/2P) sum (f - f(0) - y)^2 (or uncentered):
///
///     W0 += (eta gamma0 / (P sqrt(D))) sum_a Delta_a g_a x_a^T ,   w += (eta gamma0 / P) sum_a Delta_a phi(h_a) ,   g = phi'(h) w
///
/// and the NTK K_{mu nu} = (1/N) sum_i [phi(h_i mu) phi(h_i nu) + g_i mu g_i nu x_mu.x_nu/D].
public enum TwoLayerWeightSpace {
    /// Trains from explicit weights; returns the same trajectory layout as `TwoLayerProblem.trainNetwork`.
    /// `problem.inputKernel` must equal X^T X / D.
    public static func train(_ problem: TwoLayerProblem, inputs X: Matrix, firstLayer W0: Matrix, readout w0: [Double]) throws -> TwoLayerTrajectory {
        let D = X.rows, Q = X.cols, N = W0.rows, P = problem.trainCount, T = problem.steps
        guard W0.cols == D, w0.count == N, Q == problem.pointCount else {
            throw SolvableError.invalidParameter(name: "weights", value: "\(W0.rows)x\(W0.cols), \(w0.count)", allowed: "N x D and N matching the inputs")
        }
        let act = problem.activation, g0 = problem.gamma0, sD = Double(D).squareRoot(), Nd = Double(N)
        let kx = problem.inputKernel, pairs = problem.kernelPairs
        var W = W0, w = w0
        var H = BLAS.gemm(W, X, alpha: 1 / sD)      // N x Q
        let f0 = (0..<Q).map { mu in (0..<N).reduce(0.0) { $0 + w0[$1] * act.phi(H[$1, mu]) } / (g0 * Nd) }
        var dOut = [Double](), fOut = [Double](), kOut = [Double]()
        for t in 0..<T {
            var f = [Double](repeating: 0, count: Q)
            for mu in 0..<Q { for i in 0..<N { f[mu] += w[i] * act.phi(H[i, mu]) }; f[mu] /= g0 * Nd }
            let delta = (0..<P).map { problem.targets[$0] - f[$0] + (problem.centered ? f0[$0] : 0) }
            dOut += delta
            for mu in P..<Q { fOut.append(f[mu] - (problem.centered ? f0[mu] : 0)) }
            for (a, b) in pairs {
                var s = 0.0
                for i in 0..<N { s += act.phi(H[i, a]) * act.phi(H[i, b]) + kx[a, b] * act.dphi(H[i, a]) * act.dphi(H[i, b]) * w[i] * w[i] }
                kOut.append(s / Nd)
            }
            if t + 1 == T { break }
            // G[i, a] = Delta_a g_ia (training columns), then W += (eta gamma0/(P sqrt(D))) G X_train^T.
            var G = Matrix(rows: N, cols: P)
            var dw = [Double](repeating: 0, count: N)
            for a in 0..<P { for i in 0..<N {
                G[i, a] = delta[a] * act.dphi(H[i, a]) * w[i]
                dw[i] += delta[a] * act.phi(H[i, a])
            } }
            let Xtr = X.block(rows: 0..<D, cols: 0..<P)
            BLAS.gemm(G, Xtr, transposeB: true, alpha: problem.eta * g0 / (Double(P) * sD), beta: 1, into: &W)
            for i in 0..<N { w[i] += problem.eta * g0 / Double(P) * dw[i] }
            H = BLAS.gemm(W, X, alpha: 1 / sD)
        }
        return TwoLayerTrajectory(delta: dOut, testOutput: fOut, kernel: kOut)
    }
}

extension TwoLayerProblem {
    /// The field-form network from explicit initial fields u (N x Q, site-major: u[i*Q + mu] = w0_i.x_mu/sqrt(D))
    /// and readouts r (N): exact GD, identical to `TwoLayerWeightSpace.train` to rounding.
    public func trainNetwork(initialFields u: [Double], readout r: [Double]) throws -> TwoLayerTrajectory {
        guard u.count == r.count * pointCount else {
            throw SolvableError.invalidParameter(name: "initial_fields", value: "\(u.count)", allowed: "N x Q = \(r.count * pointCount) values")
        }
        var blocks = [SiteBlock(problem: self, u: u, r: r, weight: [Double](repeating: 1, count: r.count))]
        return runSynchronous(blocks: &blocks, parallel: false)
    }
}
