import NumericalCore

/// A byte scanner shared by the JSON and TOML parsers: position tracking and errors with line:column.
struct TextScanner {
    let bytes: [UInt8]
    var i = 0
    let source: String

    init(_ text: String, source: String) {
        bytes = Array(text.utf8)
        self.source = source
    }

    var atEnd: Bool { i >= bytes.count }
    var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    func error(_ detail: String) -> SolvableError {
        var line = 1, col = 1
        for k in 0..<min(i, bytes.count) { if bytes[k] == 10 { line += 1; col = 1 } else { col += 1 } }
        return SolvableError.invalidInput(source: source, detail: "line \(line), column \(col): \(detail)")
    }

    /// Skips spaces, tabs and newlines (and `#` comments when `comments`).
    mutating func skipWhitespace(comments: Bool, newlines: Bool = true) {
        while let c = peek {
            if c == 32 || c == 9 || c == 13 || (newlines && c == 10) { i += 1 }
            else if comments && c == 35 { while let d = peek, d != 10 { i += 1 } }
            else { break }
        }
    }

    mutating func expect(_ c: UInt8, _ what: String) throws {
        guard peek == c else { throw error("expected \(what)") }
        i += 1
    }

    mutating func consume(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { return false }
        i += w.count
        return true
    }

    /// A double-quoted string with JSON/TOML basic escapes.
    mutating func parseQuotedString() throws -> String {
        try expect(34, "'\"'")
        var out: [UInt8] = []
        while true {
            guard let c = peek else { throw error("unterminated string") }
            i += 1
            if c == 34 { break }
            if c == 10 { throw error("newline inside a string") }
            if c == 92 {
                guard let e = peek else { throw error("unterminated escape") }
                i += 1
                switch e {
                case 34: out.append(34)
                case 92: out.append(92)
                case 47: out.append(47)
                case 98: out.append(8)
                case 102: out.append(12)
                case 110: out.append(10)
                case 114: out.append(13)
                case 116: out.append(9)
                case 117, 85:
                    let n = e == 117 ? 4 : 8
                    guard i + n <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + n)], as: UTF8.self), radix: 16),
                          let u = Unicode.Scalar(v) else { throw error("bad \\u escape") }
                    i += n
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw error("unknown escape \\\(Character(Unicode.Scalar(e)))")
                }
            } else { out.append(c) }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return s
    }

    /// A number token: integer when it has no fraction/exponent and fits Int, else Double.
    mutating func parseNumber(allowUnderscore: Bool) throws -> JSONValue {
        let start = i
        while let c = peek, (c >= 48 && c <= 57) || c == 43 || c == 45 || c == 46 || c == 101 || c == 69 || (allowUnderscore && c == 95) { i += 1 }
        var text = String(decoding: bytes[start..<i], as: UTF8.self)
        if allowUnderscore { text.removeAll { $0 == "_" } }
        if text.isEmpty { throw error("expected a value") }
        if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let v = Int(text) { return .int(v) }
        guard let d = Double(text), d.isFinite else { throw error("'\(text)' is not a number") }
        return .double(d)
    }

    mutating func parseJSONValue(depth: Int) throws -> JSONValue {
        if depth > 64 { throw error("nesting deeper than 64 levels") }
        skipWhitespace(comments: false)
        guard let c = peek else { throw error("unexpected end of input") }
        switch c {
        case 123:
            i += 1
            var kv: [(String, JSONValue)] = []
            skipWhitespace(comments: false)
            if peek == 125 { i += 1; return .object(kv) }
            while true {
                skipWhitespace(comments: false)
                let k = try parseQuotedString()
                skipWhitespace(comments: false)
                try expect(58, "':'")
                let v = try parseJSONValue(depth: depth + 1)
                if kv.contains(where: { $0.0 == k }) { throw error("duplicate key '\(k)'") }
                kv.append((k, v))
                skipWhitespace(comments: false)
                if peek == 44 { i += 1; continue }
                try expect(125, "',' or '}'")
                return .object(kv)
            }
        case 91:
            i += 1
            var xs: [JSONValue] = []
            skipWhitespace(comments: false)
            if peek == 93 { i += 1; return .array(xs) }
            while true {
                xs.append(try parseJSONValue(depth: depth + 1))
                skipWhitespace(comments: false)
                if peek == 44 { i += 1; continue }
                try expect(93, "',' or ']'")
                return .array(xs)
            }
        case 34: return .string(try parseQuotedString())
        default:
            if consume("true") { return .bool(true) }
            if consume("false") { return .bool(false) }
            if consume("null") { return .null }
            return try parseNumber(allowUnderscore: false)
        }
    }
}
