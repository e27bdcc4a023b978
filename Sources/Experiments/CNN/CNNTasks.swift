import ConvolutionalNetworks
import Foundation
import LinearAlgebra
import MeanFieldDynamics
import NumericalCore

/// The ensembles of mean-field CNNs behind `solvable dmft cnn` and `solvable fluctuations cnn` (docs/cnn.md).
public enum CNNExperiment {
    static let observables = ["test_loss", "test_accuracy", "train_loss", "alignment"]

    static func networkParameters(widths: [Int], layers: Int, pool: Bool, activation: String, gamma0: [Double], eta: Double,
                                  batch: Int, steps: Int, recordEvery: Int, members: Int) -> [ParameterSpec] {
        [
            ParameterSpec("widths", .intList(1...65_536), default: .array(widths.map { .int($0) }), help: "channels N of every convolution"),
            ParameterSpec("layers", .int(1...32), default: .int(layers), help: "3x3 'SAME' convolution layers L"),
            ParameterSpec("pool", .bool, default: .bool(pool), help: "2x2 average pooling after each convolution (global average pooling always ends the stack)"),
            ParameterSpec("activation", .choice(Activation.names), default: .string(activation), help: "phi (sqrt2-relu = sqrt(2) max(h, 0))"),
            ParameterSpec("gamma0", .doubleList(1e-6...1e6), default: .array(gamma0.map { .double($0) }), help: "feature-learning strengths gamma0 (readout w.Phi/(gamma0 N))"),
            ParameterSpec("eta", .double(1e-12...1e6), default: .double(eta), help: "eta of the SGD learning rate eta gamma0^2 N"),
            ParameterSpec("batch_size", .int(1...1_000_000), default: .int(batch), help: "minibatch size B"),
            ParameterSpec("steps", .int(1...10_000_000), default: .int(steps), help: "SGD steps"),
            ParameterSpec("record_every", .int(1...10_000_000), default: .int(recordEvery), help: "measure the observables every this many steps"),
            ParameterSpec("members", .int(2...100_000), default: .int(members), help: "networks (seeds) per width and gamma0"),
            ParameterSpec("precision", .choice(["float", "double"]), default: .string("float"), help: "float: sgemm (measured agreement with double in docs/cnn.md); double: dgemm"),
            ParameterSpec("centered", .bool, default: .bool(true), help: "train the centred output f - f_0"),
            ParameterSpec("chunk", .int(1...100_000), default: .int(256), help: "images per forward/backward chunk (bounds memory; results do not depend on it beyond rounding)"),
        ]
    }

    /// Ensemble statistics of one (width, gamma0): mean and standard error over members of each observable per step.
    public struct Group: Sendable {
        public var width: Int, gamma0: Double
        public var histories: [CNNHistory]
        public var steps: [Int] { histories[0].steps }
        public func values(_ name: String) -> [[Double]] {
            histories.map { h in
                switch name {
                case "test_loss": return h.testLoss
                case "test_accuracy": return h.testAccuracy
                case "train_loss": return h.trainLoss
                default: return h.alignment
                }
            }
        }
        /// Member values of `name` at recorded index k.
        public func at(_ name: String, _ k: Int) -> [Double] { values(name).map { k < $0.count ? $0[k] : .nan } }
        public func mean(_ name: String) -> [Double] { steps.indices.map { Statistics.mean(at(name, $0)) } }
        public func standardError(_ name: String) -> [Double] { steps.indices.map { Statistics.standardError(at(name, $0)) } }
    }

    public struct Result: Sendable {
        public var groups: [Group]
        public var data: CNNData.Prepared
        public var settings: CNNTrainingSettings
        public var seconds: Double
        public var record: ConvergenceRecord
    }

