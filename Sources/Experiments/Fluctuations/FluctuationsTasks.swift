import Foundation
import LinearAlgebra
import NumericalCore
import FiniteWidthFluctuations

/// Shared parameters and helpers of the `solvable fluctuations` commands.
enum FluctuationsCommon {
    static let models = ["two-layer", "lazy", "deep-init", "eos", "online", "deep-linear"]

    static let problemParameters: [ParameterSpec] = [
        ParameterSpec("model", .choice(models), default: .string("two-layer"),
                      help: "two-layer (any activation, P = 1 + test point; linear uses the exact closed form), lazy (universal P = 1 curve), deep-init (depth accumulation at initialization), eos (uncentered two-layer linear, large eta), online (online learning excess error), deep-linear (trained deep linear network, P = 1, Hessian of the DMFT action; (6L-2)T^2 + 2T variables, keep T <= ~20)"),
        ParameterSpec("activation", .string, default: .string("tanh"), help: "linear, relu (sqrt(2) ReLU), tanh (tanh(0.4h)/0.4) or tanh:A"),
        ParameterSpec("gamma0", .double(1e-6...1e6), default: .double(1), help: "feature-learning strength gamma0"),
        ParameterSpec("eta", .double(1e-9...100), default: .double(0.05), help: "learning rate eta (the network's is eta gamma0^2 N)"),
        ParameterSpec("y", .double(-1e6...1e6), default: .double(1), help: "target of the training point"),
        ParameterSpec("steps", .int(2...100_000), default: .int(100), help: "number of grid times T (t = 0..T-1)"),
        ParameterSpec("test_overlap", .double(-1...1), default: .double(0.5.squareRoot()), help: "test-point overlap x.x_*/D (two-layer)"),
        ParameterSpec("depth", .int(1...1000), default: .int(6), help: "hidden layers L (deep-init)"),
        ParameterSpec("input_dimension", .int(1...100_000), default: .int(10), help: "input dimension D (online)"),
        ParameterSpec("quadrature_order", .int(8...200), default: .int(40), help: "Gauss-Hermite nodes per dimension for (u, r) of the two-layer propagator (the test direction uses a quarter)"),
    ]

    static func activation(_ p: Parameters) throws -> FluctuationActivation { try FluctuationActivation.parse(p.string("activation")) }

    static func problem(_ p: Parameters, centered: Bool = true) throws -> TwoLayerProblem {
        try TwoLayerProblem.singlePoint(activation: activation(p), gamma0: p.double("gamma0"), eta: p.double("eta"), y: p.double("y"),
                                        steps: p.int("steps"), testOverlap: p.double("test_overlap"), centered: centered)
    }

    static func theoryOptions(_ p: Parameters, seed: UInt64) throws -> TwoLayerTheoryOptions {
        let n = p.int("quadrature_order")
        return try TwoLayerTheoryOptions(seed: seed, quadratureOrder: n, testQuadratureOrder: max(4, n / 4))
    }

    static func times(_ T: Int) -> [Double] { (0..<T).map(Double.init) }

    /// Every k-th entry of a time-major series with `stride` values per time.
    static func column(_ x: [Double], _ j: Int, stride: Int) -> [Double] { (0..<(x.count / stride)).map { x[$0 * stride + j] } }

