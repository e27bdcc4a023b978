import Foundation
import Testing
import NumericalCore
import StructuredFeatures
import LinearAlgebra
import Experiments

@Suite("Simulation")
struct SimulationTests {
    /// Spec F9(a)-type structured case: n0 = 400, L = 2, n1 = 600, n2 = 500, σ0 ∝ i^{-1}, w_i ∝ i^{-0.25},
    /// Σ1 = Σ0 (aligned first layer), Σ2 ∝ i^{-0.7}, η² = 0.1.
    static func structuredModel() throws -> FeatureModel {
        try FeatureModel(inputDimension: 400, dataCovariance: .powerLaw(exponent: 1), widths: [600, 500],
                         layerCovariances: [.powerOfData(1), .powerLaw(exponent: 0.7)],
                         target: .powerLaw(exponent: 0.25), signal: 1, noiseVariance: 0.1)
    }

    /// Theory vs simulation on the structured case, ridgeless and λ = 0.01, P ∈ {80, 200, 320, 700}
    /// (n_min = 400: P = 320 is 20 % below the peak, outside the O(1)-fluctuation zone of spec §6).
    /// 24 trials per point, fixed teacher, fixed seed (so the test is deterministic). Criterion: every point within
    /// the Bonferroni Student-t bound for these 12 comparisons (ε_g at 8 points, E_train at the 4 ridge points) at
    /// 1 % family-wise false alarm, q(0.01/12, ν = 23) = 3.84, so that a correct theory fails with probability 1 % for a
    /// fresh seed (a flat 3 s.e. would fail ≈ 12 × P(|t_23| > 3) ≈ 8 % of seeds); 3.84 s.e. is still a ±8 % relative
    /// window on ε_g here, far tighter than any of the modelling errors it guards against (a wrong layer term moves ε_g
    /// by tens of %). With the ziggurat normal draws (since the issue-8
    /// benchmark work) this seed gives max |z| = 2.91 (ε_g at λ = 0.01, P = 320, 80 % of n_min: 0.1292 ± 0.0026 vs
    /// theory 0.1367) and 1.28 (E_train); with the earlier polar draws it was 0.81 and 1.71. The same point at 128 trials
    /// (seed 77) gives z = +1.1, and at 64-128 trials the settings show no bias beyond 1 s.e. (the finite-size bias at
    /// n0 = 400 is below the s.e. here), so 2.91 is a fluctuation of a right-skewed error near the peak (the sample mean
    /// of 24 trials tends to fall below the mean with an underestimated s.e.).
    @Test("Structured two-layer case: theory within the Bonferroni Student-t bound at every point")
    func structuredAgreement() throws {
        let model = try Self.structuredModel()
        let theory = try model.resolve().theory
        let sim = try FeatureSimulator(model: model)
        let Ps = [80, 200, 320, 700]
        var zs: [Double] = []
        let tol = Statistics.bonferroniTolerance(comparisons: 12, trials: 24)
        for lambda in [0.0, 0.01] {
            let pts = try sim.run(samples: Ps, ridge: lambda, trials: 24, teacher: .fixed, seed: 2023)
            for p in pts {
                let t = try theory.evaluate(samples: Double(p.samples), ridge: lambda)
                let z = Statistics.zScore(observed: p.generalizationError.mean, expected: t.generalizationError,
                                          standardError: p.generalizationError.standardError)
                zs.append(z)
                print("features sim-test λ = \(lambda) P = \(p.samples): theory \(t.generalizationError) sim \(p.generalizationError.mean) ± \(p.generalizationError.standardError) z = \(z)")
                #expect(abs(z) <= tol, "λ = \(lambda), P = \(p.samples): z = \(z) (tolerance \(tol))")
                if lambda > 0 {
                    let zt = Statistics.zScore(observed: p.trainingError.mean, expected: t.trainingError,
                                               standardError: p.trainingError.standardError)
                    print("features sim-test train λ = \(lambda) P = \(p.samples): theory \(t.trainingError) sim \(p.trainingError.mean) z = \(zt)")
                    #expect(abs(zt) <= tol, "train λ = \(lambda), P = \(p.samples): z = \(zt) (tolerance \(tol))")
                }
            }
        }
        print("features sim-test max |z| = \(zs.map(abs).max() ?? 0) (tolerance \(tol))")
    }

    /// Random teachers with matching average power (never rescaled per draw) agree with the theory at the mean
    /// power; 32 trials at n0 = 200, power-law data and target, L = 1. Tolerance: Bonferroni Student-t bound for the
    /// 3 points at 1 % family-wise false alarm (ν = 31: 3.18).
    @Test("Random-teacher protocol matches the theory on average")
    func randomTeacher() throws {
        let model = try FeatureModel(inputDimension: 200, dataCovariance: .powerLaw(exponent: 1), widths: [300],
                                     target: .powerLaw(exponent: 0.25), noiseVariance: 0.05)
        let theory = try model.resolve().theory
        let pts = try FeatureSimulator(model: model).run(samples: [50, 120, 400], ridge: 0.01, trials: 32, teacher: .random, seed: 7)
        for p in pts {
            let t = try theory.evaluate(samples: Double(p.samples), ridge: 0.01)
            let z = Statistics.zScore(observed: p.generalizationError.mean, expected: t.generalizationError,
                                      standardError: p.generalizationError.standardError)
            let tol = Statistics.bonferroniTolerance(comparisons: 3, trials: 32)
            print("features random-teacher P = \(p.samples): z = \(z) (tolerance \(tol))")
            #expect(abs(z) <= tol)
        }
    }

