import ArgumentParser
import Experiments
import Foundation
import LinearAlgebra
import NumericalCore

@main
struct Solvable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solvable",
        abstract: "Theory and simulation of solvable models of learning and memory in large neural networks.",
        discussion: """
        Each model computes its theory and runs the simulation that tests it, side by side.

        EXAMPLES:
          solvable reproduce --out out              # the papers' key figures at quick scale -> out/report.html
          solvable features compare --help          # parameters of one command
          solvable info                             # BLAS core, threads, CPU features
          solvable bench blas                       # dgemm GFLOP/s: selected core vs library default
        """,
        version: RunEnvironment.version,
        subcommands: [Features.self, Memory.self, DMFT.self, Fluctuations.self, Core.self, Reproduce.self, Sweep.self, Info.self, Bench.self,
                      Schema.self])

    static func main() {
        BLASAutoSelect.reexecIfNeeded()
        ThreadPolicy.configure(threads: ThreadPolicy.defaultThreads())
        do {
            try MemoryBudget.validateEnvironment()
            var command = try parseAsRoot()
            try command.run()
        } catch let e as SolvableError {
            FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
            Foundation.exit(e.exitCode)
        } catch {
            // swift-argument-parser reports malformed flags (--seed abc, a missing value) with EX_USAGE (64);
            // Solvable's contract is exit 2 for all bad input
            if exitCode(for: error).rawValue == 64 {
                FileHandle.standardError.write(Data("error: \(message(for: error))\n(see --help)\n".utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

struct Features: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(abstract: "Deep structured Gaussian features: learning curves of ridge regression (Zavatone-Veth & Pehlevan 2023).",
                             subcommands: subcommands(for: "features"))
    }
}

struct Memory: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(abstract: "Long sequence Hopfield memory (Chaudhry, Zavatone-Veth, Krotov & Pehlevan 2023).",
                             subcommands: subcommands(for: "memory"))
    }
}

struct DMFT: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "dmft", abstract: "Self-consistent DMFT of feature learning (Bordelon & Pehlevan 2022).",
                             subcommands: subcommands(for: "dmft"))
    }
}

struct Fluctuations: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(abstract: "Finite-width fluctuations of kernels and predictions (Bordelon & Pehlevan 2023).",
                             subcommands: subcommands(for: "fluctuations"))
    }
}

struct Core: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(abstract: "Checks of the numerical core (quadrature vs Monte Carlo).", subcommands: subcommands(for: "core"))
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print version, BLAS configuration and core, threads and CPU features.")
    @Flag(name: .long, help: "Print as JSON.") var json = false
    @Option(name: .long, help: "Threads (default: SLURM_CPUS_PER_TASK, else all cores).") var threads: Int?

    func run() throws {
        if let t = threads { ThreadPolicy.configure(threads: t) }
        let sel = BLASCoreSelection.current()
        let doc: JSONValue = .object([
            ("version", .string(RunEnvironment.version)),
            ("git_commit", RunEnvironment.gitCommit.map { .string($0) } ?? .null),
            ("blas_config", .string(BLASRuntime.config)),
            ("blas_core", .string(BLASRuntime.coreName)),
            ("blas_core_choice", .string(BLASAutoSelect.explanation)),
            ("best_core_for_cpu", sel.bestCore.map { .string($0) } ?? .null),
            ("blas_threads", .int(BLASRuntime.threads)),
            ("threads", .int(ThreadPolicy.threads)),
            ("thread_policy", .string("parallel loops over samples use `threads` workers with BLAS at 1 thread; single large BLAS calls use `threads` BLAS threads")),
            ("cpu_cores", .int(ProcessInfo.processInfo.activeProcessorCount)),
            ("cpu_features", .array(sel.notableFeatures.map { .string($0) })),
            ("slurm_cpus_per_task", ProcessInfo.processInfo.environment["SLURM_CPUS_PER_TASK"].map { .string($0) } ?? .null),
        ])
        if json { print(doc.serialized()); return }
        guard case .object(let kv) = doc else { return }
        for (k, v) in kv {
            var text = v.serialized(pretty: false)
            if case .string(let s) = v { text = s }
            print("\(k.replacingOccurrences(of: "_", with: " ")): \(text)")
        }
    }
}