    static func theoryCurves(_ p: Parameters, _ ctx: RunContext) throws -> (names: [String], mean: [[Double]], variance: [[Double]], records: [ConvergenceRecord], notes: [(String, JSONValue)]) {
        let T = p.int("steps")
        switch p.string("model") {
        case "two-layer":
            let pr = try problem(p)
            if pr.activation == .linear {
                let s = try TwoLayerLinearSetting(gamma0: pr.gamma0, eta: pr.eta, y: p.double("y"), steps: T)
                let (m, v) = TwoLayerLinearExact.variance(s)
                return (["delta", "kernel"], [m.delta, m.kernel], [v.delta, v.kernel], [.closedForm()],
                        [("method", .string("exact discrete-time reduction 8[(dq/dA)^2 + (dq/dB)^2] (no test point)"))])
            }
            let th = try pr.fluctuationTheory(theoryOptions(p, seed: ctx.seed))
            return (["delta", "kernel", "kernel_test", "test_output"],
                    [th.mean.delta, column(th.mean.kernel, 0, stride: 2), column(th.mean.kernel, 1, stride: 2), th.mean.testOutput],
                    [th.variance.delta, column(th.variance.kernel, 0, stride: 2), column(th.variance.kernel, 1, stride: 2), th.variance.testOutput],
                    [th.record], [("method", .string("exact discrete-time propagator, Gauss-Hermite quadrature"))])
        case "lazy":
            let act = try activation(p)
            let (K, kappa) = try LazyFluctuations.twoLayerKernelStatistics(act)
            let y = p.double("y"), eta = p.double("eta")
            let v = LazyFluctuations.universalVariance(kappa: kappa, kernel: K, y: y, eta: eta, steps: T)
            let vc = LazyFluctuations.universalVariance(kappa: kappa, kernel: K, y: y, eta: eta, steps: T, discrete: false)
            let mean = (0..<T).map { y * pow(1 - eta * K, Double($0)) }
            return (["delta", "delta_continuous_time"], [mean, mean], [v, vc], [.closedForm()],
                    [("kernel", .number(K)), ("kappa", .number(kappa))])
        case "deep-init":
            let L = p.int("depth")
            let (cp, cg) = try DeepInitFluctuations.theory(activation(p), depth: L)
            return (["phi", "gradient"], [[Double](repeating: 1, count: L), [Double](repeating: 1, count: L)],
                    [cp.diagonalElements, cg.diagonalElements], [.closedForm()],
                    [("note", .string("index = layer l - 1; N Cov = V min(l, l') forward, V min(L-l+1, L-l'+1) backward"))])
        case "deep-linear":
            let pr = try DeepLinearPropagator(depth: p.int("depth"), steps: T, gamma0: p.double("gamma0"), eta: p.double("eta"), y: p.double("y"))
            let f = try pr.fluctuations(maxIterations: p.int("max_iterations"), tolerance: p.double("tolerance"))
            return (["delta", "kernel"], [f.delta, f.kernel], [f.varDelta, f.varKernel], [f.record],
                    [("method", .string("Hessian of the full DMFT action (docs/theory/finite-width.md §6), exact discrete-time Delta; \(pr.variableCount) variables")),
                     ("kernel_signal_to_noise", .numbers(zip(f.kernel, f.varKernel).map { $1 > 0 ? $0 * $0 / $1 : 0 }))])
        case "eos":
            let s = try TwoLayerLinearSetting(gamma0: p.double("gamma0"), eta: p.double("eta"), y: p.double("y"), steps: T, centered: false)
            let (m, v) = TwoLayerLinearExact.variance(s)
            let rec = eosRecord(m)
            return (["delta", "output", "kernel"], [m.delta, m.output, m.kernel], [v.delta, v.output, v.kernel], [rec],
                    [("gradient_flow_final_kernel", .number(TwoLayerLinearExact.gradientFlowFinalKernel(gamma0: s.gamma0, y: s.y))),
                     ("stability_threshold_2_over_eta", .number(2 / s.eta)), ("training_converged", .bool(trainingConverged(m))),
                     ("training_note", .string(rec.message ?? "Delta(T-1) below 1e-3"))])
        default:
            let s = try OnlineSetting(gamma0: p.double("gamma0"), eta: p.double("eta"), inputDimension: p.int("input_dimension"), steps: T)
            let th = try OnlineFluctuations.theory(s)
            let D = Double(s.inputDimension)
            return (["delta", "sigma_delta", "sigma_perp", "excess_error_times_N"],
                    [th.delta, th.delta, th.delta, th.delta.map { $0 * $0 }],
                    [th.sigmaDelta, th.sigmaDelta, th.sigmaPerp, zip(th.sigmaDelta, th.sigmaPerp).map { $0 + (D - 1) * $1 }], [.closedForm()],
                    [("note", .string("E|beta - beta*|^2 = Delta^2 + [Sigma_Delta + (D-1) Sigma_perp]/N + bias (measured)"))])
        }
    }

