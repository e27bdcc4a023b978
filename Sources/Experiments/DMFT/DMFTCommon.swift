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
        ParameterSpec("inputs", .file, help: "user training inputs (.npy or .csv, rows are samples unless --inputs-layout features-first); replaces synthetic data"),
        ParameterSpec("inputs_layout", .choice(["auto", "samples-first", "features-first"]), default: .string("auto"),
                      help: "layout of --inputs/--test-inputs: samples-first (P x D, Solvable's) or features-first (D x P, the official notebooks'); auto reads P x D and refuses a square X, which is ambiguous"),
        ParameterSpec("kernel", .file, help: "precomputed input kernel K^x = X X^T / D (P x P, symmetric positive semi-definite; .npy or .csv) instead of --inputs; with --targets"),
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

    /// The model parameters of commands that train networks: gamma0 > 0 there (the output carries 1/gamma0), so
    /// `--help` states the range the check enforces.
    static let networkModelParameters: [ParameterSpec] = modelParameters.map { spec in
        spec.name == "gamma0" ? ParameterSpec("gamma0", .double(1e-6...100), default: .double(1),
                                              help: "feature-learning strength gamma0 (> 0 for networks: the output carries 1/gamma0)") : spec
    }

    static let outputParameters: [ParameterSpec] = [
        ParameterSpec("save_kernels", .bool, default: .bool(true), help: "write Phi^l, G^l as .npy ([T,P,T,P] or [T,T]) and the NTK [T,P,P]"),
    ]

    /// With `--inputs` the data's own sizes replace the synthetic-data parameters in the manifest.
    static func effectiveParameters(_ p: Parameters, _ data: DMFTData) -> [(String, JSONValue)] {
        guard p.optionalString("inputs") != nil || p.optionalString("kernel") != nil else { return [] }
        return [("points", .int(data.trainCount)), ("dim", .int(data.inputDimension)), ("test_points", .int(data.testCount)),
                ("labels", .string("from --targets")), ("data_seed", .string("unused (user data)"))]
    }

    /// Dense Phi^l files up to this size per layer with `--kernel-format auto` (T n = 4096: 128 MiB); factors beyond.
    static let denseKernelBytesLimit = 8 * 4096 * 4096

    /// How the deep linear solver's Phi^l = H^l are written (the low-rank solver holds them as factors).
    static let kernelFormatParameters: [ParameterSpec] = [
        ParameterSpec("kernel_format", .choice(["auto", "dense", "factored"]), default: .string("auto"),
                      help: "deep linear Phi^l as dense [T,P,T,P] .npy (dense) or as factors [T,P,r] with Phi = F F^T (factored); auto: dense up to T n = 4096, factored beyond"),
    ]

    static func data(_ p: Parameters) throws -> DMFTData {
        // data files without --inputs would be silently replaced by synthetic data
        for name in ["targets", "test_inputs", "test_targets"] where p.optionalString(name) != nil && p.optionalString("inputs") == nil && p.optionalString("kernel") == nil {
            throw SolvableError.invalidParameter(name: name, value: p.optionalString(name)!, allowed: "a file given together with --inputs (without --inputs the data are synthetic)")
        }
        if let kpath = p.optionalString("kernel") {
            guard p.optionalString("inputs") == nil, p.optionalString("test_inputs") == nil else {
                throw SolvableError.invalidParameter(name: "kernel", value: kpath, allowed: "either --kernel or --inputs/--test-inputs, not both")
            }
            guard let tpath = p.optionalString("targets") else {
                throw SolvableError.invalidParameter(name: "targets", value: "missing", allowed: "a targets file with --kernel")
            }
            return try DMFTData(trainInputs: inputs(fromKernel: CSV.readRows(kpath)), targets: CSV.readRows(tpath).flatMap { $0 })
        }
        if let path = p.optionalString("inputs") {
            guard let tpath = p.optionalString("targets") else {
                throw SolvableError.invalidParameter(name: "targets", value: "missing", allowed: "a targets file with --inputs")
            }
            let layout = p.string("inputs_layout")
            let xs = try oriented(CSV.readRows(path), layout: layout, name: "inputs")
            let ys = try CSV.readRows(tpath).flatMap { $0 }
            let tx = try p.optionalString("test_inputs").map { try oriented(CSV.readRows($0), layout: layout, name: "test_inputs") } ?? []
            let ty = try p.optionalString("test_targets").map { try CSV.readRows($0).flatMap { $0 } } ?? []
            return try DMFTData(trainInputs: xs, targets: ys, testInputs: tx, testTargets: ty)
        }
        return try DMFTData.synthetic(trainPoints: p.int("points"), inputDimension: p.int("dim"), testPoints: p.int("test_points"),
                                      labels: DMFTData.Labels(rawValue: p.string("labels"))!, seed: UInt64(p.int("data_seed")))
    }

    /// Rows are samples: transposes a features-first (D x P) array; `auto` refuses a square one, whose
    /// orientation cannot be told from its shape.
    static func oriented(_ rows: [[Double]], layout: String, name: String) throws -> [[Double]] {
        let r = rows.count, c = rows.first?.count ?? 0
        switch layout {
        case "features-first": return (0..<c).map { j in rows.map { $0[j] } }
        case "samples-first": return rows
        default:
            if r == c && r > 1 {
                throw SolvableError.invalidParameter(name: "inputs_layout", value: "auto (\(name) is \(r) x \(c), square)",
                                                     allowed: "samples-first (rows are samples, P x D) or features-first (columns are samples, D x P, as in the official notebooks)")
            }
            return rows
        }
    }

    /// Inputs with the given kernel: the DMFT and the networks see the data only through K^x = X X^T / D
    /// (the first layer's weights are isotropic Gaussians), so any X with that Gram matrix gives the same
    /// dynamics. With K^x = V diag(λ) V^T, X = √P V diag(√λ) (D = P); eigenvalues below -1e-10 max|λ| are refused.
    static func inputs(fromKernel k: [[Double]]) throws -> [[Double]] {
        let n = k.count
        guard n > 0, k.allSatisfy({ $0.count == n }) else {
            throw SolvableError.invalidParameter(name: "kernel", value: "\(n) x \(k.first?.count ?? 0)", allowed: "a square P x P matrix")
        }
        for i in 0..<n { for j in 0..<n where !k[i][j].isFinite || abs(k[i][j] - k[j][i]) > 1e-10 * max(1, abs(k[i][j])) {
            throw SolvableError.invalidParameter(name: "kernel", value: "K[\(i)][\(j)] = \(k[i][j]), K[\(j)][\(i)] = \(k[j][i])", allowed: "a finite symmetric matrix")
        } }
        let e = try LAPACK.symmetricEigen(Matrix(rows: n, cols: n) { i, j in k[i][j] })
        let top = e.values.map(abs).max() ?? 0
        if let worst = e.values.min(), worst < -1e-10 * top {
            throw SolvableError.invalidParameter(name: "kernel", value: "smallest eigenvalue \(worst)", allowed: "a positive semi-definite matrix (X X^T / D)")
        }
        let scale = e.values.map { Double(n).squareRoot() * max(0, $0).squareRoot() }
        return (0..<n).map { i in (0..<n).map { j in e.vectors[i, j] * scale[j] } }
    }

    /// `--loss-convention`: Solvable's loss is (1/2P) Σ_μ Δ_μ²; the official notebooks report mean(Δ²) = twice it.
    static let lossParameters: [ParameterSpec] = [
        ParameterSpec("loss_convention", .choice(["half-mean", "mean"]), default: .string("half-mean"),
                      help: "loss written to outputs: half-mean (1/2P) sum Delta^2 (Solvable's, the papers') or mean (1/P) sum Delta^2 (the official notebooks')"),
    ]

    /// The factor outputs apply to the loss (and its standard error) under `--loss-convention`.
    static func lossFactor(_ p: Parameters) -> Double { p.string("loss_convention") == "mean" ? 2 : 1 }

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
        let live = SolverProgress(pr.activation.kind == .linear && choice != "mc" ? "deep linear DMFT" : "Monte Carlo DMFT")
        defer { live.finish() }
        let progress: (IterationReport) -> Void = { r in live.report(r); ctx.log("sweep \(r.iteration): rho = \(r.residual)") }
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
            live.report(r)
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
