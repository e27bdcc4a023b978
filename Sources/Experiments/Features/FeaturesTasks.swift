import Foundation
import LinearAlgebra
import NumericalCore
import StructuredFeatures

/// Shared parameter declarations and helpers of `solvable features ...` (deep structured Gaussian features,
/// Zavatone-Veth & Pehlevan, NeurIPS 2023; spec `structured-features.md`).
enum FeaturesCLI {
    static let spectrumHelp = "isotropic[:c], power_law:nu (mean 1), list:v1,v2,..., spike:c[@k] (eigenvalue c along eigendirection k), file:PATH (.csv/.npy)"

    static let modelParameters: [ParameterSpec] = [
        ParameterSpec("n0", .int(1...50_000_000), default: .int(400), help: "input dimension n0"),
        ParameterSpec("widths", .doubleList(1...1e15), help: "hidden widths n_1,...,n_L (omit for L = 0, plain linear ridge); 1e12 acts as infinite for isotropic layers"),
        ParameterSpec("data_spectrum", .string, default: .string("isotropic"), help: "data covariance Sigma0: " + spectrumHelp),
        ParameterSpec("first_layer", .string, default: .string("isotropic"), help: "first-layer covariance Sigma1 (in Sigma0's eigenbasis): " + spectrumHelp + ", data_power:p (Sigma1 = Sigma0^p), or haar:power_law:nu / haar:linspace:a,b (Q diag Q^T, Q Haar: does not commute with Sigma0); file:PATH may hold a full n0 x n0 matrix"),
        ParameterSpec("hidden_layers", .string, default: .string("isotropic"), help: "covariances Sigma2..SigmaL: one spec for all, or ';'-separated, one per layer"),
        ParameterSpec("readout", .string, default: .string("isotropic"), help: "readout covariance Gamma (n_L x n_L): " + spectrumHelp),
        ParameterSpec("target", .string, default: .string("isotropic"), help: "teacher power per eigendirection of Sigma0: isotropic, power_law:q (w_i ~ i^-q), spike[:k], list:p1,..., file:PATH"),
        ParameterSpec("signal", .double(0...1e12), default: .double(1), help: "signal s = theta*^T Sigma0 theta* (the teacher is rescaled to it)"),
        ParameterSpec("noise", .double(0...1e12), default: .double(0), help: "label-noise variance eta^2"),
        ParameterSpec("lambda", .double(0...1e12), default: .double(0), help: "ridge lambda (canonical: (1/P)||y - Zv||^2 + lambda||v||^2); 0 = min-norm / least squares"),
        ParameterSpec("log_axes", .bool, default: .bool(false), help: "log-log axes in the SVG plot"),
    ]

