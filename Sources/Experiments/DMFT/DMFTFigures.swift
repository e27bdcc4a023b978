import Foundation
import LinearAlgebra
import NumericalCore
import MeanFieldDynamics

/// The DMFT figures of the report (issue 5): theory against finite-width networks on the same data.
enum DMFTFigures {
    static let all: [FigureSpec] = [deepTanh, deepLinearDepth, approximations, twoLayerReLU]

    static func fmt(_ x: Double) -> String { String(format: "%.4g", x) }
    static func times(_ T: Int) -> [Double] { (0..<T).map(Double.init) }

    static func ensemble(_ pr: DMFTProblem, width: Int, seeds: Int, ctx: RunContext, point: UInt64) throws -> (mean: KernelTrajectory, runs: [KernelTrajectory]) {
        let runs = try NetworkTrainer(problem: pr, width: width).trainEnsemble(seed: ctx.seed, members: seeds, point: point, threads: ctx.threads)
        return (KernelTrajectory.mean(runs), runs)
    }

    static func lossSE(_ runs: [KernelTrajectory]) -> [Double] {
        (0..<runs[0].timeSteps).map { t in runs.count > 1 ? Statistics.standardError(runs.map { $0.loss[t] }) : 0 }
    }

    /// The sample-averaged kernel Φˡ(t, s) or Gˡ(t, s) of a trajectory (rows t, columns s).
    static func kernelMatrix(_ tr: KernelTrajectory, _ kind: KernelComparison.Kernel, layer l: Int) -> [[Double]] {
        KernelTrajectory.sampleTrace(kind == .phi ? tr.kernelPhi[l - 1] : tr.kernelG[l - 1], timeSteps: tr.timeSteps, points: tr.pointCount)
    }

    /// Theory and network heatmaps of one kernel on a shared colour scale, and their difference (network −
    /// theory) on a diverging scale centred on 0; axes numbered in grid time steps.
    static func heatmaps(theory: KernelTrajectory, network: KernelTrajectory, networkName: String,
                         _ kind: KernelComparison.Kernel, layer l: Int) -> [Plot] {
        let name = (kind == .phi ? "Φ" : "G") + superscript(l)
        let a = kernelMatrix(theory, kind, layer: l), b = kernelMatrix(network, kind, layer: l)
        let shared = Plot.Heatmap.sharedRange([Plot.Heatmap(values: a), Plot.Heatmap(values: b)])
        let label = "mean over μ of \(name)(t, μ, s, μ)"
        let diff = zip(b, a).map { zip($0, $1).map { $0 - $1 } }
        return [
            Plot(title: "DMFT: \(name)(t, s)", xLabel: "s", yLabel: "t", heatmap: Plot.Heatmap(values: a, colorbarLabel: label, range: shared)),
            Plot(title: "\(networkName): \(name)(t, s)", xLabel: "s", yLabel: "t", heatmap: Plot.Heatmap(values: b, colorbarLabel: label, range: shared)),
            Plot(title: "\(networkName) − DMFT: \(name)(t, s)", xLabel: "s", yLabel: "t",
                 heatmap: Plot.Heatmap(values: diff, colorbarLabel: "difference of \(name)", diverging: true)),
        ]
    }

    static func superscript(_ n: Int) -> String {
        let sup: [Character: Character] = ["0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹"]
        return String(String(n).map { sup[$0] ?? $0 })
    }

    // MARK: Figure 1: deep tanh network, Monte Carlo DMFT vs networks at two widths.

