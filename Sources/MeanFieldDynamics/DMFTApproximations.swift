import Foundation
import LinearAlgebra
import NumericalCore

/// The approximations of paper section 5 / docs/theory/dmft.md §7, on the same grid and output as the full DMFT.
public enum DMFTApproximations {
    public enum Method: String, Sendable, CaseIterable {
        /// Kernels frozen at initialization (gamma0 = 0): Delta(t) = (I - (eta/P) K_0)^t y.
        case staticNTK = "static"
        /// Gradient independence: A = B = 0.
        case gradientIndependence = "gi"
        /// Leading order in gamma0^2 of the full DMFT (deep linear; docs/theory/dmft.md §7, item 3).
        case perturbative
        /// The paper's eq. 13 form (the O(gamma0^2) expansion of the GI DMFT; reproduces the paper's Fig. 3).
        case perturbativeEq13 = "perturbative-eq13"
    }

    /// Runs `method` on `problem`. GI uses the deep linear solver for linear activations and the Monte Carlo solver
    /// (without Jacobians) otherwise; the perturbative forms require a linear activation.
    public static func solve(_ method: Method, problem: DMFTProblem,
                             linearOptions: DeepLinearDMFTOptions = DeepLinearDMFTOptions(),
                             monteCarloOptions: NonlinearDMFTOptions = NonlinearDMFTOptions(),
                             seed: UInt64 = 0, log: ((String) -> Void)? = nil) throws -> (trajectory: KernelTrajectory, record: ConvergenceRecord) {
        let clock = Stopwatch()
        switch method {
        case .staticNTK:
            let t = try staticNTK(problem)
            return (t, .closedForm(elapsed: clock.elapsed))
        case .gradientIndependence:
            if problem.activation.kind == .linear {
                var o = linearOptions; o.gradientIndependence = true
                let s = try DeepLinearDMFT.solve(problem, options: o)
                return (s.trajectory, s.record)
            }
            var o = monteCarloOptions; o.gradientIndependence = true
            let s = try NonlinearDMFT.solve(problem, options: o, seed: seed, log: log)
            return (s.trajectory, s.record)
        case .perturbative, .perturbativeEq13:
            let t = try perturbative(problem, paperEq13: method == .perturbativeEq13)
            return (t, .closedForm(elapsed: clock.elapsed))
        }
    }

    /// Static NTK: Phi^l, G^l frozen at their initial (NNGP / backprop) values, K_0 = sum_l G_0^{l+1} * Phi_0^l,
    /// Delta(t) = (I - (eta/P) K_0)^t y by Euler steps. Deep linear: K_0 = (L+1) K^x and G is stored T x T.
    public static func staticNTK(_ problem: DMFTProblem) throws -> KernelTrajectory {
        let st = try NonlinearDMFT.staticKernels(problem)
        let T = problem.timeSteps, n = problem.n, L = problem.depth
        let kx = problem.data.inputKernel
        var k0 = Matrix(rows: n, cols: n)
        for l in 0...L {
            let ph = l == 0 ? kx : st.phi[l - 1]
            for i in 0..<k0.storage.count { k0.storage[i] += ph.storage[i] * (l == L ? 1 : st.g[l].storage[i]) }
        }
        let e = problem.eulerTrajectory { _ in k0 }
        func tile(_ m: Matrix) -> Matrix { Matrix(rows: T * n, cols: T * n) { i, j in m[i % n, j % n] } }
        let linear = problem.activation.kind == .linear
        return KernelTrajectory(timeSteps: T, trainCount: problem.p, pointCount: n, depth: L, loss: e.loss, delta: e.delta,
                                predictions: e.predictions, kernelPhi: st.phi.map(tile),
                                kernelG: linear ? [Matrix](repeating: Matrix(rows: T, cols: T, repeating: 1), count: L) : st.g.map(tile),
                                ntk: [Matrix](repeating: k0, count: T))
    }

