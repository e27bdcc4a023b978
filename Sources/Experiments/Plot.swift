import Foundation

/// A 2-D figure panel rendered to standalone SVG: theory as lines, simulation as points with error bars,
/// linear or log axes, legend, labels and title; or a heatmap (for kernels Phi(t, s), G(t, s)).
public struct Plot: Sendable {
    /// `reference`: a guide such as a claimed power law (grey dotted, not data).
    public enum Style: Sendable { case line, dashed, points, linePoints, reference }

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
        /// Horizontal axis value of the first and last column, vertical axis value of the first (top) and last row.
        public var xExtent: ClosedRange<Double>
        public var yExtent: ClosedRange<Double>
        /// Colour scale; nil: the finite data range. Panels compared with each other share one.
        public var range: ClosedRange<Double>?
        /// A signed quantity (a difference): diverging colour map centred on 0.
        public var diverging: Bool

        public init(values: [[Double]], colorbarLabel: String = "", xExtent: ClosedRange<Double>? = nil,
                    yExtent: ClosedRange<Double>? = nil, range: ClosedRange<Double>? = nil, diverging: Bool = false) {
            self.values = values
            self.colorbarLabel = colorbarLabel
            self.xExtent = xExtent ?? 0...Double(max(0, (values.first?.count ?? 1) - 1))
            self.yExtent = yExtent ?? 0...Double(max(0, values.count - 1))
            self.range = range
            self.diverging = diverging
        }

        /// The colour scale's ends: `range`, else the finite data range (symmetric about 0 when diverging).
        public func colorRange() -> (Double, Double) {
            if let r = range { return (r.lowerBound, r.upperBound) }
            let flat = values.flatMap { $0 }.filter(\.isFinite)
            var lo = flat.min() ?? 0, hi = flat.max() ?? 1
            if diverging { let m = max(abs(lo), abs(hi), 1e-300); lo = -m; hi = m }
            return hi > lo ? (lo, hi) : (lo - 0.5, lo + 0.5)
        }

