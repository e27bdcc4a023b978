import Foundation
import LinearAlgebra
import NumericalCore
import MeanFieldDynamics

/// Parameters and helpers shared by the `solvable dmft` commands.
enum DMFTCommon {
    static let dataParameters: [ParameterSpec] = [
        ParameterSpec("points", .int(1...5000), default: .int(10), help: "training points P (synthetic data)"),
        ParameterSpec("dim", .int(1...100_000), default: .int(25), help: "input dimension D (synthetic data)"),
        ParameterSpec("test_points", .int(0...5000), default: .int(0), help: "synthetic test points (carried in kernels, left out of Delta-sums)"),
        ParameterSpec("labels", .choice(DMFTData.Labels.allCases.map(\.rawValue)), default: .string("binary"),
                      help: "synthetic targets: binary (first half +1, second half -1) or a linear teacher"),
        ParameterSpec("data_seed", .int(0...Int(Int32.max)), default: .int(0), help: "seed of the synthetic data"),
        ParameterSpec("inputs", .file, help: "user training inputs (.npy or .csv, rows are samples); replaces synthetic data"),
        ParameterSpec("targets", .file, help: "user training targets (.npy or .csv, one value per row); with --inputs"),
        ParameterSpec("test_inputs", .file, help: "user test inputs (.npy or .csv, rows are samples)"),
        ParameterSpec("test_targets", .file, help: "user test targets (optional)"),
    ]

    static let modelParameters: [ParameterSpec] = [
        ParameterSpec("activation", .choice(Activation.names), default: .string("linear"), help: "nonlinearity phi"),
        ParameterSpec("gain", .double(1e-3...100), default: .double(1), help: "beta of tanh: phi(h) = tanh(beta h)/beta"),
        ParameterSpec("depth", .int(1...32), default: .int(3), help: "hidden layers L"),
        ParameterSpec("gamma0", .double(0...100), default: .double(1), help: "feature-learning strength gamma0"),
        ParameterSpec("eta", .double(1e-9...1e3), default: .double(0.1), help: "learning rate eta (network: eta gamma0^2 N)"),
        ParameterSpec("steps", .int(1...100_000), default: .int(50), help: "grid times T (t = 0..T-1)"),
    ]

    static let solverParameters: [ParameterSpec] = [
        ParameterSpec("solver", .choice(["auto", "linear", "linear-dense", "mc"]), default: .string("auto"),
                      help: "auto: deep linear solver on low-rank factors for linear phi (dense fallback when the rank is not small), Monte Carlo otherwise; linear-dense: the dense (TP)^2 reference solver"),
        ParameterSpec("samples", .int(2...10_000_000), default: .int(1000), help: "Monte Carlo paths S"),
        ParameterSpec("damping", .double(0.01...1), help: "damping alpha (default 1 linear, 0.7 Monte Carlo)"),
        ParameterSpec("iterations", .int(1...100_000), help: "maximum sweeps/iterations (default 200 linear, 50 Monte Carlo)"),
        ParameterSpec("tolerance", .double(1e-16...1), help: "tolerance on rho (default 1e-8 linear, 0.01/sqrt(S) Monte Carlo)"),
        ParameterSpec("replicas", .int(1...1000), default: .int(1), help: "independent Monte Carlo replicas (standard errors)"),
        ParameterSpec("fresh_samples", .bool, default: .bool(false), help: "fresh Monte Carlo normals each iteration (default: common random numbers)"),
        ParameterSpec("exact_delta", .bool, default: .bool(false), help: "exact discrete-time Delta update in Monte Carlo (default Euler)"),
    ]

    /// Checkpointing of the Monte Carlo solver (the closed-form deep linear solver needs none: seconds per solve).
    static let checkpointParameters: [ParameterSpec] = [
        ParameterSpec("checkpoint", .string,
                      help: "Monte Carlo checkpoint file; a rerun with the same parameters and seed resumes from it (default with --out: OUT/dmft-<verb>.checkpoint; \"none\" disables); deleted once the outputs are written"),
        ParameterSpec("checkpoint_interval", .double(0...1e7), default: .number(60), help: "seconds between checkpoint writes (0: after every iteration)"),
    ]