    /// Trains `members` networks for every (width, gamma0) of `p` (initial weights from (seed, point = width,
    /// sample = member), shared across gamma0; minibatch order from (seed, 0, member), shared across widths).
    public static func run(_ p: Parameters, _ ctx: RunContext, data: CNNData.Prepared? = nil) throws -> Result {
        let clock = Stopwatch()
        let d = try data ?? CNNData.prepare(p)
        let act = try Activation.named(p.string("activation"))
        let E = p.int("members")
        let st = CNNTrainingSettings(steps: p.int("steps"), batchSize: p.int("batch_size"), eta: p.double("eta"),
                                     recordEvery: p.int("record_every"), centered: p.bool("centered"), chunk: p.int("chunk"))
        var configs: [(Int, Double)] = []
        for N in p.ints("widths") { for g in p.doubles("gamma0") { configs.append((N, g)) } }
        var jobs: [CNNJob] = []
        for (N, g) in configs {
            let arch = try CNNArchitecture(inputChannels: d.train.channels, height: d.train.height, width: d.train.width, channels: N,
                                           convLayers: p.int("layers"), pool: p.bool("pool"), outputs: CNNTrainer.outputs(classes: d.train.classes),
                                           activation: act, gamma0: g)
            for m in 0..<E { jobs.append(CNNJob(architecture: arch, initPoint: UInt64(N), member: m)) }
        }
        ctx.log("cnn: \(d.source); \(jobs.count) networks, \(st.steps) steps each")
        let progress = Progress("cnn networks", total: jobs.count)
        let h = CNNTrainer.ensemble(jobs, doublePrecision: p.string("precision") == "double", train: d.train, testSet: d.test,
                                    trainEval: d.trainEval, settings: st, seed: ctx.seed, threads: ctx.threads, progress: { progress.advance() })
        let groups = configs.enumerated().map { k, c in Group(width: c.0, gamma0: c.1, histories: Array(h[(k * E)..<((k + 1) * E)])) }
        var rec = ConvergenceRecord.closedForm()
        let bad = h.filter { !$0.finite }.count
        if bad > 0 { rec.status = .diverged; rec.message = "\(bad) of \(h.count) networks diverged (non-finite loss); reduce eta or gamma0" }
        return Result(groups: groups, data: d, settings: st, seconds: clock.elapsed, record: rec)
    }

    /// Long-format table of every group's ensemble mean and standard error per recorded step.
    static func curvesTable(_ r: Result, extra: [(String, (Group, Int) -> Double)] = []) -> ResultTable {
        var t = ResultTable()
        var cols: [String: [Double]] = [:]
        var order = ["width", "gamma0", "step", "epoch"]
        for o in observables { order += [o + "_mean", o + "_se"] }
        order += extra.map(\.0)
        for g in r.groups {
            let means = observables.map { g.mean($0) }, ses = observables.map { g.standardError($0) }
            for (k, s) in g.steps.enumerated() {
                cols["width", default: []].append(Double(g.width)); cols["gamma0", default: []].append(g.gamma0)
                cols["step", default: []].append(Double(s))
                cols["epoch", default: []].append(Double(s * r.settings.batchSize) / Double(r.data.train.count))
                for (j, o) in observables.enumerated() { cols[o + "_mean", default: []].append(means[j][k]); cols[o + "_se", default: []].append(ses[j][k]) }
                for (name, f) in extra { cols[name, default: []].append(f(g, k)) }
            }
        }
        for name in order { t.add(name, cols[name] ?? []) }
        return t
    }

    static func commonSummary(_ r: Result, _ p: Parameters) -> [(String, JSONValue)] {
        [("data", .string(r.data.source)), ("widths", .numbers(p.ints("widths").map(Double.init))), ("gamma0", .numbers(p.doubles("gamma0"))),
         ("members", .int(p.int("members"))), ("steps", .numbers(r.groups.first?.steps.map(Double.init) ?? [])),
         ("learning_rate_note", .string("SGD learning rate eta gamma0^2 N on L = (1/2B) sum |f_c - y|^2")),
         ("precision", .string(p.string("precision"))), ("elapsed_seconds", .number(r.seconds))]
    }