    static let deepTanh = FigureSpec(
        name: "dmft-deep-tanh", model: "dmft", title: "Deep tanh network (L = 3): Monte Carlo DMFT vs networks at two widths",
        quickScaleNote: "P = 4, T = 25, eta = 0.16 (same total time eta T / P = 1 as the paper code), S = 800 paths x 2 replicas, widths 250 and 2000 with 3 seeds (paper code: P = 10, T = 100, eta = 0.1, S = 1000, N = 2000)") { scale, ctx in
            let quick = scale == .quick
            let p = quick ? 4 : 10, steps = quick ? 25 : 100, eta = quick ? 0.16 : 0.1, s = quick ? 800 : 1000
            let widths = quick ? [250, 2000] : [500, 2000]
            let seeds = quick ? 3 : 10
            let data = try DMFTData.synthetic(trainPoints: p, inputDimension: 25, seed: 1)
            let pr = try DMFTProblem(data: data, depth: 3, activation: try .tanh(gain: 0.8), gamma0: 1, eta: eta, timeSteps: steps)
            let opts = NonlinearDMFTOptions(samples: s, damping: 0.7, maxIterations: 40, replicas: 2)
            let sol = try NonlinearDMFT.solve(pr, options: opts, seed: ctx.seed, threads: ctx.threads)
            var nets: [(Int, KernelTrajectory, [KernelTrajectory])] = []
            for (k, w) in widths.enumerated() {
                let e = try ensemble(pr, width: w, seeds: seeds, ctx: ctx, point: UInt64(k))
                nets.append((w, e.mean, e.runs))
            }
            var loss = Plot(title: "tanh L = 3, γ₀ = 1: loss", xLabel: "t", yLabel: "loss", yLog: true)
            loss.series.append(Plot.Series(label: "DMFT (Monte Carlo, S = \(s), 2 replicas)", x: times(steps), y: sol.trajectory.loss,
                                           yError: sol.lossStandardError, style: .line, color: 0))
            for (k, n) in nets.enumerated() {
                loss.series.append(Plot.Series(label: "networks N = \(n.0) (\(seeds) seeds)", x: times(steps), y: n.1.loss,
                                               yError: lossSE(n.2), style: .points, color: k + 1))
            }
            var al = Plot(title: "alignment of full (T,P,T,P) kernels with the DMFT", xLabel: "layer l", yLabel: "A(X_DMFT, X_NN)")
            var minAlign = 1.0
            for (k, n) in nets.enumerated() {
                let ap = (1...3).map { KernelComparison.alignment(sol.trajectory, n.1, layer: $0, kernel: .phi) }
                let ag = (1...3).map { KernelComparison.alignment(sol.trajectory, n.1, layer: $0, kernel: .g) }
                al.series.append(Plot.Series(label: "Φ, N = \(n.0)", x: [1, 2, 3], y: ap, style: .linePoints, color: k + 1))
                al.series.append(Plot.Series(label: "G, N = \(n.0)", x: [1, 2, 3], y: ag, style: .dashed, color: k + 1))
                if k == nets.count - 1 { minAlign = (ap + ag).min()! }
            }
            let big = nets.last!
            let seN = Statistics.standardError(big.2.map(\.finalLoss)), seT = sol.lossStandardError.last!
            let z = abs(big.1.finalLoss - sol.trajectory.finalLoss) / (seN * seN + seT * seT).squareRoot()
            let rel = abs(big.1.finalLoss - sol.trajectory.finalLoss) / sol.trajectory.finalLoss
            let maxDiff = zip(big.1.loss, sol.trajectory.loss).map { abs($0 - $1) }.max()! / sol.trajectory.loss[0]
            let panels = [loss, al] + heatmaps(theory: sol.trajectory, network: big.1, networkName: "N = \(big.0)", .phi, layer: 3)
                + heatmaps(theory: sol.trajectory, network: big.1, networkName: "N = \(big.0)", .g, layer: 1)
            return FigureResult(
                panels: panels,
                parameters: [("phi", "tanh(0.8 h)/0.8"), ("L", "3"), ("P, D", "\(p), 25"), ("eta, T", "\(eta), \(steps)"), ("gamma0", "1"),
                             ("S, replicas, damping", "\(s), 2, 0.7"), ("widths, seeds", "\(widths), \(seeds)"),
                             ("DMFT iterations", "\(sol.record.iterations)"), ("final loss DMFT / N=\(big.0)", "\(fmt(sol.trajectory.finalLoss)) / \(fmt(big.1.finalLoss))"),
                             ("relative final-loss difference", fmt(rel))],
                agreement: [
                    Agreement(statistic: "min per-layer alignment (Phi, G; full tensors) at N = \(big.0)", value: minAlign, tolerance: 0.98,
                              higherIsBetter: true, detail: "finite-width and Monte Carlo errors are O(1/sqrt(N)), O(1/sqrt(S)) in the kernels and enter alignment at second order"),
                    Agreement(statistic: "max over t of |loss_NN(t) - loss_DMFT(t)| / loss(0) (N = \(big.0))", value: maxDiff, tolerance: 0.04,
                              detail: "final losses \(fmt(sol.trajectory.finalLoss)) (DMFT) and \(fmt(big.1.finalLoss)) (N = \(big.0)); combined standard error of the final loss \(fmt((seN * seN + seT * seT).squareRoot())) (\(seeds) seeds, 2 replicas of S = \(s)), |z| = \(fmt(z)); 0.04 of loss(0) (about 4 combined standard errors of the loss curve) covers Monte Carlo O(1/sqrt(S)) and finite-width errors"),
                ],
                records: [sol.record],
                caption: "Loss (log scale) of the Monte Carlo DMFT (line, ±1 s.e. over replicas) and of networks at two widths (points); per-layer alignment of the full kernels; heatmaps of the sample-averaged Φ³(t, s) and G¹(t, s) for theory and the wider network on one colour scale per kernel, and their difference (network − DMFT) on a diverging scale; t and s in grid steps.")
        }

