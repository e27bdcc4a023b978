import NumericalCore

/// A TOML reader for Solvable's config files: key/value pairs (bare, quoted and dotted keys), `[table]` and
/// `[[array of tables]]` headers, strings (basic and literal), integers, floats (incl. inf/nan, which
/// validation then rejects with the parameter's name), booleans, arrays and inline tables. Dates are not
/// supported (no Solvable parameter is a date). Errors give line and column.
public enum TOML {
    public static func parse(_ text: String, source: String = "TOML") throws -> JSONValue {
        var s = TextScanner(text, source: source)
        var root: [(String, JSONValue)] = []
        var current: [String] = []   // path of the table being filled
        var definedTables: Set<[String]> = []
        while true {
            s.skipWhitespace(comments: true)
            guard let c = s.peek else { break }
            if c == 91 {  // [table] or [[array]]
                s.i += 1
                let isArray = s.peek == 91
                if isArray { s.i += 1 }
                s.skipWhitespace(comments: false, newlines: false)
                let path = try parseKey(&s)
                s.skipWhitespace(comments: false, newlines: false)
                try s.expect(93, "']'")
                if isArray { try s.expect(93, "']]'") }
                try endOfLine(&s)
                if isArray {
                    try modify(&root, path, s) { v in
                        var xs: [JSONValue] = []
                        if let v { guard case .array(let a) = v else { throw s.error("'\(path.joined(separator: "."))' is not an array of tables") }; xs = a }
                        xs.append(.object([]))
                        return .array(xs)
                    }
                } else {
                    if definedTables.contains(path) { throw s.error("table [\(path.joined(separator: "."))] defined twice") }
                    definedTables.insert(path)
                    try modify(&root, path, s) { v in
                        if let v { guard case .object = v else { throw s.error("'\(path.joined(separator: "."))' is already a value") }; return v }
                        return .object([])
                    }
                }
                current = path
                continue
            }
            let key = try parseKey(&s)
            s.skipWhitespace(comments: false, newlines: false)
            try s.expect(61, "'=' after the key")
            s.skipWhitespace(comments: false, newlines: false)
            let value = try parseValue(&s, depth: 0)
            try endOfLine(&s)
            try modify(&root, current + key, s) { v in
                if v != nil { throw s.error("key '\((current + key).joined(separator: "."))' defined twice") }
                return value
            }
        }
        return .object(root)
    }

    private static func endOfLine(_ s: inout TextScanner) throws {
        s.skipWhitespace(comments: true, newlines: false)
        if let c = s.peek, c != 10 { throw s.error("expected the end of the line") }
    }

    /// Sets or updates the value at `path` (descending into the last element of arrays of tables).
    private static func modify(_ table: inout [(String, JSONValue)], _ path: [String], _ s: TextScanner,
                               _ f: (JSONValue?) throws -> JSONValue) throws {
        let head = path[0]
        let idx = table.firstIndex { $0.0 == head }
        if path.count == 1 {
            let nv = try f(idx.map { table[$0].1 })
            if let idx { table[idx].1 = nv } else { table.append((head, nv)) }
            return
        }
        var child: JSONValue = idx.map { table[$0].1 } ?? .object([])
        switch child {
        case .object(var kv):
            try modify(&kv, Array(path.dropFirst()), s, f)
            child = .object(kv)
        case .array(var xs):
            guard case .object(var kv)? = xs.last else { throw s.error("'\(head)' is not a table") }
            try modify(&kv, Array(path.dropFirst()), s, f)
            xs[xs.count - 1] = .object(kv)
            child = .array(xs)
        default: throw s.error("'\(head)' is a value, not a table")
        }
        if let idx { table[idx].1 = child } else { table.append((head, child)) }
    }

    /// Dotted keys and table headers may nest at most this deep (Solvable's configs use 2); deeper input is refused
    /// before it costs quadratic time and memory.
    static let maxKeyDepth = 16

    private static func parseKey(_ s: inout TextScanner) throws -> [String] {
        var parts: [String] = []
        while true {
            if parts.count >= maxKeyDepth { throw s.error("keys nest at most \(maxKeyDepth) levels deep") }
            s.skipWhitespace(comments: false, newlines: false)
            if s.peek == 34 { parts.append(try s.parseQuotedString()) }
            else if s.peek == 39 { parts.append(try parseLiteralString(&s)) }
            else {
                let start = s.i
                while let c = s.peek, (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 45 { s.i += 1 }
                if s.i == start { throw s.error("expected a key") }
                parts.append(String(decoding: s.bytes[start..<s.i], as: UTF8.self))
            }
            s.skipWhitespace(comments: false, newlines: false)
            if s.peek == 46 { s.i += 1; continue }
            return parts
        }
    }

    private static func parseLiteralString(_ s: inout TextScanner) throws -> String {
        try s.expect(39, "'")
        let start = s.i
        while let c = s.peek, c != 39 {
            if c == 10 { throw s.error("newline inside a literal string") }
            s.i += 1
        }
        guard s.peek == 39 else { throw s.error("unterminated literal string") }
        let str = String(decoding: s.bytes[start..<s.i], as: UTF8.self)
        s.i += 1
        return str
    }

    private static func parseValue(_ s: inout TextScanner, depth: Int) throws -> JSONValue {
        if depth > 64 { throw s.error("nesting deeper than 64 levels") }
        guard let c = s.peek else { throw s.error("expected a value") }
        switch c {
        case 34:
            if s.consume("\"\"\"") { throw s.error("multi-line strings are not supported") }
            return .string(try s.parseQuotedString())
        case 39: return .string(try parseLiteralString(&s))
        case 91:
            s.i += 1
            var xs: [JSONValue] = []
            while true {
                s.skipWhitespace(comments: true)
                if s.peek == 93 { s.i += 1; return .array(xs) }
                xs.append(try parseValue(&s, depth: depth + 1))
                s.skipWhitespace(comments: true)
                if s.peek == 44 { s.i += 1; continue }
                try s.expect(93, "',' or ']' in the array")
                return .array(xs)
            }
        case 123:
            s.i += 1
            var kv: [(String, JSONValue)] = []
            s.skipWhitespace(comments: false, newlines: false)
            if s.peek == 125 { s.i += 1; return .object(kv) }
            while true {
                let key = try parseKey(&s)
                try s.expect(61, "'=' in the inline table")
                s.skipWhitespace(comments: false, newlines: false)
                let v = try parseValue(&s, depth: depth + 1)
                try modify(&kv, key, s) { old in
                    if old != nil { throw s.error("key '\(key.joined(separator: "."))' defined twice") }
                    return v
                }
                s.skipWhitespace(comments: false, newlines: false)
                if s.peek == 44 { s.i += 1; s.skipWhitespace(comments: false, newlines: false); continue }
                try s.expect(125, "',' or '}' in the inline table")
                return .object(kv)
            }
        default:
            if s.consume("true") { return .bool(true) }
            if s.consume("false") { return .bool(false) }
            for (word, v) in [("+inf", Double.infinity), ("-inf", -Double.infinity), ("inf", Double.infinity),
                              ("+nan", Double.nan), ("-nan", Double.nan), ("nan", Double.nan)] where s.consume(word) {
                return .double(v)
            }
            return try s.parseNumber(allowUnderscore: true)
        }
    }
}
