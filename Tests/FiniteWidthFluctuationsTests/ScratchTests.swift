import Testing
import Foundation
import NumericalCore
import FiniteWidthFluctuations

@Test func scratchA() throws {
    // lazy
    let (K, kap) = try LazyFluctuations.twoLayerKernelStatistics(.linear)
    print("lazy lin", K, kap, try LazyFluctuations.twoLayerKernelStatistics(.scaledTanh(0.4)))
    let u = LazyFluctuations.universalVariance(kappa: kap, kernel: K, y: 1, eta: 0.05, steps: 60)
    let s = try TwoLayerLinearSetting(gamma0: 0.01, eta: 0.05, steps: 60)
    let v = TwoLayerLinearExact.variance(s).variance
    for t in [5, 10, 20, 40] { print("lazy t", t, u[t], v.delta[t]) }
    // deep init
    var c = Stopwatch()
    for act in [FluctuationActivation.linear, .sqrt2ReLU] {
        let e = try DeepInitFluctuations.ensemble(act, width: 250, depth: 6, members: 2000, seed: 1)
        print("deep", act, e.phi.scaledVariance, e.gradient.scaledVariance, e.phi.scaledVarianceStandardError, c.elapsed)
        let d = try DeepInitFluctuations.ensemble(act, width: 64, depth: 6, members: 1000, seed: 1, dense: true)
        print("dense", act, d.phi.scaledVariance, d.gradient.scaledVariance, c.elapsed)
        let d2 = try DeepInitFluctuations.ensemble(act, width: 64, depth: 6, members: 1000, seed: 1)
        print("fast", act, d2.phi.scaledVariance, d2.gradient.scaledVariance, c.elapsed)
    }
    // online
    c = Stopwatch()
    let os = try OnlineSetting(gamma0: 4, eta: 0.002, inputDimension: 10, steps: 500)
    let th = try OnlineFluctuations.theory(os)
    let en = try OnlineFluctuations.ensemble(os, width: 400, members: 400, seed: 2)
    print("online time", c.elapsed)
    for t in [50, 100, 200, 300, 499] { print("online t", t, th.delta[t], th.sigmaDelta[t], en.beta1.scaledVariance[t], en.beta1.scaledVarianceStandardError[t], th.sigmaPerp[t], 400 * en.perp.mean[t], 400 * en.perp.meanStandardError[t]) }
    // tanh ensemble
    c = Stopwatch()
    let pr = try TwoLayerProblem.singlePoint(activation: .scaledTanh(0.4), gamma0: 3, eta: 0.05, steps: 100)
    let ens = try TwoLayerEnsemble(problem: pr, width: 256, members: 3000, seed: 3)
    print("ens time", c.elapsed)
    let tt = try pr.fluctuationTheory(TwoLayerTheoryOptions(quadratureOrder: 40, testQuadratureOrder: 10))
    print("th time", c.elapsed)
    for t in [5, 20, 50, 99] { print("tanh t", t, tt.variance.delta[t], ens.delta.scaledVariance[t], ens.delta.scaledVarianceStandardError[t], tt.variance.kernel[2*t], ens.kernel.scaledVariance[2*t], ens.kernel.scaledVarianceStandardError[2*t], tt.variance.testOutput[t], ens.testOutput.scaledVariance[t], ens.testOutput.scaledVarianceStandardError[t]) }
}
