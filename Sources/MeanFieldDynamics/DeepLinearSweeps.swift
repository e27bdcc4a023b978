import Foundation
import LinearAlgebra
import NumericalCore

/// The Euler output path of the DMFT on the grid: Delta [t][mu] on training points, predictions [t][mu] on all
/// points, loss [t] = (1/2P) sum_mu Delta_mu(t)^2.
typealias OutputPath = (delta: [[Double]], predictions: [[Double]], loss: [Double])

/// One horizon of the deep linear DMFT as a method of the solver driver: a step is one Gauss-Seidel sweep of the
/// layer equations (`DeepLinearDMFT.layerUpdate`, damped per layer as the sweep goes) preceded by the Euler Delta
/// update from the current kernels. The residual is
/// rho = max(|Delta_new - Delta|_inf, max_l |H^l_new - H^l|_F / |H^l_new|_F, the same for G^l).
struct DeepLinearSweeps: IterativeMethod {
    let problem: DMFTProblem
    let gradientIndependence: Bool
    /// A converged solve on an earlier horizon, whose blocks are embedded in the starting state (exact by causality).
    let initial: DeepLinearDMFTSolution?
    /// Work space reused by every layer update, outside the state so that the driver's copy of the last finite
    /// state shares no buffer that a sweep writes in place: H^l is written into `spare[l]`, which is then swapped
    /// with the state's H^l, so no (T n)^2 matrix is copied per sweep.
    private let work: Workspace

    final class Workspace {
        var z: Matrix
        var spare: [Matrix]
        init(tn: Int, depth: Int) {
            z = Matrix(rows: tn, cols: tn)
            spare = (0...depth).map { _ in Matrix(rows: tn, cols: tn) }
        }
    }

    struct State {
        var H: [Matrix]   // H[l], l = 0...L (H^0 = K^x tiled)
        var G: [Matrix]   // G[l], l = 1...L+1 (G[0] unused, G^{L+1} = 1)
        var A: [Matrix]   // A[l], l = 0..<L (A[0] = 0)
        var B: [Matrix]   // B[l], l = 1...L (B[L] = 0)
        var delta: [[Double]]
        /// The Euler path from the current kernels.
        var path: OutputPath
    }

    init(problem: DMFTProblem, gradientIndependence: Bool, initial: DeepLinearDMFTSolution?) {
        self.problem = problem
        self.gradientIndependence = gradientIndependence
        self.initial = initial
        work = Workspace(tn: problem.timeSteps * problem.n, depth: problem.depth)
    }

    func initialState() -> State {
        let L = problem.depth, T = problem.timeSteps, n = problem.n, tn = T * n
        let kx = problem.data.inputKernel
        let h0 = Matrix(rows: tn, cols: tn) { i, j in kx[i % n, j % n] }
        var s = State(H: [h0] + [Matrix](repeating: h0, count: L),
                      G: [Matrix](repeating: Matrix(rows: T, cols: T, repeating: 1), count: L + 2),
                      A: [Matrix](repeating: Matrix(rows: tn, cols: T), count: L + 1),
                      B: [Matrix](repeating: Matrix(rows: T, cols: tn), count: L + 1),
                      delta: [[Double]](repeating: problem.data.targets, count: T), path: ([], [], []))
        if let ini = initial {
            func embed(_ dst: inout Matrix, _ src: Matrix) {
                for j in 0..<src.cols { for i in 0..<src.rows { dst[i, j] = src[i, j] } }
            }
            for l in 1...L {
                embed(&s.H[l], ini.trajectory.kernelPhi[l - 1]); embed(&s.G[l], ini.trajectory.kernelG[l - 1])
            }
            for l in 1..<L where !ini.responseA.isEmpty {
                embed(&s.A[l], ini.responseA[l - 1]); embed(&s.B[l], ini.responseB[l - 1])
            }
        }
        s.path = eulerPath(s)
        return s
    }

    func step(_ s: inout State, iteration: Int, damping alpha: Double) -> StepResult {
        let L = problem.depth, T = problem.timeSteps, n = problem.n
        let c0 = problem.eta * problem.gamma0 / Double(problem.p)
        var rho = 0.0
        for t in 0..<T { for mu in 0..<problem.p { rho = nanMax(rho, abs(s.path.delta[t][mu] - s.delta[t][mu])) } }
        s.delta = s.path.delta
        let dpad = problem.paddedDelta(s.delta)
        for l in 1...L {
            let new = DeepLinearDMFT.layerUpdate(hPrev: s.H[l - 1], gNext: s.G[l + 1], aPrev: s.A[l - 1], b: s.B[l], delta: dpad,
                                                 c0: c0, T: T, n: n, gi: gradientIndependence, z: &work.z,
                                                 old: s.H[l], alpha: alpha, into: &work.spare[l])
            // (new.hChange is non-finite when any entry of the new H^l is)
            if !new.hChange.isFinite || !new.g.allFinite { return .nonFinite(quantity: "the layer \(l) kernel update") }
            swap(&s.H[l], &work.spare[l])
            rho = nanMax(rho, nanMax(new.hChange, s.G[l].damp(toward: new.g, weight: alpha)))
            if l < L && !gradientIndependence { _ = s.A[l].damp(toward: new.a, weight: alpha) }
            if l >= 2 && !gradientIndependence { _ = s.B[l - 1].damp(toward: new.bPrev, weight: alpha) }
        }
        s.path = eulerPath(s)
        if !s.path.loss.allSatisfy(\.isFinite) { return .nonFinite(quantity: "the loss") }
        return .advanced(residual: rho)
    }

    func eulerPath(_ s: State) -> OutputPath {
        problem.eulerTrajectory { t in DeepLinearDMFT.ntk(H: s.H, G: s.G, L: problem.depth, n: problem.n, t: t) }
    }

    /// The solution on this horizon (the final Delta is the Euler path of the final kernels).
    func solution(_ s: Solution<State>) -> DeepLinearDMFTSolution {
        let L = problem.depth, T = problem.timeSteps, n = problem.n, st = s.value
        let traj = KernelTrajectory(timeSteps: T, trainCount: problem.p, pointCount: n, depth: L, loss: st.path.loss,
                                    delta: st.path.delta, predictions: st.path.predictions, kernelPhi: Array(st.H[1...L]),
                                    kernelG: Array(st.G[1...L]),
                                    ntk: (0..<T).map { DeepLinearDMFT.ntk(H: st.H, G: st.G, L: L, n: n, t: $0) })
        return DeepLinearDMFTSolution(trajectory: traj, responseA: L > 1 ? Array(st.A[1..<L]) : [],
                                      responseB: L > 1 ? Array(st.B[1..<L]) : [], record: s.record,
                                      damping: s.record.damping ?? 1)
    }
}
