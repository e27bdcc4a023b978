import Foundation
import Testing
import NumericalCore
import StructuredFeatures

/// |a − b| <= atol + rtol·|b| (infinities must match exactly).
func close(_ a: Double, _ b: Double, rtol: Double, atol: Double = 0) -> Bool {
    if a.isInfinite || b.isInfinite { return a == b }
    return abs(a - b) <= atol + rtol * abs(b)
}

/// Isotropic model with n0 = 1000 and widths α_ℓ·n0 (integer sizes, spec §8).
func isotropicTheory(alphas: [Double], noise: Double, n0: Int = 1000) throws -> LearningCurveTheory {
    try FeatureModel(inputDimension: n0, widths: alphas.map { $0 * Double(n0) }, noiseVariance: noise).resolve().theory
}

func eg(_ t: LearningCurveTheory, _ P: Double, _ lambda: Double = 0) throws -> Double {
    try t.evaluate(samples: P, ridge: lambda).generalizationError
}

/// Gamma(2)-distributed eigenvalues (sum of two exponentials) from a seeded stream.
func gammaSpectrum(_ n: Int, seed: UInt64) -> [Double] {
    var r = RandomStream(seed: seed)
    return (0..<n).map { _ in -log(r.uniformOpen()) - log(r.uniformOpen()) }
}

@Suite("Closed forms (spec §8)")
struct ClosedFormTests {
    static let alphas = [0.1, 0.25, 0.4, 0.75, 1.5, 3.0]

    static let t1Table: [(Double, Double, [Double])] = [
        (0.5, 0.0, [9.0 / 8, 1.5, 3.0, 1.5, 0.75, 0.6]),
        (0.5, 0.25, [175.0 / 144, 11.0 / 6, 25.0 / 6, 2.0, 0.875, 0.65]),
        (2.0, 0.0, [18.0 / 19, 6.0 / 7, 0.75, 0.4, 0, 0]),
        (2.0, 0.25, [169.0 / 171, 41.0 / 42, 47.0 / 48, 1.3, 0.5, 0.125]),
    ]
    static let t2Table: [(Double, [Double])] = [
        (0.0, [657.0 / 520, 1.875, 129.0 / 35, 3.0, 1.0, 2.0 / 3]),
        (0.25, [13031.0 / 9360, 7.0 / 3, 1079.0 / 210, 4.25, 1.25, 0.75]),
    ]

    @Test("T1: isotropic L = 1, ridgeless", arguments: ClosedFormTests.t1Table)
    func t1(alpha1: Double, noise: Double, expected: [Double]) throws {
        let t = try isotropicTheory(alphas: [alpha1], noise: noise)
        for (a, e) in zip(Self.alphas, expected) {
            let v = try eg(t, a * 1000)
            #expect(close(v, e, rtol: 1e-12, atol: 1e-14), "α = \(a): \(v) vs \(e)")
        }
    }

    @Test("T2: isotropic L = 2 (α1 = 0.5, α2 = 0.75), ridgeless", arguments: ClosedFormTests.t2Table)
    func t2(noise: Double, expected: [Double]) throws {
        let t = try isotropicTheory(alphas: [0.5, 0.75], noise: noise)
        for (a, e) in zip([0.1, 0.25, 0.4, 0.6, 1.0, 2.0], expected) {
            let v = try eg(t, a * 1000)
            #expect(close(v, e, rtol: 1e-12), "α = \(a): \(v) vs \(e)")
        }
        #expect(try eg(t, 500) == .infinity)
    }

    @Test("T2b: depth at α_ℓ = 2, α = 0.25")
    func t2b() throws {
        let expected = [0.75, 6.0 / 7, 27.0 / 28, 15.0 / 14, 33.0 / 28]
        for L in 0...4 {
            let t = try isotropicTheory(alphas: [Double](repeating: 2, count: L), noise: 0)
            let v = try eg(t, 250)
            #expect(close(v, expected[L], rtol: 1e-12), "L = \(L): \(v)")
        }
    }

