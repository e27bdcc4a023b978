import Foundation
import NumericalCore

/// The main job: runs registered figures at a scale, writes each figure's SVG panels and tables and the
/// self-contained `report.html` into a directory, and returns the report's sections.
///
/// Outputs are staged (`OutputDirectory`) and published as one set when every figure is done, so an interrupted
/// run leaves an earlier complete report untouched. Each finished figure is kept in the staging folder as it
/// completes (its files and its report section, `.figure-NAME.json`); a rerun with the same figures, scale and
/// seed reuses them instead of recomputing. The staged report.html is rewritten after every figure and says in
/// its title that it is partial and which figures are missing.
public enum Reproduce {
    public static func run(figures: [FigureSpec], scale: Scale, outDirectory: String, context: RunContext) throws -> [ReportSection] {
        let names = figures.map(\.name)
        let key = String(mixWords([stableHash(names.joined(separator: ",")), stableHash(scale.rawValue), context.seed]), radix: 16)
        var dir = try OutputDirectory(outDirectory, runKey: key)
        let clock = Stopwatch()
        var sections: [ReportSection] = []
        let progress = Progress("reproduce", total: figures.count)
        for (k, spec) in figures.enumerated() {
            let stored = dir.staging!.appendingPathComponent(".figure-\(spec.name).json")
            if let text = try? String(contentsOf: stored, encoding: .utf8), let json = try? JSONValue.parse(json: text),
               let section = ReportSection(json: json), case .array(let files)? = json["files"] {
                let fileNames = files.compactMap { f -> String? in if case .string(let s) = f { return s }; return nil }
                if fileNames.allSatisfy({ FileManager.default.fileExists(atPath: dir.staging!.appendingPathComponent($0).path) }) {
                    for f in fileNames { dir.adopt(f) }
                    sections.append(section)
                    context.log("figure \(k + 1)/\(figures.count): \(spec.name) (finished by an earlier interrupted run; reused)")
                    progress.advance()
                    continue
                }
            }
            context.log("figure \(k + 1)/\(figures.count): \(spec.name)")
            let fc = Stopwatch()
            var figContext = context
            figContext.seed = mixWords([context.seed, stableHash(spec.name)])
            let entry: ReportEntry
            var files: [String] = []
            do {
                var r = try spec.run(scale, figContext)
                for (name, data) in figureFiles(spec, &r) { try dir.write(name, data); files.append(name) }
                entry = ReportEntry(spec: spec, result: r, error: nil, wallSeconds: fc.elapsed)
                let agreement = r.agreement.map { "\($0.statistic) = \(Plot.tickText($0.value)) [\($0.passed ? "pass" : "FAIL")]" }.joined(separator: "; ")
                context.log("  \(spec.name): \(agreement), status \(r.status.rawValue), \(String(format: "%.1f", fc.elapsed)) s")
            } catch let e as SolvableError where e.exitCode == 1 && e.description.contains("earlier outputs") {
                throw e   // the output folder itself failed (disk full): stop, the earlier set stays
            } catch {
                entry = ReportEntry(spec: spec, result: nil, error: "\(error)", wallSeconds: fc.elapsed)
                context.log("  \(spec.name) failed: \(error)")
            }
            let section = entry.section(scale: scale, seed: context.seed)
            sections.append(section)
            if entry.error == nil {   // failed figures are rerun next time
                var json = section.json
                if case .object(var kv) = json { kv.append(("files", .array(files.map { .string($0) }))); json = .object(kv) }
                try AtomicFile.write(Data((json.serialized(pretty: false) + "\n").utf8), to: stored)
            }
            progress.advance()
            let missing = Array(names.dropFirst(k + 1))
            try dir.write("report.html", text: Report.html(sections: sections, scale: scale, totalSeconds: clock.elapsed, missing: missing))
        }
        let summary: JSONValue = .object([
            ("command", .string("reproduce")),
            ("scale", .string(scale.rawValue)), ("seed", .int(Int(truncatingIfNeeded: context.seed))),
            ("environment", RunEnvironment.json), ("total_seconds", .number(clock.elapsed)),
            ("figures", .array(sections.map { e in
                .object([("name", .string(e.name)), ("passed", .bool(e.passed)), ("status", .string(e.status)),
                         ("wall_seconds", .number(e.wallSeconds)), ("agreement", e.agreement),
                         ("error", e.error.map { .string($0) } ?? .null)])
            })),
            ("files", .array((dir.written + [dir.manifestName]).map { .string($0) })),
        ])
        try dir.commit(manifest: summary)
        return sections
    }

    /// Every file of one figure: its SVG panels (laid out for the report page), each panel's plotted data (CSV of
    /// every series with its standard errors, or the heatmap as .npy), `plot_<figure>.py` that redraws it with
    /// matplotlib, and the figure's tables. `reproduce` and the sweep form of it (`reproduce figure`) write the same.
    public static func figureFiles(_ spec: FigureSpec, _ r: inout FigureResult) -> [(name: String, data: Data)] {
        Plot.layOut(&r.panels)
        var files: [(name: String, data: Data)] = []
        var dataFiles: [String] = []
        for (i, p) in r.panels.enumerated() {
            files.append(("\(spec.name)-\(i + 1).svg", Data(p.svg().utf8)))
            if let a = p.heatmapArray() {
                dataFiles.append("\(spec.name)-\(i + 1).npy"); files.append((dataFiles.last!, NPY.encode(a)))
            } else if let t = p.dataTable() {
                dataFiles.append("\(spec.name)-\(i + 1)-data.csv"); files.append((dataFiles.last!, Data(CSV.encode(t).utf8)))
            }
        }
        files.append(("plot_\(spec.name).py", Data(PlotScript.python(figure: spec.name, title: spec.title, caption: r.caption,
                                                                      panels: r.panels, dataFiles: dataFiles).utf8)))
        for (name, t) in r.tables { files.append(("\(spec.name)-\(name).csv", Data(CSV.encode(t).utf8))) }
        return files
    }
}
