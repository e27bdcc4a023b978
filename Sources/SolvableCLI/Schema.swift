import ArgumentParser
import Experiments
import Foundation
import NumericalCore

/// `solvable <model> <verb> --schema [--json]`: the documented outputs of one command.
func printSchema(_ task: any ComputeTask.Type, json: Bool) throws {
    guard let schema = OutputSchema.of(task) else {
        throw SolvableError.runtime("solvable \(task.name) declares no output schema")
    }
    print(json ? schema.json.serialized() : schema.markdown(), terminator: json ? "\n" : "")
}

/// `solvable schema`: every command's parameters and output files, as docs/outputs.md or as the JSON catalog.
struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the output files of every command (docs/outputs.md), or with --json every command's parameters and outputs.",
        discussion: """
        The JSON catalog is what the Python package (python/, `import solvable`) makes its functions from; `make schema`
        regenerates docs/outputs.md and python/solvable/_catalog.json from it. One command's outputs:
        `solvable <model> <verb> --schema [--json]`.
        """)

    @Flag(name: .long, help: "The machine-readable catalog: commands, parameters (types, ranges, defaults, help) and outputs.")
    var json = false

    func run() throws {
        print(json ? CommandCatalog.json.serialized() : CommandCatalog.markdown, terminator: json ? "\n" : "")
    }
}
