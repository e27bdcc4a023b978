import Testing
import Foundation
import LinearAlgebra
import NumericalCore
import FiniteWidthFluctuations

/// Spec T6 (lazy limit) and T7 (initialization covariance).
@Suite struct LazyAndInitTests {
    /// K = 2 for both; kappa = 4 (linear), 12 (sqrt(2) ReLU).
    @Test func kernelStatistics() throws {
        let lin = try LazyFluctuations.twoLayerKernelStatistics(.linear)
        #expect(abs(lin.kernel - 2) < 1e-12 && abs(lin.kappa - 4) < 1e-10)
        let relu = try LazyFluctuations.twoLayerKernelStatistics(.sqrt2ReLU)
        #expect(relu.kernel == 2 && relu.kappa == 12)
    }

    /// T6: at gamma0 = 0.01 the exact (rich) linear variance equals kappa y^2 eta^2 t^2 (1 - 2 eta)^{2(t-1)} up to
    /// O(gamma0^2) = 1e-4 relative (tolerance 1e-3); the continuous form is 10% low at t = 10 and within 1% by t = 20.
    @Test func universalSingleSampleFormula() throws {
        let T = 60, eta = 0.05
        let u = LazyFluctuations.universalVariance(kappa: 4, kernel: 2, y: 1, eta: eta, steps: T)
        let uc = LazyFluctuations.universalVariance(kappa: 4, kernel: 2, y: 1, eta: eta, steps: T, discrete: false)
        let v = TwoLayerLinearExact.variance(try TwoLayerLinearSetting(gamma0: 0.01, eta: eta, steps: T)).variance
        for t in 1..<T { #expect(abs(v.delta[t] / u[t] - 1) < 1e-3) }
        #expect(abs(uc[10] / u[10] - 0.9) < 0.02)
        #expect(abs(uc[20] / u[20] - 1) < 0.01)
        // The continuous curve peaks at tau = 1/K = 1/2, i.e. t = 10; the discrete one at t = -1/ln(1 - eta K) = 9.5.
        #expect((1..<T).max { uc[$0] < uc[$1] } == 10)
        #expect([9, 10].contains((1..<T).max { u[$0] < u[$1] }!))
    }

    /// The general propagator at gamma0 = 0.01 for tanh reduces to the universal curve with kappa from quadrature
    /// (relative gap O(gamma0^2) plus quadrature error: tolerance 1e-3), and its late test-point variance to
    /// y^2[kappa_** K^2 - 2 K K_* kappa_* + kappa K_*^2]/K^4.
    @Test func lazyLimitOfPropagator() throws {
        let act = FluctuationActivation.scaledTanh(0.4), eta = 0.1, T = 200
        let (K, kappa) = try LazyFluctuations.twoLayerKernelStatistics(act)
        let u = LazyFluctuations.universalVariance(kappa: kappa, kernel: K, y: 1, eta: eta, steps: T)
        let pr = try TwoLayerProblem.singlePoint(activation: act, gamma0: 0.01, eta: eta, steps: T)
        let th = try pr.fluctuationTheory(TwoLayerTheoryOptions(quadratureOrder: 40, testQuadratureOrder: 10))
        for t in [2, 5, 10, 20] { #expect(abs(th.variance.delta[t] / u[t] - 1) < 1e-3, "t = \(t)") }
        let fstar = try LazyFluctuations.testPointVarianceAtConvergence(act, testOverlap: 0.5.squareRoot(), y: 1)
        #expect(abs(th.variance.testOutput[T - 1] / fstar - 1) < 2e-3)
    }

    /// Ensembles at gamma0 = 0.01, N = 1024, E = 1500 match the universal curve within 3 s.e. at t <= 30
    /// (where (eta t)^2 kappa / N, the relative size of the neglected O(1/N^2) terms, is below 1%).
    @Test func lazyEnsemble() throws {
        let T = 31
        let u = LazyFluctuations.universalVariance(kappa: 4, kernel: 2, y: 1, eta: 0.05, steps: T)
        let pr = try TwoLayerProblem.singlePoint(activation: .linear, gamma0: 0.01, eta: 0.05, steps: T, testOverlap: nil)
        let e = try TwoLayerEnsemble(problem: pr, width: 1024, members: 1500, seed: 21)
        for t in [5, 10, 20, 30] {
            #expect(abs(e.delta.scaledVariance[t] - u[t]) < 3 * e.delta.scaledVarianceStandardError[t], "t = \(t)")
        }
    }

    /// T7: N Cov(Phi^l, Phi^l') = V min(l, l'), N Cov(G^l, G^l') = V min(L-l+1, L-l'+1), V = 2 (linear), 5 (ReLU),
    /// at N = 1000, L = 6, E = 4000. Per entry: 3 s.e. + 10% (O(L/N) corrections), s.e. from the fourth moment.
    /// The accumulation slope (N Var Phi^L - N Var Phi^1)/(L - 1) must equal V within 3 s.e. of that difference
    /// (conservative: it ignores the positive correlation of the two layers) + 10%.
    @Test(arguments: [FluctuationActivation.linear, .sqrt2ReLU])
    func initializationCovariance(act: FluctuationActivation) throws {
        let L = 6, N = 1000, E = 4000
        let V = try DeepInitFluctuations.accumulationRate(act)
        let (tp, tg) = try DeepInitFluctuations.theory(act, depth: L)
        let e = try DeepInitFluctuations.ensemble(act, width: N, depth: L, members: E, seed: 31)
        for l in 0..<L {
            #expect(abs(e.phi.scaledVariance[l] - tp[l, l]) < 3 * e.phi.scaledVarianceStandardError[l] + 0.1 * tp[l, l])
            #expect(abs(e.gradient.scaledVariance[l] - tg[l, l]) < 3 * e.gradient.scaledVarianceStandardError[l] + 0.1 * tg[l, l])
        }
        // Off-diagonal covariances: s.e. of a covariance ~ sqrt(Var_l Var_l' (1 + rho^2)/E) <= sqrt(2 Var_l Var_l'/E).
        for l in 0..<L { for m in 0..<l {
            let se = (2 * e.phiCovariance[l, l] * e.phiCovariance[m, m] / Double(E)).squareRoot()
            #expect(abs(e.phiCovariance[l, m] - tp[l, m]) < 3 * se + 0.1 * tp[l, m])
        } }
        let slope = (e.phi.scaledVariance[L - 1] - e.phi.scaledVariance[0]) / Double(L - 1)
        let slopeSE = (pow(e.phi.scaledVarianceStandardError[L - 1], 2) + pow(e.phi.scaledVarianceStandardError[0], 2)).squareRoot() / Double(L - 1)
        #expect(abs(slope - V) < 3 * slopeSE + 0.1 * V, "slope \(slope) vs V = \(V)")
        let gslope = (e.gradient.scaledVariance[0] - e.gradient.scaledVariance[L - 1]) / Double(L - 1)
        let gslopeSE = (pow(e.gradient.scaledVarianceStandardError[L - 1], 2) + pow(e.gradient.scaledVarianceStandardError[0], 2)).squareRoot() / Double(L - 1)
        #expect(abs(gslope - V) < 3 * gslopeSE + 0.1 * V, "backward slope \(gslope) vs V = \(V)")
    }

    /// The O(N L) exact sampler and the dense-weight network have the same law: at N = 48, L = 4 (strong finite-N
    /// effects, so this also checks beyond leading order) their N Var Phi^l and G^l agree within 3.5 combined s.e.
    /// (16 comparisons).
    @Test func exactSamplerMatchesDenseNetwork() throws {
        for act in [FluctuationActivation.linear, .sqrt2ReLU] {
            let a = try DeepInitFluctuations.ensemble(act, width: 48, depth: 4, members: 4000, seed: 41)
            let b = try DeepInitFluctuations.ensemble(act, width: 48, depth: 4, members: 4000, seed: 42, dense: true)
            for l in 0..<4 {
                for (x, y) in [(a.phi, b.phi), (a.gradient, b.gradient)] {
                    let se = (pow(x.scaledVarianceStandardError[l], 2) + pow(y.scaledVarianceStandardError[l], 2)).squareRoot()
                    #expect(abs(x.scaledVariance[l] - y.scaledVariance[l]) < 3.5 * se, "\(act) layer \(l + 1)")
                }
            }
        }
    }

    /// T7: Var Phi^L against N over N >= 100 has log-log slope in [-1.1, -0.9] (E = 2000 per width: the slope's
    /// sampling error is ~0.03).
    @Test func initVarianceScalesAsOneOverN() throws {
        let widths = [100, 250, 500, 1000]
        var vars: [Double] = []
        for N in widths {
            let e = try DeepInitFluctuations.ensemble(.sqrt2ReLU, width: N, depth: 6, members: 2000, seed: 51)
            vars.append(e.phi.scaledVariance[5] / Double(N))
        }
        let fit = Statistics.logLogSlope(x: widths.map(Double.init), y: vars)
        #expect(fit.slope >= -1.1 && fit.slope <= -0.9, "slope \(fit.slope)")
    }
}
