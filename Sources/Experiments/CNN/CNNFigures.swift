import ConvolutionalNetworks
import Foundation
import NumericalCore

/// The report figures of the papers' CNN experiments (docs/cnn.md): `dmft-cnn` (Bordelon & Pehlevan 2022, final
/// experiment) and `fluctuations-cnn` (Bordelon & Pehlevan 2023, final experiment).
public enum CNNFigures {
    /// CIFAR-10 for the paper scale: the directory in $SOLVABLE_CIFAR10.
    static var paperData: String { ProcessInfo.processInfo.environment["SOLVABLE_CIFAR10"] ?? "" }

    /// The settings for `scale`, refusing the paper scale without CIFAR-10 (its networks need 32x32 images).
    static func checkedSettings(_ scale: Scale, _ settings: [(String, JSONValue)]) throws -> [(String, JSONValue)] {
        if scale == .paper && paperData.isEmpty {
            throw SolvableError.invalidParameter(name: "SOLVABLE_CIFAR10", value: "(unset)",
                                                 allowed: "the directory of CIFAR-10's binary batches (data_batch_1.bin ... test_batch.bin): the paper scale trains on CIFAR-10 (docs/cnn.md)")
        }
        return settings
    }

    static func parameters(_ specs: [ParameterSpec], _ values: [(String, JSONValue)]) throws -> Parameters {
        try Parameters(specs: specs, overrides: values)
    }

    static func ints(_ x: [Int]) -> JSONValue { .array(x.map { .int($0) }) }
    static func doubles(_ x: [Double]) -> JSONValue { .array(x.map { .double($0) }) }

    /// The settings of each figure at each scale (also printed by docs/cnn.md).
    public static func dmftSettings(_ scale: Scale) -> [(String, JSONValue)] {
        switch scale {
        case .quick:
            return [("downsample", .string("2")), ("layers", .int(2)), ("pool", .bool(true)), ("widths", ints([32, 64])),
                    ("gamma0", doubles([0.5, 2])), ("eta", .double(0.5)), ("batch_size", .int(32)), ("steps", .int(120)),
                    ("record_every", .int(30)), ("members", .int(6)), ("train_size", .int(2000)), ("test_size", .int(500)),
                    ("train_eval_size", .int(500))]
        case .paper:
            return [("data", .string(paperData)), ("classes", ints([0, 1])), ("layers", .int(3)), ("pool", .bool(true)),
                    ("widths", ints([250, 500])), ("gamma0", doubles([1, 5, 10])), ("eta", .double(2e-4)), ("batch_size", .int(250)),
                    ("steps", .int(5000)), ("record_every", .int(250)), ("members", .int(4)), ("train_size", .int(10_000)),
                    ("test_size", .int(2000)), ("train_eval_size", .int(2000))]
        }
    }

    public static func fluctuationsSettings(_ scale: Scale) -> [(String, JSONValue)] {
        switch scale {
        case .quick:
            return [("downsample", .string("2")), ("layers", .int(2)), ("pool", .bool(true)), ("activation", .string("sqrt2-relu")),
                    ("widths", ints([16, 32, 64])), ("gamma0", doubles([0.5])), ("eta", .double(0.5)), ("batch_size", .int(32)), ("steps", .int(120)),
                    ("record_every", .int(20)), ("members", .int(8)), ("train_size", .int(2000)), ("test_size", .int(300)),
                    ("train_eval_size", .int(500))]
        case .paper:
            return [("data", .string(paperData)), ("classes", ints(Array(0..<10))), ("layers", .int(5)), ("pool", .bool(true)),
                    ("activation", .string("sqrt2-relu")), ("widths", ints([32, 45, 64, 90, 128, 256])), ("gamma0", doubles([0.2])),
                    ("eta", .double(0.05)), ("batch_size", .int(256)), ("steps", .int(20_000)), ("record_every", .int(500)),
                    ("members", .int(8)), ("train_size", .int(50_000)), ("test_size", .int(10_000)), ("train_eval_size", .int(5000)),
                    ("fit_order", .int(2))]
        }
    }

    static func table(_ settings: [(String, JSONValue)]) -> [(String, String)] {
        settings.map { k, v in
            if case .string(let s) = v { return (k, s) }
            return (k, v.serialized(pretty: false))
        }
    }

