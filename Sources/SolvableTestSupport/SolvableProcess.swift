import Foundation

/// Runs the built `solvable` executable from tests (one copy for every test target; not part of the library product).
public enum SolvableProcess {
    public struct NotFound: Error, CustomStringConvertible {
        public var description: String { "the solvable binary was not found next to the tests or in .build/{release,debug}; run swift build first" }
    }

    /// The executable of the same build as the running tests, else `.build/release`, else `.build/debug`.
    public static func binary() throws -> URL {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [here, here.deletingLastPathComponent(), URL(fileURLWithPath: ".build/release"), URL(fileURLWithPath: ".build/debug")]
        for c in candidates {
            let u = c.appendingPathComponent("solvable")
            if FileManager.default.isExecutableFile(atPath: u.path) { return u }
        }
        throw NotFound()
    }

    /// Runs `solvable args...` to completion with BLAS core auto-selection off (tests never depend on the core choice),
    /// reading stdout and stderr concurrently so large output cannot block the child.
    public static func run(_ args: [String], environment extra: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(executable: try binary(), args, environment: extra)
    }

    /// Runs any executable to completion the same way (environment overlaid on this process's).
    public static func run(executable: URL, _ args: [String], environment extra: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["SOLVABLE_BLAS_AUTOSELECT"] = "0"
        for (k, v) in extra { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errBox.data, as: UTF8.self))
    }

    /// A fresh temporary directory whose name starts with `prefix`.
    public static func scratchDirectory(_ prefix: String) throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("solvable-\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d.path
    }

    /// True when `python3 -c 'import numpy'` succeeds (tests that need numpy skip, and say so, without it).
    public static var pythonHasNumpy: Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import numpy"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run(); p.waitUntilExit(); return p.terminationStatus == 0 } catch { return false }
    }
}
