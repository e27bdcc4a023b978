import Foundation
import NumericalCore

/// `reproduce figure`: one figure of `solvable reproduce` as a compute command that sweeps can name, so the
/// paper-scale reproduction shards onto a Slurm array (one point per figure) and `sweep merge` writes the same
/// report (`report.html`, each figure's SVG panels and CSV tables) from the points' records.
///
/// ```toml
/// command = "reproduce figure"
/// [parameters]
/// scale = "paper"
/// [grid]
/// figure = ["features-isotropic", "memory-capacity"]
/// ```
public enum ReproduceFigureTask: ComputeTask {
    public static let commandPath = ["reproduce", "figure"]
    public static let abstract = "One figure of the report (theory vs simulation), for sweeps: one point per figure."
    public static let examples = ["solvable sweep run reproduce.toml --out paper-run"]
    public static var parameters: [ParameterSpec] {
        [ParameterSpec("figure", .choice(Registry.figures.map(\.name)), required: true, help: "figure name (solvable reproduce --list)"),
         ParameterSpec("scale", .choice(Scale.allCases.map(\.rawValue)), default: .string("quick"), help: "quick or paper"),
         ParameterSpec("base_seed", .int(0...Int.max), default: .int(0),
                       help: "the seed `solvable reproduce --seed` takes; the figure's stream derives from (base_seed, figure name) as there")]
    }

    static let coder: (JSONEncoder, JSONDecoder) = {
        let e = JSONEncoder(), d = JSONDecoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        e.outputFormatting = [.sortedKeys]
        return (e, d)
    }()

    public static func run(_ p: Parameters, _ context: RunContext) throws -> TaskOutput {
        let spec = Registry.figure(p.string("figure"))!
        var ctx = context
        ctx.seed = mixWords([UInt64(p.int("base_seed")), stableHash(spec.name)])   // as Reproduce.run
        var r = try spec.run(Scale(rawValue: p.string("scale"))!, ctx)
        let files = Reproduce.figureFiles(spec, &r)
        let records = try JSONValue.parse(json: String(decoding: coder.0.encode(r.records), as: UTF8.self))
        var out = TaskOutput(summary: .object([
            ("passed", .bool(r.passed)),
            ("report", .object([
                ("panels", .array(r.panels.map { .string($0.svg()) })),
                ("files", .object(files.map { ($0.name, .string($0.data.base64EncodedString())) })),
                ("parameters", .array(r.parameters.map { .array([.string($0.0), .string($0.1)]) })),
                ("caption", .string(r.caption)),
                ("records", records),
            ])),
        ]))
        out.agreement = r.agreement
        out.records = r.records.map { (spec.name, $0) }
        return out
    }

    /// The report of a merged `reproduce figure` sweep, from its finished points' records (in plan order).
    static func writeReport(points: [(SweepPoint, JSONValue)], scale: Scale, into dir: inout OutputDirectory) throws {
        var entries: [ReportEntry] = []
        for (p, r) in points {
            guard let spec = Registry.figure(p.parameters.string("figure")), let rep = r["result"]?["report"] else { continue }
            let agreement: [Agreement] = { if case .array(let a)? = r["agreement"] { return a }; return [] }().map { a in
                Agreement(statistic: SweepMerge.text(a["statistic"]), value: a["value"].flatMap(SweepMerge.number) ?? .nan,
                          tolerance: a["tolerance"].flatMap(SweepMerge.number) ?? .nan, higherIsBetter: a["higher_is_better"] == .bool(true),
                          detail: SweepMerge.text(a["detail"]))
            }
            let records = try rep["records"].map { try coder.1.decode([ConvergenceRecord].self, from: Data($0.serialized(pretty: false).utf8)) } ?? []
            let parameters: [(String, String)] = { if case .array(let a)? = rep["parameters"] { return a }; return [] }().map {
                (SweepMerge.text($0[0]), SweepMerge.text($0[1]))
            }
            var result = FigureResult(panels: [], parameters: parameters, agreement: agreement, records: records, caption: SweepMerge.text(rep["caption"]))
            if case .array(let panels)? = rep["panels"] { result.renderedPanels = panels.map { SweepMerge.text($0) } }
            if case .object(let files)? = rep["files"] {   // the figure's files as `reproduce` writes them
                for (name, b64) in files { if let data = Data(base64Encoded: SweepMerge.text(b64)) { try dir.write(name, data) } }
            }
            entries.append(ReportEntry(spec: spec, result: result, error: nil, wallSeconds: r["wall_seconds"]?.doubleValue ?? 0))
        }
        try dir.write("report.html", text: Report.html(entries: entries, scale: scale, totalSeconds: entries.map(\.wallSeconds).reduce(0, +)))
    }
}

extension JSONValue {
    fileprivate subscript(index: Int) -> JSONValue? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }
}
