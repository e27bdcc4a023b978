import Foundation
import NumericalCore

/// numpy's `.npy` format (version 1.0): `numpy.load(path)` returns the array with the same shape and values.
///
/// Arrays are written little-endian float64 in C order (`'<f8'`, `fortran_order: False`). The reader accepts
/// float64/float32/int64/int32/int8/uint8/bool in either order, which covers user-supplied pattern and data files.
public enum NPY {
    public static func encode(_ a: NDArray) -> Data {
        let shape = a.shape.count == 1 ? "(\(a.shape[0]),)" : "(" + a.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': \(shape), }"
        let pre = 10
        let total = pre + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let hl = UInt16(header.utf8.count)
        d.append(contentsOf: [UInt8(hl & 0xff), UInt8(hl >> 8)])
        d.append(contentsOf: Array(header.utf8))
        a.data.withUnsafeBufferPointer { p in
            for x in p { var le = x.bitPattern.littleEndian; withUnsafeBytes(of: &le) { d.append(contentsOf: $0) } }
        }
        return d
    }

    public static func decode(_ d: Data, source: String = "npy") throws -> NDArray {
        let bytes = [UInt8](d)
        func fail(_ s: String) -> SolvableError { SolvableError.invalidInput(source: source, detail: "not a readable .npy file: \(s)") }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else { throw fail("bad magic") }
        let major = bytes[6]
        let (hlen, start): (Int, Int)
        if major == 1 {
            hlen = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        } else if major == 2 || major == 3 {
            guard bytes.count >= 12 else { throw fail("truncated header") }
            hlen = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; start = 12
        } else { throw fail("unsupported version \(major)") }
        guard start + hlen <= bytes.count else { throw fail("truncated header") }
        let header = String(decoding: bytes[start..<(start + hlen)], as: UTF8.self)
        func field(_ key: String) -> String? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descrField = field("descr"), let q1 = descrField.firstIndex(where: { $0 == "'" || $0 == "\"" }) else { throw fail("no descr") }
        let afterQ = descrField[descrField.index(after: q1)...]
        guard let q2 = afterQ.firstIndex(where: { $0 == "'" || $0 == "\"" }) else { throw fail("bad descr") }
        let descr = String(afterQ[..<q2])
        let fortran = field("fortran_order")?.hasPrefix("True") ?? false
        guard let shapeField = field("shape"), let open = shapeField.firstIndex(of: "("), let close = shapeField.firstIndex(of: ")") else { throw fail("no shape") }
        let dims = shapeField[shapeField.index(after: open)..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = []
        for s in dims { guard let v = Int(s), v >= 0, v < 1 << 40 else { throw fail("bad shape") }; shape.append(v) }
        var count = 1
        for v in shape { let (m, o) = count.multipliedReportingOverflow(by: v); guard !o, m < 1 << 34 else { throw fail("array too large") }; count = m }
        let body = Array(bytes[(start + hlen)...])
        let kind = descr.dropFirst(descr.first == "<" || descr.first == "|" || descr.first == "=" ? 1 : 0)
        if descr.first == ">" { throw fail("big-endian arrays are not supported") }
        let size: Int
        switch kind { case "f8", "i8", "u8": size = 8; case "f4", "i4", "u4": size = 4; case "i2", "u2": size = 2; case "i1", "u1", "b1": size = 1
        default: throw fail("unsupported dtype \(descr)") }
        guard body.count >= count * size else { throw fail("data shorter than its shape") }
        var values = [Double](repeating: 0, count: count)
        body.withUnsafeBytes { raw in
            for k in 0..<count {
                let o = k * size
                switch kind {
                case "f8": values[k] = Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
                case "f4": values[k] = Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))))
                case "i8": values[k] = Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int64.self)))
                case "u8": values[k] = Double(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
                case "i4": values[k] = Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)))
                case "u4": values[k] = Double(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
                case "i2": values[k] = Double(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int16.self)))
                case "u2": values[k] = Double(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
                case "i1": values[k] = Double(raw.load(fromByteOffset: o, as: Int8.self))
                default: values[k] = Double(raw.load(fromByteOffset: o, as: UInt8.self))
                }
            }
        }
        if fortran && shape.count > 1 {
            // reorder column-major data into row-major
            var out = [Double](repeating: 0, count: count)
            var strides = [Int](repeating: 1, count: shape.count)   // fortran strides
            for k in 1..<shape.count { strides[k] = strides[k - 1] * shape[k - 1] }
            var idx = [Int](repeating: 0, count: shape.count)
            for c in 0..<count {
                var f = 0
                for k in 0..<shape.count { f += idx[k] * strides[k] }
                out[c] = values[f]
                var k = shape.count - 1
                while k >= 0 { idx[k] += 1; if idx[k] < shape[k] { break }; idx[k] = 0; k -= 1 }
            }
            values = out
        }
        return NDArray(shape: shape, data: values)
    }

    public static func read(_ path: String) throws -> NDArray {
        let d = try InputFile.read(path)
        return try decode(d, source: path)
    }
}

/// Comma-separated tables: tidy CSV out (header row, `inf`/`nan` spelled as numpy and pandas read them),
/// numeric matrices in (user data, patterns, spectra).
public enum CSV {
    public static func encode(_ t: ResultTable) -> String {
        var s = t.names.joined(separator: ",") + "\n"
        for r in 0..<t.rowCount {
            s += t.columns.map { col -> String in
                switch col {
                case .numbers(let v): return format(v[r])
                case .strings(let v): return quote(v[r])
                }
            }.joined(separator: ",") + "\n"
        }
        return s
    }

    static func format(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return "\(x)"
    }

    static func quote(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// Reads a numeric CSV (optional header row, `#` comments) as rows of numbers.
    public static func readMatrix(_ path: String) throws -> [[Double]] {
        let d = try InputFile.read(path)
        guard let text = String(data: d, encoding: .utf8) else {
            throw SolvableError.invalidInput(source: path, detail: "not UTF-8 text")
        }
        var rows: [[Double]] = []
        for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let l = line.trimmingCharacters(in: .whitespaces)
            if l.isEmpty || l.hasPrefix("#") { continue }
            let cells = l.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let nums = cells.map { Double($0) }
            if nums.contains(where: { $0 == nil }) {
                if rows.isEmpty && n == 0 { continue }   // header
                throw SolvableError.invalidInput(source: path, detail: "line \(n + 1): non-numeric value")
            }
            let v = nums.map { $0! }
            if let first = rows.first, first.count != v.count {
                throw SolvableError.invalidInput(source: path, detail: "line \(n + 1) has \(v.count) values, expected \(first.count)")
            }
            rows.append(v)
        }
        if rows.isEmpty { throw SolvableError.invalidInput(source: path, detail: "no numeric rows") }
        return rows
    }

    /// Reads a user array from `.npy` or `.csv` as rows (a 1-D array becomes one row per value).
    public static func readRows(_ path: String) throws -> [[Double]] {
        if path.lowercased().hasSuffix(".npy") {
            let a = try NPY.read(path)
            if a.shape.count == 1 { return a.data.map { [$0] } }
            guard a.shape.count == 2 else { throw SolvableError.invalidInput(source: path, detail: "expected a 1-D or 2-D array, got shape \(a.shape)") }
            return (0..<a.shape[0]).map { Array(a.data[($0 * a.shape[1])..<(($0 + 1) * a.shape[1])]) }
        }
        return try readMatrix(path)
    }
}
