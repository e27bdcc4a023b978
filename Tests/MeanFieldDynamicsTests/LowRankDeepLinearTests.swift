import Foundation
import Testing
import LinearAlgebra
import NumericalCore
import MeanFieldDynamics

/// |a - b|_F / |b|_F.
func lowRankRelative(_ a: Matrix, _ b: Matrix) -> Double { (a - b).frobeniusNorm / b.frobeniusNorm }

/// Largest relative difference of loss, Delta, H^l, G^l and the NTK between a low-rank and a dense solution.
func lowRankVersusDense(_ lr: LowRankDeepLinearDMFTSolution, _ dense: DeepLinearDMFTSolution) throws
    -> (loss: Double, delta: Double, h: Double, g: Double, ntk: Double) {
    let a = lr.trajectory, b = dense.trajectory
    let loss = zip(a.loss, b.loss).map { abs($0 - $1) / abs($1) }.max() ?? .nan
    let delta = dmftMaxRelative(a.delta.flatMap { $0 }, b.delta.flatMap { $0 })
    let h = try (0..<b.depth).map { lowRankRelative(try lr.kernels[$0].dense(), b.kernelPhi[$0]) }.max() ?? .nan
    let g = (0..<b.depth).map { lowRankRelative(a.kernelG[$0], b.kernelG[$0]) }.max() ?? .nan
    let ntk = zip(a.ntk, b.ntk).map { lowRankRelative($0, $1) }.max() ?? .nan
    return (loss, delta, h, g, ntk)
}