        /// The finite range of several heatmaps: one colour scale for panels that are compared.
        public static func sharedRange(_ maps: [Heatmap]) -> ClosedRange<Double> {
            let flat = maps.flatMap { $0.values.flatMap { $0 } }.filter(\.isFinite)
            let lo = flat.min() ?? 0, hi = flat.max() ?? 1
            return hi > lo ? lo...hi : (lo - 0.5)...(lo + 0.5)
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xLog: Bool
    public var yLog: Bool
    public var series: [Series]
    public var heatmap: Heatmap?
    /// Clip the vertical axis (e.g. at a round-off floor); the caption must say so.
    public var yMin: Double?
    public var yMax: Double?
    /// Two panels side by side fill the report's 1400 px page.
    public var width: Double = 680
    public var height: Double = 460

    /// Sizes panels for the report's 1400 px page: a single panel 1000 px wide, line panels two per row,
    /// heatmaps (theory, network, difference) three per row.
    public static func layOut(_ panels: inout [Plot]) {
        for k in panels.indices {
            if panels[k].heatmap != nil { (panels[k].width, panels[k].height) = (450, 400) }
            else if panels.count == 1 { (panels[k].width, panels[k].height) = (1000, 540) }
            else { (panels[k].width, panels[k].height) = (680, 460) }
        }
    }

    /// Markers drawn per point series at most; denser series show every k-th point (the data files keep all).
    public static let markerLimit = 40

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

    /// Okabe & Ito's colour-blind-safe palette (blue, vermillion, bluish green, orange, reddish purple, sky blue,
    /// black, wine, grey, yellow); markers also differ in shape by colour index.
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000", "#882255", "#777777", "#F0E442"]

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func color(_ index: Int) -> String { palette[((index % palette.count) + palette.count) % palette.count] }

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

    /// `10⁻³`-style text for a power of ten (log-axis decade labels).
    public static func powerOfTenText(_ exponent: Int) -> String {
        let sup: [Character: Character] = ["0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹", "-": "⁻"]
        return "10" + String(String(exponent).map { sup[$0] ?? $0 })
    }

    /// Log-axis tick label: decades as 10ⁿ (on axes spanning at most 3 decades, plain numbers from 0.01 to
    /// 1000), other ticks as numbers.
    static func logTickText(_ v: Double, decades: Double) -> String {
        let e = log10(v)
        if abs(e - e.rounded()) < 1e-9 && (decades > 3 || e < -2 || e > 3) { return powerOfTenText(Int(e.rounded())) }
        return tickText(v)
    }

    /// "Nice" linear ticks covering [lo, hi].
    static func linearTicks(_ lo: Double, _ hi: Double, count: Double = 6) -> [Double] {
        let span = hi - lo
        guard span > 0, span.isFinite else { return [lo] }
        let raw = span / count
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t = ceil(lo / step) * step
        var out: [Double] = []
        while t <= hi + 1e-9 * span { out.append(abs(t) < 1e-12 * span ? 0 : t); t += step }
        return out
    }

    /// Labelled log ticks: every decade (every k-th when the range spans many), with 2 and 5 (and 3) when it
    /// spans few.
    public static func logTicks(_ lo: Double, _ hi: Double) -> [Double] {
        let e0 = Int(floor(log10(lo))), e1 = Int(ceil(log10(hi)))
        var out: [Double] = []
        let decades = log10(hi / lo)
        let mults: [Double] = decades < 0.8 ? [1, 1.5, 2, 3, 4, 5, 6, 8] : decades < 1.6 ? [1, 2, 3, 5] : decades < 3 ? [1, 2, 5] : [1]
        let stride = max(1, Int((Double(e1 - e0) / 8).rounded(.up)))
        for e in Swift.stride(from: e0, through: e1, by: stride) { for m in mults { out.append(m * pow(10, Double(e))) } }
        return out.filter { $0 >= lo * 0.999 && $0 <= hi * 1.001 }
    }

    /// Unlabelled minor log ticks: 2...9 times each decade (decades themselves when the range spans many).
    public static func minorLogTicks(_ lo: Double, _ hi: Double) -> [Double] {
        let e0 = Int(floor(log10(lo))), e1 = Int(ceil(log10(hi)))
        var out: [Double] = []
        for e in e0...e1 {
            let base = pow(10, Double(e))
            if e1 - e0 > 8 { out.append(base) } else { for m in 2...9 { out.append(Double(m) * base) } }
        }
        return out.filter { $0 >= lo && $0 <= hi }
    }

    /// Data range of an axis over finite (and, for log axes, positive) values, with error bars.
    func range(log: Bool, _ values: [Double]) -> (Double, Double) {
        let v = values.filter { $0.isFinite && (!log || $0 > 0) }
        guard var lo = v.min(), var hi = v.max() else { return log ? (1, 10) : (0, 1) }
        if log {
            if hi / lo < 1.0001 { lo /= 2; hi *= 2 }
            let pad = pow(hi / lo, 0.03)
            return (lo / pad, hi * pad)
        }
        if hi - lo < 1e-12 * max(1, abs(hi)) { lo -= 0.5 * max(1e-12, abs(lo)); hi += 0.5 * max(1e-12, abs(hi)) }
        let pad = 0.04 * (hi - lo)
        return (lo - pad, hi + pad)
    }

    /// A reference power law y = y0 (x / x0)^slope over [x0, x1], drawn as a grey dotted guide (a claimed
    /// slope, e.g. 1/N width scaling), placed through (x0, y0).
    public static func slopeLine(_ label: String, slope: Double, through x0: Double, _ y0: Double, to x1: Double) -> Series {
        let xs = (0...20).map { x0 * pow(x1 / x0, Double($0) / 20) }
        return Series(label: label, x: xs, y: xs.map { y0 * pow($0 / x0, slope) }, style: .reference, color: 8)
    }

    /// Every how many points a point series shows a marker (all points when at most `markerLimit`).
    static func markerStep(_ n: Int) -> Int { max(1, Int((Double(n) / Double(markerLimit)).rounded(.up))) }

    /// Legend text: the series' label, saying when markers are thinned.
    func legendText(_ se: Series) -> String {
        let step = Plot.markerStep(se.x.count)
        guard se.style == .points || se.style == .linePoints, step > 1 else { return se.label }
        return se.label + " (1 marker per \(step) points; all in the data file)"
    }

    /// A marker of shape `shape` (circle, square, triangle, diamond) at (x, y).
    static func marker(_ shape: Int, _ x: Double, _ y: Double, _ c: String, r: Double = 3.6) -> String {
        let style = "fill=\"white\" stroke=\"\(c)\" stroke-width=\"1.6\""
        switch ((shape % 4) + 4) % 4 {
        case 1: return "<rect x=\"\(num(x - r * 0.9))\" y=\"\(num(y - r * 0.9))\" width=\"\(num(1.8 * r))\" height=\"\(num(1.8 * r))\" \(style)/>\n"
        case 2: return "<polygon points=\"\(num(x)),\(num(y - 1.15 * r)) \(num(x + r)),\(num(y + 0.75 * r)) \(num(x - r)),\(num(y + 0.75 * r))\" \(style)/>\n"
        case 3: return "<polygon points=\"\(num(x)),\(num(y - 1.2 * r)) \(num(x + r)),\(num(y)) \(num(x)),\(num(y + 1.2 * r)) \(num(x - r)),\(num(y))\" \(style)/>\n"
        default: return "<circle cx=\"\(num(x))\" cy=\"\(num(y))\" r=\"\(num(r))\" \(style)/>\n"
        }
    }

    /// The figure as a standalone SVG document.
    public func svg() -> String {
        let W = width, H = height
        let left = 78.0, right = heatmap == nil ? 18.0 : 96.0, top = 34.0
        let labelled = heatmap == nil ? series.filter { !$0.label.isEmpty } : []
        // two legend columns unless a label would run into the next column (about 6.6 px per character at 12 px)
        let longestLabel = labelled.map { legendText($0).count }.max() ?? 0
        let legendCols = Double(longestLabel) * 6.6 + 30 > (W - left - right) / 2 ? 1 : 2
        let legendH = Double((labelled.count + legendCols - 1) / legendCols) * 17
        let bottom = 58.0 + legendH
        let pw = W - left - right, ph = H - top - bottom
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(H))\" viewBox=\"0 0 \(Int(W)) \(Int(H))\" font-family=\"Helvetica, Arial, 'DejaVu Sans', sans-serif\" font-size=\"12\">\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(Int(W))\" height=\"\(Int(H))\" fill=\"white\"/>\n"
        s += "<text x=\"\(num(left + pw / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(Plot.esc(title))</text>\n"
        if let hm = heatmap {
            s += heatmapBody(hm, left: left, top: top, pw: pw, ph: ph)
            s += "</svg>\n"
            return s
        }
        var xs: [Double] = [], ys: [Double] = []
        for se in series {
            xs += se.x
            ys += se.y
            if let e = se.yError { for k in 0..<se.y.count where k < e.count && e[k].isFinite { ys.append(se.y[k] - e[k]); ys.append(se.y[k] + e[k]) } }
        }
        if let m = yMin { ys = ys.filter { $0 >= m } + [m] }
        if let m = yMax { ys = ys.filter { $0 <= m } + [m] }
        let (x0, x1) = range(log: xLog, xs)
        var (y0, y1) = range(log: yLog, ys)
        if let m = yMin, !yLog || m > 0 { y0 = m }
        if let m = yMax { y1 = m }
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
        // guides first, then lines, then points on top, so markers never hide under a theory line
        let order = series.indices.sorted { rank(series[$0].style) < rank(series[$1].style) }
        for index in order {
            let se = series[index]
            let c = se.style == .reference ? "#555555" : Plot.color(se.color)
            if se.style != .points {
                // break the polyline at non-finite points (e.g. a divergence)
                var segments: [[(Double, Double)]] = [[]]
                for k in 0..<se.x.count {
                    if okX(se.x[k]) && okY(se.y[k]) { segments[segments.count - 1].append((tx(se.x[k]), ty(se.y[k]))) }
                    else if !(segments.last?.isEmpty ?? true) { segments.append([]) }
                }
                let dash = se.style == .dashed ? " stroke-dasharray=\"7,4\"" : se.style == .reference ? " stroke-dasharray=\"2,3\"" : ""
                let widthPx = se.style == .reference ? "1.4" : "2"
                for seg in segments where seg.count > 1 {
                    let pts = seg.map { "\(num($0.0)),\(num($0.1))" }.joined(separator: " ")
                    s += "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"\(widthPx)\"\(dash) points=\"\(pts)\"/>\n"
                }
            }
            if se.style == .points || se.style == .linePoints {
                let step = Plot.markerStep(se.x.count)
                for k in Swift.stride(from: 0, to: se.x.count, by: step) where okX(se.x[k]) && okY(se.y[k]) {
                    let px = tx(se.x[k]), py = ty(se.y[k])
                    // points beyond a clipped axis are not drawn (not every SVG renderer honours the clip path)
                    guard py >= top - 1 && py <= top + ph + 1 && px >= left - 1 && px <= left + pw + 1 else { continue }
                    if let e = se.yError, k < e.count, e[k].isFinite, e[k] > 0 {
                        let lo = yLog ? max(se.y[k] - e[k], y0) : se.y[k] - e[k]
                        let ya = ty(lo), yb = ty(se.y[k] + e[k])
                        s += "<path d=\"M\(num(px)),\(num(ya))V\(num(yb))M\(num(px - 3.5)),\(num(ya))h7M\(num(px - 3.5)),\(num(yb))h7\" stroke=\"\(c)\" stroke-width=\"1.3\" fill=\"none\"/>\n"
                    }
                    s += Plot.marker(se.color, px, py, c)
                }
            }
        }
        s += "</g>\n"
        // legend below the plot
        for (k, se) in labelled.enumerated() {
            let c = se.style == .reference ? "#555555" : Plot.color(se.color)
            let lx = left + Double(k % legendCols) * (pw / Double(legendCols))
            let ly = top + ph + 52 + Double(k / legendCols) * 17
            if se.style != .points {
                let dash = se.style == .dashed ? " stroke-dasharray=\"7,4\"" : se.style == .reference ? " stroke-dasharray=\"2,3\"" : ""
                s += "<line x1=\"\(num(lx))\" y1=\"\(num(ly - 4))\" x2=\"\(num(lx + 22))\" y2=\"\(num(ly - 4))\" stroke=\"\(c)\" stroke-width=\"2\"\(dash)/>\n"
            }
            if se.style == .points || se.style == .linePoints { s += Plot.marker(se.color, lx + 11, ly - 4, c) }
            s += "<text x=\"\(num(lx + 28))\" y=\"\(num(ly))\">\(Plot.esc(legendText(se)))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    private func rank(_ style: Style) -> Int {
        switch style { case .reference: 0; case .line, .dashed: 1; case .linePoints: 2; case .points: 3 }
    }

    private func axes(left: Double, top: Double, pw: Double, ph: Double, x0: Double, x1: Double, y0: Double, y1: Double,
                      tx: (Double) -> Double, ty: (Double) -> Double) -> String {
        var s = ""
        let xt = xLog ? Plot.logTicks(x0, x1) : Plot.linearTicks(x0, x1)
        let yt = yLog ? Plot.logTicks(y0, y1) : Plot.linearTicks(y0, y1)
        for t in xt where t >= x0 && t <= x1 {
            s += "<line x1=\"\(num(tx(t)))\" y1=\"\(num(top))\" x2=\"\(num(tx(t)))\" y2=\"\(num(top + ph))\" stroke=\"#e4e4e4\" stroke-width=\"0.8\"/>\n"
        }
        for t in yt where t >= y0 && t <= y1 {
            s += "<line x1=\"\(num(left))\" y1=\"\(num(ty(t)))\" x2=\"\(num(left + pw))\" y2=\"\(num(ty(t)))\" stroke=\"#e4e4e4\" stroke-width=\"0.8\"/>\n"
        }
        s += "<rect x=\"\(num(left))\" y=\"\(num(top))\" width=\"\(num(pw))\" height=\"\(num(ph))\" fill=\"none\" stroke=\"#222\"/>\n"
        for t in xt where t >= x0 && t <= x1 {
            let px = tx(t)
            s += "<line x1=\"\(num(px))\" y1=\"\(num(top + ph))\" x2=\"\(num(px))\" y2=\"\(num(top + ph + 6))\" stroke=\"#222\"/>\n"
            s += "<text x=\"\(num(px))\" y=\"\(num(top + ph + 19))\" text-anchor=\"middle\">\(Plot.esc(xLog ? Plot.logTickText(t, decades: log10(x1 / x0)) : Plot.tickText(t)))</text>\n"
        }
        for t in yt where t >= y0 && t <= y1 {
            let py = ty(t)
            s += "<line x1=\"\(num(left - 6))\" y1=\"\(num(py))\" x2=\"\(num(left))\" y2=\"\(num(py))\" stroke=\"#222\"/>\n"
            s += "<text x=\"\(num(left - 8))\" y=\"\(num(py + 4))\" text-anchor=\"end\">\(Plot.esc(yLog ? Plot.logTickText(t, decades: log10(y1 / y0)) : Plot.tickText(t)))</text>\n"
        }
        if xLog {
            for t in Plot.minorLogTicks(x0, x1) { s += "<line x1=\"\(num(tx(t)))\" y1=\"\(num(top + ph))\" x2=\"\(num(tx(t)))\" y2=\"\(num(top + ph + 3))\" stroke=\"#222\"/>\n" }
        }
        if yLog {
            for t in Plot.minorLogTicks(y0, y1) { s += "<line x1=\"\(num(left - 3))\" y1=\"\(num(ty(t)))\" x2=\"\(num(left))\" y2=\"\(num(ty(t)))\" stroke=\"#222\"/>\n" }
        }
        s += "<text x=\"\(num(left + pw / 2))\" y=\"\(num(top + ph + 37))\" text-anchor=\"middle\" font-size=\"13\">\(Plot.esc(xLabel))</text>\n"
        s += "<text transform=\"translate(16,\(num(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">\(Plot.esc(yLabel))</text>\n"
        return s
    }

    private func heatmapBody(_ hm: Heatmap, left: Double, top: Double, pw: Double, ph: Double) -> String {
        let rows = hm.values.count, cols = hm.values.first?.count ?? 0
        guard rows > 0, cols > 0 else { return "" }
        let (lo, hi) = hm.colorRange()
        let span = hi - lo
        let cw = pw / Double(cols), rh = ph / Double(rows)
        let cmap = { (f: Double) in hm.diverging ? Plot.diverging(f) : Plot.viridis(f) }
        var s = ""
        for i in 0..<rows {
            for j in 0..<cols {
                let v = hm.values[i][j]
                let col = v.isFinite ? cmap((v - lo) / span) : "#ff00ff"
                s += "<rect x=\"\(num(left + Double(j) * cw))\" y=\"\(num(top + Double(i) * rh))\" width=\"\(num(cw + 0.3))\" height=\"\(num(rh + 0.3))\" fill=\"\(col)\"/>\n"
            }
        }
        s += "<rect x=\"\(num(left))\" y=\"\(num(top))\" width=\"\(num(pw))\" height=\"\(num(ph))\" fill=\"none\" stroke=\"#222\"/>\n"
        // numbered axes: cell centres carry the extents' values
        let (xa, xb) = (hm.xExtent.lowerBound, hm.xExtent.upperBound), (ya, yb) = (hm.yExtent.lowerBound, hm.yExtent.upperBound)
        let px = { (v: Double) in left + (cols > 1 ? (v - xa) / (xb - xa) * Double(cols - 1) + 0.5 : 0.5) * cw }
        let py = { (v: Double) in top + (rows > 1 ? (v - ya) / (yb - ya) * Double(rows - 1) + 0.5 : 0.5) * rh }
        for t in Plot.linearTicks(xa, xb, count: 5) where xb > xa {
            s += "<line x1=\"\(num(px(t)))\" y1=\"\(num(top + ph))\" x2=\"\(num(px(t)))\" y2=\"\(num(top + ph + 6))\" stroke=\"#222\"/>\n"
            s += "<text x=\"\(num(px(t)))\" y=\"\(num(top + ph + 19))\" text-anchor=\"middle\">\(Plot.esc(Plot.tickText(t)))</text>\n"
        }
        for t in Plot.linearTicks(ya, yb, count: 5) where yb > ya {
            s += "<line x1=\"\(num(left - 6))\" y1=\"\(num(py(t)))\" x2=\"\(num(left))\" y2=\"\(num(py(t)))\" stroke=\"#222\"/>\n"
            s += "<text x=\"\(num(left - 8))\" y=\"\(num(py(t) + 4))\" text-anchor=\"end\">\(Plot.esc(Plot.tickText(t)))</text>\n"
        }
        s += "<text x=\"\(num(left + pw / 2))\" y=\"\(num(top + ph + 37))\" text-anchor=\"middle\" font-size=\"13\">\(Plot.esc(xLabel))</text>\n"
        s += "<text transform=\"translate(16,\(num(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">\(Plot.esc(yLabel))</text>\n"
        // colour bar with numbered ticks
        let bx = left + pw + 14
        for k in 0..<40 {
            let f = (Double(k) + 0.5) / 40
            s += "<rect x=\"\(num(bx))\" y=\"\(num(top + ph - (Double(k) + 1) * ph / 40))\" width=\"14\" height=\"\(num(ph / 40 + 0.3))\" fill=\"\(cmap(f))\"/>\n"
        }
        s += "<rect x=\"\(num(bx))\" y=\"\(num(top))\" width=\"14\" height=\"\(num(ph))\" fill=\"none\" stroke=\"#222\" stroke-width=\"0.6\"/>\n"
        for t in Plot.linearTicks(lo, hi, count: 5) {
            let y = top + ph - (t - lo) / span * ph
            s += "<line x1=\"\(num(bx + 14))\" y1=\"\(num(y))\" x2=\"\(num(bx + 18))\" y2=\"\(num(y))\" stroke=\"#222\"/>\n"
            s += "<text x=\"\(num(bx + 20))\" y=\"\(num(y + 4))\" font-size=\"10\">\(Plot.esc(Plot.tickText(t)))</text>\n"
        }
        if !hm.colorbarLabel.isEmpty {
            s += "<text transform=\"translate(\(num(bx + 78)),\(num(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"11\">\(Plot.esc(hm.colorbarLabel))</text>\n"
        }
        return s
    }

    /// Blue-white-red diverging map for signed differences (0.5 = zero).
    static func diverging(_ t: Double) -> String {
        let anchors: [(Double, Double, Double)] = [(33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43)]
        return interpolate(anchors, t)
    }

    static func interpolate(_ anchors: [(Double, Double, Double)], _ t: Double) -> String {
        let x = min(1, max(0, t.isFinite ? t : 0.5)) * Double(anchors.count - 1)
        let i = min(anchors.count - 2, Int(x))
        let f = x - Double(i)
        let a = anchors[i], b = anchors[i + 1]
        return String(format: "#%02x%02x%02x", Int(a.0 + f * (b.0 - a.0)), Int(a.1 + f * (b.1 - a.1)), Int(a.2 + f * (b.2 - a.2)))
    }

    /// Viridis colour map (piecewise-linear through 5 anchors).
    static func viridis(_ t: Double) -> String {
        interpolate([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)], t)
    }
}
private func num(_ x: Double) -> String { String(format: "%.2f", x) }