    /// Panel of `observable` against step: ensemble mean with standard-error bars, one series per group.
    static func curvePlot(_ r: Result, _ observable: String, label: String, yLog: Bool = false, fromIndex: Int = 0) -> Plot {
        var plot = Plot(title: label, xLabel: "SGD step", yLabel: label, yLog: yLog)
        for (c, g) in r.groups.enumerated() {
            let idx = Array(g.steps.indices.dropFirst(fromIndex))
            plot.series.append(Plot.Series(label: "N = \(g.width), gamma0 = \(Plot.tickText(g.gamma0))", x: idx.map { Double(g.steps[$0]) },
                                           y: idx.map { g.mean(observable)[$0] }, yError: idx.map { g.standardError(observable)[$0] },
                                           style: .linePoints, color: c))
        }
        return plot
    }

    // MARK: width consistency (DMFT paper)

    /// |z| of the width-to-width difference of ensemble means at every recorded step after 0 (at step 0 the centred
    /// outputs vanish for every network), for each gamma0, each pair of widths and each observable drawn.
    public static func widthConsistency(_ r: Result, observables obs: [String]) -> (maxZ: Double, comparisons: Int, worst: String) {
        var zmax = 0.0, n = 0, worst = ""
        let gammas = Array(Set(r.groups.map(\.gamma0))).sorted()
        for g0 in gammas {
            let gs = r.groups.filter { $0.gamma0 == g0 }
            for i in 0..<gs.count { for j in (i + 1)..<gs.count where j < gs.count {
                for o in obs {
                    let (m1, s1, m2, s2) = (gs[i].mean(o), gs[i].standardError(o), gs[j].mean(o), gs[j].standardError(o))
                    for k in 1..<min(m1.count, m2.count) {
                        let se = (s1[k] * s1[k] + s2[k] * s2[k]).squareRoot()
                        let z = se > 0 ? abs(m1[k] - m2[k]) / se : (m1[k] == m2[k] ? 0 : .infinity)
                        n += 1
                        if z > zmax || z.isNaN { zmax = z.isNaN ? .infinity : z; worst = "\(o) at step \(gs[i].steps[k]), gamma0 = \(Plot.tickText(g0)), N = \(gs[i].width) vs \(gs[j].width)" }
                    }
                }
            } }
        }
        return (zmax, n, worst)
    }

    /// For each width, the |z| between the smallest and largest gamma0 of `observable`'s final ensemble means; the
    /// smallest over widths.
    public static func gammaSeparation(_ r: Result, observable: String) -> Double {
        var zmin = Double.infinity
        for N in Set(r.groups.map(\.width)) {
            let gs = r.groups.filter { $0.width == N }.sorted { $0.gamma0 < $1.gamma0 }
            guard let a = gs.first, let b = gs.last, gs.count >= 2 else { continue }
            let ka = a.steps.count - 1, kb = b.steps.count - 1
            let se = (pow(a.standardError(observable)[ka], 2) + pow(b.standardError(observable)[kb], 2)).squareRoot()
            zmin = min(zmin, abs(a.mean(observable)[ka] - b.mean(observable)[kb]) / se)
        }
        return zmin
    }

    // MARK: finite-width bias and variance (fluctuations paper)

    public struct WidthStatistics: Sendable {
        public var widths: [Double] = []
        /// Ensemble mean of the final training loss and its standard error.
        public var meanLoss: [Double] = [], meanLossSE: [Double] = []
        /// Variance of the final training loss across members, and its standard error.
        public var variance: [Double] = [], varianceSE: [Double] = []
        /// Per-member slope of log(train loss) per epoch (after step 0): mean and standard error.
        public var slope: [Double] = [], slopeSE: [Double] = []
        public var biasFit: Regression.Fit?
        public var varianceFit: Regression.Fit?

