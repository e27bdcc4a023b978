import Experiments
import Foundation
import SolvableTestSupport
import Testing

/// The documented output schema against what the commands really write: every compute command runs on small
/// inputs (with variants that switch on its optional outputs); every file, CSV column and result.json key written
/// must be declared, every unconditional one must be written, and every conditional one must be written by at
/// least one variant (so the schema documents no file that does not exist).
@Suite struct OutputSchemaTests {
    /// Small invocations per command; a command's variants together cover its optional outputs.
    /// `status` 3: the variant deliberately stops a solver early (outputs are still written, marked).
    static let invocations: [(args: [String], status: Int32)] = [
        (["core", "quadrature", "--gains", "0.5,1", "--order", "32", "--samples", "1000"], 0),
        (["features", "theory", "--n0", "100", "--widths", "50", "--noise", "0.25", "--samples", "20,50,100"], 0),
        (["features", "theory", "--n0", "100", "--samples", "20,200", "--lambda", "0.01", "--optimal-ridge", "true"], 0),
        (["features", "theory", "--n0", "100", "--widths", "50", "--samples", "20,70", "--lambda", "0.1", "--max-iterations", "1"], 3),
        (["features", "simulate", "--n0", "40", "--widths", "20", "--samples", "10,30", "--trials", "4"], 0),
        (["features", "compare", "--n0", "40", "--widths", "20", "--samples", "10,30", "--trials", "4"], 0),
        (["memory", "simulate", "--neurons", "40", "--patterns", "10", "--steps", "12"], 0),
        (["memory", "simulate", "--neurons", "40", "--patterns", "10", "--steps", "12", "--network", "circuit",
          "--basin-flips", "0,0.2", "--basin-trials", "5"], 0),
        (["memory", "simulate", "--neurons", "10", "--patterns", "14", "--steps", "3", "--network", "gpi"], 0),
        (["memory", "capacity", "--neurons", "12", "--degrees", "1", "--trials", "20", "--criterion", "both"], 4),   // too few trials to agree: exit 4
        (["memory", "timing", "--neurons", "40", "--patterns", "6", "--tau", "3", "--degree", "10"], 0),
        (["memory", "compare", "--neurons", "20", "--patterns", "5", "--degrees", "1", "--correlations", "0,0.5", "--trials", "3"], 0),
        (["dmft", "solve", "--depth", "2", "--points", "4", "--dim", "8", "--steps", "6", "--test-points", "2"], 0),
        (["dmft", "solve", "--depth", "2", "--points", "4", "--dim", "8", "--steps", "6", "--kernel-format", "factored"], 0),
        (["dmft", "solve", "--activation", "tanh", "--depth", "1", "--points", "3", "--steps", "4", "--samples", "100", "--replicas", "2"], 0),
        (["dmft", "approx", "--method", "static", "--depth", "2", "--points", "4", "--steps", "6"], 0),
        (["dmft", "train", "--depth", "2", "--points", "4", "--steps", "6", "--width", "32", "--seeds", "2"], 0),
        (["dmft", "compare", "--depth", "2", "--points", "4", "--steps", "6", "--widths", "16,32", "--seeds", "2"], 4),   // widths too small to align: exit 4
        (["fluctuations", "theory", "--model", "two-layer", "--activation", "tanh", "--steps", "6", "--quadrature-order", "8"], 0),
        (["fluctuations", "theory", "--model", "two-layer", "--activation", "linear", "--steps", "5"], 0),
        (["fluctuations", "theory", "--model", "lazy", "--steps", "5"], 0),
        (["fluctuations", "theory", "--model", "deep-init", "--activation", "relu", "--depth", "3"], 0),
        (["fluctuations", "theory", "--model", "eos", "--steps", "5"], 0),
        (["fluctuations", "theory", "--model", "online", "--steps", "5"], 0),
        (["fluctuations", "theory", "--model", "deep-linear", "--depth", "2", "--steps", "4"], 0),
        (["fluctuations", "ensemble", "--model", "two-layer", "--steps", "6", "--width", "16", "--members", "8"], 0),
        (["fluctuations", "ensemble", "--model", "deep-init", "--activation", "relu", "--depth", "3", "--width", "8", "--members", "4"], 0),
        (["fluctuations", "ensemble", "--model", "deep-linear", "--depth", "2", "--steps", "4", "--width", "8", "--members", "4"], 0),
        (["fluctuations", "ensemble", "--model", "online", "--steps", "4", "--width", "8", "--members", "4"], 0),
        (["fluctuations", "compare", "--activation", "linear", "--gamma0s", "1", "--widths", "16,32,64", "--members", "8",
          "--steps", "6", "--eval-time", "3"], 0),
        (["dmft", "cnn", "--train-size", "40", "--test-size", "20", "--train-eval-size", "20", "--downsample", "4", "--widths", "4,6",
          "--gamma0", "1", "--layers", "1", "--steps", "2", "--record-every", "1", "--members", "2", "--batch-size", "8", "--eta", "0.1"], 0),
        (["fluctuations", "cnn", "--train-size", "40", "--test-size", "20", "--train-eval-size", "20", "--downsample", "4", "--widths", "4,6,8", "--members", "4",
          "--layers", "1", "--steps", "2", "--record-every", "1", "--batch-size", "8", "--eta", "0.1"], 0),
        (["fluctuations", "compare", "--activation", "tanh", "--gamma0s", "1", "--widths", "16,32", "--members", "8",
          "--steps", "6", "--eval-time", "3", "--quadrature-order", "8"], 4),   // 8 members at order 8: exit 4
    ]

