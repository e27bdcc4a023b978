import Foundation
import NumericalCore

/// The declaration of one parameter of a compute command: its name (the config key; the flag is
/// `--name` with `_` or `-`), type, allowed range, default and help text.
public struct ParameterSpec: Sendable {
    public typealias Kind = ParameterDomain

    public let name: String
    public let kind: Kind
    /// nil when the parameter is optional without default; use `required` for mandatory ones.
    public let defaultValue: JSONValue?
    public let required: Bool
    public let help: String

    public init(_ name: String, _ kind: Kind, default value: JSONValue? = nil, required: Bool = false, help: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = value
        self.required = required
        self.help = help
    }

    /// The specification of a parameter a model declared (`Declared`): the same name, range, default and help.
    public init<V>(_ d: Declared<V>) {
        let kind = d.domain
        self.init(d.name, kind, default: d.defaultValue.map { .string(d.spelled($0)) }, required: d.required, help: d.help)
    }

    /// The allowed values, as error messages and `--help` print them.
    public var allowed: String { kind.allowed }

    static func fmt(_ x: Double) -> String { ParameterDomain.format(x) }

    /// Checks and normalises a value (from a flag string or a config value) against this declaration.
    public func validate(_ v: JSONValue) throws -> JSONValue {
        let bad = { () -> SolvableError in
            SolvableError.invalidParameter(name: self.name, value: ParameterSpec.show(v), allowed: self.allowed)
        }
        switch kind {
        case .int(let r):
            guard let i = ParameterSpec.asInt(v), r.contains(i) else { throw bad() }
            return .int(i)
        case .double(let r):
            guard let d = ParameterSpec.asDouble(v), d.isFinite, r.contains(d) else { throw bad() }
            return .double(d)
        case .bool:
            if case .bool = v { return v }
            if case .string(let s) = v, let b = ["true": true, "false": false, "1": true, "0": false][s.lowercased()] { return .bool(b) }
            throw bad()
        case .string:
            if case .string = v { return v }
            throw bad()
        case .choice(let cs):
            guard case .string(let s) = v, cs.contains(s) else { throw bad() }
            return v
        case .file:
            guard case .string(let s) = v, !s.isEmpty else { throw bad() }
            if let why = InputFile.problem(s) {
                throw SolvableError.invalidParameter(name: name, value: s, allowed: "the path of an existing, readable regular file (this one: \(why))")
            }
            return v
        case .intList(let r):
            let items = try ParameterSpec.listItems(v)
            guard !items.isEmpty, items.count <= 1_000_000 else { throw bad() }
            return .array(try items.map { item in
                guard let i = ParameterSpec.asInt(item), r.contains(i) else { throw bad() }
                return .int(i)
            })
        case .doubleList(let r):
            let items = try ParameterSpec.listItems(v)
            guard !items.isEmpty, items.count <= 1_000_000 else { throw bad() }
            return .array(try items.map { item in
                guard let d = ParameterSpec.asDouble(item), d.isFinite, r.contains(d) else { throw bad() }
                return .double(d)
            })
        }
    }

    static func listItems(_ v: JSONValue) throws -> [JSONValue] {
        switch v {
        case .array(let xs): return xs
        case .string(let s): return s.split(separator: ",", omittingEmptySubsequences: false).map { .string($0.trimmingCharacters(in: .whitespaces)) }
        default: return [v]
        }
    }

    static func asInt(_ v: JSONValue) -> Int? {
        switch v {
        case .int(let i): return i
        case .double(let d): return d.isFinite && d == d.rounded() && abs(d) < 9e18 ? Int(d) : nil
        case .string(let s):
            if let i = Int(s) { return i }
            if let d = Double(s), d.isFinite, d == d.rounded(), abs(d) < 9e18 { return Int(d) }
            return nil
        default: return nil
        }
    }

    static func asDouble(_ v: JSONValue) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    static func show(_ v: JSONValue) -> String {
        let s: String
        if case .string(let t) = v { s = "'\(t)'" } else { s = v.serialized(pretty: false) }
        return ParameterDomain.truncated(s)
    }
}

/// Keys every compute command accepts besides its own parameters (flags `--seed`, `--threads`, `--out`, ...).
public let commonParameterKeys: Set<String> = ["seed", "threads", "out", "json", "quiet", "config"]

