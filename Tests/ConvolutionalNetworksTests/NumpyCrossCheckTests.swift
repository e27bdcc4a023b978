import Experiments
import Foundation
import SolvableTestSupport
import XCTest

/// The trainer against an independent numpy forward/backward (bench/cases/cnn-epoch.py: im2col by slicing, matmul,
/// pooling by reshape, hand-written backward) on a tiny network: the batch losses of 3 SGD steps must agree to
/// float32 rounding. Both sides build the same deterministic images and weights.
final class NumpyCrossCheckTests: XCTestCase {
    func testSGDStepsMatchNumpyPort() throws {
        guard SolvableProcess.pythonHasNumpy else { throw XCTSkip("numpy not available: the numpy cross-check is skipped") }
        let params = #"{"images": 24, "channels": 2, "size": 8, "width": 5, "layers": 2, "pool": 1, "batch_size": 8, "gamma0": 0.7, "eta": 2.0}"#
        let sv = try SolvableProcess.run(["bench", "case", "cnn-epoch", "--params", params, "--threads", "1"])
        XCTAssertEqual(sv.status, 0, sv.stderr)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = """
        import importlib.util, json, sys
        spec = importlib.util.spec_from_file_location("c", sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        print(json.dumps(m.numpy_run(json.loads(sys.argv[2]))[0]))
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, root.appendingPathComponent("bench/cases/cnn-epoch.py").path, params]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let numpy = try XCTUnwrap(try JSONSerialization.jsonObject(with: out) as? [String: Any])["losses"] as? [Double]
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(sv.stdout.split(separator: "\n").last!.utf8)) as? [String: Any])
        let swift = try XCTUnwrap(((doc["result"] as? [String: Any])?["answer"] as? [String: Any])?["losses"] as? [Double])
        XCTAssertEqual(swift.count, 3)
        XCTAssertEqual(numpy?.count, 3)
        for (a, b) in zip(swift, numpy ?? []) { XCTAssertEqual(a, b, accuracy: 1e-4 * abs(b)) }
        XCTAssertNotEqual(swift[0], swift[2], "the steps change the network")
    }
}
