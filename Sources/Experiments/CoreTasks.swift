import Foundation
import NumericalCore
import LinearAlgebra

/// Commands and figures of the numerical core itself.
public enum CoreTasks {
    public static let tasks: [any ComputeTask.Type] = [QuadratureCheckTask.self]
    public static let figures: [FigureSpec] = [quadratureFigure]

    /// Gauss-Hermite E[tanh(g z)^2] against a Monte Carlo estimate with standard errors: the smallest
    /// theory-vs-simulation comparison, and a check of the quadrature every DMFT solver uses.
    static let quadratureFigure = FigureSpec(
        name: "core-quadrature", model: "core", title: "Gauss-Hermite quadrature vs Monte Carlo: E[tanh(g z)^2]",
        quickScaleNote: "2x10^4 Monte Carlo samples per gain (paper: 10^6)") { scale, ctx in
            let out = try QuadratureCheckTask.compute(gains: [0.25, 0.5, 1, 1.5, 2, 3, 4], order: 300,
                                                      samples: scale == .quick ? 20_000 : 1_000_000, seed: ctx.seed)
            var plot = Plot(title: "E[tanh(g z)^2], z ~ N(0,1)", xLabel: "gain g", yLabel: "E[tanh(g z)^2]")
            plot.addComparison(label: "", color: 0, theoryX: out.gains, theoryY: out.quadrature, simX: out.gains,
                               simY: out.monteCarlo, simError: out.standardErrors)
            plot.series[0].label = "Gauss-Hermite (300 nodes)"
            plot.series[1].label = "Monte Carlo ± 1 s.e."
            return FigureResult(panels: [plot], parameters: [("gains", out.gains.map { "\($0)" }.joined(separator: ", ")),
                                                              ("order", "300"), ("samples", "\(out.samples)")],
                                agreement: [Agreement.maxAbsZ(theory: out.quadrature, simulation: out.monteCarlo,
                                                              standardErrors: out.standardErrors, tolerance: 4,
                                                              detail: "tolerance 4 s.e. over 7 points (two-sided p < 5e-4 per point)")],
                                caption: "Quadrature (line) and Monte Carlo means with one standard error (points).")
        }
}

/// `solvable core quadrature`: E[tanh(g z)^2] by Gauss-Hermite and by Monte Carlo, side by side.
public enum QuadratureCheckTask: ComputeTask {
    public static let commandPath = ["core", "quadrature"]
    public static let abstract = "Gauss-Hermite E[tanh(g z)^2] against Monte Carlo (a check of the numerical core)."
    public static let discussion = "E[phi(z)] = sum_i w_i phi(z_i) with Golub-Welsch nodes of the probabilists' Hermite polynomials."
    public static let examples = ["solvable core quadrature --gains 0.5,1,2 --order 32 --samples 100000 --json"]
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("gains", .doubleList(0...100), default: .array([.double(0.5), .double(1), .double(2)]), help: "gains g"),
        ParameterSpec("order", .int(1...1000), default: .int(300), help: "number of quadrature nodes (tanh(g z) has poles at distance pi/(2g) from the real axis, so large gains need many nodes)"),
        ParameterSpec("samples", .int(2...100_000_000), default: .int(100_000), help: "Monte Carlo samples per gain"),
    ]

    public struct Output {
        public var gains: [Double], quadrature: [Double], monteCarlo: [Double], standardErrors: [Double], samples: Int
    }

    public static func compute(gains: [Double], order: Int, samples: Int, seed: UInt64) throws -> Output {
        let gh = try GaussHermite(order: order)
        let quad = gains.map { g in gh.expectation { pow(tanh(g * $0), 2) } }
        let mc: [(Double, Double)] = ThreadPolicy.parallelMap(gains.count) { k in
            var rng = RandomStream(seed: seed, point: UInt64(k), sample: 0)
            var m = RunningMoments()
            for _ in 0..<samples { m.add(pow(tanh(gains[k] * rng.gaussian()), 2)) }
            return (m.mean, m.standardError)
        }
        return Output(gains: gains, quadrature: quad, monteCarlo: mc.map(\.0), standardErrors: mc.map(\.1), samples: samples)
    }

    public static func run(_ p: Parameters, _ ctx: RunContext) throws -> TaskOutput {
        let o = try compute(gains: p.doubles("gains"), order: p.int("order"), samples: p.int("samples"), seed: ctx.seed)
        var t = ResultTable()
        t.add("gain", o.gains); t.add("quadrature", o.quadrature); t.add("monte_carlo", o.monteCarlo); t.add("standard_error", o.standardErrors)
        var out = TaskOutput(summary: .object([("gain", .numbers(o.gains)), ("quadrature", .numbers(o.quadrature)),
                                               ("monte_carlo", .numbers(o.monteCarlo)), ("standard_error", .numbers(o.standardErrors))]))
        out.tables = [("quadrature", t)]
        var plot = Plot(title: "E[tanh(g z)^2]", xLabel: "g", yLabel: "E[tanh(g z)^2]")
        plot.addComparison(label: "", color: 0, theoryX: o.gains, theoryY: o.quadrature, simX: o.gains, simY: o.monteCarlo, simError: o.standardErrors)
        out.plots = [("quadrature", plot)]
        out.agreement = [Agreement.maxAbsZ(theory: o.quadrature, simulation: o.monteCarlo, standardErrors: o.standardErrors, tolerance: 4)]
        return out
    }
}
