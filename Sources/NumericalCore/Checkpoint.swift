import Foundation

/// The resumable state of a long solve: named arrays of Doubles (counters are stored as Doubles, exact below 2^53).
public struct CheckpointState: Sendable, Equatable {
    public var arrays: [String: [Double]] = [:]

    public init(arrays: [String: [Double]] = [:]) { self.arrays = arrays }

    public subscript(name: String) -> [Double]? {
        get { arrays[name] }
        set { arrays[name] = newValue }
    }

    /// A stored counter, or nil when absent.
    public func integer(_ name: String) -> Int? { arrays[name].flatMap { $0.count == 1 ? Int(exactly: $0[0]) : nil } }

    public mutating func set(_ name: String, integer: Int) { arrays[name] = [Double(integer)] }

    /// A stored string (UTF-8 bytes, one per Double), or nil when absent.
    public func string(_ name: String) -> String? {
        arrays[name].map { String(decoding: $0.map { UInt8(clamping: Int($0)) }, as: UTF8.self) }
    }

    public mutating func set(_ name: String, string: String) { arrays[name] = string.utf8.map(Double.init) }

    /// Removes every array whose name starts with `prefix`.
    public mutating func removeAll(prefix: String) { arrays = arrays.filter { !$0.key.hasPrefix(prefix) } }
}

/// Periodic checkpoints of one long solve, so that a killed run resumes where the last checkpoint left it.
///
/// The file holds the state and a key, a 64-bit hash of everything the result depends on (the problem, the
/// solver options, the seed); a run resumes only from a checkpoint with its own key, so changed parameters start
/// afresh (and overwrite it). Files are replaced atomically (`AtomicFile`), and carry a checksum, so a reader never
/// resumes from a half-written or damaged file.
///
/// Format (little-endian): magic `SOLVCKP1`, key (UInt64), entry count (UInt64), then per entry the name length,
/// the UTF-8 name, the value count and the values' IEEE-754 bit patterns (UInt64 each), then the FNV-1a checksum
/// of all preceding bytes.
public struct Checkpoint: Sendable {
    public let url: URL
    /// Seconds between writes (0: after every iteration).
    public let interval: Double

    public init(path: String, interval: Double = 60) throws {
        try Validate.inRange("checkpoint_interval", interval, 0...1e7)
        guard !path.isEmpty else {
            throw SolvableError.invalidParameter(name: "checkpoint", value: "\"\"", allowed: "a file path")
        }
        url = URL(fileURLWithPath: path)
        self.interval = interval
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            throw SolvableError.invalidParameter(name: "checkpoint", value: path, allowed: "a file path (this is a directory)")
        }
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw SolvableError.invalidParameter(name: "checkpoint", value: path, allowed: "a path whose directory can be created (\(error.localizedDescription))")
        }
    }

    static let magic = Array("SOLVCKP1".utf8)

    /// What `load` found.
    public enum Found: Sendable, Equatable {
        case none
        /// A valid checkpoint for these parameters.
        case resumable(CheckpointState)
        /// A valid checkpoint written for other parameters (it is left alone until the next save replaces it).
        case otherParameters
        /// A file that is not a complete checkpoint (it is never resumed from).
        case unreadable(String)
    }

    /// Reads the checkpoint, if any, for `key`; also removes temporaries of killed writers beside it.
    public func load(key: UInt64) -> Found {
        AtomicFile.removeStaleTemporaries(in: url.deletingLastPathComponent())
        guard let data = FileManager.default.contents(atPath: url.path) else { return .none }
        let bytes = [UInt8](data)
        guard bytes.count >= 32, Array(bytes[0..<8]) == Checkpoint.magic else { return .unreadable("not a Solvable checkpoint") }
        let body = bytes.count - 8
        guard Checkpoint.checksum(bytes[0..<body]) == Checkpoint.word(bytes, at: body) else { return .unreadable("checksum mismatch") }
        guard Checkpoint.word(bytes, at: 8) == key else { return .otherParameters }
        var at = 24, state = CheckpointState()
        let entries = Checkpoint.word(bytes, at: 16)
        for _ in 0..<entries {
            guard at + 8 <= body else { return .unreadable("truncated entry") }
            let nameLength = Int(Checkpoint.word(bytes, at: at)); at += 8
            guard nameLength <= body - at else { return .unreadable("truncated name") }
            let name = String(decoding: bytes[at..<(at + nameLength)], as: UTF8.self); at += nameLength
            guard at + 8 <= body else { return .unreadable("truncated entry") }
            let count = Int(Checkpoint.word(bytes, at: at)); at += 8
            guard count <= (body - at) / 8 else { return .unreadable("truncated values") }
            state[name] = (0..<count).map { Double(bitPattern: Checkpoint.word(bytes, at: at + 8 * $0)) }
            at += 8 * count
        }
        guard at == body else { return .unreadable("trailing bytes") }
        return .resumable(state)
    }

    /// Atomically replaces the checkpoint with `state` under `key`.
    public func save(_ state: CheckpointState, key: UInt64) throws {
        var bytes = Checkpoint.magic
        func put(_ w: UInt64) { withUnsafeBytes(of: w.littleEndian) { bytes.append(contentsOf: $0) } }
        put(key)
        put(UInt64(state.arrays.count))
        for name in state.arrays.keys.sorted() {
            let utf8 = Array(name.utf8)
            put(UInt64(utf8.count)); bytes.append(contentsOf: utf8)
            let values = state.arrays[name]!
            put(UInt64(values.count))
            bytes.reserveCapacity(bytes.count + 8 * values.count + 8)
            for v in values { put(v.bitPattern) }
        }
        put(Checkpoint.checksum(bytes[...]))
        try AtomicFile.write(Data(bytes), to: url)
    }

    /// Deletes the checkpoint (after the results it protected are safely written).
    public func remove() { try? FileManager.default.removeItem(at: url) }

    static func word(_ b: [UInt8], at i: Int) -> UInt64 {
        var w: UInt64 = 0
        for k in 0..<8 { w |= UInt64(b[i + k]) << (8 * UInt64(k)) }
        return w
    }

    static func checksum(_ b: ArraySlice<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01B3 }
        return h
    }
}

extension Checkpoint {
    /// True when the file at `path` starts with the checkpoint magic (a file Solvable wrote as a checkpoint);
    /// callers refuse to overwrite any other existing file.
    public static func isCheckpointFile(atPath path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        return (try? h.read(upToCount: magic.count)).map { [UInt8]($0) == magic } ?? false
    }
}

/// Builds a checkpoint key from everything a result depends on: numbers by their bit patterns, strings by hash.
public struct CheckpointKey: Sendable {
    private var words: [UInt64]

    /// Starts a key for one solver (its name and format version).
    public init(_ solver: String) { words = [stableHash(solver)] }

    public mutating func add(_ x: Double) { words.append(x.bitPattern) }
    public mutating func add(_ x: Int) { words.append(UInt64(bitPattern: Int64(x))) }
    public mutating func add(_ x: UInt64) { words.append(x) }
    public mutating func add(_ x: Bool) { words.append(x ? 1 : 0) }
    public mutating func add(_ s: String) { words.append(stableHash(s)) }
    public mutating func add(_ xs: [Double]) { words.append(UInt64(xs.count)); words.append(contentsOf: xs.map(\.bitPattern)) }

    public var value: UInt64 { mixWords(words) }
}
