import Foundation
import Testing
import LinearAlgebra
import NumericalCore
import MeanFieldDynamics

@Suite struct ApproximationTests {
    func maxNTKDiff(_ a: KernelTrajectory, _ b: KernelTrajectory) -> Double {
        zip(a.ntk, b.ntk).map { ($0 - $1).maxAbs }.max()!
    }

    /// T11: max |K_DMFT - K_pert| / gamma0^4 stays bounded as gamma0 decreases (0.02, 0.01, 0.005): the ratio
    /// changes by less than a factor 1.5 (an O(gamma0^2) residual would grow it by 16x); same for eq. 13 vs GI,
    /// while eq. 13 vs full DMFT at L = 3 is O(gamma0^2) (ratio grows by more than 8).
    @Test func perturbationTheoryIsLeadingOrder() throws {
        let opts = DeepLinearDMFTOptions(tolerance: 1e-15, maxIterations: 100)
        var rFull: [Double] = [], rEq13GI: [Double] = [], rEq13Full: [Double] = []
        for g in [0.02, 0.01, 0.005] {
            let pr = try specProblem(depth: 3, gamma0: g, p: 5, d: 10, steps: 20, eta: 0.1)
            let full = try DeepLinearDMFT.solve(pr, options: opts).trajectory
            var giOpts = opts; giOpts.gradientIndependence = true
            let gi = try DeepLinearDMFT.solve(pr, options: giOpts).trajectory
            let pert = try DMFTApproximations.perturbative(pr)
            let eq13 = try DMFTApproximations.perturbative(pr, paperEq13: true)
            let g4 = pow(g, 4)
            rFull.append(maxNTKDiff(full, pert) / g4)
            rEq13GI.append(maxNTKDiff(gi, eq13) / g4)
            rEq13Full.append(maxNTKDiff(full, eq13) / g4)
        }
        print("|K_DMFT - K_pert|/g^4: \(rFull); |K_GI - K_eq13|/g^4: \(rEq13GI); |K_DMFT - K_eq13|/g^4: \(rEq13Full)")
        #expect(rFull[2] < 1.5 * rFull[0] && rFull[2] < 100)
        #expect(rEq13GI[2] < 1.5 * rEq13GI[0] && rEq13GI[2] < 100)
        #expect(rEq13Full[2] > 8 * rEq13Full[0])
    }

    /// At gamma0 -> 0 the full DMFT, GI, both perturbative forms and the static NTK coincide (1e-12).
    @Test func lazyLimitCoincides() throws {
        let pr = try specProblem(depth: 2, gamma0: 0, p: 5, d: 10, steps: 20, eta: 0.1)
        let full = try DeepLinearDMFT.solve(pr).trajectory
        for m in DMFTApproximations.Method.allCases {
            let a = try DMFTApproximations.solve(m, problem: pr).trajectory
            let d = zip(a.loss, full.loss).map { abs($0 - $1) }.max()!
            #expect(d < 1e-12 && maxNTKDiff(a, full) < 1e-12, "\(m): loss diff \(d)")
        }
    }

    /// Static kernels: ReLU arc-cosine closed form against Gauss-Hermite quadrature of the same integrals (1e-3: the kink limits quadrature),
    /// and the nonlinear static NTK gives Delta(t) = (I - (eta/P) K_0)^t y to 1e-12.
    @Test func staticKernelsAndNonlinearLazyLimit() throws {
        let pr = try specProblem(depth: 2, gamma0: 0, p: 4, d: 6, steps: 15, eta: 0.2, activation: .relu)
        let st = try NonlinearDMFT.staticKernels(pr)
        let smooth = Activation(name: "relu-closure", phi: { max($0, 0) }, derivative: { $0 > 0 ? 1 : 0 }, secondDerivative: { _ in 0 })
        let prq = try DMFTProblem(data: pr.data, depth: 2, activation: smooth, gamma0: 0, eta: 0.2, timeSteps: 15)
        let sq = try NonlinearDMFT.staticKernels(prq, quadratureOrder: 200)
        let e = (st.phi[1] - sq.phi[1]).maxAbs
        #expect(e < 1e-3, "arc-cosine vs quadrature \(e)")  // quadrature of a kink converges slowly
        let tr = try DMFTApproximations.staticNTK(pr)
        let k0 = tr.ntk[0]
        var d = pr.data.targets, err = 0.0
        for t in 0..<15 {
            for mu in 0..<4 { err = max(err, abs(tr.delta[t][mu] - d[mu])) }
            let kd = BLAS.gemv(k0, d)
            d = (0..<4).map { d[$0] - 0.2 / 4 * kd[$0] }
        }
        #expect(err < 1e-12)
        // The Monte Carlo solver at gamma0 = 0 estimates the static kernels from S paths: relative loss error
        // within 4 sqrt((n + 1)/S) (the relative error of an empirical n x n covariance).
        let mc = try NonlinearDMFT.solve(pr, options: NonlinearDMFTOptions(samples: 4000, maxIterations: 5), seed: 1)
        let dm = zip(mc.trajectory.loss, tr.loss).map { abs($0 - $1) / $1 }.max()!
        #expect(dm < 4 * (5.0 / 4000).squareRoot(), "MC at gamma0 = 0 vs static: \(dm)")
    }
}