    static func readFileList(_ path: String, name: String) throws -> [Double] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SolvableError.invalidParameter(name: name, value: path, allowed: "file:PATH of an existing .csv or .npy file")
        }
        return try CSV.readRows(path).flatMap { $0 }
    }

    static func covariance(_ text: String, name: String, n0: Int? = nil) throws -> CovarianceSpec {
        let lower = text.lowercased()
        if lower.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard FileManager.default.fileExists(atPath: path) else {
                throw SolvableError.invalidParameter(name: name, value: path, allowed: "file:PATH of an existing .csv or .npy file")
            }
            let rows = try CSV.readRows(path)
            if rows.count > 1, rows.allSatisfy({ $0.count == rows.count }) { return .matrix(Matrix(rows)) }   // full matrix
            return .list(rows.flatMap { $0 })
        }
        if lower.hasPrefix("haar:"), let n = n0 {
            // Q diag(eigenvalues) Qᵀ, Q Haar (fixed seed): a first layer that does not commute with Σ0
            let rest = String(text.dropFirst(5))
            let values: [Double]
            if rest.lowercased().hasPrefix("linspace:") {
                let ab = rest.dropFirst(9).split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard ab.count == 2 else {
                    throw SolvableError.invalidParameter(name: name, value: "'\(text)'", allowed: "haar:linspace:a,b")
                }
                values = (0..<n).map { ab[0] + (ab[1] - ab[0]) * Double($0) / Double(max(1, n - 1)) }
            } else {
                switch try CovarianceSpec.parse(rest, name: name) {
                case .powerLaw(let nu): values = CovarianceSpec.powerLaw(count: n, exponent: nu)
                case .list(let v): values = v
                default: throw SolvableError.invalidParameter(name: name, value: "'\(text)'", allowed: "haar:power_law:nu, haar:linspace:a,b or haar:list:...")
                }
            }
            guard values.count == n, n <= 4000 else {
                throw SolvableError.invalidParameter(name: name, value: "'\(text)' on n0 = \(n)", allowed: "n0 eigenvalues, n0 <= 4000")
            }
            return try CovarianceSpec.haarRotated(eigenvalues: values, seed: 0)
        }
        return try CovarianceSpec.parse(text, name: name)
    }

    static func model(_ p: Parameters) throws -> FeatureModel {
        let widths = p.optionalDoubles("widths") ?? []
        let L = widths.count
        var covs: [CovarianceSpec] = []
        if L > 0 {
            covs.append(try covariance(p.string("first_layer"), name: "first_layer", n0: p.int("n0")))
            let hidden = p.string("hidden_layers").split(separator: ";").map { String($0) }
            if L > 1 {
                guard hidden.count == 1 || hidden.count == L - 1 else {
                    throw SolvableError.invalidParameter(name: "hidden_layers", value: "\(hidden.count) specs",
                                                         allowed: "one spec, or \(L - 1) ';'-separated specs (layers 2..\(L))")
                }
                for l in 0..<(L - 1) { covs.append(try covariance(hidden.count == 1 ? hidden[0] : hidden[l], name: "hidden_layers")) }
            }
        }
        let targetText = p.string("target")
        let target: TargetSpec = targetText.lowercased().hasPrefix("file:")
            ? .list(try readFileList(String(targetText.dropFirst(5)), name: "target")) : try TargetSpec.parse(targetText)
        return try FeatureModel(inputDimension: p.int("n0"), dataCovariance: covariance(p.string("data_spectrum"), name: "data_spectrum"),
                                widths: widths, layerCovariances: covs, readoutCovariance: covariance(p.string("readout"), name: "readout"),
                                target: target, signal: p.double("signal"), noiseVariance: p.double("noise"))
    }

    static func describe(_ p: Parameters) -> String {
        let w = p.optionalDoubles("widths").map { $0.map { Plot.tickText($0) }.joined(separator: ",") } ?? "none"
        return "n0=\(p.int("n0")), widths=\(w), λ=\(Plot.tickText(p.double("lambda"))), η²=\(Plot.tickText(p.double("noise")))"
    }

    /// Theory table columns (order parameters per layer included).
    static func theoryTable(_ pts: [TheoryPoint], n0: Int) -> ResultTable {
        var t = ResultTable()
        t.add("samples", pts.map(\.samples))
        t.add("alpha", pts.map { $0.samples / Double(n0) })
        t.add("lambda", pts.map(\.ridge))
        t.add("eps_g", pts.map(\.generalizationError))
        t.add("e_test", pts.map(\.testError))
        t.add("e_train", pts.map(\.trainingError))
        t.add("d", pts.map(\.degreesOfFreedom))
        t.add("Lambda", pts.map(\.Lambda))
        t.add("b1", pts.map(\.b1))
        t.add("b2", pts.map(\.b2))
        let layers = pts.first?.kappa.count ?? 0
        for l in 0..<layers {
            t.add("kappa_\(l + 1)", pts.map { $0.kappa[l] })
            t.add("chi_\(l + 1)", pts.map { $0.chi[l] })
        }
        return t
    }

    static func simulationTable(_ pts: [SimulationPoint], n0: Int) -> ResultTable {
        var t = ResultTable()
        t.add("samples", pts.map { Double($0.samples) })
        t.add("alpha", pts.map { Double($0.samples) / Double(n0) })
        t.add("lambda", pts.map(\.ridge))
        t.add("trials", pts.map { Double($0.trials) })
        t.add("eps_g_mean", pts.map(\.generalizationError.mean))
        t.add("eps_g_se", pts.map(\.generalizationError.standardError))
        t.add("e_test_mean", pts.map(\.testError.mean))
        t.add("e_test_se", pts.map(\.testError.standardError))
        t.add("e_train_mean", pts.map(\.trainingError.mean))
        t.add("e_train_se", pts.map(\.trainingError.standardError))
        return t
    }

    /// A dense log grid of P over [lo, hi] for theory lines, without the exact peak P = n_min.
    static func denseGrid(_ lo: Double, _ hi: Double, points: Int = 160, avoid: Double) -> [Double] {
        let a = log(max(lo, 1e-9)), b = log(max(hi, lo * 1.0001))
        var g = (0..<points).map { exp(a + (b - a) * Double($0) / Double(points - 1)) }
        g = g.map { abs($0 - avoid) < 1e-9 * avoid ? $0 * (1 + 1e-6) : $0 }
        if avoid > lo && avoid < hi { g += [avoid * (1 - 1e-3), avoid * (1 + 1e-3)] }
        return g.sorted()
    }

    /// Why a theory row is special: not converged, or ε_g = +∞ at the ridgeless interpolation peak P = n_min.
    static func note(_ pt: TheoryPoint, nMin: Double) -> String {
        if !pt.record.status.isConverged {
            return "NOT CONVERGED (\(pt.record.status.rawValue)): values are the last iterate" + (pt.record.message.map { "; " + $0 } ?? "")
        }
        if pt.generalizationError == .infinity {
            return "interpolation peak P = n_min = \(Plot.tickText(nMin)): ridgeless eps_g = +inf by design"
        }
        if !(pt.chi.allSatisfy(\.isFinite) && pt.kappa.allSatisfy(\.isFinite)) {
            return "infinite kappa/chi: a layer at its rank bound (d = rank) or of infinite width"
        }
        return ""
    }

    /// Clips non-finite or huge theory values for plotting (the line breaks there).
    static func clipped(_ y: [Double], cap: Double) -> [Double] { y.map { $0.isFinite && $0 <= cap ? $0 : .infinity } }
}