    /// Leading-order perturbation theory in gamma0^2 for deep linear networks (docs/theory/dmft.md §7, item 3). With the lazy
    /// trajectory Delta^0(t) = (I - (eta/P)(L+1)K)^t y and v_a(t) = (eta/P) sum_{s<t} Delta^0_a(s),
    /// v_ab(t) = (eta/P) sum_{s<t} Delta^0_a(s) v_b(s):
    ///
    ///     dH(t,s) = K V(t) K + (K V(s) K)^T,  dH'(t,s) = (K v(t))(K v(s))^T,
    ///     dG(t,s) = sum_ab K_ab [v_ab(t) + v_ab(s)],  dG'(t,s) = v(t)^T K v(s),
    ///     full:  H^l = K + g^2 sum_{k<=l} [k^2 dH' + k(L+1-k) dH],  G^l = 1 + g^2 sum_{j<=L+1-l} [j^2 dG' + j(L+1-j) dG],
    ///            K^NTK = (L+1)K + g^2 L(L+1)^2(L+2)/12 [(dG + dG')K + dH + dH'],
    ///     eq.13: H^l = K + l g^2 (dH + dH'),  G^l = 1 + (L+1-l) g^2 (dG + dG'),  coefficient L(L+1)/2.
    ///
    /// Delta follows by Euler steps with K^NTK(t,t).
    public static func perturbative(_ problem: DMFTProblem, paperEq13: Bool = false) throws -> KernelTrajectory {
        guard problem.activation.kind == .linear else {
            throw SolvableError.invalidParameter(name: "method", value: "perturbative (\(problem.activation.name))",
                                                 allowed: "perturbation theory only for linear activations")
        }
        let T = problem.timeSteps, n = problem.n, p = problem.p, L = problem.depth
        let k = problem.data.inputKernel
        let g2 = problem.gamma0 * problem.gamma0
        let c = problem.eta / Double(p)
        // lazy trajectory and the causal sums
        var d0 = problem.data.targets
        var v = [Double](repeating: 0, count: p)
        var V = Matrix(rows: p, cols: p)
        var vs: [[Double]] = [], Vs: [Matrix] = []
        for _ in 0..<T {
            vs.append(v); Vs.append(V)
            var kd = [Double](repeating: 0, count: p)
            for b in 0..<p { for a in 0..<p { kd[a] += k[a, b] * d0[b] } }
            for a in 0..<p { for b in 0..<p { V[a, b] += c * d0[a] * v[b] } }
            for a in 0..<p { v[a] += c * d0[a] }
            for a in 0..<p { d0[a] -= c * Double(L + 1) * kd[a] }
        }
        let kt = k.block(rows: 0..<n, cols: 0..<p)            // K[:, train]
        let kvs = vs.map { BLAS.gemv(kt, $0) }                   // K v(t), n
        let kVk = Vs.map { BLAS.gemm(BLAS.gemm(kt, $0), kt, transposeB: true) }   // K V(t) K, n x n
        let ktt = k.block(rows: 0..<p, cols: 0..<p)
        let sumKV = Vs.map { vm in (0..<(p * p)).reduce(0.0) { $0 + ktt.storage[$1] * vm.storage[$1] } }
        let kttv = vs.map { BLAS.gemv(ktt, $0) }
        func dH(_ t: Int, _ s: Int, _ i: Int, _ j: Int) -> Double { kVk[t][i, j] + kVk[s][j, i] }
        func dHp(_ t: Int, _ s: Int, _ i: Int, _ j: Int) -> Double { kvs[t][i] * kvs[s][j] }
        func dG(_ t: Int, _ s: Int) -> Double { sumKV[t] + sumKV[s] }
        func dGp(_ t: Int, _ s: Int) -> Double { BLAS.dot(vs[t], kttv[s]) }
        var hs: [Matrix] = [], gs: [Matrix] = []
        let tn = T * n
        for l in 1...L {
            var cH = 0.0, cHp = 0.0, cG = 0.0, cGp = 0.0
            if paperEq13 {
                cH = Double(l); cHp = Double(l); cG = Double(L + 1 - l); cGp = cG
            } else {
                for kk in 1...l { cHp += Double(kk * kk); cH += Double(kk * (L + 1 - kk)) }
                if L + 1 - l >= 1 { for j in 1...(L + 1 - l) { cGp += Double(j * j); cG += Double(j * (L + 1 - j)) } }
            }
            var h = Matrix(rows: tn, cols: tn)
            var g = Matrix(rows: T, cols: T)
            for t in 0..<T { for s in 0..<T {
                g[t, s] = 1 + g2 * (cGp * dGp(t, s) + cG * dG(t, s))
                for j in 0..<n { for i in 0..<n {
                    h[t * n + i, s * n + j] = k[i, j] + g2 * (cHp * dHp(t, s, i, j) + cH * dH(t, s, i, j))
                } }
            } }
            hs.append(h); gs.append(g)
        }
        let lf = Double(L)
        let coef = paperEq13 ? lf * (lf + 1) / 2 : lf * (lf + 1) * (lf + 1) * (lf + 2) / 12
        let ntk: [Matrix] = (0..<T).map { t in
            let gg = dG(t, t) + dGp(t, t)
            return Matrix(rows: n, cols: n) { i, j in Double(L + 1) * k[i, j] + g2 * coef * (gg * k[i, j] + dH(t, t, i, j) + dHp(t, t, i, j)) }
        }
        let e = problem.eulerTrajectory { ntk[$0] }
        return KernelTrajectory(timeSteps: T, trainCount: p, pointCount: n, depth: L, loss: e.loss, delta: e.delta,
                                predictions: e.predictions, kernelPhi: hs, kernelG: gs, ntk: ntk)
    }
}
