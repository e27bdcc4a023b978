import Foundation
import LinearAlgebra
import NumericalCore
import MeanFieldDynamics

/// `solvable dmft solve`: the full DMFT (deep linear closed form or alternating Monte Carlo).
public enum DMFTSolveTask: ComputeTask {
    public static let commandPath = ["dmft", "solve"]
    public static let abstract = "Self-consistent DMFT of kernel evolution (Bordelon & Pehlevan 2022): loss, Phi^l, G^l, NTK."
    public static let discussion = """
        Solves the single-site DMFT of paper eqs. 9-10 on the grid t = 0..T-1 (docs/theory/dmft.md):
        f = w.phi(h^L)/(gamma0 N), learning rate eta gamma0^2 N, loss (1/2P) sum (f - f(0) - y)^2, Euler Delta update.
        Linear phi: closed matrix equations H^l = M_h (H^{l-1} + C G^{l+1} C^T) M_h^T, G^l = M_g (...) M_g^T, solved
        exactly on low-rank factors H^l = F F^T (fields linear in finitely many Gaussian sources; one forward pass in
        time, verified by the dense solver's sweep on factors; docs/theory/dmft-low-rank.md); ranks are reported, and
        the dense solver runs instead when the rank is not small (said in the record) or with --solver linear-dense.
        Other phi: alternating Monte Carlo over S paths with Jacobian responses A, B, damped, to a tolerance relative
        to the Monte Carlo noise. Kernels are written as .npy ([T,P,T,P], [T,T] for deep linear G, or deep linear
        Phi^l as factors [T,P,r] for large problems) with heatmaps; exit status 3 if not converged.
        """
    public static let examples = [
        "solvable dmft solve --depth 3 --gamma0 1.5 --points 8 --dim 16 --steps 30 --eta 0.05 --json",
        "solvable dmft solve --activation tanh --gain 0.8 --depth 2 --points 3 --steps 8 --samples 200 --eta 0.3 --json",
    ]
    public static let parameters = DMFTCommon.dataParameters + DMFTCommon.modelParameters + DMFTCommon.solverParameters
        + DMFTCommon.checkpointParameters + DMFTCommon.outputParameters + DMFTCommon.lossParameters + DMFTCommon.kernelFormatParameters

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let pr = try DMFTCommon.problem(p)
        let checkpoint = try DMFTCommon.checkpoint(p, ctx, name: "dmft-solve.checkpoint")
        let th = try DMFTCommon.solveTheory(pr, p, ctx, checkpoint: checkpoint)
        var tr = th.trajectory
        let factor = DMFTCommon.lossFactor(p)
        tr.loss = tr.loss.map { factor * $0 }
        var summary: [(String, JSONValue)] = [
            ("solver", .string(th.solver)), ("record", DMFTCommon.recordJSON(th.record)),
            ("final_loss", .number(tr.finalLoss)), ("loss", .numbers(tr.loss)),
            ("ntk_target_alignment", .numbers(tr.ntkTargetAlignment(targets: pr.data.targets))),
            ("kernel_movement", .numbers((1...pr.depth).map { DMFTCommon.kernelMovement(th, layer: $0) })),
        ]
        if let r = th.lowRank { summary.append(("low_rank", DMFTCommon.lowRankJSON(r))) }
        var out = TaskOutput(summary: .object(summary))
        out.effectiveParameters = DMFTCommon.effectiveParameters(p, pr.data)
        out.tables = [("loss", DMFTCommon.lossTable(tr, eta: pr.eta, standardError: th.lossSE?.map { factor * $0 }))]
        if p.bool("save_kernels") { out.arrays = DMFTCommon.kernelArrays(tr, factored: th.factoredKernels) }
        out.plots = [("loss", DMFTCommon.lossPlot([("DMFT", tr, .line)], title: "DMFT loss", eta: pr.eta))]
            + DMFTCommon.heatmaps(tr, title: "DMFT", factored: th.factoredKernels)
        out.records = [("dmft", th.record)]
        out.checkpoints = checkpoint.map { [$0] } ?? []
        return out
    }
}