/// `solvable features theory`: the learning curve ε_g(P), E_test, E_train and the order parameters.
public enum FeaturesTheoryTask: ComputeTask {
    public static let commandPath = ["features", "theory"]
    public static let abstract = "Learning-curve theory of deep structured Gaussian features (ridge / ridgeless)."
    public static let discussion = """
        Deterministic-equivalent form of the replica result of Zavatone-Veth & Pehlevan (NeurIPS 2023), docs/theory/structured-features.md §4: \
        one unknown d solves lambda = kappa_1(d) (1 - d/P) prod_l (1 - d/n_l) prod_{l>=2} pi_l(d); then \
        E_test = (B + eta^2)/(1 - (d/P)(1 - 1/Lambda)), eps_g = E_test - eta^2, E_train = (1 - d/P)^2 E_test. \
        lambda = 0 uses the ridgeless closed forms; eps_g = inf at P = n_min (the interpolation peak). \
        With --optimal-ridge, lambda*(P) minimises eps_g over [1e-4, 10].
        """
    public static let examples = [
        "solvable features theory --n0 400 --widths 200 --noise 0.25 --samples 100,160,240,300,600,800 --json",
        "solvable features theory --n0 400 --data-spectrum power_law:1 --widths 600,500 --first-layer data_power:1 --hidden-layers power_law:0.7 --target power_law:0.25 --noise 0.1 --lambda 0.01 --points 100 --log-axes true",
    ]
    public static let parameters: [ParameterSpec] = FeaturesCLI.modelParameters + [
        ParameterSpec("samples", .doubleList(1e-6...1e15), default: .array([50, 100, 200, 400, 800].map { .double($0) }), help: "sample counts P (reals allowed)"),
        ParameterSpec("points", .int(0...100_000), default: .int(0), help: "if > 0: a log grid of this many P between min and max of --samples"),
        ParameterSpec("optimal_ridge", .bool, default: .bool(false), help: "also compute lambda*(P) and eps_g at lambda*"),
        ParameterSpec("max_iterations", .int(1...1_000_000), default: .int(LearningCurveTheory.defaultMaxIterations),
                      help: "iteration budget of each root solve (the master equation for d: safeguarded Newton then Brent; each inner kappa_S(d) solve); a point that runs out is marked maxIterations and the command exits 3"),
    ]

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let model = try FeaturesCLI.model(p)
        let theory = try model.resolve().theory.withMaxIterations(p.int("max_iterations"))
        let lambda = p.double("lambda")
        var Ps = p.doubles("samples").sorted()
        if p.int("points") > 1 {
            let a = log(Ps.first!), b = log(Ps.last!), n = p.int("points")
            Ps = (0..<n).map { exp(a + (b - a) * Double($0) / Double(n - 1)) }
        }
        let clock = Stopwatch()
        let pts = try theory.curve(samples: Ps, ridge: lambda, threads: ctx.threads)
        let seconds = clock.elapsed
        var table = FeaturesCLI.theoryTable(pts, n0: model.inputDimension)
        // every row says whether its numbers are converged, and why a value is infinite
        table.add("status", strings: pts.map { $0.record.status.rawValue })
        table.add("note", strings: pts.map { FeaturesCLI.note($0, nMin: theory.minimalRank) })
        let unconverged = pts.filter { !$0.record.status.isConverged }
        var summary: [(String, JSONValue)] = [
            ("model", .string(FeaturesCLI.describe(p))), ("n_min", .number(theory.minimalRank)),
            ("samples", .numbers(Ps)), ("eps_g", .numbers(pts.map(\.generalizationError))),
            ("e_test", .numbers(pts.map(\.testError))), ("e_train", .numbers(pts.map(\.trainingError))),
            ("d", .numbers(pts.map(\.degreesOfFreedom))), ("Lambda", .numbers(pts.map(\.Lambda))),
            ("kappa", .array(pts.map { .numbers($0.kappa) })), ("chi", .array(pts.map { .numbers($0.chi) })),
            ("solve_seconds", .number(seconds)),
            ("converged", .bool(unconverged.isEmpty)),
            ("status", .array(pts.map { .string($0.record.status.rawValue) })),
        ]
        if !unconverged.isEmpty {
            summary.append(("not_converged_samples", .numbers(unconverged.map(\.samples))))
        }
        var plot = Plot(title: "Theory: ε_g(P)", xLabel: "samples P", yLabel: "ε_g", xLog: p.bool("log_axes"), yLog: p.bool("log_axes"))
        let finite = pts.map(\.generalizationError).filter(\.isFinite)
        let cap = 20 * (finite.sorted().dropLast(finite.count / 10).last ?? 1)
        let plotLabel = "ε_g, λ = \(Plot.tickText(lambda))" + (unconverged.isEmpty ? "" : " (\(unconverged.count) point(s) NOT CONVERGED)")
        plot.series.append(Plot.Series(label: plotLabel, x: Ps,
                                       y: FeaturesCLI.clipped(pts.map(\.generalizationError), cap: cap), style: .line, color: 0))
        var out = TaskOutput(summary: .null)
        out.infinityAllowed = true   // learning curves are legitimately infinite at interpolation poles
        out.records = pts.map { ("features theory master equation at P=\(Plot.tickText($0.samples))", $0.record) }
        if p.bool("optimal_ridge") {
            let opts = try ThreadPolicy.parallelMap(Ps.count, threads: ctx.threads) { k in try theory.optimalRidge(samples: Ps[k]) }
            table.add("lambda_opt", opts.map(\.ridge))
            table.add("eps_g_opt", opts.map(\.point.generalizationError))
            summary.append(("lambda_opt", .numbers(opts.map(\.ridge))))
            summary.append(("eps_g_opt", .numbers(opts.map(\.point.generalizationError))))
            plot.series.append(Plot.Series(label: "ε_g at λ*(P)", x: Ps, y: opts.map(\.point.generalizationError), style: .dashed, color: 1))
            out.records += opts.map { ("optimal ridge P=\(Plot.tickText($0.point.samples))", $0.record) }
        }
        out.summary = .object(summary)
        out.tables = [("theory", table)]
        out.plots = [("theory", plot)]
        return out
    }
}

