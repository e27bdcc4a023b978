import Foundation
import NumericalCore

/// The documented outputs of Solvable's commands: for every file a command writes, its name (or name pattern),
/// format, dtype, shape with named axes, units or normalisation, meaning and when it is written.
///
/// Each model declares its commands' outputs in `Sources/Experiments/<Model>/<Model>Schema.swift` (an extension
/// conforming the task to `DocumentedOutputs`); `OutputSchema.of(task)` adds the files every command writes
/// (`result.json`, `manifest.json`). `solvable <model> <verb> --schema [--json]` prints one command's schema,
/// `solvable schema` renders docs/outputs.md and `solvable schema --json` the machine-readable catalog of
/// every command, its parameters and outputs that the Python package is generated from. The test suite runs every
/// command and checks that each file written is declared here and each file declared unconditionally is written.
///
/// Name patterns: `{l}` stands for a hidden-layer index 1...L (digits), any other `{name}` for a word of letters,
/// digits, `_` and `-` (e.g. `capacity_{criterion}.svg`).

/// One named axis of the arrays a command writes, e.g. `t`: grid time 0...T-1.
public struct OutputAxis: Sendable {
    public var name: String
    public var meaning: String
    public init(_ name: String, _ meaning: String) { self.name = name; self.meaning = meaning }
}

/// A column of a CSV table or a top-level key of a JSON file.
public struct OutputField: Sendable {
    public var name: String
    /// `float`, `int`, `string`, `bool`, `list[float]`, `object`, ... (CSV numbers are always written as floats).
    public var type: String
    public var units: String
    public var meaning: String
    /// nil: always present; otherwise when it is.
    public var condition: String?

    public init(_ name: String, _ type: String, _ meaning: String, units: String = "", when condition: String? = nil) {
        self.name = name; self.type = type; self.meaning = meaning; self.units = units; self.condition = condition
    }
}

/// One file a command writes.
public struct OutputFile: Sendable {
    public enum Format: String, Sendable { case npy, csv, json, svg, html, checkpoint, python }

    /// File name or pattern, e.g. `phi_layer{l}.npy`.
    public var name: String
    public var format: Format
    /// `float64` for .npy arrays; for other formats the kind of content.
    public var dtype: String
    /// .npy only: the axes, one list per possible layout (e.g. [t, mu, s, nu], or [t, s] for a deep linear G).
    public var shapes: [[String]]
    public var units: String
    public var meaning: String
    /// nil: always written; otherwise when it is written.
    public var condition: String?
    /// CSV columns or JSON keys.
    public var fields: [OutputField]

    public init(name: String, format: Format, dtype: String, shapes: [[String]] = [], units: String = "", meaning: String,
                condition: String? = nil, fields: [OutputField] = []) {
        self.name = name; self.format = format; self.dtype = dtype; self.shapes = shapes; self.units = units
        self.meaning = meaning; self.condition = condition; self.fields = fields
    }

    /// A float64 .npy array `stem.npy` with the given axes (several when the layout depends on the problem).
    public static func npy(_ stem: String, axes: [String]..., units: String = "", _ meaning: String, when condition: String? = nil) -> OutputFile {
        OutputFile(name: stem + ".npy", format: .npy, dtype: "float64", shapes: axes, units: units, meaning: meaning, condition: condition)
    }

    /// A CSV table `stem.csv` (header row, one row per record; "inf" for infinite values).
    public static func csv(_ stem: String, _ meaning: String, when condition: String? = nil, columns: [OutputField]) -> OutputFile {
        OutputFile(name: stem + ".csv", format: .csv, dtype: "table", meaning: meaning, condition: condition, fields: columns)
    }

    /// An SVG figure `stem.svg`.
    public static func svg(_ stem: String, _ meaning: String, when condition: String? = nil) -> OutputFile {
        OutputFile(name: stem + ".svg", format: .svg, dtype: "image/svg+xml", meaning: meaning, condition: condition)
    }

    /// Whether `fileName` is this file (patterns: `{l}` digits, other placeholders words).
    public func matches(_ fileName: String) -> Bool { OutputSchema.matches(pattern: name, fileName) }

    /// The declared column or key `name` stands for: the most specific pattern that matches it (`mean_se_{q}`
    /// before `mean_{q}`).
    public func field(named name: String) -> OutputField? { OutputSchema.mostSpecific(fields, name, \.name) }
}

/// A command's own outputs, declared next to its model (`<Model>Schema.swift`).
public struct OutputDeclaration: Sendable {
    public var axes: [OutputAxis]
    public var files: [OutputFile]
    /// Top-level keys of `result.json` (also the `result` member of the `--json` document).
    public var result: [OutputField]

    public init(axes: [OutputAxis] = [], files: [OutputFile], result: [OutputField]) {
        self.axes = axes; self.files = files; self.result = result
    }
}

/// A compute command that documents the files it writes.
public protocol DocumentedOutputs: ComputeTask {
    static var outputs: OutputDeclaration { get }
}

