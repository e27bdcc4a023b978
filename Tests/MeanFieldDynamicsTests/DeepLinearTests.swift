import Foundation
import Testing
import LinearAlgebra
import NumericalCore
import MeanFieldDynamics

/// The spec's deep linear setting (section 10): synthetic P = 20, D = 40, eta = 0.025, T = 100.
func specProblem(depth: Int = 3, gamma0: Double, p: Int = 20, d: Int = 40, steps: Int = 100, eta: Double = 0.025,
                 activation: Activation = .linear, seed: UInt64 = 1) throws -> DMFTProblem {
    let data = try DMFTData.synthetic(trainPoints: p, inputDimension: d, seed: seed)
    return try DMFTProblem(data: data, depth: depth, activation: activation, gamma0: gamma0, eta: eta, timeSteps: steps)
}

@Suite struct DeepLinearDMFTTests {
    /// T1: at gamma0 = 0, Delta(t) = (I - (eta/P)(L+1)K^x)^t y to 1e-12.
    @Test func lazyLimitIsStaticNTK() throws {
        let pr = try specProblem(gamma0: 0)
        let sol = try DeepLinearDMFT.solve(pr)
        #expect(sol.record.status == .converged)
        let k = pr.data.inputKernel, y = pr.data.targets, P = 20, L = 3
        var d = y, maxErr = 0.0
        for t in 0..<pr.timeSteps {
            for mu in 0..<P { maxErr = max(maxErr, abs(sol.trajectory.delta[t][mu] - d[mu])) }
            let kd = BLAS.gemv(k, d)
            d = (0..<P).map { d[$0] - 0.025 / Double(P) * Double(L + 1) * kd[$0] }
        }
        #expect(maxErr <= 1e-12, "max |Delta - (I - eta/P (L+1) K)^t y| = \(maxErr)")
    }

    /// The iterative solver at L = 1 equals the exact time-marching solver to rounding (1e-10).
    @Test func iterativeMatchesTimeMarchingAtDepthOne() throws {
        let pr = try specProblem(depth: 1, gamma0: 1.2, p: 4, d: 8, steps: 40, eta: 0.1)
        let it = try DeepLinearDMFT.solve(pr, options: DeepLinearDMFTOptions(tolerance: 1e-13))
        let tm = try DeepLinearDMFT.solveTwoLayer(pr)
        #expect(it.record.status == .converged)
        let dh = (it.trajectory.kernelPhi[0] - tm.trajectory.kernelPhi[0]).maxAbs
        let dg = (it.trajectory.kernelG[0] - tm.trajectory.kernelG[0]).maxAbs
        let dd = zip(it.trajectory.delta.flatMap { $0 }, tm.trajectory.delta.flatMap { $0 }).map { abs($0 - $1) }.max()!
        #expect(dh < 1e-10 && dg < 1e-10 && dd < 1e-10, "H \(dh) G \(dg) Delta \(dd)")
    }

    /// T4: L = 1, P = 1, K^x = 1, y = 1: K(t) = 2 sqrt(1 + gamma0^2 f(t)^2) to 1e-3 at eta = 1e-3, gamma0 = 1.5,
    /// tau_end = 4; the error is first order in eta (ratio at eta and eta/2 within [1.6, 2.4]).
    @Test func twoLayerClosedForm() throws {
        let data = try DMFTData(trainInputs: [[1]], targets: [1])
        func maxError(eta: Double) throws -> Double {
            let steps = Int((4 / eta).rounded()) + 1
            let pr = try DMFTProblem(data: data, depth: 1, gamma0: 1.5, eta: eta, timeSteps: steps)
            let s = try DeepLinearDMFT.solveTwoLayer(pr, twoTimeKernels: false)
            var e = 0.0
            for t in 0..<steps {
                let f = s.trajectory.predictions[t][0]
                e = max(e, abs(s.trajectory.ntk[t][0, 0] - 2 * (1 + 2.25 * f * f).squareRoot()))
            }
            return e
        }
        let e1 = try maxError(eta: 1e-3), e2 = try maxError(eta: 2e-3)
        #expect(e1 <= 1e-3, "max |K - 2 sqrt(1 + gamma0^2 f^2)| = \(e1)")
        #expect(e2 / e1 > 1.6 && e2 / e1 < 2.4, "first-order ratio \(e2 / e1)")
        // gradient-flow end point: K -> 2 sqrt(1 + gamma0^2 y^2)
        let pr = try DMFTProblem(data: data, depth: 1, gamma0: 1.5, eta: 1e-3, timeSteps: 12_001)
        let s = try DeepLinearDMFT.solveTwoLayer(pr, twoTimeKernels: false)
        let kEnd = s.trajectory.ntk.last![0, 0]
        #expect(abs(kEnd - 2 * (1 + 2.25).squareRoot()) < 5e-3, "final K \(kEnd)")
    }