        /// One row per width (`widths.csv`).
        public var table: ResultTable {
            var t = ResultTable()
            t.add("width", widths); t.add("final_train_loss_mean", meanLoss); t.add("final_train_loss_se", meanLossSE)
            t.add("final_train_loss_variance", variance); t.add("final_train_loss_variance_se", varianceSE)
            t.add("log_loss_slope_per_epoch", slope); t.add("log_loss_slope_per_epoch_se", slopeSE)
            return t
        }
    }

    public static func widthStatistics(_ r: Result, fitOrder: Int) throws -> WidthStatistics {
        var w = WidthStatistics()
        let epochsPerStep = Double(r.settings.batchSize) / Double(r.data.train.count)
        for g in r.groups.sorted(by: { $0.width < $1.width }) {
            let last = g.steps.count - 1
            let final = g.at("train_loss", last)
            w.widths.append(Double(g.width))
            w.meanLoss.append(Statistics.mean(final)); w.meanLossSE.append(Statistics.standardError(final))
            w.variance.append(Statistics.variance(final)); w.varianceSE.append(Statistics.varianceStandardError(final))
            let slopes = g.histories.map { h -> Double in
                let idx = h.steps.indices.dropFirst()
                return Statistics.linearFit(x: idx.map { Double(h.steps[$0]) * epochsPerStep }, y: idx.map { log(h.trainLoss[$0]) }).slope
            }
            w.slope.append(Statistics.mean(slopes)); w.slopeSE.append(Statistics.standardError(slopes))
        }
        if w.widths.count >= fitOrder + 2, w.meanLossSE.allSatisfy({ $0 > 0 && $0.isFinite }) {
            w.biasFit = try Regression.inverseWidth(widths: w.widths, values: w.meanLoss, sigma: w.meanLossSE, order: fitOrder)
        }
        if w.widths.count >= 3, w.variance.allSatisfy({ $0 > 0 }), w.varianceSE.allSatisfy({ $0 > 0 && $0.isFinite }) {
            w.varianceFit = try Regression.fit(design: w.widths.map { [1, log($0)] }, values: w.variance.map { log($0) },
                                               sigma: zip(w.varianceSE, w.variance).map { $0 / $1 })
        }
        return w
    }
}