@Suite struct ValidationTests {
    /// Problem values are validated at construction, naming the parameter.
    @Test func invalidValuesAreRejected() throws {
        let data = try DMFTData.synthetic(trainPoints: 4, inputDimension: 5)
        #expect(throws: SolvableError.self) { try DMFTProblem(data: data, depth: 0, gamma0: 1, eta: 0.1, timeSteps: 5) }
        #expect(throws: SolvableError.self) { try DMFTProblem(data: data, depth: 2, gamma0: -1, eta: 0.1, timeSteps: 5) }
        #expect(throws: SolvableError.self) { try DMFTProblem(data: data, depth: 2, gamma0: 1, eta: 0, timeSteps: 5) }
        #expect(throws: SolvableError.self) { try DMFTData(trainInputs: [[1, 2], [3]], targets: [1, 1]) }
        let lazy = try DMFTProblem(data: data, depth: 2, gamma0: 0, eta: 0.1, timeSteps: 5)
        #expect(throws: SolvableError.self) { try NetworkTrainer(problem: lazy, width: 10) }
        let tanhProblem = try DMFTProblem(data: data, depth: 2, activation: .tanh(gain: 1), gamma0: 1, eta: 0.1, timeSteps: 5)
        #expect(throws: SolvableError.self) { try DeepLinearDMFT.solve(tanhProblem) }
        #expect(throws: SolvableError.self) { try DMFTApproximations.perturbative(tanhProblem) }
    }

    /// The Monte Carlo solver estimates its memory and refuses a request that does not fit, with the estimate.
    @Test func monteCarloRefusesTooLargeRequests() throws {
        let pr = try specProblem(depth: 3, gamma0: 1, p: 10, d: 10, steps: 100, activation: .tanh(gain: 1))
        let opts = NonlinearDMFTOptions(samples: 1000, memoryLimit: 1 << 20)
        let need = NonlinearDMFT.memoryEstimate(pr, options: opts)
        #expect(need > 100_000_000)
        do {
            _ = try NonlinearDMFT.solve(pr, options: opts)
            Issue.record("expected insufficientMemory")
        } catch let SolvableError.insufficientMemory(needed, available, _) {
            #expect(needed == need && available == 1 << 20)
        }
    }

    /// Test points ride along: they appear in the kernels and predictions but never in Delta-sums, so the training
    /// trajectory is unchanged by adding them (1e-12), for the DMFT and for networks.
    @Test func testPointsDoNotAffectTraining() throws {
        let with = try DMFTData.synthetic(trainPoints: 5, inputDimension: 8, testPoints: 3, seed: 2)
        let rows = (0..<8).map { i in (0..<5).map { with.inputs[i, $0] } }
        let without = try DMFTData(trainInputs: (0..<5).map { j in (0..<8).map { rows[$0][j] } }, targets: with.targets)
        let a = try DMFTProblem(data: with, depth: 2, gamma0: 1.2, eta: 0.2, timeSteps: 15)
        let b = try DMFTProblem(data: without, depth: 2, gamma0: 1.2, eta: 0.2, timeSteps: 15)
        let sa = try DeepLinearDMFT.solve(a).trajectory, sb = try DeepLinearDMFT.solve(b).trajectory
        #expect(zip(sa.loss, sb.loss).map { abs($0 - $1) }.max()! < 1e-12)
        #expect(sa.predictions[14].count == 8)
        let na = try NetworkTrainer(problem: a, width: 50).train(seed: 3), nb = try NetworkTrainer(problem: b, width: 50).train(seed: 3)
        #expect(zip(na.loss, nb.loss).map { abs($0 - $1) }.max()! < 1e-12)
    }
}
