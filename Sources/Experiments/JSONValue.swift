import Foundation
import NumericalCore

/// A JSON/TOML value: what config files parse into and what `--json` and manifests print.
/// Objects keep their key order so outputs are stable and readable.
public indirect enum JSONValue: Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y || (x.isNaN && y.isNaN)
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Member lookup on an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let kv) = self { return kv.first { $0.0 == key }?.1 }
        return nil
    }

    public var doubleValue: Double? {
        switch self { case .int(let i): Double(i); case .double(let d): d; default: nil }
    }

    /// A number; infinities become the strings "inf" and "-inf" (JSON has no literal for them; numpy and pandas
    /// read them back as floats), and NaN becomes `null` (a value that does not exist; the producer states why
    /// next to it, e.g. a `*_note` key or the `non_finite` list of a gated result).
    public static func number(_ x: Double) -> JSONValue {
        if x.isFinite { return .double(x) }
        return x.isNaN ? .null : .string(x > 0 ? "inf" : "-inf")
    }

    public static func numbers(_ xs: [Double]) -> JSONValue { .array(xs.map(number)) }

    /// Serialises to JSON text (compact, or indented with `pretty`).
    public func serialized(pretty: Bool = true) -> String {
        var out = ""
        write(into: &out, indent: pretty ? 0 : nil)
        return out
    }

    public var description: String { serialized(pretty: false) }

    private func write(into out: inout String, indent: Int?) {
        let nl = indent == nil ? "" : "\n"
        let pad = { (k: Int) -> String in indent == nil ? "" : String(repeating: "  ", count: k) }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isFinite {
                if d == d.rounded() && abs(d) < 1e15 { out += String(format: "%.1f", d) } else { out += "\(d)" }
            } else { out += d.isNaN ? "null" : "\"\(d > 0 ? "inf" : "-inf")\"" }
        case .string(let s): out += JSONValue.quote(s)
        case .array(let xs):
            if xs.isEmpty { out += "[]"; return }
            let scalar = xs.allSatisfy { if case .array = $0 { return false }; if case .object = $0 { return false }; return true }
            if scalar || indent == nil {
                out += "["
                for (k, x) in xs.enumerated() { if k > 0 { out += indent == nil ? "," : ", " }; x.write(into: &out, indent: nil) }
                out += "]"
            } else {
                let i = indent!
                out += "[" + nl
                for (k, x) in xs.enumerated() {
                    out += pad(i + 1); x.write(into: &out, indent: i + 1)
                    out += (k < xs.count - 1 ? "," : "") + nl
                }
                out += pad(i) + "]"
            }
        case .object(let kv):
            if kv.isEmpty { out += "{}"; return }
            out += "{" + nl
            for (k, (key, v)) in kv.enumerated() {
                out += pad((indent ?? 0) + 1) + JSONValue.quote(key) + (indent == nil ? ":" : ": ")
                v.write(into: &out, indent: indent.map { $0 + 1 })
                out += (k < kv.count - 1 ? "," : "") + nl
            }
            out += pad(indent ?? 0) + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var r = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": r += "\\\""
            case "\\": r += "\\\\"
            case "\n": r += "\\n"
            case "\r": r += "\\r"
            case "\t": r += "\\t"
            default:
                if u.value < 0x20 { r += String(format: "\\u%04x", u.value) } else { r.unicodeScalars.append(u) }
            }
        }
        return r + "\""
    }

    /// Parses JSON text (RFC 8259; object key order kept). Errors give line and column.
    public static func parse(json text: String, source: String = "JSON") throws -> JSONValue {
        var p = TextScanner(text, source: source)
        p.skipWhitespace(comments: false)
        let v = try p.parseJSONValue(depth: 0)
        p.skipWhitespace(comments: false)
        if !p.atEnd { throw p.error("unexpected text after the JSON value") }
        return v
    }
}

/// Types that describe themselves as JSON (results, problems, records).
public protocol JSONRepresentable {
    var json: JSONValue { get }
}

extension ConvergenceRecord: JSONRepresentable {
    public var json: JSONValue {
        var kv: [(String, JSONValue)] = [
            ("status", .string(status.rawValue)), ("iterations", .int(iterations)),
            ("final_residual", .number(finalResidual)), ("tolerance", .number(tolerance)),
            ("elapsed_seconds", .number(elapsedSeconds)), ("residual_history", .numbers(residualHistory)),
        ]
        if let m = message { kv.append(("message", .string(m))) }
        return .object(kv)
    }
}
