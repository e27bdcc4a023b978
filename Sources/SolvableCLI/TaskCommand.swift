import ArgumentParser
import Experiments
import Foundation
import Logging
import NumericalCore

/// Options every compute command takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Read parameters from a TOML or JSON file (same keys as the flags; flags override).")
    var config: String?
    @Option(name: .long, help: "Write results (CSV, .npy, SVG, manifest.json) into this directory.")
    var out: String?
    @Flag(name: .long, help: "Print the main result as one JSON document on stdout (logs go to stderr).")
    var json = false
    @Option(name: .long, help: "Base random seed; streams derive from (seed, point, sample).")
    var seed: UInt64?
    @Option(name: .long, help: "Threads (default: SLURM_CPUS_PER_TASK, else all cores).")
    var threads: Int?
    @Flag(name: .long, help: "No progress or log output.")
    var quiet = false
    @Flag(name: .long, help: "Print the files this command writes (name, dtype, shape with named axes, units, meaning) and exit; with --json as JSON.")
    var schema = false
}

/// `solvable <model> <verb>` for any registered `ComputeTask`: its parameters are flags (`--name value`,
/// lists comma-separated) declared by the task and listed in `--help`.
struct TaskCommand<T: ComputeTask>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: T.commandPath.last!, abstract: T.abstract, discussion: helpText(T.self))
    }

    @OptionGroup var common: CommonOptions
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Model parameters as --name value (see the list above).", visibility: .hidden))
    var rawParameters: [String] = []

    func run() throws {
        try CLIRunner.guarded {
            if common.schema { return try printSchema(T.self, json: common.json) }
            try CLIRunner.execute(T.self, common: common, raw: rawParameters)
        }
    }
}

func helpText(_ t: any ComputeTask.Type) -> String {
    var s = t.discussion.isEmpty ? "" : t.discussion + "\n\n"
    s += "PARAMETERS (flags --name value; the same keys in --config files):\n"
    for p in t.parameters {
        let def = p.defaultValue.map { " [default: \($0.serialized(pretty: false))]" } ?? (p.required ? " [required]" : "")
        s += "  --\(p.name.replacingOccurrences(of: "_", with: "-"))  \(p.help)\(def)\n      allowed: \(p.allowed)\n"
    }
    if !t.examples.isEmpty { s += "\nEXAMPLES:\n" + t.examples.map { "  " + $0 }.joined(separator: "\n") }
    return s
}

