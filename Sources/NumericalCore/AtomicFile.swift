import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files that a reader sees either absent, in their old version or in their new version, never half-written,
/// even if the writer is killed (SIGKILL, out of memory, a Slurm time limit) in the middle of a write.
///
/// A write goes to a hidden temporary `.NAME.tmp-HOST-PID-RANDOM` in the same directory and is then `rename(2)`d
/// over NAME, which POSIX makes atomic within one file system. A writer killed before the rename leaves only the
/// hidden temporary behind; `removeStaleTemporaries` deletes those whose process no longer runs (on this host;
/// a shared cluster file system sees writers of other nodes, whose temporaries are left alone for a day).
public enum AtomicFile {
    /// Atomically replaces the file at `url` with `data`.
    public static func write(_ data: Data, to url: URL) throws {
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(host)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try data.write(to: tmp)
            if rename(tmp.path, url.path) != 0 {
                let code = errno
                try? FileManager.default.removeItem(at: tmp)
                throw SolvableError.runtime("cannot rename \(tmp.path) to \(url.path): errno \(code)")
            }
        } catch let e as SolvableError { throw e } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw SolvableError.runtime("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    /// Deletes the temporaries in `directory` left by writers that were killed: those of this host whose process is
    /// gone, and any older than a day. Returns the names removed.
    @discardableResult
    public static func removeStaleTemporaries(in directory: URL) -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory.path) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(".") {
            guard let r = name.range(of: ".tmp-", options: .backwards) else { continue }
            let parts = name[r.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]), UInt32(parts[parts.count - 1]) != nil else { continue }
            let writerHost = parts[0..<(parts.count - 2)].joined(separator: "-")
            let file = directory.appendingPathComponent(name)
            let age = ((try? fm.attributesOfItem(atPath: file.path))?[.modificationDate] as? Date).map { -$0.timeIntervalSinceNow } ?? 0
            let writerGone = writerHost == host && pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
            if writerGone || age > 86_400 {
                if (try? fm.removeItem(at: file)) != nil { removed.append(name) }
            }
        }
        return removed
    }

    /// This host's name with "-" and "/" replaced, as it appears in temporary names.
    public static let host: String = {
        var buf = [CChar](repeating: 0, count: 256)
        let name = gethostname(&buf, buf.count) == 0 ? String(cString: buf) : "host"
        return String(name.map { $0 == "-" || $0 == "/" ? "_" : $0 })
    }()
}

/// Reading a user's input file: one place that says precisely why a path cannot be read (missing, a directory,
/// a FIFO or device, no permission), so every reader reports the same way.
public enum InputFile {
    /// Why `path` is not a readable regular file, or nil when it is.
    public static func problem(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            return errno == EACCES ? "permission denied" : "no such file"
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return "a directory, not a file"
        case S_IFIFO: return "a FIFO (named pipe), not a regular file"
        case S_IFCHR, S_IFBLK: return "a device, not a regular file"
        case S_IFSOCK: return "a socket, not a regular file"
        default: return "not a regular file"
        }
        guard access(path, R_OK) == 0 else { return "permission denied" }
        return nil
    }

    /// The contents of the regular file at `path`, or `SolvableError.invalidInput` naming the reason.
    public static func read(_ path: String) throws -> Data {
        if let why = problem(path) { throw SolvableError.invalidInput(source: path, detail: why) }
        guard let d = FileManager.default.contents(atPath: path) else {
            throw SolvableError.invalidInput(source: path, detail: "cannot be read")
        }
        return d
    }
}
