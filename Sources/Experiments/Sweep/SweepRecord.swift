import Foundation
import NumericalCore

/// One finished point's record, `OUT/points/<id>.json`, written atomically. Its last field is `checksum`, the
/// FNV-1a (64 bit) hash of the compact serialization of all other fields, so a record with a flipped digit (still
/// valid JSON), a truncated or a garbage record is detected, reported and recomputed rather than merged.
public enum SweepRecord {
    /// What is on disk for a point.
    public enum Found: Sendable {
        case absent
        /// Present but not a valid record (the reason says why); it is recomputed.
        case damaged(String)
        case valid(JSONValue)
    }

    public static func url(_ out: String, _ id: String) -> URL {
        URL(fileURLWithPath: out).appendingPathComponent("points").appendingPathComponent("\(id).json")
    }

    static func checksum(_ fields: [(String, JSONValue)]) -> String {
        String(format: "%016llx", stableHash(JSONValue.object(fields).serialized(pretty: false)))
    }

    /// Writes `fields` plus their checksum.
    public static func write(_ fields: [(String, JSONValue)], out: String, id: String) throws {
        let record = JSONValue.object(fields + [("checksum", .string(checksum(fields)))])
        try AtomicFile.write(Data((record.serialized() + "\n").utf8), to: url(out, id))
    }

    public static func read(_ out: String, _ id: String) -> Found {
        let u = url(out, id)
        guard FileManager.default.fileExists(atPath: u.path) else { return .absent }
        guard let d = try? Data(contentsOf: u) else { return .damaged("unreadable") }
        guard let text = String(data: d, encoding: .utf8) else { return .damaged("not UTF-8 text") }
        guard case .object(let kv)? = try? JSONValue.parse(json: text) else { return .damaged("not a complete JSON object (truncated?)") }
        guard case .string(let sum)? = kv.last.flatMap({ $0.0 == "checksum" ? $0.1 : nil }) else { return .damaged("no checksum") }
        let fields = Array(kv.dropLast())
        guard checksum(fields) == sum else { return .damaged("checksum mismatch (the file was changed after it was written)") }
        guard JSONValue.object(fields)["id"] == .string(id) else { return .damaged("record of another point") }
        return .valid(.object(fields))
    }

    /// The valid record, or nil.
    public static func valid(_ out: String, _ id: String) -> JSONValue? {
        if case .valid(let r) = read(out, id) { return r }
        return nil
    }

    /// True when the point needs no (re)computation: a valid record that is neither `failed` nor `refused`
    /// (a refused point runs again when its shard is resubmitted, with more memory).
    public static func isSettled(_ r: JSONValue) -> Bool { r["status"] != .string("failed") && r["status"] != .string("refused") }
}