    /// What one run wrote, by schema entry.
    struct Seen { var files: Set<String> = []; var fields: Set<String> = [] }

    @Test func everyRegisteredCommandDeclaresItsOutputsAndIsExercisedHere() {
        for task in Registry.tasks {
            #expect(OutputSchema.of(task) != nil, "solvable \(task.name) declares no outputs (add it to its model's <Model>Schema.swift)")
            #expect(Self.invocations.contains { Array($0.args.prefix(task.commandPath.count)) == task.commandPath },
                    "solvable \(task.name) has no invocation in OutputSchemaTests.invocations")
        }
    }

    @Test func everyWrittenFileIsDeclaredAndEveryDeclaredFileIsWritten() throws {
        var seen: [String: Seen] = [:]
        for inv in Self.invocations {
            let task = try #require(Registry.tasks.first { Array(inv.args.prefix($0.commandPath.count)) == $0.commandPath })
            let schema = try #require(OutputSchema.of(task))
            let dir = try SolvableProcess.scratchDirectory("schema")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let r = try SolvableProcess.run(inv.args + ["--out", dir, "--quiet", "--threads", "2"])
            #expect(r.status == inv.status, "\(inv.args): status \(r.status), \(r.stderr)")
            let written = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            var s = seen[task.name] ?? Seen()
            for name in written {
                guard let file = schema.file(named: name) else {
                    Issue.record("solvable \(task.name) wrote \(name), which its schema does not declare (\(inv.args))")
                    continue
                }
                s.files.insert(file.name)
                let path = dir + "/" + name
                switch file.format {
                case .npy:
                    let a = try NPY.read(path)
                    #expect(file.shapes.contains { $0.count == a.shape.count }, "\(name): shape \(a.shape) has none of the declared layouts \(file.shapes)")
                    if task.commandPath.first == "dmft", let steps = Self.value(of: "--steps", in: inv.args).flatMap(Int.init) {
                        for layout in file.shapes where layout.count == a.shape.count {
                            for (axis, n) in zip(layout, a.shape) where axis == "t" || axis == "s" {
                                #expect(n == steps, "\(name): axis \(axis) has length \(n), not --steps \(steps)")
                            }
                        }
                    }
                case .csv:
                    let header = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
                    s.fields.formUnion(check(fields: header.split(separator: ",").map(String.init), of: file, in: "\(name) \(inv.args)"))
                case .json:
                    guard case .object(let kv) = try JSONValue.parse(json: String(contentsOfFile: path, encoding: .utf8)) else {
                        Issue.record("\(name) is not a JSON object"); continue
                    }
                    s.fields.formUnion(check(fields: kv.map(\.0), of: file, in: "\(name) \(inv.args)"))
                default: break
                }
            }
            for f in schema.files where f.condition == nil {
                #expect(written.contains { f.matches($0) }, "solvable \(task.name) did not write \(f.name) (\(inv.args))")
            }
            seen[task.name] = s
        }
        // every conditional entry must be real: written by at least one variant (checkpoints exist only mid-run)
        for task in Registry.tasks {
            guard let schema = OutputSchema.of(task), let s = seen[task.name] else { continue }
            for f in schema.files where f.format != .checkpoint {
                #expect(s.files.contains(f.name), "solvable \(task.name): no variant wrote \(f.name)")
                for c in f.fields { #expect(s.fields.contains(f.name + "/" + c.name), "solvable \(task.name): no variant wrote \(f.name) field \(c.name)") }
            }
        }
    }

    /// Checks the columns or keys of one written file; returns the declared fields seen, as "file/field".
    func check(fields names: [String], of file: OutputFile, in context: String) -> Set<String> {
        var seen: Set<String> = []
        for n in names {
            if let f = file.field(named: n) { seen.insert(file.name + "/" + f.name) }
            else { Issue.record("\(context): \(n) is not declared") }
        }
        for f in file.fields where f.condition == nil && !names.contains(where: { OutputSchema.matches(pattern: f.name, $0) }) {
            Issue.record("\(context): declared \(f.name) is missing")
        }
        return seen
    }

    static func value(of flag: String, in args: [String]) -> String? {
        args.firstIndex(of: flag).flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
    }

    @Test func reproduceWritesItsDeclaredFiles() throws {
        let dir = try SolvableProcess.scratchDirectory("schema-reproduce")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try SolvableProcess.run(["reproduce", "--figure", "core-quadrature", "--out", dir, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let schema = OutputSchema.reproduce
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            #expect(schema.file(named: name) != nil, "reproduce wrote \(name), which its schema does not declare")
        }
        for f in schema.files where f.condition == nil {
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).contains { f.matches($0) }, "reproduce did not write \(f.name)")
        }
    }

    @Test func namePatterns() {
        #expect(OutputSchema.matches(pattern: "phi_layer{l}.npy", "phi_layer12.npy"))
        #expect(!OutputSchema.matches(pattern: "phi_layer{l}.npy", "phi_layerx.npy"))
        #expect(!OutputSchema.matches(pattern: "phi_layer{l}.npy", "dmft_phi_layer1.npy"))
        #expect(OutputSchema.matches(pattern: "{figure}-{panel}.svg", "core-quadrature-1.svg"))
        #expect(OutputSchema.matches(pattern: "mean_{q}", "mean_excess_error_times_N"))
        #expect(!OutputSchema.matches(pattern: "loss.csv", "lossXcsv"))
    }

    @Test func schemaFlagPrintsOneCommandsSchema() throws {
        let text = try SolvableProcess.run(["dmft", "solve", "--schema"])
        #expect(text.status == 0 && text.stdout.contains("`phi_layer{l}.npy`") && text.stdout.contains("[t, mu, s, nu]"), "\(text.stderr)")
        let json = try SolvableProcess.run(["dmft", "solve", "--schema", "--json"])
        let doc = try JSONValue.parse(json: json.stdout)
        #expect(doc["command"] == .string("dmft solve"))
        guard case .array(let files)? = doc["files"] else { Issue.record("no files"); return }
        #expect(files.contains { $0["name"] == .string("manifest.json") } && files.contains { $0["name"] == .string("result.json") })
    }

    /// docs/outputs.md and the Python package's catalog are generated from the declarations; `make schema` regenerates them.
    @Test func generatedFilesAreCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let docs = try String(contentsOf: root.appendingPathComponent("docs/outputs.md"), encoding: .utf8)
        #expect(docs == CommandCatalog.markdown, "docs/outputs.md is stale: run `make schema`")
        let catalog = try String(contentsOf: root.appendingPathComponent("python/solvable/_catalog.json"), encoding: .utf8)
        #expect(catalog == CommandCatalog.json.serialized() + "\n", "python/solvable/_catalog.json is stale: run `make schema`")
        let cli = try SolvableProcess.run(["schema", "--json"])
        #expect(cli.status == 0 && cli.stdout == catalog)
    }
}