    /// Edge-of-stability runs may fail to converge in *training* (eta gamma0 |Delta| >~ 1 flips the m-mode, or K
    /// oscillates around 2/eta): the theory itself is an exact closed form, so the record stays `converged` and the
    /// message flags the non-converged training error.
    static func eosRecord(_ m: ScalarTrajectory) -> ConvergenceRecord {
        let last = m.delta.last ?? .nan
        var r = ConvergenceRecord.closedForm()
        if !last.isFinite || abs(last) > 1e-3 {
            r.message = "training did not converge: |Delta(T-1)| = \(last) >= 1e-3 (edge of stability: eta gamma0 |Delta| >~ 1 or K oscillating about 2/eta)"
        }
        return r
    }

    static func trainingConverged(_ m: ScalarTrajectory) -> Bool { let l = m.delta.last ?? .nan; return l.isFinite && abs(l) <= 1e-3 }

    static func output(names: [String], x: [Double], columns: [(String, [[Double]])], summaryExtra: [(String, JSONValue)],
                       plotTitle: String, xLabel: String, plotSeries: [(String, [Double], [Double]?)]) -> TaskOutput {
        var t = ResultTable()
        t.add(xLabel, x)
        var summary: [(String, JSONValue)] = [(xLabel, .numbers(x))]
        for (prefix, arrays) in columns {
            for (n, a) in zip(names, arrays) { t.add("\(prefix)_\(n)", a); summary.append(("\(prefix)_\(n)", .numbers(a))) }
        }
        var out = TaskOutput(summary: .object(summary + summaryExtra))
        out.tables = [("fluctuations", t)]
        var plot = Plot(title: plotTitle, xLabel: xLabel, yLabel: "N Var")
        for (k, (label, y, e)) in plotSeries.enumerated() {
            plot.series.append(Plot.Series(label: label, x: x, y: y, yError: e, style: e == nil ? .line : .points, color: k))
        }
        out.plots = [("variance", plot)]
        return out
    }
}

/// `solvable fluctuations theory`: leading-order N Var of order parameters and predictions.
public enum FluctuationsTheoryTask: ComputeTask {
    public static let commandPath = ["fluctuations", "theory"]
    public static let abstract = "Leading-order finite-width variance N Var q(t) = diag[(I - D)^{-1} kappa (I - D)^{-T}] and the DMFT mean."
    public static let discussion = """
    Bordelon & Pehlevan (NeurIPS 2023), 'Dynamics of finite width kernel and prediction fluctuations in mean field neural networks'.
    two-layer: exact discrete-time propagator (gamma0 I + M) dDelta = -eps_q with single-site noise kappa and sensitivities M, D
    (Gauss-Hermite quadrature over the single site); linear activation uses the exact reduction N Var q = 8[(dq/dA)^2 + (dq/dB)^2].
    lazy: kappa y^2 eta^2 t^2 (1 - eta K)^{2(t-1)}. deep-init: V min(l, l'). eos: uncentered two-layer linear at large eta.
    deep-linear: trained deep linear network (P = 1) from the Hessian of the full action, Sigma = -[grad^2 S]^{-1} (exact discrete-time Delta).
    online: Sigma_Delta and Sigma_perp of online learning. The O(1/N) bias of the mean is not computed by theory (see ensemble).
    """
    public static let examples = [
        "solvable fluctuations theory --model two-layer --activation tanh --gamma0 3 --eta 0.05 --steps 40 --quadrature-order 16 --json",
        "solvable fluctuations theory --model lazy --activation relu --eta 0.05 --steps 60",
        "solvable fluctuations theory --model deep-init --activation relu --depth 6",
        "solvable fluctuations theory --model deep-linear --depth 3 --gamma0 1 --eta 0.015 --steps 8",
    ]
    public static let parameters: [ParameterSpec] = FluctuationsCommon.problemParameters + [
        ParameterSpec("max_iterations", .int(1...1_000_000), default: .int(2000),
                      help: "deep-linear: iteration budget of the DMFT saddle (fixed-point sweeps); the other models are closed forms or causal sweeps"),
        ParameterSpec("tolerance", .double(1e-16...1), default: .double(1e-13),
                      help: "deep-linear: saddle tolerance on the largest relative change of a variable per sweep"),
    ]