    static let dmft = FigureSpec(
        name: "dmft-cnn", model: "dmft",
        title: "Mean-field CNNs on images: at fixed gamma0 the loss, accuracy and feature-kernel alignment curves agree across widths",
        quickScaleNote: "Fashion-MNIST T-shirt vs pullover at 14x14, 2 conv layers with pooling, N = 32, 64, gamma0 = 0.5, 2, 120 SGD steps, 6 seeds (paper: CIFAR-10 two classes, N = 250, 500, gamma0 = 1, 5, 10, 5000 steps)") { scale, ctx in
            let settings = try checkedSettings(scale, dmftSettings(scale))
            let p = try parameters(DMFTCNNTask.parameters, settings)
            let r = try CNNExperiment.run(p, ctx)
            let E = p.int("members")
            let drawn = ["test_loss", "test_accuracy", "alignment"]
            let wc = CNNExperiment.widthConsistency(r, observables: drawn)
            let tol = Statistics.bonferroniTolerance(comparisons: wc.comparisons, trials: E)
            let gammas = p.doubles("gamma0")
            let sep = CNNExperiment.gammaSeparation(r, observable: "test_loss")
            let sepTol = Statistics.bonferroniTolerance(comparisons: p.ints("widths").count, trials: E)
            let agreement = [
                Agreement(statistic: "max |z| of width-to-width differences over \(wc.comparisons) (gamma0, step, observable) points",
                          value: wc.maxZ, tolerance: tol,
                          detail: "z = (mean_N - mean_N') / sqrt(se_N^2 + se_N'^2) over \(E) seeds each; tolerance: two-sided Student-t (\(E - 1) dof) quantile at family-wise 1% (Bonferroni); worst: \(wc.worst)"),
                Agreement(statistic: "min over widths of |z| between gamma0 = \(Plot.tickText(gammas.first ?? 0)) and \(Plot.tickText(gammas.last ?? 0)) (final test loss)",
                          value: sep, tolerance: sepTol, higherIsBetter: true,
                          detail: "different gamma0 must separate: |z| above the family-wise 1% quantile"),
            ]
            let t = CNNExperiment.curvesTable(r)
            return FigureResult(panels: [CNNExperiment.curvePlot(r, "test_loss", label: "test loss"),
                                         CNNExperiment.curvePlot(r, "test_accuracy", label: "test accuracy", fromIndex: 1),
                                         CNNExperiment.curvePlot(r, "alignment", label: "alignment A(Phi^L, y y^T)")],
                                parameters: [("data", r.data.source)] + table(settings.filter { $0.0 != "data" }) + [("precision", "float (sgemm)")],
                                agreement: agreement, records: [r.record], tables: [("curves", t)],
                                caption: "Ensemble means with standard-error bars over \(E) seeds per (N, gamma0). Step 0 is excluded from the width comparison: centred outputs vanish there for every network (accuracy is drawn from the first recorded step after 0). Bordelon & Pehlevan (NeurIPS 2022), final experiment; docs/cnn.md.")
        }

    static let fluctuations = FigureSpec(
        name: "fluctuations-cnn", model: "fluctuations",
        title: "Finite-width CNNs on images: ensemble-mean loss depends on N (bias c0 + c1/N) and the spread across seeds shrinks with N (variance)",
        quickScaleNote: "Fashion-MNIST T-shirt vs pullover at 14x14, 2 conv layers with pooling, sqrt2-ReLU, gamma0 = 0.5, N = 16, 32, 64, 8 seeds, 120 SGD steps, fit c0 + c1/N (paper: CIFAR-10, 5 layers, N = 32 ... 256, 8 seeds, fit c0 + c1/N + c2/N^2)") { scale, ctx in
            let settings = try checkedSettings(scale, fluctuationsSettings(scale))
            let p = try parameters(FluctuationsCNNTask.parameters, settings)
            let r = try CNNExperiment.run(p, ctx)
            let w = try CNNExperiment.widthStatistics(r, fitOrder: p.int("fit_order"))
            var agreement: [Agreement] = []
            if let f = w.biasFit {
                let q = Statistics.chiSquareQuantile(0.99, dof: Double(max(1, f.degreesOfFreedom)))
                agreement.append(Agreement(statistic: "chi^2 of the bias fit c0 + c1/N\(f.coefficients.count > 2 ? " + c2/N^2" : "") (\(f.degreesOfFreedom) dof)",
                                           value: f.chiSquare, tolerance: q, detail: "the fitted curve against the ensemble means with their standard errors; tolerance: chi^2 99% quantile. " + FluctuationsCNNTask.fitLabel(f)
                                           + String(format: "; 1/N bias term c1/se(c1) = %.2f", f.coefficients[1] / f.standardErrors[1])))
            }
            if let f = w.varianceFit {
                let b = f.coefficients[1], se = f.standardErrors[1]
                agreement.append(Agreement(statistic: "variance decreases with N: log-log slope b + 2.33 se(b)", value: b + 2.326 * se, tolerance: 0,
                                           detail: "b = \(Plot.tickText(b)) +- \(Plot.tickText(se)) (O(1/N) fluctuations: b = -1); one-sided 99% upper bound below 0"))
            }
            return FigureResult(panels: [CNNExperiment.curvePlot(r, "train_loss", label: "train loss", yLog: true),
                                         FluctuationsCNNTask.biasPlot(w), FluctuationsCNNTask.variancePlot(w)],
                                parameters: [("data", r.data.source)] + table(settings.filter { $0.0 != "data" }) + [("precision", "float (sgemm)")],
                                agreement: agreement, records: [r.record], tables: [("widths", w.table), ("curves", CNNExperiment.curvesTable(r))],
                                caption: "Panel 1 (ensemble-mean training loss per width) is descriptive and carries no verdict; the per-width slopes of log(train loss) per epoch are in the widths table (narrower networks train more slowly in the paper). Bias: ensemble-mean final training loss against 1/N with the weighted least-squares fit (standard errors from the fit covariance). Variance: across \(p.int("members")) seeds per width with fourth-moment standard errors. Bordelon & Pehlevan (NeurIPS 2023), final experiment; docs/cnn.md.")
        }
}