/// `solvable dmft approx`: static NTK, gradient independence or perturbation theory on the DMFT grid.
public enum DMFTApproxTask: ComputeTask {
    public static let commandPath = ["dmft", "approx"]
    public static let abstract = "Approximations to the DMFT: static NTK, gradient independence, perturbation theory in gamma0^2."
    public static let discussion = """
        static: kernels frozen at initialization, Delta(t) = (I - (eta/P) K_0)^t y. gi: A = B = 0 (deep linear solver
        or Monte Carlo without Jacobians). perturbative: the O(gamma0^2) expansion of the full deep linear DMFT;
        perturbative-eq13: the paper's eq. 13 form, which is the expansion of the GI DMFT (docs/theory/dmft.md §7).
        Same grid and outputs as `dmft solve`.
        """
    public static let examples = [
        "solvable dmft approx --method perturbative --depth 3 --gamma0 0.5 --points 8 --steps 30 --json",
        "solvable dmft approx --method gi --depth 2 --gamma0 1 --points 6 --steps 20 --json",
    ]
    public static let parameters = [ParameterSpec("method", .choice(DMFTApproximations.Method.allCases.map(\.rawValue)),
                                                  default: .string("static"), help: "which approximation")]
        + DMFTCommon.dataParameters + DMFTCommon.modelParameters + DMFTCommon.solverParameters
        + DMFTCommon.checkpointParameters + DMFTCommon.outputParameters + DMFTCommon.lossParameters

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let pr = try DMFTCommon.problem(p)
        let m = DMFTApproximations.Method(rawValue: p.string("method"))!
        var mc = DMFTCommon.monteCarloOptions(p)   // used by gi with a nonlinear phi
        mc.checkpoint = try DMFTCommon.checkpoint(p, ctx, name: "dmft-approx.checkpoint")
        let r = try DMFTApproximations.solve(m, problem: pr, linearOptions: DMFTCommon.linearOptions(p),
                                             monteCarloOptions: mc, seed: ctx.seed, log: ctx.log)
        var tr = r.trajectory
        tr.loss = tr.loss.map { DMFTCommon.lossFactor(p) * $0 }
        var out = TaskOutput(summary: .object([
            ("method", .string(m.rawValue)), ("record", DMFTCommon.recordJSON(r.record)),
            ("final_loss", .number(tr.finalLoss)), ("loss", .numbers(tr.loss)),
            ("ntk_target_alignment", .numbers(tr.ntkTargetAlignment(targets: pr.data.targets))),
        ]))
        out.effectiveParameters = DMFTCommon.effectiveParameters(p, pr.data)
        out.tables = [("loss", DMFTCommon.lossTable(tr, eta: pr.eta))]
        if p.bool("save_kernels") { out.arrays = DMFTCommon.kernelArrays(tr) }
        out.plots = [("loss", DMFTCommon.lossPlot([(m.rawValue, tr, .line)], title: "\(m.rawValue) loss", eta: pr.eta))]
            + DMFTCommon.heatmaps(tr, title: m.rawValue)
        out.records = [(m.rawValue, r.record)]
        out.checkpoints = mc.checkpoint.map { [$0] } ?? []
        return out
    }
}

/// `solvable dmft train`: finite-width mean-field networks, ensembles over seeds.
public enum DMFTTrainTask: ComputeTask {
    public static let commandPath = ["dmft", "train"]
    public static let abstract = "Train width-N mean-field networks by full-batch GD and record loss, Phi^l, G^l, NTK."
    public static let discussion = """
        h^1 = W^0 x/sqrt(D), h^{l+1} = W^l phi(h^l)/sqrt(N), f = w.phi(h^L)/(gamma0 N), weights N(0,1), centered output,
        learning rate eta gamma0^2 N, loss (1/2P) sum. Member m of the ensemble draws from (seed, 0, m); kernels are
        ensemble means. Same data and grid as `dmft solve`.
        """
    public static let examples = ["solvable dmft train --depth 3 --gamma0 1 --width 256 --seeds 2 --points 8 --steps 20 --json"]
    public static let parameters = [ParameterSpec("width", .int(1...65_536), default: .int(1000), help: "width N"),
                                    ParameterSpec("seeds", .int(1...10_000), default: .int(1), help: "ensemble members")]
        + DMFTCommon.dataParameters + DMFTCommon.networkModelParameters + DMFTCommon.outputParameters + DMFTCommon.lossParameters

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let pr = try DMFTCommon.problem(p)
        let trainer = try NetworkTrainer(problem: pr, width: p.int("width"))
        let runs = try trainer.trainEnsemble(seed: ctx.seed, members: p.int("seeds"), threads: ctx.threads)
        let factor = DMFTCommon.lossFactor(p)
        var mean = KernelTrajectory.mean(runs)
        mean.loss = mean.loss.map { factor * $0 }
        let se = runs.count > 1 ? (0..<pr.timeSteps).map { t in factor * Statistics.standardError(runs.map { $0.loss[t] }) } : nil
        var out = TaskOutput(summary: .object([
            ("width", .int(p.int("width"))), ("seeds", .int(runs.count)), ("final_loss", .number(mean.finalLoss)),
            ("final_loss_standard_error", se.map { .number($0.last!) } ?? .null), ("loss", .numbers(mean.loss)),
            ("ntk_target_alignment", .numbers(mean.ntkTargetAlignment(targets: pr.data.targets))),
        ]))
        out.effectiveParameters = DMFTCommon.effectiveParameters(p, pr.data)
        out.tables = [("loss", DMFTCommon.lossTable(mean, eta: pr.eta, standardError: se))]
        if p.bool("save_kernels") { out.arrays = DMFTCommon.kernelArrays(mean) }
        out.plots = [("loss", DMFTCommon.lossPlot([("network N = \(p.int("width"))", mean, .linePoints)], title: "network loss", eta: pr.eta))]
            + DMFTCommon.heatmaps(mean, title: "network")
        return out
    }
}

