import Experiments
import Foundation
import NumericalCore
import Testing

@Suite struct TOMLTests {
    @Test func parsesTablesArraysAndScalars() throws {
        let text = """
        # a Solvable config
        widths = [100, 200]   # comment
        lambda = 1e-3
        name = "run \\"one\\""
        path = 'C:\\data'
        flag = true
        big = 1_000

        [spectrum]
        kind = "power_law"
        exponent = 1.5
        inline = { a = 1, b.c = [1.5, -2] }

        [[points]]
        p = 1
        [[points]]
        p = 2
        """
        let v = try TOML.parse(text)
        #expect(v["widths"] == .array([.int(100), .int(200)]))
        #expect(v["lambda"] == .double(1e-3))
        #expect(v["name"] == .string("run \"one\""))
        #expect(v["path"] == .string("C:\\data"))
        #expect(v["flag"] == .bool(true))
        #expect(v["big"] == .int(1000))
        #expect(v["spectrum"]?["exponent"] == .double(1.5))
        #expect(v["spectrum"]?["inline"]?["b"]?["c"] == .array([.double(1.5), .int(-2)]))
        #expect(v["points"] == .array([.object([("p", .int(1))]), .object([("p", .int(2))])]))
    }

    @Test(arguments: ["x = ", "x = [1, 2", "= 3", "x = 1\nx = 2", "[a]\n[a]", "x = \"unterminated", "x = 1 2", "x = {a = 1",
                      "x = \"\"\"multi\"\"\"", String(repeating: "[", count: 500), "x = " + String(repeating: "[", count: 200)])
    func rejectsMalformedTextWithPosition(text: String) {
        do {
            _ = try TOML.parse(text, source: "bad.toml")
            Issue.record("accepted malformed TOML: \(text.prefix(40))")
        } catch let e as SolvableError {
            #expect(e.description.contains("bad.toml") && e.description.contains("line"), "\(e)")
            #expect(e.exitCode == 2)
        } catch { Issue.record("unexpected error type \(error)") }
    }
}

@Suite struct JSONTests {
    @Test func roundTripsThroughSerialization() throws {
        let v: JSONValue = .object([("a", .int(1)), ("b", .array([.double(1.5), .string("x\"y\n"), .null, .bool(false)])),
                                    ("c", .object([("d", .double(-2.25e-7))]))])
        #expect(try JSONValue.parse(json: v.serialized()) == v)
        #expect(try JSONValue.parse(json: v.serialized(pretty: false)) == v)
    }

    @Test func nonFiniteNumbersBecomeStringsPythonReads() {
        #expect(JSONValue.number(.infinity).serialized() == "\"inf\"")
        #expect(JSONValue.number(-.infinity).serialized() == "\"-inf\"")
    }

    @Test(arguments: ["{", "[1,]", "{\"a\" 1}", "tru", "{\"a\":1}x", "\"\\q\"", "{\"a\":1,\"a\":2}", String(repeating: "[", count: 100)])
    func rejectsMalformedJSON(text: String) {
        #expect(throws: SolvableError.self) { _ = try JSONValue.parse(json: text) }
    }
}

@Suite struct ParameterTests {
    let specs = [
        ParameterSpec("n0", .int(1...100_000), default: .int(100), help: "input dimension"),
        ParameterSpec("lambda", .double(0...1e6), default: .double(0), help: "ridge"),
        ParameterSpec("widths", .intList(1...100_000), required: true, help: "widths"),
        ParameterSpec("kind", .choice(["isotropic", "power_law"]), default: .string("isotropic"), help: "spectrum"),
        ParameterSpec("noisy", .bool, default: .bool(false), help: "label noise"),
    ]

    @Test func flagsOverrideConfigAndDefaultsFillIn() throws {
        let p = try Parameters(specs: specs, config: [("n0", .int(50)), ("widths", .array([.int(10), .int(20)])), ("seed", .int(3))],
                               overrides: [("n0", .string("70")), ("no-such", .string("1"))].filter { $0.0 != "no-such" })
        #expect(p.int("n0") == 70)
        #expect(p.ints("widths") == [10, 20])
        #expect(p.double("lambda") == 0)
        #expect(p.string("kind") == "isotropic")
        #expect(p.bool("noisy") == false)
    }

    @Test func commaSeparatedFlagListsAndKebabCase() throws {
        let p = try Parameters(specs: specs, overrides: [("widths", .string("5, 6,7")), ("N0", .string("9"))])
        #expect(p.ints("widths") == [5, 6, 7])
        #expect(p.int("n0") == 9)
    }

    /// Every rejection names the parameter and its allowed values.
    @Test(arguments: [
        ("n0", JSONValue.int(-3)), ("n0", .string("abc")), ("n0", .double(1.5)), ("lambda", .double(.nan)),
        ("lambda", .double(.infinity)), ("lambda", .int(-1)), ("widths", .array([])), ("widths", .string("1,,2")),
        ("widths", .array([.int(0)])), ("kind", .string("cubic")), ("noisy", .string("maybe")), ("lambda", .array([.int(1)])),
    ])
    func rejectsBadValuesNamingTheParameter(key: String, value: JSONValue) {
        do {
            _ = try Parameters(specs: specs, config: [("widths", .array([.int(1)]))], overrides: [(key, value)])
            Issue.record("accepted \(key) = \(value)")
        } catch let e as SolvableError {
            guard case let .invalidParameter(name, _, allowed) = e else { Issue.record("wrong error \(e)"); return }
            #expect(name == key)
            #expect(!allowed.isEmpty)
            #expect(e.exitCode == 2)
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func unknownAndMissingKeysAreRejected() {
        #expect(throws: SolvableError.unknownParameter(name: "widht", known: ["kind", "lambda", "n0", "noisy", "widths"] + commonParameterKeys.sorted())) {
            _ = try Parameters(specs: specs, config: [("widht", .int(1)), ("widths", .int(1))])
        }
        #expect(throws: SolvableError.self) { _ = try Parameters(specs: specs) }   // widths is required
    }

    @Test func configFilesInTOMLAndJSONGiveTheSameParameters() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("solvable-config-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let toml = dir.appendingPathComponent("c.toml"), json = dir.appendingPathComponent("c.json")
        try "n0 = 30\nwidths = [3, 4]\nkind = \"power_law\"\n".write(to: toml, atomically: true, encoding: .utf8)
        try "{\"n0\": 30, \"widths\": [3, 4], \"kind\": \"power_law\"}".write(to: json, atomically: true, encoding: .utf8)
        let a = try Parameters(specs: specs, config: readConfigFile(toml.path))
        let b = try Parameters(specs: specs, config: readConfigFile(json.path))
        #expect(a.json == b.json)
        #expect(throws: SolvableError.self) { _ = try readConfigFile(dir.appendingPathComponent("missing.toml").path) }
    }
}