let featuresSimulationParameters: [ParameterSpec] = [
    ParameterSpec("samples", .intList(1...1_000_000), default: .array([100, 200, 300, 600].map { .int($0) }), help: "sample counts P"),
    ParameterSpec("trials", .int(2...1_000_000), default: .int(16), help: "independent trials per P (fresh features, data and noise)"),
    ParameterSpec("teacher", .choice(TeacherProtocol.allCases.map(\.rawValue)), default: .string("fixed"),
                  help: "fixed: exactly the described power per eigendirection; random: fresh Gaussian teachers with that average power (never rescaled per draw)"),
]

/// `solvable features simulate`: ridge / min-norm regression on sampled deep structured Gaussian features.
public enum FeaturesSimulateTask: ComputeTask {
    public static let commandPath = ["features", "simulate"]
    public static let abstract = "Simulate ridge / min-norm regression on deep structured Gaussian features (exact test error)."
    public static let discussion = """
        Per trial: G_l ~ N(0,1), X = N(0,1) diag(sqrt sigma0), y = X theta* + xi; Z = X Sigma1^{1/2} G_1 ... Gamma^{1/2}/sqrt(n_1...n_L) \
        by a chain of gemms; v by Cholesky (lambda > 0, primal or dual) or SVD least squares (lambda = 0); eps_g = delta^T Sigma0 delta \
        with delta = F v - theta* (no test set). Streams RandomStream(seed, point: P, sample: trial). Spec §6.
        """
    public static let examples = [
        "solvable features simulate --n0 200 --widths 100 --noise 0.25 --samples 50,150,300 --trials 8 --json",
    ]
    public static let parameters: [ParameterSpec] = FeaturesCLI.modelParameters + featuresSimulationParameters

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let model = try FeaturesCLI.model(p)
        let sim = try FeatureSimulator(model: model)
        let Ps = p.ints("samples").sorted()
        let clock = Stopwatch()
        let pts = try sim.run(samples: Ps, ridge: p.double("lambda"), trials: p.int("trials"),
                              teacher: TeacherProtocol(rawValue: p.string("teacher"))!, seed: ctx.seed, threads: ctx.threads)
        let seconds = clock.elapsed
        var out = TaskOutput(summary: .object([
            ("model", .string(FeaturesCLI.describe(p))), ("samples", .numbers(Ps.map(Double.init))), ("trials", .int(p.int("trials"))),
            ("eps_g_mean", .numbers(pts.map(\.generalizationError.mean))), ("eps_g_se", .numbers(pts.map(\.generalizationError.standardError))),
            ("e_train_mean", .numbers(pts.map(\.trainingError.mean))), ("e_train_se", .numbers(pts.map(\.trainingError.standardError))),
            ("simulate_seconds", .number(seconds)),
        ]))
        out.infinityAllowed = true   // learning curves are legitimately infinite at interpolation poles
        out.tables = [("simulation", FeaturesCLI.simulationTable(pts, n0: model.inputDimension))]
        var plot = Plot(title: "Simulation: ε_g(P)", xLabel: "samples P", yLabel: "ε_g", xLog: p.bool("log_axes"), yLog: p.bool("log_axes"))
        plot.series.append(Plot.Series(label: "simulation ± 1 s.e. (\(p.int("trials")) trials)", x: Ps.map(Double.init),
                                       y: pts.map(\.generalizationError.mean), yError: pts.map(\.generalizationError.standardError),
                                       style: .points, color: 0))
        out.plots = [("simulation", plot)]
        return out
    }
}

