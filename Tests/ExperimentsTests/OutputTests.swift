import Experiments
import Foundation
import SolvableTestSupport
import FoundationXML
import NumericalCore
import Testing

/// Parses text as XML with Foundation's parser; returns the error, if any.
func xmlError(_ text: String) -> String? {
    final class Delegate: NSObject, XMLParserDelegate {
        var error: String?
        func parser(_ parser: XMLParser, parseErrorOccurred e: Error) { error = "\(e) at line \(parser.lineNumber)" }
    }
    let p = XMLParser(data: Data(text.utf8))
    let d = Delegate()
    p.delegate = d
    let ok = p.parse()
    return ok ? nil : (d.error ?? "parse failed")
}

func runPython(_ script: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

func temporaryDirectory(_ name: String) throws -> URL {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("solvable-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}

@Suite struct NPYTests {
    @Test(arguments: [[5], [3, 4], [2, 3, 4], [0, 3]])
    func roundTripsInSwift(shape: [Int]) throws {
        let n = shape.reduce(1, *)
        let a = NDArray(shape: shape, data: (0..<n).map { Double($0) * 0.5 - 1 })
        #expect(try NPY.decode(NPY.encode(a)) == a)
        #expect(NPY.encode(a).count % 64 == (n * 8) % 64)   // header padded to a multiple of 64 bytes
    }

    /// numpy.load must return the same array (shape, C order, values); skipped, with a message, without numpy.
    @Test(.enabled(if: SolvableProcess.pythonHasNumpy, "python3 with numpy is not installed: the numpy round trip is not checked"))
    func numpyReadsOurFilesAndWeReadNumpys() throws {
        let dir = try temporaryDirectory("npy")
        let a = NDArray(shape: [2, 3, 4], data: (0..<24).map { Double($0) + 0.25 })
        try NPY.encode(a).write(to: dir.appendingPathComponent("a.npy"))
        let script = """
        import numpy as np
        a = np.load('\(dir.path)/a.npy')
        assert a.shape == (2, 3, 4) and a.dtype == np.float64, (a.shape, a.dtype)
        assert np.array_equal(a, np.arange(24).reshape(2, 3, 4) + 0.25)
        np.save('\(dir.path)/f.npy', np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)))
        np.save('\(dir.path)/b.npy', np.array([[1, -1], [-1, 1]], dtype=np.int8))
        print('ok')
        """
        #expect(try runPython(script).contains("ok"))
        let f = try NPY.read(dir.appendingPathComponent("f.npy").path)
        #expect(f == NDArray(shape: [2, 3], data: [0, 1, 2, 3, 4, 5]))
        let b = try NPY.read(dir.appendingPathComponent("b.npy").path)
        #expect(b == NDArray(shape: [2, 2], data: [1, -1, -1, 1]))
    }

    @Test(arguments: [Data(), Data("not numpy".utf8), Data([0x93] + Array("NUMPY".utf8) + [1, 0, 200, 0])])
    func rejectsGarbage(data: Data) {
        #expect(throws: SolvableError.self) { _ = try NPY.decode(data) }
    }
}

@Suite struct CSVAndPlotTests {
    @Test func csvWritesTidyTableWithInfinity() {
        var t = ResultTable()
        t.add("P", [10, 20])
        t.add("eps_g", [0.5, .infinity])
        t.add("label", strings: ["a,b", "c"])
        #expect(CSV.encode(t) == "P,eps_g,label\n10.0,0.5,\"a,b\"\n20.0,inf,c\n")
    }

    @Test func svgIsWellFormedXMLForLinesPointsLogAxesAndHeatmaps() {
        var p = Plot(title: "a < b & c", xLabel: "P", yLabel: "eps_g", xLog: true, yLog: true)
        p.addComparison(label: "L=1", color: 0, theoryX: [1, 10, 100, 1000], theoryY: [1, 0.5, .infinity, 0.1],
                        simX: [10, 100], simY: [0.52, 0.2], simError: [0.01, 0.3])
        #expect(xmlError(p.svg()) == nil)
        let lin = Plot(title: "linear", xLabel: "t", yLabel: "loss", series: [Plot.Series(label: "x", x: [0, 1, 2], y: [3, 3, 3], style: .dashed, color: 2)])
        #expect(xmlError(lin.svg()) == nil)
        let hm = Plot(title: "Phi(t,s)", xLabel: "s", yLabel: "t", heatmap: Plot.Heatmap(values: [[1, 2], [3, .nan]], colorbarLabel: "Phi"))
        #expect(xmlError(hm.svg()) == nil)
        let empty = Plot(title: "empty", xLabel: "x", yLabel: "y")
        #expect(xmlError(empty.svg()) == nil)
    }

    @Test func tickTextHandlesNonFiniteValues() {
        #expect(Plot.tickText(.infinity) == "inf" && Plot.tickText(-.infinity) == "-inf" && Plot.tickText(.nan) == "nan")
        #expect(Plot.tickText(1e-5) == "1e-5" && Plot.tickText(0.25) == "0.25")
    }

    @Test func reportIsSelfContainedWellFormedXML() throws {
        let dir = try temporaryDirectory("report")
        let entries = try Reproduce.run(figures: [try #require(Registry.figure("core-quadrature"))], scale: .quick,
                                        outDirectory: dir.path, context: RunContext(seed: 1, threads: 2))
        #expect(entries.count == 1 && entries[0].passed)
        let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(xmlError(html) == nil)
        #expect(!html.contains("http://") || !html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"))
        #expect(!html.contains("<script") && !html.contains("src="))
        let manifest = try JSONValue.parse(json: String(contentsOf: dir.appendingPathComponent("manifest.json"), encoding: .utf8))
        #expect(manifest["figures"] != nil)
    }

    @Test func outputDirectoryWritesAtomicallyAndRefusesNaN() throws {
        let dir = try temporaryDirectory("out")
        var out = try OutputDirectory(dir.path)
        var result = TaskOutput(summary: .object([("x", .int(1))]))
        var t = ResultTable(); t.add("x", [1, .nan])
        result.tables = [("bad", t)]
        #expect(throws: SolvableError.self) { try out.write(result) }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(!leftovers.contains("bad.csv") && !leftovers.contains { $0.contains(".tmp-") })
    }
}
