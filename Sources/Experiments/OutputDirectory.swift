import Foundation
import NumericalCore
import LinearAlgebra

/// A command's `--out DIR`, written so that a user's data is never destroyed and a run's outputs are one
/// consistent set.
///
/// - Files are first written (each atomically, see `AtomicFile`) into a hidden staging folder
///   `DIR/.solvable-run-KEY`, KEY a hash of the command, its parameters and seed; `commit(manifest:)` then moves
///   the whole set into DIR, the manifest last, and removes the files of the previous set that the new one does
///   not have. A run interrupted before the commit leaves DIR as it was (the earlier complete set, if any), and
///   its staged files are reused by a rerun with the same KEY (finished points are not recomputed).
/// - Solvable overwrites or deletes only files it wrote: names listed in one of DIR's manifests (`*manifest.json`),
///   its own staging folders and checkpoints. Any other existing file of the same name is refused with a message.
/// - DIR is checked (created, writable) before any computation: a bad `--out` costs nothing.
public struct OutputDirectory {
    public let url: URL
    /// The staging folder (nil: files are written straight into `url`, each atomically).
    public let staging: URL?
    public let manifestName: String
    public private(set) var written: [String] = []

    /// Opens `path` for a run identified by `runKey` (staged), or for direct atomic writes when `runKey` is nil
    /// (a sweep's own folder, whose files the sweep owns).
    public init(_ path: String, runKey: String? = nil, manifestName: String = "manifest.json") throws {
        guard !path.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw SolvableError.invalidParameter(name: "out", value: "\"\"", allowed: "a directory path (an empty path is not the current directory)")
        }
        url = URL(fileURLWithPath: path, isDirectory: true)
        self.manifestName = manifestName
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue {
            throw SolvableError.invalidParameter(name: "out", value: path, allowed: "a directory (this path is an existing file)")
        }
        do { try fm.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw SolvableError.invalidParameter(name: "out", value: path, allowed: "a directory that can be created (\(OutputDirectory.describe(error)))")
        }
        guard access(url.path, W_OK | X_OK) == 0 else {
            throw SolvableError.invalidParameter(name: "out", value: path, allowed: "a writable directory (this one is not writable; checked before computing)")
        }
        if let key = runKey {
            let st = url.appendingPathComponent(OutputDirectory.stagingPrefix + key, isDirectory: true)
            do { try fm.createDirectory(at: st, withIntermediateDirectories: true) } catch {
                throw SolvableError.invalidParameter(name: "out", value: path, allowed: "a writable directory (\(OutputDirectory.describe(error)))")
            }
            staging = st
            AtomicFile.removeStaleTemporaries(in: st)
        } else {
            staging = nil
        }
        AtomicFile.removeStaleTemporaries(in: url)   // left by an earlier run killed mid-write
    }

    static let stagingPrefix = ".solvable-run-"

    /// Where files go before the commit.
    var target: URL { staging ?? url }

    /// Atomically writes `data` to `name` (into the staging folder for a staged run).
    public mutating func write(_ name: String, _ data: Data) throws {
        do { try AtomicFile.write(data, to: target.appendingPathComponent(name)) } catch let e as SolvableError {
            throw SolvableError.runtime("\(e.description) (earlier outputs in \(url.path) are unchanged)")
        }
        if !written.contains(name) { written.append(name) }
    }

    public mutating func write(_ name: String, text: String) throws { try write(name, Data(text.utf8)) }

    /// Writes every table (CSV), array (.npy) and plot (SVG) of a task output, then result.json. Call it with a
    /// gated output (`TaskOutput.gated()`): non-finite values were removed there and are refused here.
    public mutating func write(_ output: TaskOutput) throws {
        for (name, table) in output.tables {
            if table.firstNonFiniteRow(allowInfinity: output.infinityAllowed) != nil {
                throw SolvableError.runtime("internal error: non-finite values reached \(name).csv past the finiteness gate")
            }
            try write("\(name).csv", text: CSV.encode(table))
        }
        for (name, array) in output.arrays {
            if array.data.contains(where: { $0.isNaN || (!output.infinityAllowed && $0.isInfinite) }) {
                throw SolvableError.runtime("internal error: non-finite values reached \(name).npy past the finiteness gate")
            }
            try write("\(name).npy", NPY.encode(array))
        }
        for (name, plot) in output.plots { try write("\(name).svg", text: plot.svg()) }
        try write("result.json", text: output.summary.serialized() + "\n")
    }

    /// Counts a file an earlier interrupted run with the same key left in the staging folder as part of this set.
    public mutating func adopt(_ name: String) {
        if !written.contains(name) { written.append(name) }
    }

    /// Names of files a staged run already wrote (an earlier interrupted run with the same key).
    public var stagedNames: [String] {
        guard let st = staging else { return [] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: st.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Files Solvable wrote into this directory: every name listed by one of its manifests, and the manifests.
    func ownedNames() -> Set<String> {
        let fm = FileManager.default
        var owned = Set<String>()
        for m in ((try? fm.contentsOfDirectory(atPath: url.path)) ?? []) where m.hasSuffix("manifest.json") {
            guard let text = try? String(contentsOf: url.appendingPathComponent(m), encoding: .utf8),
                  let json = try? JSONValue.parse(json: text), case .array(let files)? = json["files"] else { continue }
            owned.insert(m)
            for case .string(let f) in files { owned.insert(f) }
        }
        return owned
    }

    /// Refuses names that exist in the directory and were not written by Solvable.
    func checkOwnership(_ names: [String]) throws {
        let owned = ownedNames()
        let foreign = names.filter { name in
            let p = url.appendingPathComponent(name).path
            return FileManager.default.fileExists(atPath: p) && !owned.contains(name) && !Checkpoint.isCheckpoint(atPath: p)
        }
        if !foreign.isEmpty {
            throw SolvableError.runtime("refusing to overwrite \(foreign.joined(separator: ", ")) in \(url.path): not written by Solvable (no manifest there lists them); move them away or choose another --out"
                                        + (staging.map { "; this run's outputs are kept in \($0.path)" } ?? ""))
        }
    }

    /// Publishes the staged set: moves every staged file into the directory, writes `manifest` last (with its
    /// `files` list) and removes the files of the previous set under the same manifest name that this set lacks.
    public mutating func commit(manifest: JSONValue) throws {
        let fm = FileManager.default
        let previous = previousFiles()
        let names = written.filter { $0 != manifestName }
        try checkOwnership(names + [manifestName])
        if let st = staging {
            // the old manifest goes first: while files move, the folder claims no set
            try? fm.removeItem(at: url.appendingPathComponent(manifestName))
            for name in names where rename(st.appendingPathComponent(name).path, url.appendingPathComponent(name).path) != 0 {
                throw SolvableError.runtime("cannot move \(name) into \(url.path): errno \(errno); this run's outputs are kept in \(st.path)")
            }
        }
        let text = manifest.serialized() + "\n"
        do { try AtomicFile.write(Data(text.utf8), to: url.appendingPathComponent(manifestName)) } catch let e as SolvableError {
            throw SolvableError.runtime("\(e.description) (the outputs were moved into \(url.path); its manifest could not be written)")
        }
        if !written.contains(manifestName) { written.append(manifestName) }
        for old in previous where !written.contains(old) && !old.contains("/") {
            try? fm.removeItem(at: url.appendingPathComponent(old))
        }
        if let st = staging { try? fm.removeItem(at: st) }
    }

    /// The files the directory's current manifest (of this name) lists.
    func previousFiles() -> [String] {
        guard let text = try? String(contentsOf: url.appendingPathComponent(manifestName), encoding: .utf8),
              let json = try? JSONValue.parse(json: text), case .array(let files)? = json["files"] else { return [] }
        return files.compactMap { if case .string(let f) = $0 { return f }; return nil }
    }

    /// Removes the staging folder (a run that failed with nothing worth resuming).
    public func discardStaging() {
        if let st = staging { try? FileManager.default.removeItem(at: st) }
    }

    /// A Foundation error as one readable line (no NSCocoaErrorDomain codes).
    public static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        switch ns.code {
        case NSFileWriteNoPermissionError, NSFileReadNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        case NSFileWriteVolumeReadOnlyError: return "read-only file system"
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or directory"
        default: return ns.localizedDescription
        }
    }
}

