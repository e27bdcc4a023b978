import ArgumentParser
import Experiments
import Foundation
import NumericalCore

struct Reproduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce the papers' key figures (theory vs simulation) into OUT/report.html.",
        discussion: """
        On a cluster, write the reproduction as a sweep (one point per figure), run it as a Slurm array and merge
        it into the same report: solvable reproduce --scale paper --write-sweep paper.toml; solvable sweep slurm
        paper.toml --out paper --shards 20; sbatch paper/sweep.sbatch; solvable sweep merge paper.toml --out paper.

        EXAMPLES:
          solvable reproduce --out out
          solvable reproduce --list
          solvable reproduce --figure core-quadrature --scale paper
          solvable reproduce --scale paper --write-sweep paper.toml
        """)

    @Option(name: .long, help: "Run only this figure (repeatable).") var figure: [String] = []
    @Flag(name: .long, help: "List the registered figures and exit.") var list = false
    @Option(name: .long, help: "quick (minutes on 2 cores) or paper (published settings).") var scale: String = "quick"
    @Option(name: .long, help: "Output directory.") var out: String = "out"
    @Flag(name: .long, help: "Print the summary as JSON on stdout.") var json = false
    @Option(name: .long, help: "Base random seed.") var seed: UInt64 = 0
    @Option(name: .long, help: "Threads (default: SLURM_CPUS_PER_TASK, else all cores).") var threads: Int?
    @Flag(name: .long, help: "No progress or log output.") var quiet = false
    @Option(name: .long, help: "Write these figures as a sweep spec (one point per figure) to this new file and exit.") var writeSweep: String?

    func run() throws {
        try CLIRunner.guarded {
            if list {
                for f in Registry.figures { print("\(f.name)\t\(f.model)\t\(f.title)") }
                return
            }
            guard let sc = Scale(rawValue: scale) else {
                throw SolvableError.invalidParameter(name: "scale", value: scale, allowed: "one of quick, paper")
            }
            let figures: [FigureSpec] = try figure.isEmpty ? Registry.figures : figure.map { name in
                guard let f = Registry.figure(name) else {
                    throw SolvableError.invalidParameter(name: "figure", value: name,
                                                         allowed: "one of " + Registry.figures.map(\.name).joined(separator: ", "))
                }
                return f
            }
            if let writeSweep {
                guard !FileManager.default.fileExists(atPath: writeSweep) else {
                    throw SolvableError.invalidParameter(name: "write-sweep", value: writeSweep, allowed: "a new file (this one exists; Solvable does not overwrite it)")
                }
                let list = figures.map { "\"\($0.name)\"" }.joined(separator: ", ")
                let text = """
                # The report's figures as a sweep, one point per figure (`solvable reproduce --write-sweep`):
                #   solvable sweep slurm THIS --out DIR --shards \(figures.count); sbatch DIR/sweep.sbatch
                #   solvable sweep merge THIS --out DIR     # writes DIR/report.html
                command = "reproduce figure"
                [parameters]
                scale = "\(sc.rawValue)"
                base_seed = \(seed)
                [grid]
                figure = [\(list)]

                """
                do { try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: writeSweep)) } catch {
                    throw SolvableError.invalidParameter(name: "write-sweep", value: writeSweep, allowed: "a path that can be written (\(error.localizedDescription))")
                }
                print("wrote \(writeSweep): \(figures.count) figures at \(sc.rawValue) scale as sweep points")
                return
            }
            let ctx = try CLIRunner.configure(seed: seed, threads: threads, quiet: quiet)
            let entries = try Experiments.Reproduce.run(figures: figures, scale: sc, outDirectory: out, context: ctx)
            let passed = entries.filter(\.passed).count
            if json {
                print((try? String(contentsOfFile: out + "/manifest.json", encoding: .utf8)) ?? "{}")
            } else {
                for e in entries {
                    var a = e.error ?? ""
                    if case .array(let xs) = e.agreement, e.error == nil {
                        a = xs.compactMap { x -> String? in
                            guard case .string(let s)? = x["statistic"] else { return nil }
                            return "\(s) = \(x["value"]?.doubleValue.map(Plot.tickText) ?? "null")"
                        }.joined(separator: "; ")
                    }
                    print("\(e.passed ? "PASS" : "FAIL")  \(e.name)  \(String(format: "%.1fs", e.wallSeconds))  \(a)")
                }
                print("\(passed)/\(entries.count) figures agree; report: \(out)/report.html")
            }
            if entries.contains(where: { $0.error != nil }) { throw ExitCode(1) }
            if entries.contains(where: { !["converged", "-"].contains($0.status) }) { throw ExitCode(3) }
            if entries.contains(where: { !$0.passed }) { throw ExitCode(4) }
        }
    }
}
