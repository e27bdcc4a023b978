/// The values a parameter allows; the experiment layer maps each case to its flag and config syntax.
public enum ParameterDomain: Sendable {
    case int(ClosedRange<Int>)
    case double(ClosedRange<Double>)
    case bool
    case string
    /// One of these names (an enum's raw values).
    case choice([String])
    case intList(ClosedRange<Int>)
    case doubleList(ClosedRange<Double>)
    /// The path of an existing input file.
    case file

    /// The allowed values in words, as error messages and `--help` print them.
    public var allowed: String {
        switch self {
        case .int(let r): return "an integer in [\(r.lowerBound), \(r.upperBound)]"
        case .double(let r): return "a finite number in [\(ParameterDomain.format(r.lowerBound)), \(ParameterDomain.format(r.upperBound))]"
        case .bool: return "true or false"
        case .string: return "a string"
        case .choice(let names): return "one of " + names.joined(separator: ", ")
        case .intList(let r): return "a non-empty list of integers in [\(r.lowerBound), \(r.upperBound)] (flag: comma-separated)"
        case .doubleList(let r):
            return "a non-empty list of finite numbers in [\(ParameterDomain.format(r.lowerBound)), \(ParameterDomain.format(r.upperBound))] (flag: comma-separated)"
        case .file: return "the path of an existing file"
        }
    }

    /// A bound printed without a trailing ".0" ("inf" for the largest finite magnitude).
    public static func format(_ x: Double) -> String {
        if x == .greatestFiniteMagnitude { return "inf" }
        if x == -.greatestFiniteMagnitude { return "-inf" }
        return x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
    }

    /// Echoes of bad values are cut to 60 characters (a 5 MB value is not printed back).
    public static func truncated(_ s: String) -> String { s.count > 60 ? String(s.prefix(57)) + "..." : s }
}

import Foundation

/// The declaration of one parameter of a model, made once next to the quantity it controls: its name (the config
/// key, and the flag `--name`), the values it allows, its default and its help text. The models validate their
/// inputs with it, and the experiment layer derives the CLI flags, config keys, `--help` text and the validation
/// of flags and config files from the same declaration (after swift-argument-parser's typed options), so a range
/// is written in one place only.
///
///     extension DMFTProblem {
///         public enum Parameter {
///             public static let depth = Declared<Int>("depth", in: 1...64, default: 3, help: "hidden layers L")
///         }
///     }
///     try DMFTProblem.Parameter.depth.validate(depth)      // in the problem's initialiser
public struct Declared<Value: Sendable>: Sendable {
    public let name: String
    public let domain: ParameterDomain
    /// nil: optional without a default (or required, see `required`).
    public let defaultValue: Value?
    public let required: Bool
    public let help: String
    private let accepts: @Sendable (Value) -> Bool
    /// The value as its flag would spell it (for messages, defaults and `--help`).
    private let spell: @Sendable (Value) -> String

    private init(name: String, domain: ParameterDomain, defaultValue: Value?, required: Bool, help: String,
                 accepts: @escaping @Sendable (Value) -> Bool, spell: @escaping @Sendable (Value) -> String) {
        self.name = name
        self.domain = domain
        self.defaultValue = defaultValue
        self.required = required
        self.help = help
        self.accepts = accepts
        self.spell = spell
    }

    /// The allowed values in words, as error messages and `--help` print them.
    public var allowed: String { domain.allowed }

    /// `value` as its flag would spell it (lists comma-separated, choices by name).
    public func spelled(_ value: Value) -> String { spell(value) }

    /// Returns `value` when it is allowed; throws `invalidParameter` naming the parameter and its allowed values.
    @discardableResult
    public func validate(_ value: Value) throws -> Value {
        guard accepts(value) else {
            throw SolvableError.invalidParameter(name: name, value: ParameterDomain.truncated(spell(value)), allowed: allowed)
        }
        return value
    }
}

extension Declared where Value == Int {
    public init(_ name: String, in range: ClosedRange<Int>, default value: Int? = nil, required: Bool = false, help: String) {
        self.init(name: name, domain: .int(range), defaultValue: value, required: required, help: help,
                  accepts: { range.contains($0) }, spell: { String($0) })
    }
}

extension Declared where Value == Double {
    public init(_ name: String, in range: ClosedRange<Double>, default value: Double? = nil, required: Bool = false, help: String) {
        self.init(name: name, domain: .double(range), defaultValue: value, required: required, help: help,
                  accepts: { $0.isFinite && range.contains($0) }, spell: { "\($0)" })
    }
}

extension Declared where Value == Bool {
    public init(_ name: String, default value: Bool, help: String) {
        self.init(name: name, domain: .bool, defaultValue: value, required: false, help: help, accepts: { _ in true },
                  spell: { String($0) })
    }
}

extension Declared where Value == String {
    /// Free text (`isFile`: the path of an existing input file).
    public init(_ name: String, default value: String? = nil, required: Bool = false, isFile: Bool = false, help: String) {
        self.init(name: name, domain: isFile ? .file : .string, defaultValue: value, required: required, help: help,
                  accepts: { s in !isFile || (!s.isEmpty && InputFile.problem(s) == nil) }, spell: { "'\($0)'" })
    }
}

extension Declared where Value == [Int] {
    public init(_ name: String, eachIn range: ClosedRange<Int>, default value: [Int]? = nil, required: Bool = false, help: String) {
        self.init(name: name, domain: .intList(range), defaultValue: value, required: required, help: help,
                  accepts: { !$0.isEmpty && $0.allSatisfy(range.contains) },
                  spell: { $0.map(String.init).joined(separator: ",") })
    }
}

extension Declared where Value == [Double] {
    public init(_ name: String, eachIn range: ClosedRange<Double>, default value: [Double]? = nil, required: Bool = false,
                help: String) {
        self.init(name: name, domain: .doubleList(range), defaultValue: value, required: required, help: help,
                  accepts: { !$0.isEmpty && $0.allSatisfy { $0.isFinite && range.contains($0) } },
                  spell: { $0.map { "\($0)" }.joined(separator: ",") })
    }
}

extension Declared where Value: CaseIterable & RawRepresentable, Value.RawValue == String {
    /// One of an enum's cases, spelled by their raw values.
    public init(_ name: String, default value: Value? = nil, required: Bool = false, help: String) {
        self.init(name: name, domain: .choice(Value.allCases.map(\.rawValue)), defaultValue: value, required: required,
                  help: help, accepts: { _ in true }, spell: { $0.rawValue })
    }
}