    /// Name of the solver behind each model's theory record (shown by the CLI when it exits 3).
    public static func solverName(model: String, activation: String) -> String {
        switch model {
        case "deep-linear": return DeepLinearPropagator.saddleSolverName
        case "two-layer": return activation == "linear" ? "two-layer linear exact reduction (closed form)" : "two-layer propagator (causal forward sweep + quadrature)"
        case "eos": return "two-layer linear exact reduction (closed form, edge of stability)"
        default: return "\(model) closed form"
        }
    }

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let c = try FluctuationsCommon.theoryCurves(p, ctx)
        let n = c.mean.first?.count ?? 0
        let x = p.string("model") == "deep-init" ? (1...n).map(Double.init) : FluctuationsCommon.times(n)
        var out = FluctuationsCommon.output(names: c.names, x: x, columns: [("mean", c.mean), ("n_var", c.variance)],
                                            summaryExtra: [("model", .string(p.string("model")))] + c.notes,
                                            plotTitle: "theory N Var (\(p.string("model")))", xLabel: p.string("model") == "deep-init" ? "layer" : "t",
                                            plotSeries: zip(c.names, c.variance).map { ($0, $1, nil) })
        let solver = solverName(model: p.string("model"), activation: p.string("activation"))
        out.records = c.records.enumerated().map { (c.records.count == 1 ? solver : "\(solver) \($0.offset)", $0.element) }
        return out
    }
}

/// `solvable fluctuations ensemble`: N Var and mean deviation over E trained networks.
public enum FluctuationsEnsembleTask: ComputeTask {
    public static let commandPath = ["fluctuations", "ensemble"]
    public static let abstract = "Train E width-N networks (seeded per width and member, in parallel) and measure N Var, the mean and the O(1/N) bias."
    public static let discussion = """
    Two-layer networks are trained by exact full-batch GD in field form (per-neuron preactivation h_i = w_i.x/sqrt(D) and readout,
    identical to weight-space GD to rounding). Standard errors of N Var use the fourth moment (about sqrt(2/E) relative).
    The bias N(mean - DMFT) is measured, not predicted.
    """
    public static let examples = [
        "solvable fluctuations ensemble --model two-layer --activation tanh --gamma0 3 --steps 40 --width 128 --members 200 --json",
        "solvable fluctuations ensemble --model deep-init --activation relu --width 100 --members 200",
        "solvable fluctuations ensemble --model deep-linear --depth 3 --gamma0 1 --eta 0.015 --steps 20 --width 64 --members 50",
    ]
    public static let parameters: [ParameterSpec] = FluctuationsCommon.problemParameters.filter { $0.name != "quadrature_order" } + [
        ParameterSpec("width", .int(2...1_000_000), default: .int(256), help: "network width N"),
        ParameterSpec("members", .int(4...1_000_000), default: .int(500), help: "ensemble size E"),
    ]

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let N = p.int("width"), E = p.int("members"), T = p.int("steps")
        var names: [String] = [], series: [EnsembleSeries] = []
        var extra: [(String, JSONValue)] = [("model", .string(p.string("model"))), ("width", .int(N)), ("members", .int(E))]
        switch p.string("model") {
        case "two-layer", "lazy", "eos":
            let centered = p.string("model") != "eos"
            var pr = try FluctuationsCommon.problem(p, centered: centered)
            if p.string("model") == "eos" { pr = try TwoLayerProblem.singlePoint(activation: .linear, gamma0: pr.gamma0, eta: pr.eta, y: p.double("y"), steps: T, testOverlap: nil, centered: false) }
            let e = try TwoLayerEnsemble(problem: pr, width: N, members: E, seed: ctx.seed)
            names = ["delta", "kernel"]; series = [e.delta, e.kernel.select((0..<T).map { $0 * pr.kernelPairs.count })]
            if pr.testCount > 0 {
                names += ["kernel_test", "test_output"]
                series += [e.kernel.select((0..<T).map { $0 * 2 + 1 }), e.testOutput]
            }
            extra.append(("elapsed_seconds", .number(e.elapsedSeconds)))
        case "deep-init":
            let e = try DeepInitFluctuations.ensemble(FluctuationsCommon.activation(p), width: N, depth: p.int("depth"), members: E, seed: ctx.seed)
            names = ["phi", "gradient"]; series = [e.phi, e.gradient]
        case "deep-linear":
            let e = try DeepLinearEnsemble.ensemble(depth: p.int("depth"), width: N, gamma0: p.double("gamma0"), eta: p.double("eta"),
                                                    y: p.double("y"), steps: T, members: E, seed: ctx.seed)
            names = ["delta", "kernel"]; series = [e.delta, e.kernel]
            let snr = zip(e.kernel.mean, e.kernel.scaledVariance).map { $1 > 0 ? $0 * $0 / $1 : .infinity }.map { $0.isFinite ? $0 : 0 }
            extra.append(("kernel_signal_to_noise_measured", .numbers(snr)))
            extra.append(("note", .string("measured <K>^2/(N Var K); compare with `fluctuations theory --model deep-linear`")))
        default:
            let s = try OnlineSetting(gamma0: p.double("gamma0"), eta: p.double("eta"), inputDimension: p.int("input_dimension"), steps: T)
            let e = try OnlineFluctuations.ensemble(s, width: N, members: E, seed: ctx.seed)
            names = ["squared_error", "beta1", "beta_perp_squared"]; series = [e.error, e.beta1, e.perp]
        }
        let n = series[0].mean.count
        let x = p.string("model") == "deep-init" ? (1...n).map(Double.init) : FluctuationsCommon.times(n)
        var out = FluctuationsCommon.output(names: names, x: x,
                                         columns: [("mean", series.map(\.mean)), ("mean_se", series.map(\.meanStandardError)),
                                                   ("n_var", series.map(\.scaledVariance)), ("n_var_se", series.map(\.scaledVarianceStandardError))],
                                         summaryExtra: extra, plotTitle: "ensemble N Var (N = \(N), E = \(E))",
                                         xLabel: p.string("model") == "deep-init" ? "layer" : "t",
                                         plotSeries: zip(names, series).map { ($0, $1.scaledVariance, $1.scaledVarianceStandardError) })
        out.records = [("ensemble training (full-batch GD of each member)", trainingRecord(series: series, names: names, members: E))]
        return out
    }

    /// Training is not iterative, but a member can blow up (learning rate too large): the record is `diverged` when
    /// any member's trajectory is non-finite, and says how many members and which observables (the CLI exits 3;
    /// output files refuse the NaN statistics).
    public static func trainingRecord(series: [EnsembleSeries], names: [String], members E: Int) -> ConvergenceRecord {
        var bad = Set<Int>(), where_: [String] = []
        for (name, s) in zip(names, series) {
            var any = false
            for (e, v) in s.values.enumerated() where !v.allSatisfy(\.isFinite) { bad.insert(e); any = true }
            if any { where_.append(name) }
        }
        var r = ConvergenceRecord.closedForm()
        if !bad.isEmpty {
            r.status = .diverged
            r.message = "\(bad.count) of \(E) members diverged (non-finite \(where_.joined(separator: ", "))); reduce eta or gamma0"
        }
        return r
    }
}

