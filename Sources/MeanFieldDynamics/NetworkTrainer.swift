import Foundation
import LinearAlgebra
import NumericalCore

/// Finite-width fully connected networks in the mean-field parameterization (docs/theory/dmft.md §1 and 9):
///
///     h^1 = W^0 x / sqrt(D),  h^{l+1} = W^l phi(h^l) / sqrt(N),  f = w . phi(h^L) / (gamma0 N),
///
/// all weights i.i.d. N(0, 1), full-batch gradient descent on (1/2P) sum_mu (f_mu - f_mu(0) - y_mu)^2 with
/// learning rate eta gamma0^2 N (the exact step of docs/theory/dmft.md §1, applied as BLAS rank-P updates).
/// At each grid time t, before update t, it records the loss, the centered predictions on train and test points
/// and phi(h^l), g^l = gamma0 N df/dh^l for every point, from which Phi^l, G^l and the NTK are formed.
public struct NetworkTrainer: Sendable {
    public let problem: DMFTProblem
    /// Width N.
    public let width: Int

    public init(problem: DMFTProblem, width: Int) throws {
        try Validate.inRange("width", width, 1...65_536)
        guard problem.gamma0 > 0 else {
            throw SolvableError.invalidParameter(name: "gamma0", value: "0", allowed: "gamma0 > 0 for networks (f carries 1/gamma0)")
        }
        self.problem = problem
        self.width = width
    }

    /// Bytes one training run holds (weights, recorded fields, kernels).
    public var memoryEstimate: Int {
        let nn = problem.n, tn = MemoryBudget.product(problem.timeSteps, nn), l = problem.depth, w = width
        return MemoryBudget.product(8, MemoryBudget.sum(MemoryBudget.product(w, problem.data.inputDimension),
                                                        MemoryBudget.product(l - 1, w, w), MemoryBudget.product(2 * l, w, tn),
                                                        MemoryBudget.product(2 * l, tn, tn), MemoryBudget.product(6, w, nn)))
    }

    /// The initial weights of member `member`: W^0 (N x D), W^l (N x N, l = 1..L-1), readout w (length N).
    public func initialWeights(seed: UInt64, member: Int = 0, point: UInt64 = 0) -> (w0: Matrix, hidden: [Matrix], readout: [Double]) {
        let nW = width, d = problem.data.inputDimension
        func gaussianMatrix(_ rows: Int, _ cols: Int, _ purpose: String) -> Matrix {
            var rng = RandomStream(seed: seed, point: point, sample: UInt64(member), purpose: purpose)
            return Matrix(rows: rows, cols: cols, columnMajor: rng.gaussians(rows * cols))
        }
        return (gaussianMatrix(nW, d, "W0"), (1..<max(problem.depth, 1)).map { gaussianMatrix(nW, nW, "W\($0)") },
                gaussianMatrix(nW, 1, "readout").storage)
    }

    /// Trains one network whose weights come from `RandomStream(seed:, point:, sample: member, purpose: "W<l>")`
    /// (distinct streams for every layer and the readout).
    public func train(seed: UInt64, member: Int = 0, point: UInt64 = 0) -> KernelTrajectory {
        try! train(initial: initialWeights(seed: seed, member: member, point: point))
    }