/// `solvable features compare`: theory and simulation on the same P grid, z-score per point, overall verdict.
public enum FeaturesCompareTask: ComputeTask {
    public static let commandPath = ["features", "compare"]
    public static let abstract = "Theory vs simulation for deep structured Gaussian features, with z-scores and a verdict."
    public static let discussion = """
        z = (simulation mean - theory)/s.e. at each P. The verdict is max |z| <= z_tolerance over points farther than \
        exclude_near_peak * n_min from the peak P = n_min (docs/theory/structured-features.md §6: there fluctuations are O(1) and heavy-tailed; those \
        points are still reported). Finite-size bias at n0 = 400 is 2-4 % (docs/theory/structured-features.md §6).
        """
    public static let examples = [
        "solvable features compare --n0 200 --data-spectrum power_law:1 --widths 300,250 --first-layer data_power:1 --hidden-layers power_law:0.7 --target power_law:0.25 --noise 0.1 --samples 40,100,300 --trials 16 --log-axes true --json",
    ]
    public static let parameters: [ParameterSpec] = FeaturesCLI.modelParameters + featuresSimulationParameters + [
        ParameterSpec("z_tolerance", .double(0...100), default: .double(0), help: "verdict: max |z| allowed; 0 = automatic (Bonferroni Student-t quantile at 1 % family-wise false alarm)"),
        ParameterSpec("exclude_near_peak", .double(0...1), default: .double(0.1), help: "points with |P - n_min| < this * n_min do not enter the verdict"),
    ]

