import Foundation
import NumericalCore

/// The main job: runs registered figures at a scale, writes each figure's SVG panels and tables and the
/// self-contained `report.html` into a directory, and returns the entries.
public enum Reproduce {
    public static func run(figures: [FigureSpec], scale: Scale, outDirectory: String, context: RunContext) throws -> [ReportEntry] {
        var dir = try OutputDirectory(outDirectory)
        let clock = Stopwatch()
        var entries: [ReportEntry] = []
        let progress = Progress("reproduce", total: figures.count)
        for (k, spec) in figures.enumerated() {
            context.log("figure \(k + 1)/\(figures.count): \(spec.name)")
            let fc = Stopwatch()
            var figContext = context
            figContext.seed = mixWords([context.seed, stableHash(spec.name)])
            do {
                var r = try spec.run(scale, figContext)
                Plot.layOut(&r.panels)
                var dataFiles: [String] = []
                for (i, p) in r.panels.enumerated() {
                    try dir.write("\(spec.name)-\(i + 1).svg", text: p.svg())
                    if let a = p.heatmapArray() {
                        dataFiles.append("\(spec.name)-\(i + 1).npy")
                        try dir.write(dataFiles[i], NPY.encode(a))
                    } else if let t = p.dataTable() {
                        dataFiles.append("\(spec.name)-\(i + 1)-data.csv")
                        try dir.write(dataFiles[i], text: CSV.encode(t))
                    }
                }
                try dir.write("plot_\(spec.name).py", text: PlotScript.python(figure: spec.name, title: spec.title, caption: r.caption,
                                                                              panels: r.panels, dataFiles: dataFiles))
                for (name, t) in r.tables { try dir.write("\(spec.name)-\(name).csv", text: CSV.encode(t)) }
                entries.append(ReportEntry(spec: spec, result: r, error: nil, wallSeconds: fc.elapsed))
                let agreement = r.agreement.map { "\($0.statistic) = \(Plot.tickText($0.value)) [\($0.passed ? "pass" : "FAIL")]" }.joined(separator: "; ")
                context.log("  \(spec.name): \(agreement), status \(r.status.rawValue), \(String(format: "%.1f", fc.elapsed)) s")
            } catch {
                entries.append(ReportEntry(spec: spec, result: nil, error: "\(error)", wallSeconds: fc.elapsed))
                context.log("  \(spec.name) failed: \(error)")
            }
            progress.advance()
            // the report is rewritten after every figure, so an interrupted run still leaves a valid report
            try dir.write("report.html", text: Report.html(entries: entries, scale: scale, totalSeconds: clock.elapsed, seed: context.seed))
        }
        let summary: JSONValue = .object([
            ("scale", .string(scale.rawValue)), ("environment", RunEnvironment.json), ("total_seconds", .number(clock.elapsed)),
            ("figures", .array(entries.map { e in
                .object([("name", .string(e.spec.name)), ("passed", .bool(e.passed)),
                         ("status", .string(e.error == nil ? (e.result?.status.rawValue ?? "-") : "error")),
                         ("wall_seconds", .number(e.wallSeconds)),
                         ("agreement", .array(e.result?.agreement.map(\.json) ?? [])),
                         ("error", e.error.map { .string($0) } ?? .null)])
            })),
        ])
        try dir.write("manifest.json", text: summary.serialized() + "\n")
        return entries
    }
}
