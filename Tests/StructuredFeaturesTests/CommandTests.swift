import Foundation
import Testing
import NumericalCore
import Experiments
import StructuredFeatures

@Suite("Features commands and figures")
struct FeaturesCommandTests {
    /// "--a 1 --b x,y --json" -> [(a, 1), (b, x,y)], skipping the common flags.
    static func overrides(_ example: String) -> [(String, JSONValue)] {
        let words = example.split(separator: " ").map(String.init).drop { !$0.hasPrefix("--") }
        var out: [(String, JSONValue)] = []
        var k = words.startIndex
        while k < words.endIndex {
            let key = String(words[k].dropFirst(2))
            let next = words.index(after: k)
            if next < words.endIndex, !words[next].hasPrefix("--") {
                out.append((key, .string(words[next]))); k = words.index(after: next)
            } else { k = next }   // --json and other value-less common flags
        }
        return out.filter { !commonParameterKeys.contains(Parameters.canonical($0.0)) }
    }

    @Test("Every example of every features command runs, without NaN, and compare agrees")
    func examples() throws {
        #expect(FeaturesRegistration.tasks.count == 3)
        for task in FeaturesRegistration.tasks {
            for ex in task.examples {
                let params = try Parameters(specs: task.parameters, overrides: Self.overrides(ex))
                let out = try task.run(params, RunContext(seed: 0, threads: 2))
                #expect(out.status == .converged, "\(ex)")
                for (_, t) in out.tables {
                    for c in t.columns { if case .numbers(let v) = c { #expect(!v.contains { $0.isNaN }, "\(ex)") } }
                }
                for a in out.agreement { #expect(a.passed, "\(ex): \(a.statistic) = \(a.value) > \(a.tolerance)") }
                #expect(!out.plots.isEmpty && out.plots.allSatisfy { $0.plot.svg().contains("<svg") })
            }
        }
    }

    @Test("Bad command parameters name the parameter")
    func badParameters() throws {
        let bad: [[(String, JSONValue)]] = [[("widths", .string("-5"))], [("lambda", .string("-1"))], [("samples", .string("0"))],
                                            [("data_spectrum", .string("list:")), ("widths", .string("10"))]]
        let names = ["widths", "lambda", "samples", "data_spectrum"]
        for (o, n) in zip(bad, names) {
            do {
                let p = try Parameters(specs: FeaturesTheoryTask.parameters, overrides: o)
                _ = try FeaturesTheoryTask.run(p, RunContext())
                Issue.record("no error for \(o)")
            } catch let SolvableError.invalidParameter(name, _, _) {
                #expect(name == n)
            }
        }
    }

    @Test("Bonferroni Student-t tolerance")
    func tolerance() {
        // t_9 two-sided 1 % = 3.2498; normal two-sided 1 % = 2.5758 (tables)
        #expect(abs(Statistics.bonferroniTolerance(comparisons: 1, trials: 10) - 3.2498) <= 0.01 * 3.2498)
        #expect(abs(Statistics.bonferroniTolerance(comparisons: 1, trials: 100_000) - 2.5758) <= 1e-3)
    }

    @Test("Figures are registered; the alignment figure runs and agrees at quick scale")
    func figures() throws {
        let figs = FeaturesRegistration.figures
        #expect(figs.count == 4)
        #expect(Set(figs.map(\.name)).count == 4 && figs.allSatisfy { !$0.quickScaleNote.isEmpty && $0.model == "features" })
        let fig = try #require(figs.first { $0.name == "features-first-layer-alignment" })
        let r = try fig.run(.quick, RunContext(seed: 1, threads: 2))
        #expect(r.passed, "\(r.agreement.map { "\($0.value) vs \($0.tolerance)" })")
        #expect(r.panels.count == 2)
    }
}
