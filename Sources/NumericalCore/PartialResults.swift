import Foundation

/// Finished pieces of a run that has several independent points (a capacity sweep over (N, d), a list of
/// figures), kept as they complete so that Ctrl-C loses only the point in progress: a rerun of the same command
/// (same parameters and seed, hence the same staging folder of `--out`) loads them instead of recomputing.
/// Each piece is one JSON file written atomically; a piece that cannot be decoded is recomputed.
public struct PartialResults: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    func url(_ key: String) -> URL {
        directory.appendingPathComponent(".partial-\(String(stableHash(key), radix: 16)).json")
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        e.outputFormatting = .sortedKeys
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }()

    /// The piece stored under `key` by an earlier run, if any.
    public func load<T: Codable>(_ key: String, as type: T.Type) -> T? {
        guard let data = FileManager.default.contents(atPath: url(key).path),
              let stored = try? PartialResults.decoder.decode(Stored<T>.self, from: data), stored.key == key else { return nil }
        return stored.value
    }

    /// Stores a finished piece under `key`.
    public func save<T: Codable>(_ key: String, _ value: T) throws {
        try AtomicFile.write(try PartialResults.encoder.encode(Stored(key: key, value: value)), to: url(key))
    }

    private struct Stored<T: Codable>: Codable {
        var key: String
        var value: T
    }
}
