import Foundation

/// A 2-D figure panel rendered to standalone SVG: theory as lines, simulation as points with error bars,
/// linear or log axes, legend, labels and title; or a heatmap (for kernels Phi(t, s), G(t, s)).
public struct Plot: Sendable {
    public enum Style: Sendable { case line, dashed, points, linePoints }

    public struct Series: Sendable {
        public var label: String
        public var x: [Double]
        public var y: [Double]
        /// Symmetric error bars (one standard error unless the caption says otherwise).
        public var yError: [Double]?
        public var style: Style
        /// Index into the palette; series with the same color belong together (theory + its simulation).
        public var color: Int

        public init(label: String, x: [Double], y: [Double], yError: [Double]? = nil, style: Style, color: Int) {
            precondition(x.count == y.count, "series \(label): x and y lengths differ")
            self.label = label
            self.x = x
            self.y = y
            self.yError = yError
            self.style = style
            self.color = color
        }
    }

    public struct Heatmap: Sendable {
        public var values: [[Double]]   // rows (top to bottom)
        public var colorbarLabel: String
        public init(values: [[Double]], colorbarLabel: String = "") { self.values = values; self.colorbarLabel = colorbarLabel }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xLog: Bool
    public var yLog: Bool
    public var series: [Series]
    public var heatmap: Heatmap?
    public var width: Double = 480
    public var height: Double = 340

    public init(title: String, xLabel: String, yLabel: String, xLog: Bool = false, yLog: Bool = false,
                series: [Series] = [], heatmap: Heatmap? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xLog = xLog
        self.yLog = yLog
        self.series = series
        self.heatmap = heatmap
    }

    /// Convenience: a theory line and matching simulation points sharing a color.
    public mutating func addComparison(label: String, color: Int, theoryX: [Double], theoryY: [Double],
                                       simX: [Double], simY: [Double], simError: [Double]?) {
        series.append(Series(label: "\(label) theory", x: theoryX, y: theoryY, style: .line, color: color))
        series.append(Series(label: "\(label) simulation", x: simX, y: simY, yError: simError, style: .points, color: color))
    }

    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }



    /// Tick label text.
    public static func tickText(_ v: Double) -> String {
        if v == 0 { return "0" }
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        let a = abs(v)
        if a >= 1e4 || a < 1e-3 {
            let e = Int(floor(log10(a)))
            let m = v / pow(10, Double(e))
            return abs(m - 1) < 1e-9 ? "1e\(e)" : String(format: "%.3ge%d", m, e)
        }
        return String(format: "%.4g", v)
    }

    /// "Nice" linear ticks covering [lo, hi].
    static func linearTicks(_ lo: Double, _ hi: Double) -> [Double] {
        let span = hi - lo
        guard span > 0, span.isFinite else { return [lo] }
        let raw = span / 5
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t = ceil(lo / step) * step
        var out: [Double] = []
        while t <= hi + 1e-9 * span { out.append(abs(t) < 1e-12 * span ? 0 : t); t += step }
        return out
    }

    /// Data range of an axis over finite (and, for log axes, positive) values, with error bars.
    func range(log: Bool, _ values: [Double]) -> (Double, Double) {
        let v = values.filter { $0.isFinite && (!log || $0 > 0) }
        guard var lo = v.min(), var hi = v.max() else { return log ? (1, 10) : (0, 1) }
        if log {
            if hi / lo < 1.0001 { lo /= 2; hi *= 2 }
            return (lo, hi)
        }
        if hi - lo < 1e-12 * max(1, abs(hi)) { lo -= 0.5 * max(1e-12, abs(lo)); hi += 0.5 * max(1e-12, abs(hi)) }
        let pad = 0.04 * (hi - lo)
        return (lo - pad, hi + pad)
    }