    @Test("T2/T1 with ridge: general solver on the isotropic polynomial equation matches λ → 0⁺")
    func isotropicRidgeSmallLambda() throws {
        let t = try isotropicTheory(alphas: [0.5, 0.75], noise: 0.25)
        for a in [0.1, 0.25, 0.75, 1.0, 2.0] {
            let r = try t.evaluate(samples: a * 1000, ridge: 1e-9)
            #expect(r.record.status == .converged)
            #expect(close(r.generalizationError, try eg(t, a * 1000), rtol: 3e-4), "α = \(a)")
        }
    }

    static let gcmTable: [(Double, Double, Double)] = [(0.5, 0.1, 0.21593), (0.5, 1.0, 0.34578), (2.0, 0.1, 0.01860), (2.0, 1.0, 0.13925)]

    @Test("T-GCM: parity with GCMProject (λ = λ_GCM/α)", arguments: ClosedFormTests.gcmTable)
    func gcm(alpha: Double, lambdaGCM: Double, expected: Double) throws {
        // n0 = 400, ω_i ∝ 1/i (mean 1), isotropic teacher (β_i² = ω_i/400), η = 0. Values given to 5 decimals,
        // so atol = 5e-6 (half a unit in the last digit).
        let l0 = try FeatureModel(inputDimension: 400, dataCovariance: .powerLaw(exponent: 1), widths: []).resolve().theory
        let l1 = try FeatureModel(inputDimension: 400, dataCovariance: .powerLaw(exponent: 1), widths: [1e9]).resolve().theory
        let v0 = try eg(l0, alpha * 400, lambdaGCM / alpha)
        let v1 = try eg(l1, alpha * 400, lambdaGCM / alpha)
        #expect(close(v0, expected, rtol: 0, atol: 5e-6), "L = 0: \(v0)")
        #expect(close(v1, expected, rtol: 0, atol: 5e-6), "L = 1, n1 = 1e9: \(v1)")
    }