/// `solvable dmft cnn`: width consistency of mean-field CNN training at fixed gamma0.
public enum DMFTCNNTask: ComputeTask {
    public static let commandPath = ["dmft", "cnn"]
    public static let abstract = "Mean-field CNNs on images at several widths and gamma0: loss, accuracy and feature-kernel alignment curves with ensemble errors."
    public static let discussion = """
    Bordelon & Pehlevan (NeurIPS 2022), final experiment: at fixed gamma0 the loss and kernel dynamics of mean-field (muP) CNNs
    are preserved across widths N. Network: L 3x3 'SAME' convolutions h^l = W^l * A^{l-1}/sqrt(9 C), phi, optional 2x2 average
    pooling, global average pooling, f = w.Phi^L/(gamma0 N), centred output, SGD with learning rate eta gamma0^2 N on
    (1/2B) sum |f - y|^2. Tracked on fixed subsets: test loss, accuracy, train loss, alignment A(Phi^L, y y^T).
    Data: Fashion-MNIST from Debian by default, CIFAR-10 with --data DIR (docs/cnn.md).
    """
    public static let examples = [
        "solvable dmft cnn --widths 16,32 --gamma0 1,4 --downsample 2 --layers 2 --steps 30 --record-every 5 --members 2 --train-size 256 --test-size 128",
        "solvable dmft cnn --data ~/cifar-10-batches-bin --classes 0,1 --widths 250,500 --gamma0 1,5,10 --eta 2e-4 --batch-size 250 --steps 5000",
    ]
    public static let parameters: [ParameterSpec] = CNNData.parameters + CNNExperiment.networkParameters(
        widths: [250, 500], layers: 2, pool: false, activation: "relu", gamma0: [1, 5, 10], eta: 2e-4, batch: 250, steps: 5000,
        recordEvery: 250, members: 4)

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let r = try CNNExperiment.run(p, ctx)
        let wc = CNNExperiment.widthConsistency(r, observables: ["test_loss", "test_accuracy", "alignment"])
        var final: [JSONValue] = []
        for g in r.groups {
            let k = g.steps.count - 1
            var kv: [(String, JSONValue)] = [("width", .int(g.width)), ("gamma0", .number(g.gamma0))]
            for o in CNNExperiment.observables { kv += [(o, .number(g.mean(o)[k])), (o + "_se", .number(g.standardError(o)[k]))] }
            final.append(.object(kv))
        }
        var out = TaskOutput(summary: .object(CNNExperiment.commonSummary(r, p) + [
            ("final", .array(final)),
            ("width_consistency_max_abs_z", .number(wc.maxZ)), ("width_consistency_comparisons", .int(wc.comparisons)),
            ("width_consistency_worst", .string(wc.worst)),
        ]))
        out.tables = [("curves", CNNExperiment.curvesTable(r))]
        out.plots = [("test_loss", CNNExperiment.curvePlot(r, "test_loss", label: "test loss")),
                     ("test_accuracy", CNNExperiment.curvePlot(r, "test_accuracy", label: "test accuracy", fromIndex: 1)),
                     ("alignment", CNNExperiment.curvePlot(r, "alignment", label: "alignment A(Phi^L, y y^T)"))]
        out.records = [("CNN ensemble training (SGD)", r.record)]
        return out
    }
}