/// `solvable fluctuations compare`: theory vs ensembles over widths and gamma0, with the 1/N slope of eps_N.
public enum FluctuationsCompareTask: ComputeTask {
    public static let commandPath = ["fluctuations", "compare"]
    public static let abstract = "Two-layer theory vs ensembles over widths and gamma0: N Var with z-scores, the measured bias, and the fitted slope of eps_N = E[(q_N - q_inf)^2] against N."
    public static let examples = [
        "solvable fluctuations compare --activation linear --gamma0s 0.5,1 --widths 64,128,256 --members 200 --steps 30 --json",
        "solvable fluctuations compare --activation tanh --gamma0s 1,3 --widths 64,128,256 --members 200 --steps 25 --quadrature-order 16",
    ]
    public static let parameters: [ParameterSpec] = FluctuationsCommon.problemParameters.filter { !["model", "gamma0", "depth", "input_dimension"].contains($0.name) } + [
        ParameterSpec("gamma0s", .doubleList(1e-6...1e6), default: .array([.double(0.5), .double(1), .double(3)]), help: "gamma0 values"),
        ParameterSpec("widths", .intList(2...1_000_000), default: .array([.int(64), .int(128), .int(256), .int(512), .int(1024)]), help: "widths N (the 1/N slope needs at least 3)"),
        ParameterSpec("members", .int(4...1_000_000), default: .int(1000), help: "ensemble size E per width"),
        ParameterSpec("eval_time", .int(0...100_000), default: .int(20), help: "grid time at which eps_N(t) is fitted against N"),
    ]

