import Experiments
import Foundation
import NumericalCore
import Testing

/// Whether `python3` on PATH imports matplotlib (the redraw-script test runs only then, and says so otherwise).
let matplotlibAvailable: Bool = {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import numpy, matplotlib"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}()

/// Issue 18: every report figure writes the series it plots and a matplotlib script that redraws it; the SVG
/// thins dense markers but the data file keeps every point; log axes carry decade and minor ticks.
@Suite struct FigureDataTests {
    /// A figure with every panel kind: theory line, dense simulation with errors, a reference slope, a heatmap
    /// and a signed difference map on a shared scale.
    static let figure = FigureSpec(name: "test-panels", model: "core", title: "all panel kinds", quickScaleNote: "-") { _, _ in
        let n = 120
        let xs = (1...n).map { Double($0) }
        var line = Plot(title: "ε_g vs N", xLabel: "N", yLabel: "N·Var Δ", xLog: true, yLog: true)
        line.addComparison(label: "a", color: 0, theoryX: xs, theoryY: xs.map { 1 / $0 }, simX: xs, simY: xs.map { 1.01 / $0 },
                           simError: xs.map { 0.05 / $0 })
        line.series.append(Plot.slopeLine("slope −1", slope: -1, through: 1, 2, to: Double(n)))
        let a = (0..<4).map { i in (0..<5).map { j in Double(i + j) } }
        let b = a.map { $0.map { $0 + 0.5 } }
        let shared = Plot.Heatmap.sharedRange([Plot.Heatmap(values: a), Plot.Heatmap(values: b)])
        let hA = Plot(title: "theory", xLabel: "s", yLabel: "t", heatmap: Plot.Heatmap(values: a, colorbarLabel: "Φ", range: shared))
        let hD = Plot(title: "difference", xLabel: "s", yLabel: "t",
                      heatmap: Plot.Heatmap(values: zip(a, b).map { zip($0, $1).map { $0 - $1 } }, colorbarLabel: "ΔΦ", diverging: true))
        return FigureResult(panels: [line, hA, hD], parameters: [], agreement: [], caption: "test")
    }

    static func render() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("solvable-figdata-\(UUID().uuidString)")
        _ = try Reproduce.run(figures: [figure], scale: .quick, outDirectory: dir.path, context: RunContext(seed: 1, threads: 1))
        return dir
    }

    @Test func dataFilesKeepEveryPointAndHeatmapsTheirMatrix() throws {
        let dir = try Self.render()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rows = try String(contentsOf: dir.appendingPathComponent("test-panels-1-data.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst()
        #expect(rows.count == 120 + 120 + 21)
        #expect(rows.filter { $0.contains(",points,") }.count == 120)
        let m = try NPY.read(dir.appendingPathComponent("test-panels-2.npy").path)
        #expect(m.shape == [4, 5] && m.data[7] == 3)   // row 1, column 2: 1 + 2
        let script = try String(contentsOf: dir.appendingPathComponent("plot_test-panels.py"), encoding: .utf8)
        #expect(script.contains("test-panels-1-data.csv") && script.contains("test-panels-3.npy") && script.contains("RdBu_r"))
        // the SVG draws at most `markerLimit` markers per point series and says that it thins them
        let svg = try String(contentsOf: dir.appendingPathComponent("test-panels-1.svg"), encoding: .utf8)
        #expect(svg.components(separatedBy: "<circle").count - 1 <= Plot.markerLimit + 1)
        #expect(svg.contains("1 marker per 3 points"))
        #expect(xmlError(svg) == nil)
    }

    @Test(.enabled(if: matplotlibAvailable, "python3 with numpy and matplotlib is not installed: redraw scripts not run"))
    func redrawScriptRuns() throws {
        let dir = try Self.render()
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let png = dir.appendingPathComponent("out.png").path
        p.arguments = ["python3", dir.appendingPathComponent("plot_test-panels.py").path, png]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(((try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0) > 1000)
    }

    @Test func logAxesHaveDecadeAndMinorTicks() {
        #expect(Plot.powerOfTenText(-3) == "10⁻³" && Plot.powerOfTenText(12) == "10¹²")
        let major = Plot.logTicks(1e-4, 1)
        #expect(major.count == 5 && zip(major, [1e-4, 1e-3, 1e-2, 1e-1, 1]).allSatisfy { abs($0 / $1 - 1) < 1e-12 })
        let minor = Plot.minorLogTicks(1e-2, 1)
        #expect(minor.count == 16 && minor.contains { abs($0 - 0.05) < 1e-12 })
        var p = Plot(title: "t", xLabel: "x", yLabel: "y", yLog: true)
        p.series = [Plot.Series(label: "s", x: [0, 1, 2], y: [1e-6, 1e-3, 1], style: .line, color: 0)]
        let svg = p.svg()
        #expect(svg.contains("10⁻⁶") && svg.contains("10⁰"))   // more than 3 decades: every decade as 10ⁿ
    }

    @Test func yMinClipsTheAxisAtAFloor() {
        var p = Plot(title: "t", xLabel: "x", yLabel: "y", yLog: true)
        p.series = [Plot.Series(label: "s", x: [0, 1, 2], y: [1e-32, 1e-3, 1], style: .line, color: 0)]
        p.yMin = 1e-12
        let svg = p.svg()
        #expect(svg.contains("10⁻¹²") && !svg.contains("10⁻³²"))
    }
}