    /// The checkpoint of a Monte Carlo solve: `--checkpoint PATH`, else `name` in the context's checkpoint directory
    /// (`--out`, or the sweep point's), else none.
    static func checkpoint(_ p: Parameters, _ ctx: RunContext, name: String) throws -> Checkpoint? {
        let path = p.optionalString("checkpoint") ?? ctx.checkpointDirectory.map { URL(fileURLWithPath: $0).appendingPathComponent(name).path }
        guard let path, path != "none" else { return nil }
        return try Checkpoint(path: path, interval: p.double("checkpoint_interval"))
    }

    static let outputParameters: [ParameterSpec] = [
        ParameterSpec("save_kernels", .bool, default: .bool(true), help: "write Phi^l, G^l as .npy ([T,P,T,P] or [T,T]) and the NTK [T,P,P]"),
    ]

    /// Dense Phi^l files up to this size per layer with `--kernel-format auto` (T n = 4096: 128 MiB); factors beyond.
    static let denseKernelBytesLimit = 8 * 4096 * 4096

    /// How the deep linear solver's Phi^l = H^l are written (the low-rank solver holds them as factors).
    static let kernelFormatParameters: [ParameterSpec] = [
        ParameterSpec("kernel_format", .choice(["auto", "dense", "factored"]), default: .string("auto"),
                      help: "deep linear Phi^l as dense [T,P,T,P] .npy (dense) or as factors [T,P,r] with Phi = F F^T (factored); auto: dense up to T n = 4096, factored beyond"),
    ]

    static func data(_ p: Parameters) throws -> DMFTData {
        if let path = p.optionalString("inputs") {
            guard let tpath = p.optionalString("targets") else {
                throw SolvableError.invalidParameter(name: "targets", value: "missing", allowed: "a targets file with --inputs")
            }
            let xs = try CSV.readRows(path)
            let ys = try CSV.readRows(tpath).flatMap { $0 }
            let tx = try p.optionalString("test_inputs").map { try CSV.readRows($0) } ?? []
            let ty = try p.optionalString("test_targets").map { try CSV.readRows($0).flatMap { $0 } } ?? []
            return try DMFTData(trainInputs: xs, targets: ys, testInputs: tx, testTargets: ty)
        }
        return try DMFTData.synthetic(trainPoints: p.int("points"), inputDimension: p.int("dim"), testPoints: p.int("test_points"),
                                      labels: DMFTData.Labels(rawValue: p.string("labels"))!, seed: UInt64(p.int("data_seed")))
    }

    static func problem(_ p: Parameters, gamma0: Double? = nil) throws -> DMFTProblem {
        let act = try Activation.named(p.string("activation"), gain: p.double("gain"))
        return try DMFTProblem(data: data(p), depth: p.int("depth"), activation: act, gamma0: gamma0 ?? p.double("gamma0"),
                               eta: p.double("eta"), timeSteps: p.int("steps"))
    }

    static func monteCarloOptions(_ p: Parameters) -> NonlinearDMFTOptions {
        var o = NonlinearDMFTOptions(samples: p.int("samples"), replicas: p.int("replicas"))
        if let d = p.optionalDouble("damping") { o.damping = d }
        if let i = p.optionalInt("iterations") { o.maxIterations = i }
        o.tolerance = p.optionalDouble("tolerance")
        o.freshSamples = p.bool("fresh_samples")
        o.exactDelta = p.bool("exact_delta")
        return o
    }

    static func linearOptions(_ p: Parameters) -> DeepLinearDMFTOptions {
        var o = DeepLinearDMFTOptions()
        if let d = p.optionalDouble("damping") { o.damping = d }
        if let i = p.optionalInt("iterations") { o.maxIterations = i }
        if let t = p.optionalDouble("tolerance") { o.tolerance = t }
        return o
    }