    /// T11: symmetry (1e-12 relative), PSD (min eigenvalue >= -1e-10 |X|), causality of A and B, Delta(0) = y.
    @Test func structuralInvariants() throws {
        let pr = try specProblem(depth: 3, gamma0: 1.3, p: 5, d: 10, steps: 20, eta: 0.1)
        let sol = try DeepLinearDMFT.solve(pr)
        #expect(sol.record.status == .converged)
        let T = 20, n = 5
        for l in 1...3 {
            for m in [sol.trajectory.kernelPhi[l - 1], sol.trajectory.kernelG[l - 1]] {
                #expect((m - m.transposed()).maxAbs <= 1e-12 * m.maxAbs)
                let ev = try LAPACK.symmetricEigen(m, vectors: false).values
                #expect(ev.first! >= -1e-10 * m.frobeniusNorm, "min eigenvalue \(ev.first!)")
            }
        }
        for a in sol.responseA { for t in 0..<T { for mu in 0..<n { for s in t..<T { #expect(a[t * n + mu, s] == 0) } } } }
        for b in sol.responseB { for t in 0..<T { for s in t..<T { for nu in 0..<n { #expect(b[t, s * n + nu] == 0) } } } }
        #expect(sol.trajectory.delta[0] == pr.data.targets)
        #expect(sol.trajectory.predictions[0].allSatisfy { $0 == 0 })
        // The responses are not trivially zero at gamma0 > 0.
        #expect(sol.responseA[0].maxAbs > 1e-3 && sol.responseB[0].maxAbs > 1e-3)
    }
}

@Suite struct DeepLinearRobustnessTests {
    /// Strong coupling (L = 5, gamma0 = 2): plain whole-horizon sweeps overflow (their transient grows like e^{cT});
    /// horizon continuation converges, the result is finite, and a non-finite residual is never reported as converged.
    @Test func deepStrongCouplingConverges() throws {
        let pr = try specProblem(depth: 5, gamma0: 2.0, p: 8, d: 16, steps: 60, eta: 0.05)
        let sol = try DeepLinearDMFT.solve(pr)
        #expect(sol.record.status == .converged, "\(sol.record.message ?? "")")
        #expect(sol.trajectory.loss.allSatisfy(\.isFinite) && sol.trajectory.kernelPhi.allSatisfy { $0.storage.allSatisfy(\.isFinite) })
        let plain = try DeepLinearDMFT.solve(pr, options: DeepLinearDMFTOptions(maxIterations: 60, horizonContinuation: false))
        print("plain sweeps: \(plain.record.status), residuals \(plain.record.residualHistory.prefix(12))")
        if plain.record.status == .converged {
            let d = zip(plain.trajectory.loss, sol.trajectory.loss).map { abs($0 - $1) }.max()!
            #expect(d < 1e-7)
        } else {
            #expect(plain.trajectory.loss.allSatisfy(\.isFinite) == false || plain.record.status != .converged)
        }
    }
}