/// `solvable dmft compare`: the DMFT against networks over widths.
public enum DMFTCompareTask: ComputeTask {
    public static let commandPath = ["dmft", "compare"]
    public static let abstract = "DMFT vs networks over widths: loss curves, per-layer kernel alignment, NTK-target alignment."
    public static let discussion = """
        Solves the DMFT once and trains `seeds` networks at every width. Reports, per width, the final-loss difference
        and the alignment A(X, Y) = <X,Y>_F/(|X|_F |Y|_F) of the full (T,P,T,P) kernels Phi^l and G^l between theory
        and the ensemble-mean network kernels; expect alignment -> 1 and loss difference -> 0 as N grows.
        """
    public static let examples = ["solvable dmft compare --depth 2 --gamma0 1 --widths 64,256 --seeds 2 --points 6 --steps 20 --json"]
    public static let parameters = [ParameterSpec("widths", .intList(1...65_536), default: .array([.int(250), .int(1000)]), help: "network widths"),
                                    ParameterSpec("seeds", .int(1...10_000), default: .int(2), help: "networks per width"),
                                    ParameterSpec("alignment_tolerance", .double(0...1), default: .double(0.95),
                                                  help: "min per-layer alignment required at the largest width")]
        + DMFTCommon.dataParameters + DMFTCommon.networkModelParameters + DMFTCommon.solverParameters + DMFTCommon.outputParameters

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let pr = try DMFTCommon.problem(p)
        let th = try DMFTCommon.solveTheory(pr, p, ctx, denseKernels: true)
        let widths = p.ints("widths").sorted()
        var table = ResultTable()
        var lossDiff: [Double] = [], lossSE: [Double] = []
        var align: [[Double]] = [], alignG: [[Double]] = []
        var curves: [(String, KernelTrajectory, Plot.Style)] = [("DMFT", th.trajectory, .line)]
        for (k, w) in widths.enumerated() {
            ctx.log("training \(p.int("seeds")) networks of width \(w)")
            let runs = try NetworkTrainer(problem: pr, width: w).trainEnsemble(seed: ctx.seed, members: p.int("seeds"), point: UInt64(k), threads: ctx.threads)
            let mean = KernelTrajectory.mean(runs)
            curves.append(("N = \(w)", mean, .points))
            lossDiff.append(abs(mean.finalLoss - th.trajectory.finalLoss))
            lossSE.append(runs.count > 1 ? Statistics.standardError(runs.map(\.finalLoss)) : .nan)
            align.append((1...pr.depth).map { KernelComparison.alignment(th.trajectory, mean, layer: $0, kernel: .phi) })
            alignG.append((1...pr.depth).map { KernelComparison.alignment(th.trajectory, mean, layer: $0, kernel: .g) })
        }
        table.add("width", widths.map(Double.init))
        table.add("final_loss_abs_difference", lossDiff)
        table.add("final_loss_standard_error", lossSE)
        for l in 1...pr.depth {
            table.add("alignment_phi_layer\(l)", align.map { $0[l - 1] })
            table.add("alignment_g_layer\(l)", alignG.map { $0[l - 1] })
        }
        var out = TaskOutput(summary: .object([
            ("solver", .string(th.solver)), ("record", DMFTCommon.recordJSON(th.record)),
            ("dmft_final_loss", .number(th.trajectory.finalLoss)), ("widths", .array(widths.map { .int($0) })),
            ("final_loss_abs_difference", .numbers(lossDiff)),
            ("alignment_phi", .array(align.map { .numbers($0) })), ("alignment_g", .array(alignG.map { .numbers($0) })),
        ]))
        out.effectiveParameters = DMFTCommon.effectiveParameters(p, pr.data)
        out.tables = [("width_sweep", table), ("dmft_loss", DMFTCommon.lossTable(th.trajectory, eta: pr.eta))]
        if p.bool("save_kernels") { out.arrays = DMFTCommon.kernelArrays(th.trajectory, prefix: "dmft_") }
        var ap = Plot(title: "kernel alignment DMFT vs networks", xLabel: "width N", yLabel: "A(Phi^l_DMFT, Phi^l_NN)", xLog: true)
        for l in 1...pr.depth {
            ap.series.append(Plot.Series(label: "Phi^\(l)", x: widths.map(Double.init), y: align.map { $0[l - 1] }, style: .linePoints, color: l - 1))
        }
        out.plots = [("loss", DMFTCommon.lossPlot(curves, title: "loss: DMFT vs networks", eta: pr.eta)), ("alignment", ap)]
        out.records = [("dmft", th.record)]
        let minAlign = (align.last! + alignG.last!).min()!
        out.agreement = [Agreement(statistic: "min per-layer kernel alignment at N = \(widths.last!)", value: minAlign,
                                   tolerance: p.double("alignment_tolerance"), higherIsBetter: true,
                                   detail: "full (T,P,T,P) tensors of Phi^l and G^l")]
        return out
    }
}