    /// A solved DMFT as the commands use it.
    struct TheorySolution {
        var trajectory: KernelTrajectory
        var record: ConvergenceRecord
        /// Which solver ran, in words.
        var solver: String
        /// Loss standard errors over Monte Carlo replicas.
        var lossSE: [Double]?
        /// Phi^l = H^l as factors (deep linear, factored kernel format); `trajectory.kernelPhi` is then empty.
        var factoredKernels: [FactoredKernel]?
        /// Ranks and method of the low-rank deep linear solver.
        var lowRank: LowRankReport?
    }

    /// Full DMFT: the deep linear DMFT on low-rank factors for linear phi (`LowRankDeepLinearDMFT`, exact; it falls
    /// back to the dense solver by itself when the rank is not small), the dense deep linear solver with
    /// `--solver linear-dense`, Monte Carlo otherwise or with `--solver mc`. `denseKernels`: always return dense Phi^l
    /// (refused when they do not fit in memory), for commands that compare full kernels.
    static func solveTheory(_ pr: DMFTProblem, _ p: Parameters, _ ctx: RunContext, checkpoint: Checkpoint? = nil,
                            denseKernels: Bool = false) throws -> TheorySolution {
        let choice = p.string("solver")
        if (choice == "linear" || choice == "linear-dense") && pr.activation.kind != .linear {
            throw SolvableError.invalidParameter(name: "solver", value: choice, allowed: "\(choice) only with --activation linear")
        }
        let progress: (IterationReport) -> Void = { r in ctx.log("sweep \(r.iteration): rho = \(r.residual)") }
        if choice == "linear-dense" {
            let s = try DeepLinearDMFT.solve(pr, options: linearOptions(p), progress: progress)
            return TheorySolution(trajectory: s.trajectory, record: s.record, solver: "deep linear, dense reference (closed form, Gauss-Seidel sweeps)")
        }
        if pr.activation.kind == .linear && choice != "mc" {
            let s = try LowRankDeepLinearDMFT.solveFactored(pr, options: linearOptions(p), progress: progress)
            ctx.log(s.report.summary)
            var tr = s.trajectory
            let format = denseKernels ? "dense" : p.string("kernel_format")
            let factored = format == "factored" || (format == "auto" && (s.kernels.first?.denseBytes ?? 0) > denseKernelBytesLimit)
            if !factored { tr.kernelPhi = try s.kernels.map { try $0.dense() } }
            let how = s.report.method == "low-rank" ? "deep linear on low-rank factors (exact forward pass, verified by sweeps)"
                : "deep linear, dense solver (fallback: the rank is not small)"
            return TheorySolution(trajectory: tr, record: s.record, solver: how, factoredKernels: factored ? s.kernels : nil, lowRank: s.report)
        }
        var options = monteCarloOptions(p)
        options.checkpoint = checkpoint
        var last = 0.0   // the per-iteration time (progress runs on the solving thread, one report at a time)
        let s = try NonlinearDMFT.solve(pr, options: options, seed: ctx.seed, threads: ctx.threads, progress: { r in
            ctx.log("iteration \(r.iteration): rho = \(r.residual), \(String(format: "%.2f", r.elapsed - last)) s")
            last = r.elapsed
        }, log: ctx.log)
        return TheorySolution(trajectory: s.trajectory, record: s.record, solver: "alternating Monte Carlo (S = \(p.int("samples")))",
                              lossSE: p.int("replicas") > 1 ? s.lossStandardError : nil)
    }

    /// The low-rank solver's ranks for result.json.
    static func lowRankJSON(_ r: LowRankReport) -> JSONValue {
        .object([("method", .string(r.method)), ("kernel_ranks", .array(r.kernelRanks.map { .int($0) })),
                 ("factor_widths", .array(r.factorWidths.map { .int($0) })),
                 ("kernel_rank_bounds", .array(r.kernelRankBounds.map { .int($0) })),
                 ("gradient_ranks", .array(r.gradientRanks.map { .int($0) })),
                 ("max_left_out_weight", .number(r.maxDiscarded))])
    }