/// Validated parameter values of one command invocation: config file values overlaid by flags, checked
/// against the command's declarations (unknown keys rejected), with defaults filled in.
public struct Parameters: Sendable {
    public let specs: [ParameterSpec]
    public private(set) var values: [String: JSONValue]

    /// Canonical key: lower case, `-` replaced by `_`.
    public static func canonical(_ key: String) -> String { key.lowercased().replacingOccurrences(of: "-", with: "_") }

    /// Builds and validates. `config` holds file values (may include common keys, which are skipped here),
    /// `overrides` flag values (strings). Throws `invalidParameter` naming the first bad or unknown key.
    public init(specs: [ParameterSpec], config: [(String, JSONValue)] = [], overrides: [(String, JSONValue)] = []) throws {
        self.specs = specs
        var merged: [String: JSONValue] = [:]
        let byName = Dictionary(specs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let known = specs.map(\.name).sorted()
        // one key given twice in the same source (`log-axes` and `log_axes` in a TOML, a flag repeated) is
        // ambiguous, not "the last one wins"; a flag over a config value is the documented override
        for source in [config, overrides] {
            var seen: [String: String] = [:]
            for (rawKey, _) in source {
                let key = Parameters.canonical(rawKey)
                if let first = seen[key] {
                    throw SolvableError.invalidParameter(name: key, value: first == rawKey ? "given twice" : "given twice (as '\(first)' and '\(rawKey)')",
                                                         allowed: "one value per parameter")
                }
                seen[key] = rawKey
            }
        }
        for (rawKey, v) in config + overrides {
            let key = Parameters.canonical(rawKey)
            if commonParameterKeys.contains(key) { continue }
            guard let spec = byName[key] else {
                throw SolvableError.unknownParameter(name: rawKey, known: known + commonParameterKeys.sorted())
            }
            merged[key] = try spec.validate(v)
        }
        for spec in specs where merged[spec.name] == nil {
            if let d = spec.defaultValue { merged[spec.name] = try spec.validate(d) }
            else if spec.required {
                throw SolvableError.invalidParameter(name: spec.name, value: "(missing)", allowed: spec.allowed + " (required)")
            }
        }
        values = merged
    }

    public func has(_ name: String) -> Bool { values[name] != nil }

    private func value(_ name: String) -> JSONValue {
        guard let v = values[name] else { preconditionFailure("parameter \(name) read without a value or default") }
        return v
    }

    public func int(_ name: String) -> Int { ParameterSpec.asInt(value(name))! }
    public func double(_ name: String) -> Double { ParameterSpec.asDouble(value(name))! }
    public func bool(_ name: String) -> Bool { if case .bool(let b) = value(name) { return b }; return false }
    public func string(_ name: String) -> String { if case .string(let s) = value(name) { return s }; return "" }
    public func ints(_ name: String) -> [Int] { if case .array(let xs) = value(name) { return xs.compactMap(ParameterSpec.asInt) }; return [] }
    public func doubles(_ name: String) -> [Double] { if case .array(let xs) = value(name) { return xs.compactMap(ParameterSpec.asDouble) }; return [] }
    public func optionalDouble(_ name: String) -> Double? { values[name].flatMap(ParameterSpec.asDouble) }
    public func optionalInt(_ name: String) -> Int? { values[name].flatMap(ParameterSpec.asInt) }
    public func optionalString(_ name: String) -> String? { if case .string(let s)? = values[name] { return s }; return nil }
    public func optionalDoubles(_ name: String) -> [Double]? { values[name] == nil ? nil : doubles(name) }
    public func optionalInts(_ name: String) -> [Int]? { values[name] == nil ? nil : ints(name) }

    /// The value of a declared parameter (its default when not given; the parameter must have one or be given).
    public subscript<V>(_ d: Declared<V>) -> V {
        guard let v = optional(d) else { preconditionFailure("parameter \(d.name) read without a value or default") }
        return v
    }

    /// The value of a declared choice parameter, as its enum case.
    public subscript<V: CaseIterable & RawRepresentable>(_ d: Declared<V>) -> V where V.RawValue == String {
        guard let v = optional(d) else { preconditionFailure("parameter \(d.name) read without a value or default") }
        return v
    }

    /// The value of a declared parameter, nil when it was not given and has no default.
    public func optional<V>(_ d: Declared<V>) -> V? {
        guard has(d.name) else { return nil }
        switch d.domain {
        case .int: return int(d.name) as? V
        case .double: return double(d.name) as? V
        case .bool: return bool(d.name) as? V
        case .string, .file, .choice: return string(d.name) as? V
        case .intList: return ints(d.name) as? V
        case .doubleList: return doubles(d.name) as? V
        }
    }

    /// The value of a declared choice parameter as its enum case, nil when not given and without default.
    public func optional<V: CaseIterable & RawRepresentable>(_ d: Declared<V>) -> V? where V.RawValue == String {
        optionalString(d.name).flatMap(V.init(rawValue:))
    }

    /// All values in declaration order, for manifests.
    public var json: JSONValue {
        .object(specs.compactMap { s in values[s.name].map { (s.name, $0) } })
    }
}

/// Reads a config file (TOML by extension `.toml`, JSON by `.json`, else sniffed) into key/value pairs.
/// A top-level table's keys are returned as is; nested tables are allowed only where a parameter is a table.
public func readConfigFile(_ path: String) throws -> [(String, JSONValue)] {
    if let why = InputFile.problem(path) {
        throw SolvableError.invalidParameter(name: "config", value: path, allowed: "the path of an existing TOML or JSON file (this one: \(why))")
    }
    let data = try InputFile.read(path)
    guard data.count <= 16 << 20 else { throw SolvableError.invalidInput(source: path, detail: "config files are limited to 16 MiB") }
    guard let text = String(data: data, encoding: .utf8) else { throw SolvableError.invalidInput(source: path, detail: "not UTF-8 text") }
    let lower = path.lowercased()
    let value: JSONValue
    if lower.hasSuffix(".json") { value = try JSONValue.parse(json: text, source: path) }
    else if lower.hasSuffix(".toml") { value = try TOML.parse(text, source: path) }
    else if text.drop(while: { $0.isWhitespace }).first == "{" { value = try JSONValue.parse(json: text, source: path) }
    else { value = try TOML.parse(text, source: path) }
    guard case .object(let kv) = value else { throw SolvableError.invalidInput(source: path, detail: "the top level must be a table/object of parameters") }
    return kv
}

/// Parses `--name value`, `--name=value`, `--flag`, `--no-flag` into raw values (validated later by the spec).
public func parseParameterFlags(_ raw: [String], specs: [ParameterSpec]) throws -> [(String, JSONValue)] {
    var out: [(String, JSONValue)] = []
    var k = 0
    let isBool = { (name: String) in specs.first { $0.name == Parameters.canonical(name) }.map { if case .bool = $0.kind { return true }; return false } ?? false }
    while k < raw.count {
        let tok = raw[k]
        guard tok.hasPrefix("--"), tok.count > 2, !tok.hasPrefix("--=") else {
            throw SolvableError.invalidParameter(name: "arguments", value: "'\(tok)'", allowed: "parameters given as --name value")
        }
        var name = String(tok.dropFirst(2))
        if let eq = name.firstIndex(of: "=") {
            out.append((String(name[..<eq]), .string(String(name[name.index(after: eq)...]))))
            k += 1
            continue
        }
        if isBool(name) {
            // a bare flag means true; a following token that is not a flag is its value (validated later, so
            // `--log-axes maybe` is refused naming log_axes)
            if k + 1 < raw.count, !raw[k + 1].hasPrefix("--") {
                out.append((name, .string(raw[k + 1]))); k += 2
            } else { out.append((name, .bool(true))); k += 1 }
            continue
        }
        if name.hasPrefix("no-") && isBool(String(name.dropFirst(3))) {
            name = String(name.dropFirst(3)); out.append((name, .bool(false))); k += 1; continue
        }
        guard k + 1 < raw.count, raw[k + 1] != "--", !(raw[k + 1].hasPrefix("--") && raw[k + 1].count > 2 && Double(raw[k + 1]) == nil) else {
            throw SolvableError.invalidParameter(name: Parameters.canonical(name), value: "(missing)", allowed: "a value after --\(name)")
        }
        out.append((name, .string(raw[k + 1])))
        k += 2
    }
    return out
}