    // MARK: Figure 2: deep linear networks, depth sweep.

    static let deepLinearDepth = FigureSpec(
        name: "dmft-deep-linear-depth", model: "dmft", title: "Deep linear networks, L = 2..5: DMFT vs networks; deeper layers move more",
        quickScaleNote: "P = 10, T = 50, eta = 0.0125 (half the paper's total time eta T / P), N = 2000, 2 seeds per depth (paper: P = 20, T = 100, eta = 0.025, N = 2200)") { scale, ctx in
            let quick = scale == .quick
            let p = quick ? 10 : 20, steps = quick ? 50 : 100, eta = quick ? 0.0125 : 0.025, width = quick ? 2000 : 2200, seeds = 2
            let data = try DMFTData.synthetic(trainPoints: p, inputDimension: 40, seed: 1)
            let depths = [2, 3, 4, 5]
            var loss = Plot(title: "deep linear, γ₀ = 1.4: loss", xLabel: "t", yLabel: "loss", yLog: true)
            var move = Plot(title: "kernel movement 1 - A(Hˡ(T,T), Hˡ(0,0))", xLabel: "layer l", yLabel: "1 - alignment")
            var minAlign = 1.0, maxRel = 0.0, minMonotone = Double.infinity
            var records: [ConvergenceRecord] = []
            var params: [(String, String)] = [("P, D", "\(p), 40"), ("eta, T", "\(eta), \(steps)"), ("gamma0", "1.4"), ("N, seeds", "\(width), \(seeds)")]
            for (k, L) in depths.enumerated() {
                let pr = try DMFTProblem(data: data, depth: L, gamma0: 1.4, eta: eta, timeSteps: steps)
                let sol = try DeepLinearDMFT.solve(pr)
                records.append(sol.record)
                let net = try ensemble(pr, width: width, seeds: seeds, ctx: ctx, point: UInt64(k)).mean
                loss.series.append(Plot.Series(label: "DMFT L = \(L)", x: times(steps), y: sol.trajectory.loss, style: .line, color: k))
                loss.series.append(Plot.Series(label: "N = \(width), L = \(L)", x: times(steps), y: net.loss, style: .points, color: k))
                let mT = (1...L).map { 1 - KernelComparison.kernelMovement(sol.trajectory, layer: $0) }
                let mN = (1...L).map { 1 - KernelComparison.kernelMovement(net, layer: $0) }
                move.series.append(Plot.Series(label: "DMFT L = \(L)", x: (1...L).map(Double.init), y: mT, style: .line, color: k))
                move.series.append(Plot.Series(label: "network L = \(L)", x: (1...L).map(Double.init), y: mN, style: .points, color: k))
                minMonotone = min(minMonotone, zip(mT.dropFirst(), mT).map { $0 - $1 }.min()!)
                for l in 1...L { minAlign = min(minAlign, KernelComparison.alignment(sol.trajectory, net, layer: l, kernel: .phi)) }
                maxRel = max(maxRel, zip(net.loss, sol.trajectory.loss).map { abs($0 - $1) }.max()! / sol.trajectory.loss[0])
                params.append(("L = \(L): sweeps, seconds", "\(sol.record.iterations), \(fmt(sol.record.elapsedSeconds))"))
            }
            return FigureResult(
                panels: [loss, move], parameters: params,
                agreement: [
                    Agreement(statistic: "min alignment A(H^l_DMFT, Hˡ_NN) over L and l (full tensors)", value: minAlign, tolerance: 0.98, higherIsBetter: true,
                              detail: "N = \(width): kernel fluctuations O(1/sqrt(N)) enter alignment at second order"),
                    Agreement(statistic: "max over L and t of |loss_NN(t) - loss_DMFT(t)| / loss(0)", value: maxRel, tolerance: 0.05,
                              detail: "finite-width loss fluctuations grow with depth: at L = 5 we measured a per-seed s.d. of ~0.009 (1.8% of loss(0)) at N = 2000-4000 and differences consistent with 0 within 1 s.e. for N >= 1000 (6 seeds); with \(seeds) seeds 0.05 is ~4 s.d."),
                    Agreement(statistic: "min increase of DMFT kernel movement from layer l to l+1", value: minMonotone, tolerance: 0, higherIsBetter: true,
                              detail: "deeper layers move more (paper Fig. 2c)"),
                ],
                records: records,
                caption: "Loss of deep linear networks (points) and the DMFT (lines) for L = 2..5; kernel movement per layer grows with depth in theory (lines) and networks (points).")
        }

