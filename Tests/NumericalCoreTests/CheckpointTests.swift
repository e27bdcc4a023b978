import Foundation
import Testing
import NumericalCore

/// The checkpoint file: what is saved is what is loaded (bitwise), a key mismatch or any damage is recognised and
/// never resumed from, and temporaries of killed writers are cleaned up.
@Suite struct CheckpointFileTests {
    func scratch(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("solvable-ckpt-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    func sampleState() -> CheckpointState {
        var s = CheckpointState()
        s["kernel"] = [1.5, -0.0, .pi, 1e-300, -.infinity, 0x1p-1074]
        s["empty"] = []
        s.set("iteration", integer: 17)
        s.set("message", string: "rho = 1e-3 après 5 itérations")
        return s
    }

    @Test func roundTripIsBitwiseAndKeyed() throws {
        let ck = try Checkpoint(path: try scratch("roundtrip") + "/state.ckpt", interval: 0)
        #expect(ck.load(key: 7) == .none)
        let s = sampleState()
        try ck.save(s, key: 7)
        guard case .resumable(let back) = ck.load(key: 7) else { Issue.record("not resumable"); return }
        #expect(back["kernel"]!.map(\.bitPattern) == s["kernel"]!.map(\.bitPattern))
        #expect(back == s && back.integer("iteration") == 17 && back.string("message") == s.string("message"))
        #expect(ck.load(key: 8) == .otherParameters)
        ck.remove()
        #expect(ck.load(key: 7) == .none)
    }

    /// Every single-byte corruption and every truncation of a valid file is detected (FNV-1a checksum, length checks).
    @Test func damageIsNeverResumedFrom() throws {
        let ck = try Checkpoint(path: try scratch("damage") + "/state.ckpt", interval: 0)
        try ck.save(sampleState(), key: 1)
        let good = try Data(contentsOf: ck.url)
        for i in stride(from: 0, to: good.count, by: 3) {
            var bad = good
            bad[i] ^= 0x5A
            try bad.write(to: ck.url)
            let found = ck.load(key: 1)
            if case .resumable = found { Issue.record("flipped byte \(i) was resumed from") }
        }
        for n in [0, 7, 8, 31, good.count / 2, good.count - 1] {
            try good.prefix(n).write(to: ck.url)
            if case .resumable = ck.load(key: 1) { Issue.record("truncation to \(n) bytes was resumed from") }
        }
    }

    @Test func staleTemporariesOfDeadWritersAreRemoved() throws {
        let dir = try scratch("stale")
        // a pid above the kernel's pid_max (4194304) never runs
        let dead = ".state.ckpt.tmp-\(AtomicFile.host)-99999999-12345"
        let alive = ".state.ckpt.tmp-\(AtomicFile.host)-\(getppid())-12345"
        let otherHost = ".state.ckpt.tmp-some_other_node-99999999-12345"
        for f in [dead, alive, otherHost, "state.ckpt"] { FileManager.default.createFile(atPath: "\(dir)/\(f)", contents: Data([1])) }
        #expect(AtomicFile.removeStaleTemporaries(in: URL(fileURLWithPath: dir)) == [dead])
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        #expect(left == [alive, otherHost, "state.ckpt"])
    }

    @Test func badPathsAndIntervalsNameTheParameter() throws {
        #expect(throws: SolvableError.self) { try Checkpoint(path: "/tmp", interval: 1) }
        #expect(throws: SolvableError.self) { try Checkpoint(path: "", interval: 1) }
        do { _ = try Checkpoint(path: "/tmp/x.ckpt", interval: -1); Issue.record("negative interval accepted") }
        catch let SolvableError.invalidParameter(name, _, _) { #expect(name == "checkpoint_interval") }
    }
}