enum CLIRunner {
    /// Maps errors to exit statuses: bad input 2, runtime failure 1, non-convergence 3; one line, no trace.
    static func guarded(_ body: () throws -> Void) throws {
        do { try body() } catch let e as SolvableError {
            FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
            throw ExitCode(e.exitCode)
        } catch let e as ExitCode { throw e } catch let e as CleanExit { throw e } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    static func configure(_ common: CommonOptions, config: [(String, JSONValue)]) throws -> RunContext {
        try configure(seed: common.seed, threads: common.threads, quiet: common.quiet, config: config)
    }

    /// Seed, threads (validated; config values when no flag) and the process-wide progress/log mode.
    static func configure(seed flagSeed: UInt64?, threads flagThreads: Int?, quiet: Bool, config: [(String, JSONValue)] = []) throws -> RunContext {
        let fromConfig = { (key: String, spec: ParameterSpec) throws -> Int? in
            try config.first { $0.0 == key }.map { try spec.validate($0.1).intValue ?? 0 }
        }
        let seed = try flagSeed ?? fromConfig("seed", ParameterSpec("seed", .int(0...Int.max), help: "")).map { UInt64($0) } ?? 0
        let threads = try flagThreads ?? fromConfig("threads", ParameterSpec("threads", .int(1...1024), help: "")) ?? ThreadPolicy.defaultThreads()
        guard (1...1024).contains(threads) else { throw SolvableError.invalidParameter(name: "threads", value: "\(threads)", allowed: "an integer in [1, 1024]") }
        ThreadPolicy.configure(threads: threads)
        Progress.mode = quiet ? .quiet : (isatty(2) != 0 ? .terminal : .lines)
        let logger = Logger(label: "solvable")
        // log lines go above the live progress line, never onto it
        return RunContext(seed: seed, threads: threads, log: { msg in if !quiet { Progress.printAbove { logger.info("\(msg)") } } })
    }

    static func execute(_ task: any ComputeTask.Type, common: CommonOptions, raw: [String]) throws {
        let clock = Stopwatch()
        let config = try common.config.map(readConfigFile) ?? []
        let flags = try parseParameterFlags(raw, specs: task.parameters)
        let params = try Parameters(specs: task.parameters, config: config, overrides: flags)
        let outPath = try common.out ?? config.first { Parameters.canonical($0.0) == "out" }.map { kv -> String in
            guard case .string(let s) = kv.1 else {
                throw SolvableError.invalidParameter(name: "out", value: kv.1.serialized(pretty: false), allowed: "a directory path (a string)")
            }
            return s
        }
        var ctx = try configure(common, config: config)
        // --out is opened (created, checked writable) before any computation; outputs are staged and published
        // as one set at the end (OutputDirectory)
        let runKey = String(mixWords([stableHash(task.name), stableHash(params.json.serialized(pretty: false)), ctx.seed]), radix: 16)
        var dir = try outPath.map { try OutputDirectory($0, runKey: runKey) }
        ctx.checkpointDirectory = dir?.url.path
        ctx.partial = dir?.staging.map(PartialResults.init)
        ctx.log("\(task.name): starting (threads \(ctx.threads), seed \(ctx.seed))")
        let activity = Activity(task.name)   // a live line on a terminal until the results are printed
        defer { activity.finish() }
        let output: TaskOutput
        do { output = try task.run(params, ctx).gated() } catch {
            dir?.discardStaging()
            throw error
        }
        let wall = clock.elapsed
        if var d = dir {
            try d.write(output)
            let inputs = task.parameters.filter { if case .file = $0.kind { return true }; return false }.compactMap { spec in
                params.optionalString(spec.name).map { (parameter: spec.name, path: $0) }
            }
            let manifest = makeManifest(command: task.name, parameters: params.json, seed: ctx.seed, wallSeconds: wall,
                                        output: output, files: d.written + [d.manifestName], inputs: inputs)
            try d.commit(manifest: manifest)
            dir = d
            ctx.log("wrote \(d.written.count) files to \(d.url.path)")
        }
        let document: JSONValue = .object([
            ("command", .string(task.name)), ("status", .string(output.status.rawValue)),
            ("result", output.summary),
            ("agreement", .array(output.agreement.map(\.json))),
            ("solvers", .object(output.records.map { ($0.name, $0.record.json) })),
            ("omitted", .array(output.omitted.map { .string($0) })),
            ("wall_seconds", .number(wall)),
        ])
        activity.finish()
        if common.json {
            print(document.serialized())
        } else {
            print(humanSummary(task: task, output: output, wall: wall, out: dir?.url.path))
        }
        for c in output.checkpoints { c.remove() }   // the results it protected are now written
        if !output.status.isConverged {
            let bad = output.records.first { !$0.record.status.isConverged }!
            if bad.name == "finiteness" {
                throw SolvableError.notConverged(solver: "the result", detail: "diverged: \(bad.record.message ?? "non-finite values")")
            }
            throw SolvableError.notConverged(solver: bad.name, detail: "\(bad.record.status.rawValue) after \(bad.record.iterations) iterations, residual \(bad.record.finalResidual) (tolerance \(bad.record.tolerance))\(bad.record.message.map { "; " + $0 } ?? "")")
        }
        if let failed = output.agreement.first(where: { !$0.passed }) {
            FileHandle.standardError.write(Data("error: agreement check failed: \(failed.statistic) = \(Plot.tickText(failed.value)) (tolerance \(failed.higherIsBetter ? ">=" : "<=") \(Plot.tickText(failed.tolerance)))\n".utf8))
            throw ExitCode(4)
        }
    }

    static func humanSummary(task: any ComputeTask.Type, output: TaskOutput, wall: Double, out: String?) -> String {
        var s = "\(task.name): status \(output.status.rawValue), \(String(format: "%.2f", wall)) s\n"
        if case .object(let kv) = output.summary {
            for (k, v) in kv {
                var text = v.serialized(pretty: false)
                if text.count > 160 { text = String(text.prefix(157)) + "..." }
                s += "  \(k): \(text)\n"
            }
        }
        for a in output.agreement {
            s += "  agreement: \(a.statistic) = \(Plot.tickText(a.value)) (tolerance \(a.higherIsBetter ? ">=" : "<=") \(Plot.tickText(a.tolerance))): \(a.passed ? "PASS" : "FAIL")\n"
        }
        if let out { s += "  outputs in \(out)\n" }
        return s
    }
}

extension JSONValue {
    var intValue: Int? { if case .int(let i) = self { return i }; return nil }
}

/// Opens an existential task type into its generic command.
func commandType<T: ComputeTask>(_ t: T.Type) -> ParsableCommand.Type { TaskCommand<T>.self }

func subcommands(for model: String) -> [ParsableCommand.Type] {
    Registry.tasks.filter { $0.commandPath.first == model }.map { commandType($0) }
}