/// `solvable fluctuations cnn`: finite-width bias and variance of CNN training.
public enum FluctuationsCNNTask: ComputeTask {
    public static let commandPath = ["fluctuations", "cnn"]
    public static let abstract = "Ensembles of mean-field CNNs over widths: variance across seeds, bias of the ensemble mean fitted as c0 + c1/N (+ c2/N^2), training-speed slopes."
    public static let discussion = """
    Bordelon & Pehlevan (NeurIPS 2023), final experiment: finite width corrects both the bias (the ensemble-mean dynamics depend on
    N) and the variance (networks deviate from the ensemble mean) of CNNs trained on images; narrower networks train more slowly.
    Published: 5 conv layers 3x3 without bias, sqrt(2) ReLU, 2x2 average pooling after each, Dense(10)/N readout, centred output /
    gamma0 with gamma0 = 0.2, MSE on one-hot - 0.1, SGD batch 256, N in {32, 45, 64, 90, 128, 256}, 8 networks each.
    The final mean training loss is fitted as c0 + c1/N (+ c2/N^2 with --fit-order 2) by weighted least squares (LAPACK) with
    standard errors; the variance across seeds is fitted as log Var = a + b log N (b = -1 for O(1/N) fluctuations).
    """
    public static let examples = [
        "solvable fluctuations cnn --widths 16,24,32 --members 4 --downsample 2 --layers 2 --steps 30 --record-every 5 --train-size 256",
        "solvable fluctuations cnn --data ~/cifar-10-batches-bin --classes 0,1,2,3,4,5,6,7,8,9 --layers 5 --widths 32,45,64,90,128,256 --members 8 --fit-order 2",
    ]
    public static let parameters: [ParameterSpec] = CNNData.parameters + CNNExperiment.networkParameters(
        widths: [32, 45, 64, 90, 128, 256], layers: 3, pool: true, activation: "sqrt2-relu", gamma0: [0.2], eta: 0.05, batch: 256,
        steps: 2000, recordEvery: 100, members: 8) + [
        ParameterSpec("fit_order", .int(1...2), default: .int(1), help: "highest power of 1/N in the bias fit c0 + c1/N (+ c2/N^2)"),
    ]

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        guard p.doubles("gamma0").count == 1 else {
            throw SolvableError.invalidParameter(name: "gamma0", value: p.doubles("gamma0").map { Plot.tickText($0) }.joined(separator: ","), allowed: "a single value")
        }
        guard p.int("members") >= 4 else {
            throw SolvableError.invalidParameter(name: "members", value: "\(p.int("members"))", allowed: "at least 4 (the variance's standard error uses the fourth moment)")
        }
        let r = try CNNExperiment.run(p, ctx)
        let w = try CNNExperiment.widthStatistics(r, fitOrder: p.int("fit_order"))
        var summary = CNNExperiment.commonSummary(r, p) + [
            ("final_train_loss_mean", .numbers(w.meanLoss)), ("final_train_loss_se", .numbers(w.meanLossSE)),
            ("final_train_loss_variance", .numbers(w.variance)), ("final_train_loss_variance_se", .numbers(w.varianceSE)),
            ("log_loss_slope_per_epoch", .numbers(w.slope)), ("log_loss_slope_per_epoch_se", .numbers(w.slopeSE)),
        ]
        if let f = w.biasFit {
            summary += [("bias_fit_coefficients", .numbers(f.coefficients)), ("bias_fit_standard_errors", .numbers(f.standardErrors)),
                        ("bias_fit_chi_square", .number(f.chiSquare)), ("bias_fit_dof", .int(f.degreesOfFreedom))]
        }
        if let f = w.varianceFit {
            summary += [("variance_log_slope", .number(f.coefficients[1])), ("variance_log_slope_se", .number(f.standardErrors[1]))]
        }
        var out = TaskOutput(summary: .object(summary))
        out.tables = [("curves", CNNExperiment.curvesTable(r)), ("widths", w.table)]
        out.plots = [("train_loss", CNNExperiment.curvePlot(r, "train_loss", label: "train loss", yLog: true)),
                     ("bias", biasPlot(w)), ("variance", variancePlot(w))]
        out.records = [("CNN ensemble training (SGD)", r.record)]
        return out
    }

    static func biasPlot(_ w: CNNExperiment.WidthStatistics) -> Plot {
        var plot = Plot(title: "ensemble-mean final train loss vs 1/N", xLabel: "1/N", yLabel: "train loss")
        plot.series.append(Plot.Series(label: "ensemble mean", x: w.widths.map { 1 / $0 }, y: w.meanLoss, yError: w.meanLossSE, style: .points, color: 0))
        if let f = w.biasFit {
            let xs = (0...40).map { Double($0) / 40 * (1 / (w.widths.min() ?? 1)) }
            plot.series.append(Plot.Series(label: "fit " + fitLabel(f), x: xs, y: xs.map { x in f.predict((0...(f.coefficients.count - 1)).map { pow(x, Double($0)) }) },
                                           style: .line, color: 1))
        }
        return plot
    }

    static func fitLabel(_ f: Regression.Fit) -> String {
        f.coefficients.enumerated().map { k, c in "c\(k) = \(Plot.tickText(c)) +- \(Plot.tickText(f.standardErrors[k]))" }.joined(separator: ", ")
    }

    static func variancePlot(_ w: CNNExperiment.WidthStatistics) -> Plot {
        var plot = Plot(title: "variance of the final train loss across seeds", xLabel: "N", yLabel: "Var", xLog: true, yLog: true)
        plot.series.append(Plot.Series(label: "across seeds", x: w.widths, y: w.variance, yError: w.varianceSE, style: .points, color: 0))
        if let f = w.varianceFit {
            plot.series.append(Plot.Series(label: "fit slope \(Plot.tickText(f.coefficients[1])) +- \(Plot.tickText(f.standardErrors[1]))",
                                           x: w.widths, y: w.widths.map { exp(f.coefficients[0] + f.coefficients[1] * log($0)) }, style: .line, color: 1))
        }
        return plot
    }
}