    /// The figure as a standalone SVG document.
    public func svg() -> String {
        let W = width, H = height
        let left = 68.0, right = heatmap == nil ? 16.0 : 70.0, top = 30.0
        let legendRows = heatmap == nil ? series.filter { !$0.label.isEmpty }.count : 0
        // two legend columns unless a label would run into the next column (about 6 px per character at 11 px)
        let longestLabel = series.map(\.label.count).max() ?? 0
        let legendCols = Double(longestLabel) * 6.2 + 30 > (W - 84) / 2 ? 1 : 2
        let legendH = Double((legendRows + legendCols - 1) / legendCols) * 15
        let bottom = 54.0 + legendH
        let pw = W - left - right, ph = H - top - bottom
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(H))\" viewBox=\"0 0 \(Int(W)) \(Int(H))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(Int(W))\" height=\"\(Int(H))\" fill=\"white\"/>\n"
        s += "<text x=\"\(num(W / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(Plot.esc(title))</text>\n"
        if let hm = heatmap {
            s += heatmapBody(hm, left: left, top: top, pw: pw, ph: ph)
        } else {
            var xs: [Double] = [], ys: [Double] = []
            for se in series {
                xs += se.x
                ys += se.y
                if let e = se.yError { for k in 0..<se.y.count where k < e.count && e[k].isFinite { ys.append(se.y[k] - e[k]); ys.append(se.y[k] + e[k]) } }
            }
            let (x0, x1) = range(log: xLog, xs)
            let (y0, y1) = range(log: yLog, ys)
            let tx = { (v: Double) -> Double in
                let f = self.xLog ? (Foundation.log(v) - Foundation.log(x0)) / (Foundation.log(x1) - Foundation.log(x0)) : (v - x0) / (x1 - x0)
                return left + f * pw
            }
            let ty = { (v: Double) -> Double in
                let f = self.yLog ? (Foundation.log(v) - Foundation.log(y0)) / (Foundation.log(y1) - Foundation.log(y0)) : (v - y0) / (y1 - y0)
                return top + ph - f * ph
            }
            let okX = { (v: Double) in v.isFinite && (!self.xLog || v > 0) }
            let okY = { (v: Double) in v.isFinite && (!self.yLog || v > 0) }
            s += axes(left: left, top: top, pw: pw, ph: ph, x0: x0, x1: x1, y0: y0, y1: y1, tx: tx, ty: ty)
            s += "<clipPath id=\"plotarea\"><rect x=\"\(num(left))\" y=\"\(num(top))\" width=\"\(num(pw))\" height=\"\(num(ph))\"/></clipPath>\n<g clip-path=\"url(#plotarea)\">\n"
            for se in series {
                let c = Plot.palette[((se.color % Plot.palette.count) + Plot.palette.count) % Plot.palette.count]
                if se.style != .points {
                    // break the polyline at non-finite points (e.g. a divergence)
                    var segments: [[(Double, Double)]] = [[]]
                    for k in 0..<se.x.count {
                        if okX(se.x[k]) && okY(se.y[k]) { segments[segments.count - 1].append((tx(se.x[k]), ty(se.y[k]))) }
                        else if !(segments.last?.isEmpty ?? true) { segments.append([]) }
                    }
                    for seg in segments where seg.count > 1 {
                        let pts = seg.map { "\(num($0.0)),\(num($0.1))" }.joined(separator: " ")
                        s += "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.8\"\(se.style == .dashed ? " stroke-dasharray=\"5,3\"" : "") points=\"\(pts)\"/>\n"
                    }
                }
                if se.style == .points || se.style == .linePoints {
                    for k in 0..<se.x.count where okX(se.x[k]) && okY(se.y[k]) {
                        let px = tx(se.x[k]), py = ty(se.y[k])
                        if let e = se.yError, k < e.count, e[k].isFinite, e[k] > 0 {
                            let lo = yLog ? max(se.y[k] - e[k], y0) : se.y[k] - e[k]
                            s += "<line x1=\"\(num(px))\" y1=\"\(num(ty(lo)))\" x2=\"\(num(px))\" y2=\"\(num(ty(se.y[k] + e[k])))\" stroke=\"\(c)\" stroke-width=\"1.2\"/>\n"
                        }
                        s += "<circle cx=\"\(num(px))\" cy=\"\(num(py))\" r=\"3\" fill=\"white\" stroke=\"\(c)\" stroke-width=\"1.5\"/>\n"
                    }
                }
            }
            s += "</g>\n"
            // legend below the plot
            var k = 0
            for se in series where !se.label.isEmpty {
                let c = Plot.palette[((se.color % Plot.palette.count) + Plot.palette.count) % Plot.palette.count]
                let lx = left + Double(k % legendCols) * (pw / Double(legendCols))
                let ly = top + ph + 48 + Double(k / legendCols) * 15
                if se.style == .points {
                    s += "<circle cx=\"\(num(lx + 9))\" cy=\"\(num(ly - 4))\" r=\"3\" fill=\"white\" stroke=\"\(c)\" stroke-width=\"1.5\"/>\n"
                } else {
                    s += "<line x1=\"\(num(lx))\" y1=\"\(num(ly - 4))\" x2=\"\(num(lx + 18))\" y2=\"\(num(ly - 4))\" stroke=\"\(c)\" stroke-width=\"1.8\"\(se.style == .dashed ? " stroke-dasharray=\"5,3\"" : "")/>\n"
                }
                s += "<text x=\"\(num(lx + 24))\" y=\"\(num(ly))\">\(Plot.esc(se.label))</text>\n"
                k += 1
            }
        }
        s += "</svg>\n"
        return s
    }

    private func axes(left: Double, top: Double, pw: Double, ph: Double, x0: Double, x1: Double, y0: Double, y1: Double,
                      tx: (Double) -> Double, ty: (Double) -> Double) -> String {
        var s = "<rect x=\"\(num(left))\" y=\"\(num(top))\" width=\"\(num(pw))\" height=\"\(num(ph))\" fill=\"none\" stroke=\"#333\"/>\n"
        let xt = xLog ? Plot.logTicks(x0, x1) : Plot.linearTicks(x0, x1)
        let yt = yLog ? Plot.logTicks(y0, y1) : Plot.linearTicks(y0, y1)
        for t in xt where t >= x0 && t <= x1 {
            let px = tx(t)
            s += "<line x1=\"\(num(px))\" y1=\"\(num(top + ph))\" x2=\"\(num(px))\" y2=\"\(num(top + ph + 4))\" stroke=\"#333\"/>\n"
            s += "<line x1=\"\(num(px))\" y1=\"\(num(top))\" x2=\"\(num(px))\" y2=\"\(num(top + ph))\" stroke=\"#ddd\" stroke-width=\"0.5\"/>\n"
            s += "<text x=\"\(num(px))\" y=\"\(num(top + ph + 15))\" text-anchor=\"middle\">\(Plot.esc(Plot.tickText(t)))</text>\n"
        }
        for t in yt where t >= y0 && t <= y1 {
            let py = ty(t)
            s += "<line x1=\"\(num(left - 4))\" y1=\"\(num(py))\" x2=\"\(num(left))\" y2=\"\(num(py))\" stroke=\"#333\"/>\n"
            s += "<line x1=\"\(num(left))\" y1=\"\(num(py))\" x2=\"\(num(left + pw))\" y2=\"\(num(py))\" stroke=\"#ddd\" stroke-width=\"0.5\"/>\n"
            s += "<text x=\"\(num(left - 6))\" y=\"\(num(py + 4))\" text-anchor=\"end\">\(Plot.esc(Plot.tickText(t)))</text>\n"
        }
        s += "<text x=\"\(num(left + pw / 2))\" y=\"\(num(top + ph + 30))\" text-anchor=\"middle\">\(Plot.esc(xLabel))</text>\n"
        s += "<text transform=\"translate(14,\(num(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(Plot.esc(yLabel))</text>\n"
        return s
    }

    /// Decade ticks (with 2 and 5 when the range spans few decades).
    static func logTicks(_ lo: Double, _ hi: Double) -> [Double] {
        let e0 = Int(floor(log10(lo))), e1 = Int(ceil(log10(hi)))
        var out: [Double] = []
        let mults: [Double] = e1 - e0 <= 2 ? [1, 2, 5] : [1]
        let stride = max(1, (e1 - e0) / 8)
        for e in Swift.stride(from: e0, through: e1, by: stride) { for m in mults { out.append(m * pow(10, Double(e))) } }
        return out.filter { $0 >= lo * 0.999 && $0 <= hi * 1.001 }
    }

    private func heatmapBody(_ hm: Heatmap, left: Double, top: Double, pw: Double, ph: Double) -> String {
        let rows = hm.values.count, cols = hm.values.first?.count ?? 0
        guard rows > 0, cols > 0 else { return "" }
        let flat = hm.values.flatMap { $0 }.filter(\.isFinite)
        let lo = flat.min() ?? 0, hi = flat.max() ?? 1
        let span = hi > lo ? hi - lo : 1
        let cw = pw / Double(cols), rh = ph / Double(rows)
        var s = ""
        for i in 0..<rows {
            for j in 0..<cols {
                let v = hm.values[i][j]
                let col = v.isFinite ? Plot.viridis((v - lo) / span) : "#ff00ff"
                s += "<rect x=\"\(num(left + Double(j) * cw))\" y=\"\(num(top + Double(i) * rh))\" width=\"\(num(cw + 0.3))\" height=\"\(num(rh + 0.3))\" fill=\"\(col)\"/>\n"
            }
        }
        s += "<rect x=\"\(num(left))\" y=\"\(num(top))\" width=\"\(num(pw))\" height=\"\(num(ph))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(num(left + pw / 2))\" y=\"\(num(top + ph + 18))\" text-anchor=\"middle\">\(Plot.esc(xLabel))</text>\n"
        s += "<text transform=\"translate(14,\(num(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(Plot.esc(yLabel))</text>\n"
        // colorbar
        let bx = left + pw + 12
        for k in 0..<20 {
            let f = Double(k) / 19
            s += "<rect x=\"\(num(bx))\" y=\"\(num(top + ph - (Double(k) + 1) * ph / 20))\" width=\"12\" height=\"\(num(ph / 20 + 0.3))\" fill=\"\(Plot.viridis(f))\"/>\n"
        }
        s += "<text x=\"\(num(bx + 15))\" y=\"\(num(top + 8))\" font-size=\"9\">\(Plot.esc(Plot.tickText(hi)))</text>\n"
        s += "<text x=\"\(num(bx + 15))\" y=\"\(num(top + ph))\" font-size=\"9\">\(Plot.esc(Plot.tickText(lo)))</text>\n"
        if !hm.colorbarLabel.isEmpty {
            s += "<text x=\"\(num(bx + 15))\" y=\"\(num(top + ph / 2))\" font-size=\"9\">\(Plot.esc(hm.colorbarLabel))</text>\n"
        }
        return s
    }

    /// Viridis colour map (piecewise-linear through 5 anchors).
    static func viridis(_ t: Double) -> String {
        let anchors: [(Double, Double, Double)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
        let x = min(1, max(0, t)) * Double(anchors.count - 1)
        let i = min(anchors.count - 2, Int(x))
        let f = x - Double(i)
        let a = anchors[i], b = anchors[i + 1]
        return String(format: "#%02x%02x%02x", Int(a.0 + f * (b.0 - a.0)), Int(a.1 + f * (b.1 - a.1)), Int(a.2 + f * (b.2 - a.2)))
    }
}
private func num(_ x: Double) -> String { String(format: "%.2f", x) }