@Suite struct LowRankDeepLinearTests {
    /// The factored solver against the dense reference (tolerance 1e-13) to 1e-9 relative in loss, Delta, H^l,
    /// G^l and the NTK, from depth 1 to depth 5 at gamma0 = 1.5, with test points, and with the forward pass alone.
    @Test(arguments: [
        (1, 1.5, 6, 0, 30, 0.1, true), (2, 1.5, 5, 0, 24, 0.2, true), (3, 1.5, 6, 2, 30, 0.1, true),
        (5, 1.5, 6, 0, 30, 0.05, true), (5, 1.5, 6, 0, 30, 0.05, false), (3, 0.5, 8, 0, 20, 0.1, false),
    ])
    func agreesWithDenseSolver(depth: Int, gamma0: Double, p: Int, testPoints: Int, steps: Int, eta: Double, verify: Bool) throws {
        let data = try DMFTData.synthetic(trainPoints: p, inputDimension: 12, testPoints: testPoints, seed: 3)
        let pr = try DMFTProblem(data: data, depth: depth, gamma0: gamma0, eta: eta, timeSteps: steps)
        let opts = DeepLinearDMFTOptions(tolerance: 1e-13, maxIterations: 400)
        let dense = try DeepLinearDMFT.solve(pr, options: opts)
        let lr = try LowRankDeepLinearDMFT.solveFactored(pr, options: opts, lowRank: LowRankDMFTOptions(verify: verify))
        #expect(dense.record.status == .converged && lr.record.status == .converged, "\(lr.record.message ?? "")")
        #expect(lr.report.method == "low-rank")
        let e = try lowRankVersusDense(lr, dense)
        #expect(max(e.loss, e.delta, e.h, e.g, e.ntk) <= 1e-9, "L=\(depth) verify=\(verify): \(e)")
        if verify { #expect(lr.record.iterations <= 2, "verification sweeps \(lr.record.iterations)") }
        // the kernels are low rank, within the exact bound
        for l in 0..<depth { #expect(lr.report.kernelRanks[l] <= lr.report.kernelRankBounds[l]) }
        #expect(lr.report.kernelRanks.max()! < steps * (p + testPoints) / 2)
    }

    /// The smallest grids (one point; one and two grid times), where the rank is a large part of T n and only the
    /// factored path with the fallback switched off is exercised: still the dense answer.
    @Test(arguments: [(2, 1.5, 1, 0, 12, 0.5), (3, 1.0, 4, 1, 2, 0.3), (2, 1.0, 4, 0, 1, 0.3)])
    func smallestGrids(depth: Int, gamma0: Double, p: Int, testPoints: Int, steps: Int, eta: Double) throws {
        let data = try DMFTData.synthetic(trainPoints: p, inputDimension: 5, testPoints: testPoints, seed: 4)
        let pr = try DMFTProblem(data: data, depth: depth, gamma0: gamma0, eta: eta, timeSteps: steps)
        let opts = DeepLinearDMFTOptions(tolerance: 1e-13, maxIterations: 400)
        let dense = try DeepLinearDMFT.solve(pr, options: opts)
        let lr = try LowRankDeepLinearDMFT.solveFactored(pr, options: opts, lowRank: LowRankDMFTOptions(denseFallbackFraction: 1))
        #expect(lr.report.method == "low-rank" && lr.record.status == .converged, "\(lr.record.message ?? "")")
        let e = try lowRankVersusDense(lr, dense)
        #expect(max(e.loss, e.delta, e.h, e.g, e.ntk) <= 1e-9, "L=\(depth) T=\(steps) P=\(p): \(e)")
    }

    /// Gradient independence (A = B = 0) on factors equals the dense gradient-independence solve.
    @Test func gradientIndependenceAgrees() throws {
        let pr = try specProblem(depth: 3, gamma0: 1.5, p: 6, d: 12, steps: 30, eta: 0.1)
        let opts = DeepLinearDMFTOptions(tolerance: 1e-13, gradientIndependence: true)
        let dense = try DeepLinearDMFT.solve(pr, options: opts)
        let lr = try LowRankDeepLinearDMFT.solveFactored(pr, options: opts)
        let e = try lowRankVersusDense(lr, dense)
        #expect(lr.record.status == .converged && max(e.loss, e.delta, e.h, e.g, e.ntk) <= 1e-9, "\(e)")
        #expect(lr.responseA.isEmpty && lr.responseB.isEmpty)
    }

    /// The response functions of the verification pass equal the dense solver's A^l, B^l.
    @Test func responsesAgree() throws {
        let pr = try specProblem(depth: 4, gamma0: 1.5, p: 5, d: 12, steps: 24, eta: 0.1)
        let opts = DeepLinearDMFTOptions(tolerance: 1e-13)
        let dense = try DeepLinearDMFT.solve(pr, options: opts)
        let lr = try LowRankDeepLinearDMFT.solveFactored(pr, options: opts)
        #expect(lr.responseA.count == 3 && lr.responseB.count == 3)
        for l in 0..<3 {
            #expect(lowRankRelative(lr.responseA[l], dense.responseA[l]) <= 1e-9)
            #expect(lowRankRelative(lr.responseB[l], dense.responseB[l]) <= 1e-9)
        }
        // the dense-shaped result is the drop-in for DeepLinearDMFT.solve
        let drop = try LowRankDeepLinearDMFT.solve(pr, options: opts)
        #expect(lowRankRelative(drop.trajectory.kernelPhi[3], dense.trajectory.kernelPhi[3]) <= 1e-9)
    }

    /// The exact rank statement of docs/theory/dmft-low-rank.md: rank H^l <= rank K^x + sum_{k<=l} min(T - 1, rank G^{k+1})
    /// (rank G^{L+1} = 1). At L = 1 the bound rank K^x + 1 holds for every T; at large eta gamma0 and short T it is
    /// attained (every eigenvalue up to the bound is resolved above 1e-14 of the largest, the next one is rounding).
    @Test func rankBoundHoldsAndIsAttained() throws {
        func eigenvalues(_ m: Matrix) throws -> [Double] {
            let w = try LAPACK.symmetricEigen(m, vectors: false).values.reversed().map { $0 }
            return w.map { $0 / w[0] }
        }
        // attained: P = 3 (D = 40 so rank K^x = 3), T = 10, L = 2
        let pr = try specProblem(depth: 2, gamma0: 3, p: 3, d: 40, steps: 10, eta: 0.2)
        let dense = try DeepLinearDMFT.solve(pr, options: DeepLinearDMFTOptions(tolerance: 1e-14, maxIterations: 400))
        let bounds = LowRankDeepLinearDMFT.kernelRankBounds(depth: 2, timeSteps: 10, points: 3, inputRank: 3)
        #expect(bounds == [12, 13])
        for l in 0..<2 {
            let w = try eigenvalues(dense.trajectory.kernelPhi[l])
            #expect(w[bounds[l] - 1] > 1e-14 && abs(w[bounds[l]]) < 1e-15, "layer \(l + 1): \(w[bounds[l] - 1]), \(w[bounds[l]])")
        }
        let gw = try eigenvalues(dense.trajectory.kernelG[0])
        #expect(gw[9] > 1e-14, "G^1 has full rank T = 10: \(gw[9])")
        // L = 1: rank K^x + 1 whatever T
        let one = try specProblem(depth: 1, gamma0: 1.5, p: 4, d: 40, steps: 40, eta: 0.3)
        let s = try DeepLinearDMFT.solve(one, options: DeepLinearDMFTOptions(tolerance: 1e-14))
        let w1 = try eigenvalues(s.trajectory.kernelPhi[0])
        #expect(abs(w1[5]) < 1e-15 && w1[4] > 1e-14, "L = 1: \(w1[4]), \(w1[5])")
    }

    /// Blocks of a factored kernel are those of the dense one; the .npy layout is [T, n, r] with
    /// X[t, mu, s, nu] = sum_k F[t, mu, k] F[s, nu, k]; relative differences are accurate far below sqrt(eps).
    @Test func factoredKernelBlocks() throws {
        let T = 5, n = 3
        var rng = RandomStream(seed: 1, point: 0, sample: 0)
        var f = Matrix(rows: T * n, cols: 4, columnMajor: rng.gaussians(T * n * 4))
        let k = FactoredKernel(timeSteps: T, pointCount: n, factor: f)
        let dense = try k.dense()
        #expect(lowRankRelative(dense, BLAS.gemm(f, f, transposeB: true)) < 1e-15)
        let b = k.block(times: 1..<3, 2..<5)
        for i in 0..<(2 * n) { for j in 0..<(3 * n) { #expect(abs(b[i, j] - dense[n + i, 2 * n + j]) < 1e-14) } }
        #expect(abs(k.entry(4, 2, 0, 1) - dense[4 * n + 2, 1]) < 1e-14)
        let a = k.factorArray()
        #expect(a.shape == [T, n, 4] && a.data[(4 * n + 2) * 4 + 3] == f[4 * n + 2, 3])
        #expect(abs(k.frobeniusNorm - dense.frobeniusNorm) < 1e-12 * dense.frobeniusNorm)
        // a change of 1e-10 (the dense difference is then accurate to ~1e-6 of itself; a difference of Gram norms
        // |X|^2 + |Y|^2 - 2 <X, Y> would only resolve changes above ~1e-8)
        f[0, 0] += 1e-10
        let k2 = FactoredKernel(timeSteps: T, pointCount: n, factor: f)
        let exact = lowRankRelative(try k2.dense(), dense) * dense.frobeniusNorm / (try k2.dense()).frobeniusNorm
        let measured = try k2.relativeDifference(to: k)
        #expect(abs(measured - exact) < 1e-4 * exact, "\(measured) vs \(exact)")
        // compression keeps the kernel (rank 4 of 15) and drops nothing of weight
        let c = try k.compressed()
        let cd = try c.relativeDifference(to: k)
        #expect(c.rank == 4 && cd < 1e-14)
    }

    /// When the rank of some H^l exceeds the fallback fraction of T n (here P = 3, T = 10, L = 2 at large
    /// eta gamma0, where the ranks 12 and 13 of 30 reach the exact bound, against a fraction of 0.3), the factors
    /// save little: the solve runs the dense solver, says so, and returns its answer in the factored shape.
    @Test func fallsBackToDenseWhenRankIsNotSmall() throws {
        let pr = try specProblem(depth: 2, gamma0: 3, p: 3, d: 40, steps: 10, eta: 0.2)
        let opts = DeepLinearDMFTOptions(tolerance: 1e-12)
        let lr = try LowRankDeepLinearDMFT.solveFactored(pr, options: opts, lowRank: LowRankDMFTOptions(denseFallbackFraction: 0.3))
        #expect(lr.report.method == "dense fallback", "\(lr.report.summary)")
        #expect(lr.record.message?.contains("dense fallback") == true)
        let dense = try DeepLinearDMFT.solve(pr, options: opts)
        let e = try lowRankVersusDense(lr, dense)
        #expect(max(e.loss, e.h, e.g) <= 1e-12, "\(e)")
        // with the default fraction (0.5) the same problem is solved on factors, to the same answer
        let own = try LowRankDeepLinearDMFT.solveFactored(pr, options: opts)
        let e2 = try lowRankVersusDense(own, dense)
        #expect(own.report.method == "low-rank" && own.report.kernelRanks == [12, 13], "\(own.report.summary)")
        #expect(max(e2.loss, e2.h, e2.g) <= 1e-9, "\(e2)")
    }

    /// A divergent gamma0 is marked diverged and every returned value is finite.
    @Test func divergentGammaIsMarkedAndFinite() throws {
        let pr = try specProblem(depth: 3, gamma0: 100, p: 4, d: 8, steps: 30, eta: 0.5)
        let s = try LowRankDeepLinearDMFT.solveFactored(pr)
        #expect(s.record.status == .diverged, "\(s.record.status) \(s.record.message ?? "")")
        #expect(s.trajectory.loss.allSatisfy(\.isFinite) && s.trajectory.ntk.allSatisfy { DeepLinearDMFTTestSupport.finite($0) })
        #expect(s.kernels.allSatisfy { $0.factor.storage.allSatisfy(\.isFinite) })
    }

    /// 1 and 2 threads give the same result (the forward pass runs BLAS single-threaded; the sweep's BLAS-3 calls
    /// split the output, not the sums).
    @Test func oneVersusTwoThreads() throws {
        let pr = try specProblem(depth: 3, gamma0: 1.5, p: 6, d: 12, steps: 40, eta: 0.05)
        defer { ThreadPolicy.configure(threads: ThreadPolicy.defaultThreads()) }
        ThreadPolicy.configure(threads: 1)
        let a = try LowRankDeepLinearDMFT.solveFactored(pr)
        ThreadPolicy.configure(threads: 2)
        let b = try LowRankDeepLinearDMFT.solveFactored(pr)
        #expect(dmftMaxRelative(a.trajectory.loss, b.trajectory.loss) <= 1e-12)
        for l in 0..<3 { #expect(lowRankRelative(try a.kernels[l].dense(), try b.kernels[l].dense()) <= 1e-12) }
    }

    /// Bad input: non-linear activations and invalid options are refused naming the parameter.
    @Test func badInput() throws {
        let pr = try specProblem(depth: 2, gamma0: 1, p: 3, d: 6, steps: 6, eta: 0.3, activation: try .tanh())
        #expect(throws: SolvableError.self) { try LowRankDeepLinearDMFT.solveFactored(pr) }
        let lin = try specProblem(depth: 2, gamma0: 1, p: 3, d: 6, steps: 6, eta: 0.3)
        #expect(throws: SolvableError.self) {
            try LowRankDeepLinearDMFT.solveFactored(lin, lowRank: LowRankDMFTOptions(denseFallbackFraction: 2))
        }
    }
}

enum DeepLinearDMFTTestSupport {
    static func finite(_ m: Matrix) -> Bool { m.storage.allSatisfy(\.isFinite) }
}