    // MARK: Figure 3: approximations over gamma0.

    static let approximations = FigureSpec(
        name: "dmft-approximations", model: "dmft", title: "Approximations vs full DMFT vs networks over γ₀ (deep linear)",
        quickScaleNote: "L = 3, P = 10, T = 50, eta = 0.0125, gamma0 in {0.25, 0.75, 1.25, 1.75}, N = 1000, 2 seeds (paper: L = 5, P = 20, T = 100, 15 values of gamma0 to 1.5, N = 2200)") { scale, ctx in
            let quick = scale == .quick
            let L = quick ? 3 : 5, p = quick ? 10 : 20, steps = quick ? 50 : 100, eta = quick ? 0.0125 : 0.025
            let width = quick ? 1000 : 2200, seeds = 2
            let gammas = quick ? [0.25, 0.75, 1.25, 1.75] : (0..<15).map { 0.25 + 1.25 * Double($0) / 14 }
            let data = try DMFTData.synthetic(trainPoints: p, inputDimension: 40, seed: 1)
            let methods: [(String, (DMFTProblem) throws -> KernelTrajectory)] = [
                ("DMFT", { try DeepLinearDMFT.solve($0).trajectory }),
                ("GI", { try DMFTApproximations.solve(.gradientIndependence, problem: $0).trajectory }),
                ("perturbative", { try DMFTApproximations.perturbative($0) }),
                ("static NTK", { try DMFTApproximations.staticNTK($0) }),
            ]
            var finals = [[Double]](repeating: [], count: methods.count), aligns = finals
            var nnFinal: [Double] = [], nnSE: [Double] = []
            var records: [ConvergenceRecord] = []
            for (k, g) in gammas.enumerated() {
                let pr = try DMFTProblem(data: data, depth: L, gamma0: g, eta: eta, timeSteps: steps)
                let e = try ensemble(pr, width: width, seeds: seeds, ctx: ctx, point: UInt64(k))
                nnFinal.append(e.mean.finalLoss); nnSE.append(Statistics.standardError(e.runs.map(\.finalLoss)))
                let full = try DeepLinearDMFT.solve(pr)
                records.append(full.record)
                for (m, method) in methods.enumerated() {
                    let tr = m == 0 ? full.trajectory : try method.1(pr)
                    finals[m].append(tr.finalLoss)
                    aligns[m].append((1...L).map { KernelComparison.alignment(tr, e.mean, layer: $0, kernel: .phi) }.reduce(0, +) / Double(L))
                }
            }
            var lp = Plot(title: "final loss vs γ₀ (L = \(L))", xLabel: "γ₀", yLabel: "loss at t = T-1")
            var ap = Plot(title: "layer-averaged alignment A(Hˡ, Hˡ_NN)", xLabel: "γ₀", yLabel: "alignment")
            for (m, method) in methods.enumerated() {
                lp.series.append(Plot.Series(label: method.0, x: gammas, y: finals[m], style: .line, color: m))
                ap.series.append(Plot.Series(label: method.0, x: gammas, y: aligns[m], style: .line, color: m))
            }
            lp.series.append(Plot.Series(label: "networks N = \(width)", x: gammas, y: nnFinal, yError: nnSE, style: .points, color: 5))
            let err = (0..<methods.count).map { m in zip(finals[m], nnFinal).map { abs($0 - $1) / $1 } }
            let last = gammas.count - 1
            return FigureResult(
                panels: [lp, ap],
                parameters: [("L, P, D", "\(L), \(p), 40"), ("eta, T", "\(eta), \(steps)"), ("gamma0", gammas.map(fmt).joined(separator: ", ")),
                             ("N, seeds", "\(width), \(seeds)")]
                    + methods.indices.map { ("rel. final-loss error \(methods[$0].0)", err[$0].map(fmt).joined(separator: ", ")) },
                agreement: [
                    Agreement(statistic: "max relative final-loss error of the DMFT over gamma0", value: err[0].max()!, tolerance: 0.05,
                              detail: "finite-width fluctuation O(1/sqrt(N)) ~ 3% at N = \(width) with \(seeds) seeds"),
                    Agreement(statistic: "min layer-averaged DMFT alignment over gamma0", value: aligns[0].min()!, tolerance: 0.98, higherIsBetter: true),
                    Agreement(statistic: "DMFT error / GI error at gamma0 = \(fmt(gammas[last]))", value: err[0][last] / err[1][last], tolerance: 1,
                              detail: "ordering DMFT < GI (docs/theory/dmft.md §12)"),
                    Agreement(statistic: "GI error / static-NTK error at gamma0 = \(fmt(gammas[last]))", value: err[1][last] / err[3][last], tolerance: 1,
                              detail: "ordering GI < static NTK"),
                ],
                records: records,
                caption: "Final loss and layer-averaged kernel alignment with networks for the full DMFT, gradient independence, leading-order perturbation theory and the static NTK.")
        }