    /// Alignment of the final with the initial equal-time Phi^l (paper Fig. 2c).
    static func kernelMovement(_ th: TheorySolution, layer l: Int) -> Double {
        guard let f = th.factoredKernels else { return KernelComparison.kernelMovement(th.trajectory, layer: l) }
        let k = f[l - 1]
        return Statistics.alignment(k.block(time: k.timeSteps - 1, k.timeSteps - 1).storage, k.block(time: 0, 0).storage)
    }

    /// Loss/Delta table over grid time and t * eta / P.
    static func lossTable(_ tr: KernelTrajectory, eta: Double, label: String = "loss", standardError: [Double]? = nil) -> ResultTable {
        var t = ResultTable()
        t.add("t", (0..<tr.timeSteps).map(Double.init))
        t.add("tau", (0..<tr.timeSteps).map { Double($0) * eta / Double(tr.trainCount) })
        t.add(label, tr.loss)
        if let se = standardError { t.add("\(label)_standard_error", se) }
        return t
    }

    /// Kernel files; Phi^l as factors [T, n, r] (`phi_layer{l}_factor`) when `factored` is given.
    static func kernelArrays(_ tr: KernelTrajectory, prefix: String = "", factored: [FactoredKernel]? = nil) -> [(name: String, array: NDArray)] {
        var out: [(name: String, array: NDArray)] = []
        for l in 1...tr.depth where tr.kernelPhi.count >= l || (factored?.count ?? 0) >= l {
            if let f = factored { out.append(("\(prefix)phi_layer\(l)_factor", f[l - 1].factorArray())) }
            else { out.append(("\(prefix)phi_layer\(l)", tr.phiArray(layer: l))) }
            out.append(("\(prefix)g_layer\(l)", tr.gArray(layer: l)))
        }
        out.append(("\(prefix)ntk", tr.ntkArray()))
        out.append(("\(prefix)delta", NDArray(rows: tr.delta)))
        out.append(("\(prefix)predictions", NDArray(rows: tr.predictions)))
        return out
    }

    /// Heatmaps of the sample-averaged Phi^l(t, s) and G^l(t, s).
    static func heatmaps(_ tr: KernelTrajectory, title: String, factored: [FactoredKernel]? = nil) -> [(name: String, plot: Plot)] {
        var out: [(name: String, plot: Plot)] = []
        for l in 1...tr.depth where tr.kernelPhi.count >= l || (factored?.count ?? 0) >= l {
            for kind in ["Phi", "G"] {
                let vals = kind == "Phi" && factored != nil ? factored![l - 1].sampleTrace()
                    : KernelTrajectory.sampleTrace(kind == "Phi" ? tr.kernelPhi[l - 1] : tr.kernelG[l - 1], timeSteps: tr.timeSteps, points: tr.pointCount)
                out.append(("\(kind.lowercased())_layer\(l)_heatmap",
                            Plot(title: "\(title): \(kind)^\(l)(t, s), mean over samples", xLabel: "s", yLabel: "t",
                                 heatmap: Plot.Heatmap(values: vals, colorbarLabel: "\(kind)^\(l)"))))
            }
        }
        return out
    }

    static func lossPlot(_ curves: [(String, KernelTrajectory, Plot.Style)], title: String, eta: Double) -> Plot {
        var plot = Plot(title: title, xLabel: "t", yLabel: "loss", yLog: true)
        for (k, c) in curves.enumerated() {
            plot.series.append(Plot.Series(label: c.0, x: (0..<c.1.timeSteps).map(Double.init), y: c.1.loss.map { max($0, 1e-300) },
                                           style: c.2, color: k))
        }
        return plot
    }

    static func recordJSON(_ r: ConvergenceRecord) -> JSONValue {
        .object([("status", .string(r.status.rawValue)), ("iterations", .int(r.iterations)),
                 ("final_residual", .number(r.finalResidual)), ("tolerance", .number(r.tolerance)),
                 ("seconds", .number(r.elapsedSeconds)), ("message", r.message.map { .string($0) } ?? .null)])
    }
}