    public struct Row { public var gamma0: Double; public var width: Int; public var observable: String; public var time: Int
        public var theory: Double; public var ensemble: Double; public var standardError: Double; public var z: Double
        /// Measured O(1/N) bias times N, N (<q_N> - q_inf), with its standard error (not predicted by theory).
        public var scaledBias: Double; public var scaledBiasStandardError: Double
        /// Two-layer linear only: the exact finite-N bias times N from the chi^2 law of (A_N, B_N) (2-D quadrature).
        public var exactScaledBias: Double? }

    public static func compute(activation: FluctuationActivation, gamma0s: [Double], widths: [Int], members: Int, eta: Double, y: Double,
                               steps: Int, evalTime: Int, quadratureOrder: Int, testOverlap: Double?, seed: UInt64) throws
        -> (rows: [Row], slopes: [(gamma0: Double, observable: String, slope: Double, slopeError: Double, eps: [Double], epsSE: [Double])], records: [ConvergenceRecord]) {
        guard evalTime < steps else { throw SolvableError.invalidParameter(name: "eval_time", value: "\(evalTime)", allowed: "less than steps = \(steps)") }
        var rows: [Row] = [], slopes: [(Double, String, Double, Double, [Double], [Double])] = [], records: [ConvergenceRecord] = []
        let tps = Array(Set([steps / 10, steps / 4, steps / 2, steps - 1, evalTime])).filter { $0 > 0 }.sorted()
        for (gi, g) in gamma0s.enumerated() {
            let linear = activation == .linear
            let pr = try TwoLayerProblem.singlePoint(activation: activation, gamma0: g, eta: eta, y: y, steps: steps, testOverlap: linear ? nil : testOverlap)
            var meanTh: [String: [Double]] = [:], varTh: [String: [Double]] = [:]
            if linear {
                let (m, v) = TwoLayerLinearExact.variance(try TwoLayerLinearSetting(gamma0: g, eta: eta, y: y, steps: steps))
                meanTh = ["delta": m.delta, "kernel": m.kernel]; varTh = ["delta": v.delta, "kernel": v.kernel]
                records.append(.closedForm())
            } else {
                let th = try pr.fluctuationTheory(TwoLayerTheoryOptions(seed: seed, quadratureOrder: quadratureOrder, testQuadratureOrder: max(4, quadratureOrder / 4)))
                let np = pr.kernelPairs.count
                meanTh = ["delta": th.mean.delta, "kernel": FluctuationsCommon.column(th.mean.kernel, 0, stride: np), "test_output": th.mean.testOutput]
                varTh = ["delta": th.variance.delta, "kernel": FluctuationsCommon.column(th.variance.kernel, 0, stride: np), "test_output": th.variance.testOutput]
                records.append(th.record)
            }
            var eps: [String: ([Double], [Double])] = [:]
            for N in widths {
                let e = try TwoLayerEnsemble(problem: pr, width: N, members: members, seed: seed &+ UInt64(gi) &* 1_000_003)
                let np = pr.kernelPairs.count
                let obs: [(String, EnsembleSeries)] = [("delta", e.delta), ("kernel", e.kernel.select((0..<steps).map { $0 * np }))]
                    + (pr.testCount > 0 ? [("test_output", e.testOutput)] : [])
                for (name, s) in obs {
                    guard let vt = varTh[name], let mt = meanTh[name] else { continue }
                    let bias = s.scaledBias(reference: mt)
                    var exact: [Double]? = nil
                    if linear {
                        let law = TwoLayerLinearExact.finiteWidthLaw(width: N, try TwoLayerLinearSetting(gamma0: g, eta: eta, y: y, steps: steps), order: 120)
                        let lm = name == "delta" ? law.mean.delta : law.mean.kernel
                        exact = zip(lm, mt).map { Double(N) * ($0 - $1) }
                    }
                    for t in tps {
                        let z = Statistics.zScore(observed: s.scaledVariance[t], expected: vt[t], standardError: s.scaledVarianceStandardError[t])
                        rows.append(Row(gamma0: g, width: N, observable: name, time: t, theory: vt[t], ensemble: s.scaledVariance[t],
                                        standardError: s.scaledVarianceStandardError[t], z: z,
                                        scaledBias: bias.value[t], scaledBiasStandardError: bias.standardError[t], exactScaledBias: exact?[t]))
                    }
                    let sd = s.squaredDeviation(reference: mt)
                    var cur = eps[name] ?? ([], [])
                    cur.0.append(sd.value[evalTime]); cur.1.append(sd.standardError[evalTime])
                    eps[name] = cur
                }
            }
            for name in ["delta", "kernel", "test_output"] {
                // A slope with a standard error needs at least 3 widths.
                guard let (v, se) = eps[name], widths.count >= 3 else { continue }
                let fit = Statistics.logLogSlope(x: widths.map(Double.init), y: v)
                slopes.append((g, name, fit.slope, fit.slopeError, v, se))
            }
        }
        return (rows, slopes.map { (gamma0: $0.0, observable: $0.1, slope: $0.2, slopeError: $0.3, eps: $0.4, epsSE: $0.5) }, records)
    }

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let widths = p.ints("widths")
        let r = try compute(activation: FluctuationActivation.parse(p.string("activation")), gamma0s: p.doubles("gamma0s"), widths: widths,
                            members: p.int("members"), eta: p.double("eta"), y: p.double("y"), steps: p.int("steps"),
                            evalTime: p.int("eval_time"), quadratureOrder: p.int("quadrature_order"), testOverlap: p.double("test_overlap"), seed: ctx.seed)
        var t = ResultTable()
        t.add("gamma0", r.rows.map(\.gamma0)); t.add("width", r.rows.map { Double($0.width) }); t.add("observable", strings: r.rows.map(\.observable))
        t.add("t", r.rows.map { Double($0.time) }); t.add("theory_n_var", r.rows.map(\.theory)); t.add("ensemble_n_var", r.rows.map(\.ensemble))
        t.add("ensemble_n_var_se", r.rows.map(\.standardError)); t.add("z", r.rows.map(\.z))
        t.add("measured_n_bias", r.rows.map(\.scaledBias)); t.add("measured_n_bias_se", r.rows.map(\.scaledBiasStandardError))
        if r.rows.allSatisfy({ $0.exactScaledBias != nil }) { t.add("exact_n_bias", r.rows.map { $0.exactScaledBias! }) }
        var st = ResultTable()
        st.add("gamma0", r.slopes.map(\.gamma0)); st.add("observable", strings: r.slopes.map(\.observable))
        st.add("slope", r.slopes.map(\.slope)); st.add("slope_se", r.slopes.map(\.slopeError))
        var out = TaskOutput(summary: .object([
            ("widths", .array(widths.map { .int($0) })), ("max_abs_z", .number(r.rows.map { abs($0.z) }.max() ?? 0)),
            ("slopes", .array(r.slopes.map { .object([("gamma0", .number($0.gamma0)), ("observable", .string($0.observable)),
                                                      ("slope", .number($0.slope)), ("slope_se", .number($0.slopeError)),
                                                      ("eps_n", .numbers($0.eps)), ("eps_n_se", .numbers($0.epsSE))]) })),
        ]))
        out.tables = r.slopes.isEmpty ? [("comparison", t)] : [("comparison", t), ("slopes", st)]
        var plot = Plot(title: "eps_N = E[(q_N - q_inf)^2] at t = \(p.int("eval_time"))", xLabel: "N", yLabel: "eps_N", xLog: true, yLog: true)
        for (k, s) in r.slopes.enumerated() {
            plot.series.append(Plot.Series(label: "\(s.observable), gamma0 = \(s.gamma0): slope \(String(format: "%.3f", s.slope))",
                                           x: widths.map(Double.init), y: s.eps, yError: s.epsSE, style: .linePoints, color: k))
        }
        out.plots = [("deviation", plot)]
        out.records = r.records.enumerated().map { ("theory_\($0.offset)", $0.element) }
        out.agreement = [Agreement(statistic: "max |z| of N Var over \(r.rows.count) (gamma0, N, t, q)", value: r.rows.map { abs($0.z) }.max() ?? 0,
                                   tolerance: 4, detail: "ensemble N Var vs O(1/N) theory; 4 s.e. allows for many points and O(1/N) corrections")]
        return out
    }
}