    public struct Result {
        public var samples: [Int]
        public var theory: [TheoryPoint]
        public var simulation: [SimulationPoint]
        public var z: [Double]
        public var included: [Bool]
        public var agreement: Agreement
        public var line: (x: [Double], y: [Double])
        public var nMin: Double
    }

    /// Theory and simulation on one model and P grid.
    public static func compare(model: FeatureModel, samples Ps: [Int], ridge lambda: Double, trials: Int, teacher: TeacherProtocol,
                               seed: UInt64, threads: Int, zTolerance: Double = 0, excludeNearPeak: Double = 0.1,
                               linePoints: Int = 160) throws -> Result {
        let theory = try model.resolve().theory(for: teacher)
        let sim = try FeatureSimulator(model: model).run(samples: Ps, ridge: lambda, trials: trials, teacher: teacher,
                                                         seed: seed, threads: threads)
        let th = try theory.curve(samples: Ps.map(Double.init), ridge: lambda, threads: threads)
        let nmin = theory.minimalRank
        var z: [Double] = [], inc: [Bool] = []
        for k in 0..<Ps.count {
            z.append(featuresZ(sim[k], th[k]))
            inc.append(abs(Double(Ps[k]) - nmin) >= excludeNearPeak * nmin)
        }
        let used = (0..<Ps.count).filter { inc[$0] }
        let zmax = used.map { abs(z[$0]).isNaN ? Double.infinity : abs(z[$0]) }.max() ?? 0
        let auto = zTolerance <= 0
        let tol = auto ? Statistics.bonferroniTolerance(comparisons: used.count, trials: trials) : zTolerance
        let how = auto ? "tolerance = Bonferroni Student-t quantile (ν = \(trials - 1)) at 1 % family-wise false alarm over \(used.count) points"
                       : "user tolerance; for \(used.count) points a purely statistical |z| > \(Plot.tickText(tol)) has family-wise probability ≈ \(Plot.tickText(Double(used.count) * 2 * (1 - SpecialFunctions.normalCDF(tol)))) (normal approximation)"
        let agreement = Agreement(statistic: "max |z| over \(used.count) points", value: zmax, tolerance: tol,
                                  detail: "z = (sim − theory)/s.e., \(trials) trials per point; \(Ps.count - used.count) point(s) within \(Int(excludeNearPeak * 100)) % of n_min = \(Plot.tickText(nmin)) excluded; \(how)")
        let lo = Double(Ps.min()!) / 1.3, hi = Double(Ps.max()!) * 1.2
        let grid = FeaturesCLI.denseGrid(lo, hi, points: linePoints, avoid: nmin)
        let line = try theory.curve(samples: grid, ridge: lambda, threads: threads).map(\.generalizationError)
        return Result(samples: Ps, theory: th, simulation: sim, z: z, included: inc, agreement: agreement, line: (grid, line), nMin: nmin)
    }

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let model = try FeaturesCLI.model(p)
        let Ps = p.ints("samples").sorted()
        let clock = Stopwatch()
        let r = try compare(model: model, samples: Ps, ridge: p.double("lambda"), trials: p.int("trials"),
                            teacher: TeacherProtocol(rawValue: p.string("teacher"))!, seed: ctx.seed, threads: ctx.threads,
                            zTolerance: p.double("z_tolerance"), excludeNearPeak: p.double("exclude_near_peak"))
        let seconds = clock.elapsed
        var table = FeaturesCLI.simulationTable(r.simulation, n0: model.inputDimension)
        table.add("eps_g_theory", r.theory.map(\.generalizationError))
        table.add("e_train_theory", r.theory.map(\.trainingError))
        table.add("z", r.z)
        table.add("z_train", (0..<Ps.count).map { k in
            let t = r.theory[k].trainingError, m = r.simulation[k].trainingError.mean
            return abs(m - t) <= 1e-10 * max(1, t) ? 0 : Statistics.zScore(observed: m, expected: t, standardError: r.simulation[k].trainingError.standardError)
        })
        table.add("in_verdict", r.included.map { $0 ? 1 : 0 })
        table.add("note", strings: (0..<Ps.count).map { k in
            let t = r.theory[k]
            if !t.record.status.isConverged { return "theory NOT CONVERGED (\(t.record.status.rawValue))" }
            if t.generalizationError.isInfinite { return "interpolation peak P = n_min: ridgeless theory eps_g = +inf by design, so z is infinite; excluded from the verdict" }
            if !r.z[k].isFinite { return "z infinite: zero standard error with a mean off the theory" }
            return ""
        })
        var line = ResultTable()
        line.add("samples", r.line.x); line.add("eps_g", r.line.y)
        var out = TaskOutput(summary: .object([
            ("model", .string(FeaturesCLI.describe(p))), ("n_min", .number(r.nMin)), ("samples", .numbers(Ps.map(Double.init))),
            ("trials", .int(p.int("trials"))), ("eps_g_theory", .numbers(r.theory.map(\.generalizationError))),
            ("eps_g_mean", .numbers(r.simulation.map(\.generalizationError.mean))),
            ("eps_g_se", .numbers(r.simulation.map(\.generalizationError.standardError))),
            ("z", .numbers(r.z)), ("verdict", .string(r.agreement.passed ? "agree" : "disagree")), ("agreement", r.agreement.json),
            ("seconds", .number(seconds)),
        ]))
        out.infinityAllowed = true   // learning curves are legitimately infinite at interpolation poles
        out.tables = [("comparison", table), ("theory_line", line)]
        let simMax = r.simulation.map { $0.generalizationError.mean + $0.generalizationError.standardError }.max() ?? 1
        var plot = Plot(title: "ε_g(P): theory vs simulation", xLabel: "samples P", yLabel: "ε_g", xLog: p.bool("log_axes"), yLog: p.bool("log_axes"))
        plot.addComparison(label: "λ = \(Plot.tickText(p.double("lambda")))", color: 0, theoryX: r.line.x,
                           theoryY: FeaturesCLI.clipped(r.line.y, cap: 3 * simMax), simX: Ps.map(Double.init),
                           simY: r.simulation.map(\.generalizationError.mean), simError: r.simulation.map(\.generalizationError.standardError))
        out.plots = [("comparison", plot)]
        out.records = r.theory.map { ("theory P=\($0.samples)", $0.record) }
        out.agreement = [r.agreement]
        return out
    }
}

/// z of a simulated ε_g against theory; exact-recovery cells (theory 0, simulation at rounding level) give 0.
func featuresZ(_ sim: SimulationPoint, _ theory: TheoryPoint) -> Double {
    let m = sim.generalizationError.mean, t = theory.generalizationError
    if abs(m - t) <= 1e-10 * max(1, abs(t)) { return 0 }
    return Statistics.zScore(observed: m, expected: t, standardError: sim.generalizationError.standardError)
}

