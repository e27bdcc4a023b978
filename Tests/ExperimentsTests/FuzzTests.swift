import Experiments
import Foundation
import NumericalCore
import Testing

/// Generated bad input for every registered command's parameter parsing and validation, and for the config
/// readers. Zero crashes is checked by the process surviving; every rejection must be a `SolvableError` with exit
/// status 2 that names the parameter (or the file and position for unparseable files).
@Suite struct FuzzTests {
    static let nastyValues: [String] = [
        "nan", "NaN", "inf", "-inf", "1e309", "-1e309", "1e-400", "-1", "0", "-0", "9223372036854775808", "-9223372036854775809",
        "99999999999999999999", "1.5", "abc", "", " ", ",", "1,,2", "[1,2]", "{}", "true", "\u{0}", "\u{FFFD}\u{FFFD}", "0x10",
        "1e6", "1e12", "3", "100000000", "--", "-", "1;2", "💥", String(repeating: "9", count: 400), "1,2,3,nan",
    ]

    /// A deterministic generator for the fuzz cases (the test is reproducible).
    struct Gen {
        var rng: RandomStream
        mutating func pick<T>(_ xs: [T]) -> T { xs[rng.index(below: xs.count)] }
        mutating func garbage(_ n: Int) -> String {
            String(decoding: (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, as: UTF8.self)
        }
    }

    @Test func flagSetsForEveryCommand() {
        var g = Gen(rng: RandomStream(seed: 99))
        var cases = 0, rejected = 0
        let tasks = Registry.tasks
        let perTask = max(10_000 / max(1, tasks.count), 1500)
        for task in tasks {
            let names = task.parameters.map(\.name)
            for _ in 0..<perTask {
                var raw: [String] = []
                for _ in 0..<(1 + g.rng.index(below: 4)) {
                    let name = g.rng.index(below: 10) == 0 ? g.pick(["bogus", "n-0", "--x", "=", "seed?", ""]) : g.pick(names)
                    switch g.rng.index(below: 4) {
                    case 0: raw += ["--\(name)=\(g.pick(Self.nastyValues))"]
                    case 1: raw += ["--\(name)"]
                    case 2: raw += [g.pick(Self.nastyValues)]
                    default: raw += ["--\(name)", g.pick(Self.nastyValues)]
                    }
                }
                cases += 1
                do {
                    let flags = try parseParameterFlags(raw, specs: task.parameters)
                    let p = try Parameters(specs: task.parameters, overrides: flags)
                    // accepted: every value must be within its declared kind (no NaN, no out-of-range)
                    for spec in task.parameters { if let v = p.values[spec.name] { #expect((try? spec.validate(v)) != nil) } }
                } catch let e as SolvableError {
                    rejected += 1
                    #expect(e.exitCode == 2, "\(task.name) \(raw): \(e)")
                    switch e {
                    case let .invalidParameter(name, _, allowed): #expect(!name.isEmpty && !allowed.isEmpty)
                    case let .unknownParameter(name, known): #expect(!known.isEmpty, "\(name)")
                    default: Issue.record("unexpected error kind \(e) for \(raw)")
                    }
                } catch { Issue.record("non-Solvable error \(error) for \(task.name) \(raw)") }
            }
        }
        #expect(cases >= 10_000)
        #expect(rejected > cases / 2)
    }

    @Test func configTextsForEveryCommand() throws {
        var g = Gen(rng: RandomStream(seed: 7))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("solvable-fuzz-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var cases = 0
        for task in Registry.tasks {
            // a valid config from the defaults, then mutations of it
            let valid = task.parameters.compactMap { s in s.defaultValue.map { "\(s.name) = \(tomlLiteral($0))" } }.joined(separator: "\n")
            for k in 0..<400 {
                var text: String
                switch k % 8 {
                case 0: text = String(valid.prefix(g.rng.index(below: max(1, valid.count + 1))))                 // truncated
                case 1: text = valid + "\n" + g.pick(["unknown_key = 1", "[table]\nx = 1", "seed = -5", "threads = 0"])
                case 2: text = g.garbage(1 + g.rng.index(below: 200))                                              // binary garbage
                case 3: text = "x = " + String(repeating: "[", count: 1 + g.rng.index(below: 300))                // deep nesting
                case 4: text = "{" + String(repeating: "\"a\": {", count: g.rng.index(below: 200))                 // truncated JSON
                case 5:
                    let s = g.pick(task.parameters)
                    text = "\(s.name) = \(g.pick(["nan", "inf", "-1", "\"x\"", "[]", "[nan]", "1e400", "{a = 1}", "true", "1e15"]))"
                case 6: text = "{\"\(g.pick(task.parameters).name)\": \(g.pick(["null", "\"nan\"", "-1e400", "[[]]", "{}", "1e300"]))}"
                default:
                    var chars = Array(valid.utf8)
                    for _ in 0..<3 where !chars.isEmpty { chars[g.rng.index(below: chars.count)] = UInt8(truncatingIfNeeded: g.rng.next() % 128) }
                    text = String(decoding: chars, as: UTF8.self)
                }
                let path = dir.appendingPathComponent(k % 8 == 4 || k % 8 == 6 ? "c.json" : "c.toml").path
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                cases += 1
                do {
                    let kv = try readConfigFile(path)
                    _ = try Parameters(specs: task.parameters, config: kv)
                } catch let e as SolvableError {
                    #expect(e.exitCode == 2, "\(e)")
                } catch { Issue.record("non-Solvable error \(error) for config of \(task.name)") }
            }
        }
        #expect(cases >= 400)
    }

    func tomlLiteral(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return "\"\(s)\""
        case .array(let xs): return "[" + xs.map(tomlLiteral).joined(separator: ", ") + "]"
        default: return v.serialized(pretty: false)
        }
    }
}