    @Test("Exact recovery cell and results do not depend on threads")
    func exactRecoveryAndDeterminism() throws {
        let model = try FeatureModel(inputDimension: 400, widths: [800])
        let sim = try FeatureSimulator(model: model)
        let r = try sim.run(samples: [600], ridge: 0, trials: 2, seed: 3)
        #expect(r[0].generalizationError.mean < 1e-8)
        let small = try FeatureSimulator(model: FeatureModel(inputDimension: 60, dataCovariance: .powerLaw(exponent: 1),
                                                             widths: [80, 50], noiseVariance: 0.1))
        let a = try small.run(samples: [30, 90], ridge: 0.01, trials: 6, seed: 11, threads: 1)
        let b = try small.run(samples: [30, 90], ridge: 0.01, trials: 6, seed: 11, threads: 2)
        for k in 0..<2 {
            #expect(a[k].generalizationError == b[k].generalizationError)
            #expect(a[k].generalizationError.mean.isFinite && a[k].generalizationError.standardError.isFinite)
        }
    }

    @Test("Readout: primal and dual ridge agree; λ → 0 approaches the min-norm solution")
    func readoutIdentities() throws {
        var r = RandomStream(seed: 5)
        for (P, n) in [(30, 50), (50, 30)] {
            let Z = Matrix(rows: P, cols: n) { _, _ in r.gaussian() }
            let y = (0..<P).map { _ in r.gaussian() }
            let a = try FeatureSimulator.readout(Z: Z, y: y, ridge: 0.1, form: .primal)
            let b = try FeatureSimulator.readout(Z: Z, y: y, ridge: 0.1, form: .dual)
            let scale = a.map(abs).max()!
            #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-10 * scale }, "P = \(P), n = \(n)")
            let v0 = try FeatureSimulator.readout(Z: Z, y: y, ridge: 0)
            let vs = try FeatureSimulator.readout(Z: Z, y: y, ridge: 1e-9)
            let s0 = v0.map(abs).max()!
            #expect(zip(v0, vs).allSatisfy { abs($0 - $1) <= 1e-5 * s0 }, "min-norm limit P = \(P), n = \(n)")
        }
    }

    /// Spec F9(b): Σ1 = Q diag(linspace(0.2, 3, n0)) Qᵀ with Q Haar (does not commute with Σ0), σ0 ∝ i^{-0.8},
    /// w_i ∝ ±i^{-0.3}, L = 1, n1 = 300, η² = 0.05; n0 = 400 as in §6. 24 trials per point; tolerance the
    /// Bonferroni Student-t bound for the 5 points at 1 % family-wise false alarm (ν = 23: 3.48; seed fixed).
    @Test("Non-commuting first layer: theory within the Bonferroni Student-t bound at every point")
    func nonCommuting() throws {
        let n0 = 400
        let sigma1 = try CovarianceSpec.haarRotated(eigenvalues: (0..<n0).map { 0.2 + 2.8 * Double($0) / Double(n0 - 1) }, seed: 17)
        let model = try FeatureModel(inputDimension: n0, dataCovariance: .powerLaw(exponent: 0.8), widths: [300],
                                     layerCovariances: [sigma1], target: .powerLaw(exponent: 0.3), noiseVariance: 0.05)
        let r = try model.resolve()
        let sim = try FeatureSimulator(model: model)
        for (lambda, Ps) in [(0.0, [100, 500]), (0.01, [100, 250, 500])] {
            for p in try sim.run(samples: Ps, ridge: lambda, trials: 24, teacher: .fixed, seed: 99) {
                let t = try r.theory.evaluate(samples: Double(p.samples), ridge: lambda)
                let z = Statistics.zScore(observed: p.generalizationError.mean, expected: t.generalizationError,
                                          standardError: p.generalizationError.standardError)
                print("features non-commuting λ = \(lambda) P = \(p.samples): theory \(t.generalizationError) sim \(p.generalizationError.mean) z = \(z)")
                let tol = Statistics.bonferroniTolerance(comparisons: 5, trials: 24)
                #expect(abs(z) <= tol, "λ = \(lambda) P = \(p.samples): z = \(z) (tolerance \(tol))")
            }
        }
        // with isotropic Σ0 and an isotropic random teacher only the spectrum of Σ1 matters (rotation invariance)
        let rotated = try FeatureModel(inputDimension: 120, widths: [90],
                                       layerCovariances: [try CovarianceSpec.haarRotated(eigenvalues: CovarianceSpec.powerLaw(count: 120, exponent: 1), seed: 3)],
                                       noiseVariance: 0.1).resolve().randomTeacherTheory
        let diagonal = try FeatureModel(inputDimension: 120, widths: [90], layerCovariances: [.powerLaw(exponent: 1)],
                                        noiseVariance: 0.1).resolve().theory
        for P in [40.0, 200] {
            for lambda in [0.0, 0.05] {
                let a = try rotated.evaluate(samples: P, ridge: lambda).generalizationError
                let b = try diagonal.evaluate(samples: P, ridge: lambda).generalizationError
                #expect(abs(a - b) <= 1e-9 * b, "rotation invariance P = \(P) λ = \(lambda): \(a) vs \(b)")
            }
        }
    }
}