/// Facts about this build and run recorded in every manifest and report header.
public enum RunEnvironment {
    public static let version = "0.1.0"

    /// The git commit of the source tree when known: SOLVABLE_GIT_COMMIT if set, else the repository holding the
    /// executable (a `swift build` binary lives in the checkout's .build), else the working directory's.
    /// Worktrees (`.git` files) and packed refs are followed.
    public static let gitCommit: String? = {
        if let c = ProcessInfo.processInfo.environment["SOLVABLE_GIT_COMMIT"], !c.isEmpty { return c }
        let starts = [Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent(),
                      URL(fileURLWithPath: FileManager.default.currentDirectoryPath)].compactMap { $0 }
        for start in starts { if let c = commit(searchingUpFrom: start) { return c } }
        return nil
    }()

    static func commit(searchingUpFrom start: URL) -> String? {
        var dir = start
        for _ in 0..<12 {
            let dotGit = dir.appendingPathComponent(".git")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isDir) {
                var gitDir = dotGit
                if !isDir.boolValue {   // a worktree: "gitdir: PATH"
                    guard let t = try? String(contentsOf: dotGit, encoding: .utf8), t.hasPrefix("gitdir: ") else { return nil }
                    let p = t.dropFirst(8).trimmingCharacters(in: .whitespacesAndNewlines)
                    gitDir = p.hasPrefix("/") ? URL(fileURLWithPath: p) : dir.appendingPathComponent(p)
                }
                return resolveHead(gitDir)
            }
            if dir.path == "/" { break }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static func resolveHead(_ gitDir: URL) -> String? {
        guard let head = (try? String(contentsOf: gitDir.appendingPathComponent("HEAD"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        guard head.hasPrefix("ref: ") else { return head }
        let ref = String(head.dropFirst(5))
        // a worktree's refs live in the common git directory
        let common = (try? String(contentsOf: gitDir.appendingPathComponent("commondir"), encoding: .utf8))
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .map { $0.hasPrefix("/") ? URL(fileURLWithPath: $0) : gitDir.appendingPathComponent($0) } ?? gitDir
        for d in [gitDir, common] {
            if let c = try? String(contentsOf: d.appendingPathComponent(ref), encoding: .utf8) {
                return c.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if let packed = try? String(contentsOf: d.appendingPathComponent("packed-refs"), encoding: .utf8) {
                for line in packed.split(separator: "\n") where line.hasSuffix(" " + ref) { return String(line.prefix(40)) }
            }
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

/// The manifest of one command run: parameters (as given, and as effectively used where the data decided them),
/// seed, input files with their SHA-256, environment, wall time, solver status and the files of the set.
public func makeManifest(command: String, parameters: JSONValue, seed: UInt64, wallSeconds: Double,
                         output: TaskOutput, files: [String], inputs: [(parameter: String, path: String)] = [],
                         note: String? = nil) -> JSONValue {
    .object([
        ("command", .string(command)),
        ("parameters", parameters),
        ("effective_parameters", .object(output.effectiveParameters)),
        ("seed", .int(Int(truncatingIfNeeded: seed))),
        ("inputs", .array(inputs.map { i in
            .object([("parameter", .string(i.parameter)), ("path", .string(i.path)),
                     ("sha256", SHA256Digest.file(atPath: i.path).map { .string($0) } ?? .null)])
        })),
        ("environment", RunEnvironment.json),
        ("wall_seconds", .number(wallSeconds)),
        ("status", .string(output.status.rawValue)),
        ("solvers", .object(output.records.map { ($0.name, $0.record.json) })),
        ("agreement", .array(output.agreement.map(\.json))),
        ("omitted", .array(output.omitted.map { .string($0) })),
        ("files", .array(files.map { .string($0) })),
        ("note", note.map { .string($0) } ?? .null),
    ])
}