    // MARK: Figure 4: two-layer ReLU at several gamma0.

    static let twoLayerReLU = FigureSpec(
        name: "dmft-two-layer-relu", model: "dmft", title: "Two-layer ReLU networks at several γ₀: Monte Carlo DMFT vs networks",
        quickScaleNote: "P = 10, T = 60, eta = 0.03 (same eta/P as the paper, 30% of its total time), S = 3000 x 2 replicas, N = 1000, 3 seeds (paper: P = 25, T = 200, eta = 0.075, N = 3000; at paper scale S = 6000 > N)") { scale, ctx in
            let quick = scale == .quick
            let p = quick ? 10 : 25, steps = quick ? 60 : 200, eta = quick ? 0.03 : 0.075, s = quick ? 3000 : 6000
            let width = quick ? 1000 : 3000, seeds = 3
            let gammas = [0.2, 1, 2, 3]
            let data = try DMFTData.synthetic(trainPoints: p, inputDimension: 40, seed: 1)
            var loss = Plot(title: "two-layer ReLU: loss", xLabel: "t", yLabel: "loss", yLog: true)
            var ntkA = Plot(title: "NTK-target alignment A(K(t), y y^T)", xLabel: "t", yLabel: "alignment")
            var maxZ = 0.0, minAlign = 1.0, maxRel = 0.0
            var records: [ConvergenceRecord] = []
            var params: [(String, String)] = [("P, D", "\(p), 40"), ("eta, T", "\(eta), \(steps)"), ("S, damping", "\(s), 0.8"), ("N, seeds", "\(width), \(seeds)")]
            for (k, g) in gammas.enumerated() {
                let pr = try DMFTProblem(data: data, depth: 1, activation: .relu, gamma0: g, eta: eta, timeSteps: steps)
                let sol = try NonlinearDMFT.solve(pr, options: NonlinearDMFTOptions(samples: s, damping: 0.8, maxIterations: 40, replicas: 2),
                                                  seed: ctx.seed, threads: ctx.threads)
                records.append(sol.record)
                let e = try ensemble(pr, width: width, seeds: seeds, ctx: ctx, point: UInt64(k))
                loss.series.append(Plot.Series(label: "DMFT γ₀ = \(fmt(g))", x: times(steps), y: sol.trajectory.loss, style: .line, color: k))
                loss.series.append(Plot.Series(label: "N = \(width), γ₀ = \(fmt(g))", x: times(steps), y: e.mean.loss, yError: lossSE(e.runs), style: .points, color: k))
                ntkA.series.append(Plot.Series(label: "DMFT γ₀ = \(fmt(g))", x: times(steps), y: sol.trajectory.ntkTargetAlignment(targets: data.targets), style: .line, color: k))
                ntkA.series.append(Plot.Series(label: "network γ₀ = \(fmt(g))", x: times(steps), y: e.mean.ntkTargetAlignment(targets: data.targets), style: .points, color: k))
                let seN = Statistics.standardError(e.runs.map(\.finalLoss)), seT = sol.lossStandardError.last!
                let z = abs(e.mean.finalLoss - sol.trajectory.finalLoss) / (seN * seN + seT * seT).squareRoot()
                maxZ = max(maxZ, z)
                maxRel = max(maxRel, KernelComparison.finalLossRelativeDifference(e.mean, sol.trajectory))
                minAlign = min(minAlign, KernelComparison.alignment(sol.trajectory, e.mean, layer: 1, kernel: .phi),
                               KernelComparison.alignment(sol.trajectory, e.mean, layer: 1, kernel: .g))
                params.append(("gamma0 = \(fmt(g)): final loss DMFT / NN, iterations", "\(fmt(sol.trajectory.finalLoss)) / \(fmt(e.mean.finalLoss)), \(sol.record.iterations)"))
            }
            return FigureResult(
                panels: [loss, ntkA], parameters: params,
                agreement: [
                    Agreement(statistic: "max over gamma0 of the relative final-loss difference NN vs DMFT", value: maxRel, tolerance: 0.05,
                              detail: "finite width O(1/sqrt(N)) with \(seeds) seeds and Monte Carlo O(1/sqrt(S)); measured 2% at N = 1000 and 0.4% at N = 4000 (gamma0 = 3, 4 seeds); max |z| with few-seed standard errors: \(fmt(maxZ))"),
                    Agreement(statistic: "min alignment of Phi^1, G^1 (full tensors) over gamma0", value: minAlign, tolerance: 0.98, higherIsBetter: true),
                ],
                records: records,
                caption: "Loss and NTK-target alignment of two-layer ReLU networks (points) and the Monte Carlo DMFT (lines) for γ₀ = 0.2, 1, 2, 3: richer training aligns the NTK with the target faster.")
        }
}