    @Test("T6: peaks only at P = n_min")
    func t6() throws {
        let three = try FeatureModel(inputDimension: 400, widths: [300, 500, 250], noiseVariance: 0.2).resolve().theory
        for P in 1...900 {
            let v = try eg(three, Double(P))
            if P == 250 { #expect(v == .infinity) } else { #expect(v.isFinite && v >= 0, "P = \(P): \(v)") }
        }
        for noise in [0.0, 0.3] {
            let narrow = try FeatureModel(inputDimension: 400, widths: [200], noiseVariance: noise).resolve().theory
            for P in 1...800 {
                let v = try eg(narrow, Double(P))
                #expect(P == 200 ? v == .infinity : v.isFinite, "n1 = 200, η² = \(noise), P = \(P)")
            }
        }
        let wide = try FeatureModel(inputDimension: 400, widths: [800]).resolve().theory
        for P in 1...1200 {
            let v = try eg(wide, Double(P))
            if P >= 400 { #expect(v == 0, "exact recovery at P = \(P): \(v)") } else { #expect(v.isFinite && v > 0) }
        }
        let wideNoisy = try FeatureModel(inputDimension: 400, widths: [800], noiseVariance: 0.1).resolve().theory
        for P in 1...1200 {
            let v = try eg(wideNoisy, Double(P))
            #expect(P == 400 ? v == .infinity : v.isFinite)
        }
    }
}

@Suite("General solver")
struct GeneralSolverTests {
    /// A three-layer structured model on random Gamma(2) spectra, n0 = 300 (spec §8 identity tests).
    static func randomModel(noise: Double = 0.1, widths: [Double] = [400, 250]) throws -> FeatureModel {
        try FeatureModel(inputDimension: 300, dataCovariance: .list(gammaSpectrum(300, seed: 1)), widths: widths,
                         layerCovariances: [.list(gammaSpectrum(300, seed: 2)), .list(gammaSpectrum(Int(widths[0]), seed: 3))],
                         readoutCovariance: .list(gammaSpectrum(Int(widths[1]), seed: 4)),
                         target: .list(gammaSpectrum(300, seed: 5)), signal: 1, noiseVariance: noise)
    }

    @Test("λ → 0⁺ of the general solver equals the ridgeless closed forms (random spectra)")
    func smallLambdaLimit() throws {
        let t = try Self.randomModel().resolve().theory
        #expect(t.minimalRank == 250)
        for P in [30.0, 80, 150, 200, 320, 500, 1000] {
            let r0 = try t.evaluate(samples: P, ridge: 0)
            let r = try t.evaluate(samples: P, ridge: 1e-9)
            #expect(r.record.status == .converged)
            #expect(close(r.generalizationError, r0.generalizationError, rtol: 3e-4), "P = \(P): \(r.generalizationError) vs \(r0.generalizationError)")
            #expect(close(r.trainingError, r0.trainingError, rtol: 3e-4, atol: 1e-6), "P = \(P) train")
        }
    }

    /// Brute force, independent of the library's solver: bisection for every κ_S(d) with plain sums, bisection
    /// for d on the chain form κ0 = λ/(1 − d/P) = κ_{L+1} Π_ℓ κ_ℓ d/n_ℓ, and the §4.3 formulas with
    /// df2 = Σ s²/(s+κ)² and χ = df2/(d − df2).
    static func bruteForce(spectra: [[Double]], beta2: [Double], P: Double, lambda: Double, noise: Double) -> Double {
        func df1(_ s: [Double], _ k: Double) -> Double { s.reduce(0) { $0 + $1 / ($1 + k) } }
        func kappa(_ s: [Double], _ d: Double) -> Double {
            var lo = -80.0, hi = 80.0
            for _ in 0..<200 { let m = 0.5 * (lo + hi); if df1(s, exp(m)) > d { lo = m } else { hi = m } }
            return exp(0.5 * (lo + hi))
        }
        let L = spectra.count - 1
        func kappa0(_ d: Double) -> Double {
            var k = kappa(spectra[L], d)
            for l in 0..<L { k *= kappa(spectra[l], d) * d / Double(spectra[l + 1].count) }
            return k
        }
        let dmax = min(P, Double(spectra.map(\.count).min()!))
        var lo = 0.0, hi = dmax
        for _ in 0..<200 { let m = 0.5 * (lo + hi); if kappa0(m) > lambda / (1 - m / P) { lo = m } else { hi = m } }
        let d = 0.5 * (lo + hi)
        var Lambda = 1.0
        var chi1 = 0.0
        for (l, s) in spectra.enumerated() {
            let k = kappa(s, d)
            let df2 = s.reduce(0) { $0 + ($1 / ($1 + k)) * ($1 / ($1 + k)) }
            let chi = df2 / (d - df2)
            if l == 0 { chi1 = chi }
            Lambda += chi
        }
        let k1 = kappa(spectra[0], d)
        var b1 = 0.0, b2 = 0.0
        for (i, c) in spectra[0].enumerated() { b1 += beta2[i] * k1 / (c + k1); b2 += beta2[i] * k1 * k1 / ((c + k1) * (c + k1)) }
        let gamma = (1 + chi1) / Lambda
        let B = gamma * b2 + (1 - gamma) * b1
        return (B + noise) / (1 - d / P * (1 - 1 / Lambda)) - noise
    }

    @Test("General solver equals a brute-force evaluation on small random spectra")
    func bruteForceAgreement() throws {
        for seed in 0..<3 {
            let n0 = 40, n1 = 30, n2 = 50
            let c1 = gammaSpectrum(n0, seed: 100 + UInt64(seed))
            let beta = gammaSpectrum(n0, seed: 200 + UInt64(seed)).map { $0 / Double(n0) }
            let s2 = gammaSpectrum(n1, seed: 300 + UInt64(seed)), g = gammaSpectrum(n2, seed: 400 + UInt64(seed))
            let first = try ProjectedTeacher(spectrum: Spectrum(eigenvalues: c1), beta2: beta)
            let t = try LearningCurveTheory(first: first, later: [Spectrum(eigenvalues: s2), Spectrum(eigenvalues: g)], noiseVariance: 0.2)
            for P in [10.0, 25, 45, 90] {
                for lambda in [1e-3, 0.05, 1.0] {
                    let v = try eg(t, P, lambda)
                    let b = Self.bruteForce(spectra: [c1, s2, g], beta2: beta, P: P, lambda: lambda, noise: 0.2)
                    #expect(close(v, b, rtol: 1e-9), "seed \(seed) P = \(P) λ = \(lambda): \(v) vs \(b)")
                }
            }
        }
    }

    @Test("Isotropic shortcut equals an explicit list; Γ absent equals Γ = I")
    func isotropicShortcut() throws {
        let a = try FeatureModel(inputDimension: 200, dataCovariance: .powerLaw(exponent: 1), widths: [300, 150], noiseVariance: 0.1).resolve().theory
        let b = try FeatureModel(inputDimension: 200, dataCovariance: .powerLaw(exponent: 1), widths: [300, 150],
                                 layerCovariances: [.identity, .list([Double](repeating: 1, count: 300))],
                                 readoutCovariance: .list([Double](repeating: 1, count: 150)), noiseVariance: 0.1).resolve().theory
        for P in [50.0, 120, 400] {
            for lambda in [0.0, 0.01, 0.3] {
                #expect(close(try eg(a, P, lambda), try eg(b, P, lambda), rtol: 1e-10), "P = \(P) λ = \(lambda)")
            }
        }
    }

    @Test("Hastie limit, duality, whitening, rescaling, λ → ∞, Cauchy-Schwarz")
    func identities() throws {
        // Hastie: L = 1 with isotropic width 1e9 matches L = 0 (ridgeless, noisy)
        let h0 = try isotropicTheory(alphas: [], noise: 0.3), h1 = try isotropicTheory(alphas: [1e6], noise: 0.3)
        for P in [100.0, 500, 2000] { #expect(close(try eg(h1, P), try eg(h0, P), rtol: 1e-5)) }
        // duality: Σ1 = I, β² ∝ c: ε_g(P, N = 1e12) = ε_g(P = 1e12, N = P)
        for P in [50.0, 200] {
            let wide = try FeatureModel(inputDimension: 2000, dataCovariance: .powerLaw(exponent: 1.5), widths: [1e12]).resolve().theory
            let narrow = try FeatureModel(inputDimension: 2000, dataCovariance: .powerLaw(exponent: 1.5), widths: [P]).resolve().theory
            #expect(close(try eg(wide, P), try eg(narrow, 1e12), rtol: 1e-9), "duality at \(P)")
        }
        // whitening: Σ1 = Σ0⁻¹ reproduces the isotropic closed form
        let white = try FeatureModel(inputDimension: 1000, dataCovariance: .powerLaw(exponent: 1.2), widths: [500],
                                     layerCovariances: [.powerOfData(-1)], target: .powerLaw(exponent: 0.4), noiseVariance: 0.25).resolve().theory
        let iso = try isotropicTheory(alphas: [0.5], noise: 0.25)
        for P in [100.0, 250, 400, 750, 3000] { #expect(close(try eg(white, P), try eg(iso, P), rtol: 1e-9), "whitening P = \(P)") }
        // rescaling (Σ1, Σ2, Γ) by (k1, k2, k3) with λ·k1k2k3 leaves ε_g unchanged
        let base = try FeatureModel(inputDimension: 200, dataCovariance: .powerLaw(exponent: 1), widths: [250, 300],
                                    layerCovariances: [.isotropic(scale: 1), .powerLaw(exponent: 0.7)], noiseVariance: 0.1).resolve().theory
        let scaled = try FeatureModel(inputDimension: 200, dataCovariance: .powerLaw(exponent: 1), widths: [250, 300],
                                      layerCovariances: [.isotropic(scale: 2), .list(CovarianceSpec.powerLaw(count: 250, exponent: 0.7).map { 3 * $0 })],
                                      readoutCovariance: .isotropic(scale: 0.5), noiseVariance: 0.1).resolve().theory
        for P in [60.0, 150, 400] {
            #expect(close(try eg(base, P, 0.02), try eg(scaled, P, 0.02 * 3), rtol: 1e-9))
            #expect(close(try eg(base, P), try eg(scaled, P), rtol: 1e-12))
        }
        // λ → ∞: ε_g → s
        #expect(close(try eg(base, 100, 1e12), 1, rtol: 1e-6))
        // Cauchy-Schwarz: χ_S(d) >= d/(|S| − d), equality for isotropic
        let s = try Spectrum(eigenvalues: gammaSpectrum(100, seed: 9))
        for d in [5.0, 30, 70, 99] {
            let st = s.state(at: d)
            #expect(st.chi >= d / (100 - d) * (1 - 1e-12))
            let i = try Spectrum.isotropic(size: 100, value: 2).state(at: d)
            #expect(close(i.chi, d / (100 - d), rtol: 1e-14))
        }
    }

    @Test("Under-parameterized ridgeless ε_g does not depend on Σ2..ΣL or Γ")
    func underParameterizedIndependence() throws {
        let a = try FeatureModel(inputDimension: 200, dataCovariance: .powerLaw(exponent: 1), widths: [300, 150],
                                 target: .powerLaw(exponent: 0.3), noiseVariance: 0.1).resolve().theory
        let b = try FeatureModel(inputDimension: 200, dataCovariance: .powerLaw(exponent: 1), widths: [300, 150],
                                 layerCovariances: [.identity, .powerLaw(exponent: 1.5)], readoutCovariance: .powerLaw(exponent: 0.5),
                                 target: .powerLaw(exponent: 0.3), noiseVariance: 0.1).resolve().theory
        for P in [160.0, 300, 1000] { #expect(close(try eg(a, P), try eg(b, P), rtol: 1e-12), "P = \(P)") }
        for P in [50.0, 120] { #expect(try eg(b, P) > (try eg(a, P)) * (1 + 1e-6), "anisotropy must hurt at P = \(P)") }
    }

    @Test("F8: finite-width penalty χ of a power-law hidden layer at d = P = 100")
    func powerLawPenalty() throws {
        // ν < 1/2: χ ≈ (1 − ν)²/(1 − 2ν)·P/n (isotropic order); ν > 1: χ → ν − 1 as n → ∞ (an O(1) penalty).
        // Independent numpy check at n = 25600: χ = 0.0044 (ν = 0.25) and 0.9932 (ν = 2).
        let n = 25_600
        let low = try Spectrum(eigenvalues: CovarianceSpec.powerLaw(count: n, exponent: 0.25)).state(at: 100).chi
        #expect(close(low, 0.5625 / 0.5 * 100 / Double(n), rtol: 0.02), "\(low)")
        let high = try Spectrum(eigenvalues: CovarianceSpec.powerLaw(count: n, exponent: 2)).state(at: 100).chi
        #expect(close(high, 1, rtol: 0.02), "\(high)")
    }

    @Test("Training error identity and over-parameterized E_train = 0")
    func trainIdentity() throws {
        let t = try Self.randomModel().resolve().theory
        for P in [60.0, 240, 600] {
            let r = try t.evaluate(samples: P, ridge: 0.05)
            let f = 1 - r.degreesOfFreedom / P
            #expect(close(r.trainingError, f * f * r.testError, rtol: 1e-12))
        }
        #expect(try t.evaluate(samples: 100, ridge: 0).trainingError == 0)
    }

    @Test("Optimal ridge is a minimum")
    func optimalRidge() throws {
        let t = try FeatureModel(inputDimension: 400, widths: [800, 800], layerCovariances: [.identity, .powerLaw(exponent: 1)],
                                 noiseVariance: 0.1).resolve().theory
        let o = try t.optimalRidge(samples: 200)
        #expect(o.record.status == .converged)
        for f in [0.8, 1.25] { #expect(try eg(t, 200, o.ridge * f) >= o.point.generalizationError - 1e-12) }
        #expect(o.point.generalizationError <= (try eg(t, 200, 0)))
    }

    @Test("100-point curve with 10^4-eigenvalue spectra is fast")
    func speed() throws {
        let m = try FeatureModel(inputDimension: 10_000, dataCovariance: .powerLaw(exponent: 1), widths: [20_000, 10_000],
                                 layerCovariances: [.powerOfData(0.5), .powerLaw(exponent: 0.7)], target: .powerLaw(exponent: 0.25),
                                 noiseVariance: 0.1)
        let t = try m.resolve().theory
        let grid = (0..<100).map { 50 * pow(400.0, Double($0) / 99) }
        let clock = Stopwatch()
        let r = try t.curve(samples: grid, ridge: 0.01)
        let ridgeSeconds = clock.elapsed
        let c2 = Stopwatch()
        let r0 = try t.curve(samples: grid, ridge: 0)
        let ridgelessSeconds = c2.elapsed
        let its = Double(r.map(\.record.iterations).reduce(0, +)) / 100
        print("features theory: mean iterations (outer + inner) per point \(its)")
        print("features theory: 100-point curve, 10^4-eigenvalue spectra: λ = 0.01 \(ridgeSeconds) s, ridgeless \(ridgelessSeconds) s")
        #expect(r.allSatisfy { $0.record.status == .converged && $0.generalizationError.isFinite })
        #expect(r0.allSatisfy { !$0.generalizationError.isNaN })
        #expect(ridgeSeconds < 2.0)
    }
}

@Suite("Invalid inputs and NaN safety")
struct ValidationTests {
    func name(of error: Error) -> String? {
        if case SolvableError.invalidParameter(let n, _, _) = error as? SolvableError ?? .runtime("") { return n }
        return nil
    }

    func expectInvalid(_ expected: String, _ body: () throws -> Void) {
        do { try body(); Issue.record("expected an invalidParameter error for \(expected)") } catch {
            #expect(name(of: error) == expected, "\(error)")
        }
    }

    @Test("Bad inputs throw errors naming the parameter")
    func invalid() throws {
        expectInvalid("widths") { _ = try FeatureModel(inputDimension: 100, widths: [-5]) }
        expectInvalid("widths") { _ = try FeatureModel(inputDimension: 100, widths: [50, 0]) }
        let t = try FeatureModel(inputDimension: 100, widths: [50]).resolve().theory
        expectInvalid("lambda") { _ = try t.evaluate(samples: 10, ridge: -0.1) }
        expectInvalid("samples") { _ = try t.evaluate(samples: 0, ridge: 0.1) }
        expectInvalid("spectrum") { _ = try Spectrum(eigenvalues: []) }
        expectInvalid("data_spectrum") { _ = try FeatureModel(inputDimension: 3, dataCovariance: .list([]), widths: [5]) }
        expectInvalid("data_spectrum") { _ = try FeatureModel(inputDimension: 3, dataCovariance: .list([1, -1, 2]), widths: [5]) }
        expectInvalid("first_layer") { _ = try FeatureModel(inputDimension: 3, widths: [5], layerCovariances: [.list([1, 2, -0.5])]) }
        expectInvalid("noise") { _ = try FeatureModel(inputDimension: 3, widths: [5], noiseVariance: -1) }
        expectInvalid("n0") { _ = try FeatureModel(inputDimension: 0, widths: [5]) }
        let sim = try FeatureSimulator(model: FeatureModel(inputDimension: 20, widths: [10]))
        expectInvalid("samples") { _ = try sim.run(samples: [0], ridge: 0, trials: 4, seed: 1) }
        expectInvalid("lambda") { _ = try sim.run(samples: [5], ridge: -1, trials: 4, seed: 1) }
        expectInvalid("widths") { _ = try FeatureSimulator(model: FeatureModel(inputDimension: 20, widths: [10.5])) }
    }

    @Test("No NaN over extreme P and λ")
    func noNaN() throws {
        let models = [try GeneralSolverTests.randomModel(), try GeneralSolverTests.randomModel(noise: 0),
                      try FeatureModel(inputDimension: 50, widths: [50, 1e12], noiseVariance: 0),
                      try FeatureModel(inputDimension: 50, widths: [80], layerCovariances: [.spike(strength: 0, direction: 0)],
                                       target: .spike(direction: 0))]
        for m in models {
            let t = try m.resolve().theory
            for P in [1e-3, 1, 49.999, 50, 50.001, 249, 250, 251, 300, 1e4, 1e12] {
                for lambda in [0, 1e-300, 1e-12, 1e-3, 1, 1e6, 1e300] {
                    let r = try t.evaluate(samples: P, ridge: lambda)
                    let all = [r.generalizationError, r.testError, r.trainingError, r.degreesOfFreedom, r.b1, r.b2, r.Lambda] + r.kappa + r.chi
                    #expect(!all.contains { $0.isNaN }, "P = \(P) λ = \(lambda): \(all)")
                    #expect(r.generalizationError >= 0)
                }
            }
        }
    }
}
