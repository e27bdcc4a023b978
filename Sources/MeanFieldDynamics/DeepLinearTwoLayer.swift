import Foundation
import LinearAlgebra
import NumericalCore

extension DeepLinearDMFT {
    /// Exact one-pass time-marching solve of the two-layer (L = 1) linear DMFT (docs/theory/dmft.md §6, two-layer case,
    /// with phi(h) = h). The fields are linear in the sources (u ~ N(0, K^x), r ~ N(0, 1)):
    ///
    ///     h(t) = alpha(t) u + beta(t) r,   g(t) = gamma(t) . u + delta(t) r,
    ///     alpha(t) = I + (eta gamma0/P) sum_{s<t} (K^x Delta(s)) gamma(s)^T,  beta(t) = (eta gamma0/P) sum_{s<t} K^x Delta(s) delta(s),
    ///     gamma(t) = (eta gamma0/P) sum_{s<t} alpha(s)^T Delta(s),           delta(t) = 1 + (eta gamma0/P) sum_{s<t} Delta(s) . beta(s),
    ///
    /// so H(t,s) = alpha(t) K alpha(s)^T + beta(t) beta(s)^T, G(t,s) = gamma(t) . K gamma(s) + delta(t) delta(s), and
    /// K^NTK(t) = G(t,t) K^x + H(t,t); Delta is advanced by the Euler rule, all in one causal pass (O(T n^2),
    /// plus O(T^2 n^3) for the two-time kernels when `twoTimeKernels`). Without two-time kernels the trajectory's
    /// `kernelPhi` and `kernelG` are empty (loss, Delta, predictions and NTK are still filled).
    public static func solveTwoLayer(_ problem: DMFTProblem, twoTimeKernels: Bool = true) throws -> DeepLinearDMFTSolution {
        guard problem.depth == 1, problem.activation.kind == .linear else {
            throw SolvableError.invalidParameter(name: "depth", value: "\(problem.depth) (\(problem.activation.name))",
                                                 allowed: "depth 1 with linear activation for the two-layer solver")
        }
        let clock = Stopwatch()
        let T = problem.timeSteps, n = problem.n, p = problem.p
        let c0 = problem.eta * problem.gamma0 / Double(p)
        let k = problem.data.inputKernel
        var alpha = Matrix.identity(n), beta = [Double](repeating: 0, count: n)
        var gamma = [Double](repeating: 0, count: n), del = 1.0
        var alphas: [Matrix] = [], betas: [[Double]] = [], gammas: [[Double]] = [], dels: [Double] = []
        let y = problem.data.targets
        var d = y, f = [Double](repeating: 0, count: n)
        var deltas: [[Double]] = [], preds: [[Double]] = [], loss: [Double] = [], ntks: [Matrix] = []
        for t in 0..<T {
            alphas.append(alpha); betas.append(beta); gammas.append(gamma); dels.append(del)
            deltas.append(d); preds.append(f); loss.append(d.reduce(0) { $0 + $1 * $1 } / (2 * Double(p)))
            // NTK(t) = G(t,t) K + H(t,t)
            let akat = BLAS.gemm(BLAS.gemm(alpha, k), alpha, transposeB: true)
            let kg = BLAS.gemv(k, gamma)
            let gtt = BLAS.dot(gamma, kg) + del * del
            var kt = Matrix(rows: n, cols: n)
            for j in 0..<n { for i in 0..<n { kt[i, j] = gtt * k[i, j] + akat[i, j] + beta[i] * beta[j] } }
            ntks.append(kt)
            if t == T - 1 { break }
            // increments from time t (Delta(t), fields at t)
            var kd = [Double](repeating: 0, count: n)
            for nu in 0..<p { for mu in 0..<n { kd[mu] += k[mu, nu] * d[nu] } }
            var atd = [Double](repeating: 0, count: n)   // alpha(t)^T Delta(t)
            for nu in 0..<p { for m in 0..<n { atd[m] += alpha[nu, m] * d[nu] } }
            var dbeta = 0.0
            for nu in 0..<p { dbeta += d[nu] * beta[nu] }
            for j in 0..<n { for i in 0..<n { alpha[i, j] += c0 * kd[i] * gamma[j] } }
            for i in 0..<n { beta[i] += c0 * kd[i] * del }
            for m in 0..<n { gamma[m] += c0 * atd[m] }
            del += c0 * dbeta
            // Euler step
            var step = [Double](repeating: 0, count: n)
            for nu in 0..<p { for mu in 0..<n { step[mu] += kt[mu, nu] * d[nu] } }
            for mu in 0..<n { f[mu] += problem.eta / Double(p) * step[mu] }
            for mu in 0..<p { d[mu] = y[mu] - f[mu] }
        }
        var hs: [Matrix] = [], gs: [Matrix] = []
        if twoTimeKernels {
            let tn = T * n
            var hm = Matrix(rows: tn, cols: tn), gm = Matrix(rows: T, cols: T)
            let ak = alphas.map { BLAS.gemm($0, k) }
            let kgs = gammas.map { BLAS.gemv(k, $0) }
            for t in 0..<T {
                for s in 0...t {
                    let blk = BLAS.gemm(ak[t], alphas[s], transposeB: true)
                    for j in 0..<n { for i in 0..<n {
                        let v = blk[i, j] + betas[t][i] * betas[s][j]
                        hm[t * n + i, s * n + j] = v; hm[s * n + j, t * n + i] = v
                    } }
                    let g = BLAS.dot(gammas[t], kgs[s]) + dels[t] * dels[s]
                    gm[t, s] = g; gm[s, t] = g
                }
            }
            hs = [hm]; gs = [gm]
        }
        let traj = KernelTrajectory(timeSteps: T, trainCount: p, pointCount: n, depth: 1, loss: loss, delta: deltas,
                                    predictions: preds, kernelPhi: hs, kernelG: gs, ntk: ntks)
        return DeepLinearDMFTSolution(trajectory: traj, responseA: [], responseB: [],
                                      record: .closedForm(elapsed: clock.elapsed), damping: 1)
    }
}