/// The full schema of one command: its declared files plus `result.json` and `manifest.json`.
public struct OutputSchema: Sendable {
    public var command: String
    public var abstract: String
    public var axes: [OutputAxis]
    public var files: [OutputFile]

    public init(command: String, abstract: String, axes: [OutputAxis], files: [OutputFile]) {
        self.command = command; self.abstract = abstract; self.axes = axes; self.files = files
    }

    /// The schema of a registered compute command, nil when the task declares no outputs.
    public static func of(_ task: any ComputeTask.Type) -> OutputSchema? {
        guard let d = task as? any DocumentedOutputs.Type else { return nil }
        let decl = d.outputs
        let result = OutputFile(name: "result.json", format: .json, dtype: "object",
                                meaning: "the command's main result (also the `result` member of the `--json` document on stdout)",
                                fields: decl.result)
        return OutputSchema(command: task.name, abstract: task.abstract, axes: decl.axes, files: decl.files + [result, manifestFile])
    }

    /// The files of `solvable reproduce` (the report of the papers' figures).
    public static var reproduce: OutputSchema {
        OutputSchema(command: "reproduce", abstract: "the papers' key figures, theory against simulation, in one report", axes: [], files: [
            OutputFile(name: "report.html", format: .html, dtype: "text/html",
                       meaning: "self-contained report: every figure with its agreement statistic, pass/fail, solver status and wall time (rewritten after each figure)"),
            .svg("{figure}-{panel}", "panel `panel` (1, 2, ...) of figure `figure` (`solvable reproduce --list`)"),
            .csv("{figure}-{panel}-data", "the series line/point panel `panel` draws, every computed point (the SVG thins dense markers), one row per point", columns: [
                OutputField("series", "int", "0-based index of the series in the panel's legend order"),
                OutputField("label", "string", "the series' legend label (empty for unlabelled series)"),
                OutputField("style", "string", "line (theory), dashed, points (simulation, with error bars), linePoints, reference (a guide such as a claimed slope, not data)"),
                OutputField("color", "int", "palette index; a theory line and its simulation share one"),
                OutputField("x", "float", "horizontal coordinate (the panel's x label)"),
                OutputField("y", "float", "vertical coordinate (the panel's y label)"),
                OutputField("y_error", "float", "one standard error of y (nan when the series has none)"),
            ]),
            .npy("{figure}-{panel}", axes: ["row", "col"], units: "the colour bar's quantity", "the matrix heatmap panel `panel` draws (row 0 at the top; axis extents and colour range in plot_{figure}.py)", when: "for heatmap panels"),
            OutputFile(name: "plot_{figure}.py", format: .python, dtype: "text/x-python",
                       meaning: "matplotlib script that redraws figure `figure` from its data files: python3 plot_{figure}.py [OUT.png|OUT.pdf]"),
            OutputFile(name: "{figure}-{table}.csv", format: .csv, dtype: "table",
                       meaning: "a data table of figure `figure` (columns documented in the table's header)", condition: "for figures that write tables"),
            OutputFile(name: "manifest.json", format: .json, dtype: "object", meaning: "summary of the run", fields: [
                OutputField("scale", "string", "quick or paper"),
                OutputField("environment", "object", "version, git commit, BLAS core and threads, host (as in a command's manifest)"),
                OutputField("total_seconds", "float", "wall time of the whole run", units: "s"),
                OutputField("figures", "list[object]", "per figure: name, passed, status, wall_seconds, agreement, error"),
            ]),
        ])
    }

    /// `manifest.json`, written last by every compute command.
    public static let manifestFile = OutputFile(
        name: "manifest.json", format: .json, dtype: "object",
        meaning: "how the outputs were made: parameters, seed, input files, environment, wall time, solver status; the set is staged and published together, this file last, so its presence means the set is complete",
        fields: [
            OutputField("command", "string", "the command, e.g. \"dmft solve\""),
            OutputField("parameters", "object", "every parameter's value after defaults and validation (the keys of --config files)"),
            OutputField("effective_parameters", "object", "parameters as the computation used them where the data decided them (e.g. points and dim of --inputs data); empty otherwise"),
            OutputField("seed", "int", "base seed; random streams derive from (seed, point, sample)"),
            OutputField("inputs", "list[object]", "every input file: parameter, path, sha256 of its contents"),
            OutputField("environment", "object", "solvable_version, git_commit, blas_core, blas_threads, openblas_coretype_env, threads, host"),
            OutputField("wall_seconds", "float", "wall time of the computation", units: "s"),
            OutputField("status", "string", "worst solver status: converged, maxIterations, diverged, ... (non-converged runs exit 3)"),
            OutputField("solvers", "object", "per solver: status, iterations, final_residual, tolerance, elapsed_seconds, residual_history, message"),
            OutputField("agreement", "list[object]", "theory-vs-simulation checks: statistic, value, tolerance, higher_is_better, passed, detail"),
            OutputField("omitted", "list[string]", "what the finiteness gate left out (rows from the first non-finite step, arrays holding non-finite values, summary numbers written as null)"),
            OutputField("files", "list[string]", "the files of this run, manifest.json last; Solvable overwrites or deletes only files a manifest lists"),
            OutputField("note", "string or null", "a remark on the run, else null"),
        ])

