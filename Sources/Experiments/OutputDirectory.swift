import Foundation
import NumericalCore
import LinearAlgebra

/// Writes a command's outputs into `--out DIR`: each file written to a temporary name and renamed into place
/// (so no half-written file is ever visible), then `manifest.json` last.
public struct OutputDirectory {
    public let url: URL
    public private(set) var written: [String] = []

    public init(_ path: String) throws {
        url = URL(fileURLWithPath: path, isDirectory: true)
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw SolvableError.invalidParameter(name: "out", value: path, allowed: "a directory that can be created (\(error.localizedDescription))")
        }
        AtomicFile.removeStaleTemporaries(in: url)   // left by an earlier run killed mid-write
    }

    /// Atomically writes `data` to `name` inside the directory.
    public mutating func write(_ name: String, _ data: Data) throws {
        try AtomicFile.write(data, to: url.appendingPathComponent(name))
        if !written.contains(name) { written.append(name) }
    }

    public mutating func write(_ name: String, text: String) throws { try write(name, Data(text.utf8)) }

    /// Writes every table (CSV), array (.npy) and plot (SVG) of a task output.
    /// Non-finite values in arrays are allowed only where a result is legitimately infinite; NaN is refused.
    public mutating func write(_ output: TaskOutput) throws {
        for (name, table) in output.tables {
            for c in table.columns { if case .numbers(let v) = c, v.contains(where: \.isNaN) {
                throw SolvableError.runtime("refusing to write NaN into \(name).csv (a solver produced NaN; see its record)") } }
            try write("\(name).csv", text: CSV.encode(table))
        }
        for (name, array) in output.arrays {
            if array.data.contains(where: \.isNaN) { throw SolvableError.runtime("refusing to write NaN into \(name).npy") }
            try write("\(name).npy", NPY.encode(array))
        }
        for (name, plot) in output.plots { try write("\(name).svg", text: plot.svg()) }
        try write("result.json", text: output.summary.serialized() + "\n")
    }
}

/// Facts about this build and run recorded in every manifest and report header.
public enum RunEnvironment {
    public static let version = "0.1.0"

    /// The git commit of the source tree when known (set at build time via SOLVABLE_GIT_COMMIT, or read
    /// from the working directory's .git).
    public static var gitCommit: String? {
        if let c = ProcessInfo.processInfo.environment["SOLVABLE_GIT_COMMIT"], !c.isEmpty { return c }
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<6 {
            let head = dir.appendingPathComponent(".git/HEAD")
            if let s = try? String(contentsOf: head, encoding: .utf8) {
                let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
                if t.hasPrefix("ref: ") {
                    let ref = dir.appendingPathComponent(".git/" + t.dropFirst(5))
                    return (try? String(contentsOf: ref, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                return t
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    public static var hostname: String { ProcessInfo.processInfo.hostName }

    public static var json: JSONValue {
        .object([
            ("solvable_version", .string(version)),
            ("git_commit", gitCommit.map { .string($0) } ?? .null),
            ("blas_core", .string(BLASRuntime.coreName)),
            ("blas_threads", .int(BLASRuntime.threads)),
            ("openblas_coretype_env", ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { .string($0) } ?? .null),
            ("threads", .int(ThreadPolicy.threads)),
            ("host", .string(hostname)),
        ])
    }
}

/// The manifest of one command run: parameters, seed, environment, wall time and solver status.
public func makeManifest(command: String, parameters: JSONValue, seed: UInt64, wallSeconds: Double,
                         output: TaskOutput, files: [String], note: String? = nil) -> JSONValue {
    .object([
        ("command", .string(command)),
        ("parameters", parameters),
        ("seed", .int(Int(truncatingIfNeeded: seed))),
        ("environment", RunEnvironment.json),
        ("wall_seconds", .number(wallSeconds)),
        ("status", .string(output.status.rawValue)),
        ("solvers", .object(output.records.map { ($0.name, $0.record.json) })),
        ("agreement", .array(output.agreement.map(\.json))),
        ("files", .array(files.map { .string($0) })),
        ("note", note.map { .string($0) } ?? .null),
    ])
}