    /// Trains one network from given initial weights: W^0 (N x D), W^l (N x N, l = 1..L-1), readout (length N)
    /// (e.g. weights drawn elsewhere, to compare with another implementation draw for draw).
    public func train(initial: (w0: Matrix, hidden: [Matrix], readout: [Double])) throws -> KernelTrajectory {
        let pr = problem
        let nW = width, L = pr.depth, T = pr.timeSteps, P = pr.p, n = pr.n, d = pr.data.inputDimension
        guard initial.w0.rows == nW, initial.w0.cols == d, initial.hidden.count == L - 1,
              initial.hidden.allSatisfy({ $0.rows == nW && $0.cols == nW }), initial.readout.count == nW else {
            throw SolvableError.invalidParameter(name: "initial_weights", value: "W0 \(initial.w0.rows)x\(initial.w0.cols), \(initial.hidden.count) hidden, readout \(initial.readout.count)",
                                                 allowed: "W0 N x D, L - 1 hidden N x N, readout of length N (N = \(nW), D = \(d), L = \(L))")
        }
        let phi = pr.activation.phi, dphi = pr.activation.derivative
        let g0 = pr.gamma0, eta = pr.eta
        var w0 = initial.w0
        var ws = initial.hidden
        var readout = initial.readout
        let x = pr.data.inputs
        let y = pr.data.targets
        let sd = 1 / Double(d).squareRoot(), sn = 1 / Double(nW).squareRoot()
        var feats = [Matrix](repeating: Matrix(rows: nW, cols: T * n), count: L)
        var grads = [Matrix](repeating: Matrix(rows: nW, cols: T * n), count: L)
        var f0 = [Double](repeating: 0, count: n)
        var loss: [Double] = [], deltas: [[Double]] = [], preds: [[Double]] = []
        for t in 0..<T {
            // forward
            var hs: [Matrix] = [], acts: [Matrix] = []
            var h = BLAS.gemm(w0, x, alpha: sd)
            for l in 0..<L {
                let a = h.map(phi)
                hs.append(h); acts.append(a)
                if l < L - 1 { h = BLAS.gemm(ws[l], a, alpha: sn) }
            }
            let f = BLAS.gemv(acts[L - 1], readout, transpose: true, alpha: 1 / (g0 * Double(nW)))
            if t == 0 { f0 = f }
            let pred = (0..<n).map { f[$0] - f0[$0] }
            let delta = (0..<P).map { y[$0] - pred[$0] }
            preds.append(pred); deltas.append(delta)
            loss.append(delta.reduce(0) { $0 + $1 * $1 } / (2 * Double(P)))
            // backward: g^L = phi'(h^L) * w, z^l = W^l^T g^{l+1} / sqrt(N), g^l = phi'(h^l) * z^l
            var gs = [Matrix](repeating: Matrix(rows: 0, cols: 0), count: L)
            var gL = hs[L - 1].map(dphi)
            for j in 0..<n { for i in 0..<nW { gL.storage[j * nW + i] *= readout[i] } }
            gs[L - 1] = gL
            if L >= 2 {
                for l in stride(from: L - 2, through: 0, by: -1) {
                    var z = BLAS.gemm(ws[l], gs[l + 1], transposeA: true, alpha: sn)
                    let dp = hs[l].map(dphi)
                    for i in 0..<z.storage.count { z.storage[i] *= dp.storage[i] }
                    gs[l] = z
                }
            }
            for l in 0..<L {
                feats[l].storage.replaceSubrange((t * n * nW)..<((t + 1) * n * nW), with: acts[l].storage)
                grads[l].storage.replaceSubrange((t * n * nW)..<((t + 1) * n * nW), with: gs[l].storage)
            }
            if t == T - 1 { break }
            // exact GD step (docs/theory/dmft.md §1), train columns only
            let c = eta * g0 / Double(P)
            func trainBlock(_ m: Matrix, scaledBy dl: [Double]) -> Matrix {
                var out = Matrix(rows: m.rows, cols: P)
                for j in 0..<P { let s = dl[j]; for i in 0..<m.rows { out.storage[j * m.rows + i] = m.storage[j * m.rows + i] * s } }
                return out
            }
            let aL = acts[L - 1]
            for j in 0..<P { let s = c * delta[j]; for i in 0..<nW { readout[i] += s * aL.storage[j * nW + i] } }
            for l in 0..<(L - 1) {
                let gd = trainBlock(gs[l + 1], scaledBy: delta)
                let at = acts[l].block(rows: 0..<nW, cols: 0..<P)
                BLAS.gemm(gd, at, transposeB: true, alpha: c * sn, beta: 1, into: &ws[l])
            }
            let gd1 = trainBlock(gs[0], scaledBy: delta)
            let xt = x.block(rows: 0..<d, cols: 0..<P)
            BLAS.gemm(gd1, xt, transposeB: true, alpha: c * sd, beta: 1, into: &w0)
        }
        let inv = 1 / Double(nW)
        let phis = feats.map { BLAS.syrk($0, transpose: true, alpha: inv) }
        let gks = grads.map { BLAS.syrk($0, transpose: true, alpha: inv) }
        let kx = pr.data.inputKernel
        let ntk: [Matrix] = (0..<T).map { t in
            var k = Matrix(rows: n, cols: n)
            for l in 0...L {
                for nu in 0..<n { for mu in 0..<n {
                    let ph = l == 0 ? kx[mu, nu] : phis[l - 1][t * n + mu, t * n + nu]
                    let gg = l == L ? 1.0 : gks[l][t * n + mu, t * n + nu]
                    k[mu, nu] += ph * gg
                } }
            }
            return k
        }
        return KernelTrajectory(timeSteps: T, trainCount: P, pointCount: n, depth: L, loss: loss, delta: deltas,
                                predictions: preds, kernelPhi: phis, kernelG: gks, ntk: ntk)
    }

    /// An ensemble of `members` networks trained in parallel (`ThreadPolicy.parallelMap`), member m drawing
    /// from the streams (seed, point, m).
    public func trainEnsemble(seed: UInt64, members: Int, point: UInt64 = 0, threads: Int? = nil) throws -> [KernelTrajectory] {
        try Validate.inRange("seeds", members, 1...100_000)
        let workers = min(members, threads ?? ThreadPolicy.threads)
        try MemoryBudget.check(MemoryBudget.product(memoryEstimate, max(1, workers)), hint: "reduce width, steps, points or threads")
        return ThreadPolicy.parallelMap(members, threads: threads) { m in train(seed: seed, member: m, point: point) }
    }
}