    /// The declaration of `fileName` (the most specific matching pattern), nil when it is not declared.
    public func file(named fileName: String) -> OutputFile? { OutputSchema.mostSpecific(files, fileName, \.name) }

    /// Among `items` whose pattern matches `name`, the one with the most literal characters.
    static func mostSpecific<T>(_ items: [T], _ name: String, _ pattern: (T) -> String) -> T? {
        items.filter { matches(pattern: pattern($0), name) }
            .max { literalLength(pattern($0)) < literalLength(pattern($1)) }
    }

    static func literalLength(_ pattern: String) -> Int {
        var n = 0, inside = false
        for ch in pattern { if ch == "{" { inside = true } else if ch == "}" { inside = false } else if !inside { n += 1 } }
        return n
    }

    // MARK: name patterns

    /// `{l}` matches digits, any other `{name}` a word of letters, digits, `_` and `-`; the rest literally.
    public static func matches(pattern: String, _ name: String) -> Bool {
        guard let re = try? NSRegularExpression(pattern: "^" + regex(pattern) + "$") else { return false }
        return re.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
    }

    static func regex(_ pattern: String) -> String {
        var out = "", literal = "", placeholder: String? = nil
        for ch in pattern {
            if var p = placeholder {
                if ch == "}" { out += p == "l" ? "[0-9]+" : "[A-Za-z0-9_-]+"; placeholder = nil } else { p.append(ch); placeholder = p }
            } else if ch == "{" {
                out += NSRegularExpression.escapedPattern(for: literal); literal = ""; placeholder = ""
            } else { literal.append(ch) }
        }
        return out + NSRegularExpression.escapedPattern(for: literal)
    }

    // MARK: rendering

    public var json: JSONValue {
        .object([
            ("command", .string(command)), ("abstract", .string(abstract)),
            ("axes", .array(axes.map { .object([("name", .string($0.name)), ("meaning", .string($0.meaning))]) })),
            ("files", .array(files.map(OutputSchema.json))),
        ])
    }

    static func json(_ f: OutputFile) -> JSONValue {
        var kv: [(String, JSONValue)] = [("name", .string(f.name)), ("format", .string(f.format.rawValue)), ("dtype", .string(f.dtype))]
        if f.format == .npy { kv.append(("shapes", .array(f.shapes.map { .array($0.map { .string($0) }) }))) }
        kv += [("units", .string(f.units)), ("meaning", .string(f.meaning)), ("optional", .bool(f.condition != nil)),
               ("condition", f.condition.map { .string($0) } ?? .null)]
        if !f.fields.isEmpty {
            kv.append((f.format == .csv ? "columns" : "keys", .array(f.fields.map { c in
                .object([("name", .string(c.name)), ("type", .string(c.type)), ("units", .string(c.units)),
                         ("meaning", .string(c.meaning)), ("optional", .bool(c.condition != nil)),
                         ("condition", c.condition.map { .string($0) } ?? .null)])
            })))
        }
        return .object(kv)
    }

    /// The command's section of docs/outputs.md (also what `--schema` prints); `manifestKeys: false` leaves out the
    /// keys of the manifest every command writes (docs/outputs.md lists them once).
    public func markdown(level: Int = 2, manifestKeys: Bool = true) -> String {
        let h = String(repeating: "#", count: level)
        var s = "\(h) `solvable \(command)`\n\n\(abstract)\n\n"
        if !axes.isEmpty {
            s += "Axes of its arrays:\n\n| axis | meaning |\n|---|---|\n"
            for a in axes { s += "| `\(a.name)` | \(OutputSchema.cell(a.meaning)) |\n" }
            s += "\n"
        }
        s += "| file | dtype | shape | units / normalisation | meaning | written |\n|---|---|---|---|---|---|\n"
        for f in files {
            let shape = f.shapes.map { "[" + $0.joined(separator: ", ") + "]" }.joined(separator: " or ")
            s += "| `\(f.name)` | \(f.dtype) | \(shape) | \(OutputSchema.cell(f.units)) | \(OutputSchema.cell(f.meaning)) | \(OutputSchema.cell(f.condition ?? "always")) |\n"
        }
        let commonManifest = OutputSchema.manifestFile.fields.map(\.name)
        for f in files where !f.fields.isEmpty && (manifestKeys || f.fields.map(\.name) != commonManifest) {
            s += "\n`\(f.name)` \(f.format == .csv ? "columns" : "keys"):\n\n| \(f.format == .csv ? "column" : "key") | type | units | meaning | present |\n|---|---|---|---|---|\n"
            for c in f.fields {
                s += "| `\(c.name)` | \(c.type) | \(OutputSchema.cell(c.units)) | \(OutputSchema.cell(c.meaning)) | \(OutputSchema.cell(c.condition ?? "always")) |\n"
            }
        }
        return s
    }

    static func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
}
