import ConvolutionalNetworks
import Experiments
import Foundation
import NumericalCore
import SolvableTestSupport
import XCTest

final class ImageReaderTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try SolvableProcess.scratchDirectory("cnn-readers") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
    func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path(name))) }

    static func idxBytes(dims: [Int], data: [UInt8]) -> [UInt8] {
        var b: [UInt8] = [0, 0, 8, UInt8(dims.count)]
        for d in dims { b += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
        return b + data
    }

    /// Writes an IDX set of n images (h x w) with pixel value (i + y + x) % 256 and label i % 3.
    func writeIDX(prefix: String, n: Int, h: Int, w: Int, gzip: Bool) throws {
        var px = [UInt8]()
        for i in 0..<n { for y in 0..<h { for x in 0..<w { px.append(UInt8((i + y + x) % 256)) } } }
        let im = Self.idxBytes(dims: [n, h, w], data: px), lb = Self.idxBytes(dims: [n], data: (0..<n).map { UInt8($0 % 3) })
        let ext = gzip ? ".gz" : ""
        try write("\(prefix)-images-idx3-ubyte" + ext, gzip ? Gzip.compress(im) : im)
        try write("\(prefix)-labels-idx1-ubyte" + ext, gzip ? Gzip.compress(lb) : lb)
    }

    func testIDXRawAndGzip() throws {
        for gz in [false, true] {
            try writeIDX(prefix: "train", n: 5, h: 3, w: 4, gzip: gz)
            let ext = gz ? ".gz" : ""
            let s = try ImageReaders.idxImages(images: path("train-images-idx3-ubyte" + ext), labels: path("train-labels-idx1-ubyte" + ext))
            XCTAssertEqual([s.count, s.channels, s.height, s.width], [5, 1, 3, 4])
            XCTAssertEqual(s.labels, [0, 1, 2, 0, 1])
            XCTAssertEqual(s.pixels[2 * 12 + 1 * 4 + 3], Float(2 + 1 + 3))
        }
    }

    func testCIFARBinaryBatches() throws {
        var b = [UInt8]()
        for r in 0..<3 { b.append(UInt8(r + 4)); for k in 0..<3072 { b.append(UInt8((k + r) % 251)) } }
        try write("data_batch_1.bin", b)
        let s = try ImageReaders.cifar10([path("data_batch_1.bin"), path("data_batch_1.bin")])
        XCTAssertEqual([s.count, s.channels, s.height, s.width], [6, 3, 32, 32])
        XCTAssertEqual(s.labels, [4, 5, 6, 4, 5, 6])
        // record 1, green channel (plane 1), row 2, column 5: byte 1024 + 2 * 32 + 5 of the record
        XCTAssertEqual(s.pixels[1 * 3072 + 1024 + 69], Float((1024 + 69 + 1) % 251))
    }

    func testNPYLayouts() throws {
        let n = 2, c = 3, h = 2, w = 4
        var nchw = [Double](repeating: 0, count: n * c * h * w), nhwc = nchw
        for i in 0..<n { for ch in 0..<c { for y in 0..<h { for x in 0..<w {
            let v = Double(1000 * i + 100 * ch + 10 * y + x)
            nchw[((i * c + ch) * h + y) * w + x] = v
            nhwc[((i * h + y) * w + x) * c + ch] = v
        } } } }
        try NPY.encode(NDArray(shape: [n, c, h, w], data: nchw)).write(to: URL(fileURLWithPath: path("a.npy")))
        try NPY.encode(NDArray(shape: [n, h, w, c], data: nhwc)).write(to: URL(fileURLWithPath: path("b.npy")))
        try NPY.encode(NDArray(shape: [n], data: [1, 0])).write(to: URL(fileURLWithPath: path("l.npy")))
        let a = try ImageReaders.npy(images: path("a.npy"), labels: path("l.npy"), channelsLast: false)
        let b = try ImageReaders.npy(images: path("b.npy"), labels: path("l.npy"), channelsLast: true)
        XCTAssertEqual([a.channels, a.height, a.width], [c, h, w])
        XCTAssertEqual(a.pixels, b.pixels)
        XCTAssertEqual(a.pixels, nchw.map(Float.init))
        XCTAssertEqual(a.labels, [1, 0])
        XCTAssertThrowsError(try ImageReaders.npy(images: path("a.npy"), labels: path("a.npy"), channelsLast: false))
    }

    func testMalformedFilesAreInvalidInput() throws {
        try write("bad-magic", [1, 2, 3, 4, 5])
        try write("truncated", Self.idxBytes(dims: [2, 3, 3], data: [UInt8](repeating: 0, count: 10)))
        try write("int-type", [0, 0, 0x0C, 1, 0, 0, 0, 1, 0, 0, 0, 0])
        let gz = Gzip.compress(Self.idxBytes(dims: [4], data: [0, 1, 2, 3]))
        try write("cut.gz", Array(gz[0..<(gz.count / 2)]))
        try write("batch.bin", [UInt8](repeating: 0, count: 3000))
        for f in ["bad-magic", "truncated", "int-type", "cut.gz", "missing"] {
            XCTAssertThrowsError(try ImageReaders.idx(path(f)), f) { e in
                guard case SolvableError.invalidInput = e else { return XCTFail("\(f): \(e)") }
                XCTAssertEqual((e as? SolvableError)?.exitCode, 2)
            }
        }
        XCTAssertThrowsError(try ImageReaders.cifar10([path("batch.bin")])) { e in
            guard case SolvableError.invalidInput = e else { return XCTFail("\(e)") }
        }
    }

    /// The CLI on a data directory with a malformed file: exit 2 and one line naming the file.
    func testCLIRejectsMalformedDataWithExitTwo() throws {
        try write("data_batch_1.bin", [UInt8](repeating: 0, count: 100))
        try write("test_batch.bin", [UInt8](repeating: 0, count: 3073))
        let r = try SolvableProcess.run(["dmft", "cnn", "--data", dir, "--quiet", "--steps", "1"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("data_batch_1.bin"), r.stderr)
    }

    /// A tiny synthetic CIFAR-format directory end to end through `solvable dmft cnn` (the paper-scale sweep's format).
    func testCIFARDirectoryEndToEnd() throws {
        var rng = RandomStream(seed: 1)
        for name in ["data_batch_1.bin", "test_batch.bin"] {
            var b = [UInt8]()
            for r in 0..<12 { b.append(UInt8(r % 2)); for _ in 0..<3072 { b.append(UInt8(rng.index(below: 256))) } }
            try write(name, b)
        }
        let r = try SolvableProcess.run(["dmft", "cnn", "--data", dir, "--classes", "0,1", "--widths", "4", "--gamma0", "1", "--layers", "1",
                                         "--downsample", "4", "--grayscale", "true", "--steps", "2", "--record-every", "1", "--members", "2",
                                         "--batch-size", "4", "--eta", "0.1", "--json", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("CIFAR-10 binary batches"), r.stdout)
        XCTAssertTrue(r.stdout.contains("1x8x8; 12 train, 12 test"), r.stdout)
    }

    /// The paper-scale sweep spec of docs/sweeps/ on a tiny synthetic CIFAR-format directory: the spec parses, its
    /// points run through `solvable sweep run` (sizes shrunk by rewriting the spec's values) and merge.
    func testPaperScaleSweepSpecRunsOnSyntheticCIFAR() throws {
        var rng = RandomStream(seed: 2)
        for name in ["data_batch_1.bin", "test_batch.bin"] {
            var b = [UInt8]()
            for r in 0..<16 { b.append(UInt8(r % 2)); for _ in 0..<3072 { b.append(UInt8(rng.index(below: 256))) } }
            try write(name, b)
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let spec = try String(contentsOf: root.appendingPathComponent("docs/sweeps/cnn-cifar10-dmft.toml"), encoding: .utf8)
        let tiny = ["data": "\"\(dir)\"", "train_size": "16", "test_size": "8", "train_eval_size": "8", "layers": "1", "steps": "2",
                    "record_every": "1", "members": "2", "batch_size": "4", "eta": "0.01", "widths": "[2, 3]", "gamma0": "[1]"]
        let lines = spec.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line == "[parameters]" { return "[parameters]\ndownsample = \"4\"" }
            let key = line.split(separator: "=").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            return tiny[key].map { "\(key) = \($0)" } ?? String(line)
        }
        let specPath = path("spec.toml")
        try lines.joined(separator: "\n").write(toFile: specPath, atomically: true, encoding: .utf8)
        let out = path("runs")
        let run = try SolvableProcess.run(["sweep", "run", specPath, "--out", out, "--shard", "0/1"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let merge = try SolvableProcess.run(["sweep", "merge", specPath, "--out", out, "--shards", "1"])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        let results = try String(contentsOfFile: out + "/results.csv", encoding: .utf8)
        XCTAssertEqual(results.split(separator: "\n").count, 3, results)   // header + 2 widths x 1 gamma0
    }

    /// Both figures' settings at both scales are valid parameters of their commands (the paper scale's sizes and the
    /// published values: N = 250, 500 and gamma0 = 1, 5, 10; N = 32 ... 256 with 5 layers and gamma0 = 0.2).
    func testFigureSettingsAreValidParameters() throws {
        for scale in Scale.allCases {
            let d = try Parameters(specs: DMFTCNNTask.parameters, overrides: CNNFigures.dmftSettings(scale))
            let f = try Parameters(specs: FluctuationsCNNTask.parameters, overrides: CNNFigures.fluctuationsSettings(scale))
            if scale == .paper {
                XCTAssertEqual(d.ints("widths"), [250, 500]); XCTAssertEqual(d.doubles("gamma0"), [1, 5, 10]); XCTAssertEqual(d.int("steps"), 5000)
                XCTAssertEqual(f.ints("widths"), [32, 45, 64, 90, 128, 256]); XCTAssertEqual(f.int("layers"), 5); XCTAssertEqual(f.doubles("gamma0"), [0.2])
                XCTAssertEqual(f.int("batch_size"), 256); XCTAssertEqual(f.int("members"), 8); XCTAssertEqual(f.int("fit_order"), 2)
            }
        }
    }

    func testFashionMNISTFromDebian() throws {
        guard FileManager.default.fileExists(atPath: CNNData.fashionMNISTDirectory) else {
            throw XCTSkip("Debian's dataset-fashion-mnist is not installed (`make deps`): real-data test skipped")
        }
        let p = try Parameters(specs: DMFTCNNTask.parameters, overrides: [("train_size", .int(1500)), ("test_size", .int(300)), ("downsample", .string("2"))])
        let d = try CNNData.prepare(p)
        XCTAssertEqual([d.train.count, d.test.count, d.train.height, d.train.width, d.train.channels], [1500, 300, 14, 14, 1])
        XCTAssertEqual(d.train.classes, 2)
        let ones = d.train.labels.filter { $0 == 1 }.count
        XCTAssertGreaterThan(ones, 600); XCTAssertLessThan(ones, 900)
        // standardized over the training subset
        let m = d.train.pixels.reduce(0) { $0 + Double($1) } / Double(d.train.pixels.count)
        XCTAssertEqual(m, 0, accuracy: 1e-4)
        // a short training run learns the task: test accuracy well above chance (T-shirt vs pullover)
        let arch = try CNNArchitecture(inputChannels: 1, height: 14, width: 14, channels: 16, convLayers: 2, pool: true, outputs: 1,
                                       activation: .relu, gamma0: 0.5)
        let h = CNNTrainer.train(CNNJob(architecture: arch, initPoint: 16, member: 0), precision: Float.self, train: d.train,
                                 testSet: d.test, trainEval: d.trainEval, settings: CNNTrainingSettings(steps: 80, batchSize: 32, eta: 1, recordEvery: 80), seed: 1)
        XCTAssertLessThan(h.testLoss.last!, 0.95 * h.testLoss[0])
        XCTAssertGreaterThan(h.testAccuracy.last!, 0.6)
    }
}
