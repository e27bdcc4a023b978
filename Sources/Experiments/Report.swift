import Foundation
import NumericalCore
import LinearAlgebra

/// One figure's entry in the report.
public struct ReportEntry: Sendable {
    public var spec: FigureSpec
    public var result: FigureResult?
    public var error: String?
    public var wallSeconds: Double

    public init(spec: FigureSpec, result: FigureResult?, error: String?, wallSeconds: Double) {
        self.spec = spec
        self.result = result
        self.error = error
        self.wallSeconds = wallSeconds
    }

    public var passed: Bool { result?.passed ?? false }

    /// The entry as a stored report section (what a resumed `reproduce` reuses without rerunning the figure).
    public func section(scale: Scale, seed: UInt64) -> ReportSection {
        ReportSection(name: spec.name, model: spec.model, passed: passed,
                      status: error != nil ? "error" : (result?.status.rawValue ?? "-"), wallSeconds: wallSeconds,
                      html: Report.section(self, scale: scale, seed: seed), agreement: .array(result?.agreement.map(\.json) ?? []), error: error)
    }
}

/// One figure's finished part of the report: its summary row and its rendered HTML section.
public struct ReportSection: Sendable {
    public var name: String
    public var model: String
    public var passed: Bool
    public var status: String
    public var wallSeconds: Double
    public var html: String
    public var agreement: JSONValue
    public var error: String?

    public var json: JSONValue {
        .object([("name", .string(name)), ("model", .string(model)), ("passed", .bool(passed)), ("status", .string(status)),
                 ("wall_seconds", .number(wallSeconds)), ("html", .string(html)), ("agreement", agreement),
                 ("error", error.map { .string($0) } ?? .null)])
    }

    public init(name: String, model: String, passed: Bool, status: String, wallSeconds: Double, html: String,
                agreement: JSONValue, error: String?) {
        self.name = name; self.model = model; self.passed = passed; self.status = status
        self.wallSeconds = wallSeconds; self.html = html; self.agreement = agreement; self.error = error
    }

    /// Reads a stored section (nil when the JSON is not one).
    public init?(json: JSONValue) {
        guard case .string(let n)? = json["name"], case .string(let m)? = json["model"], case .bool(let p)? = json["passed"],
              case .string(let st)? = json["status"], let w = json["wall_seconds"]?.doubleValue, case .string(let h)? = json["html"]
        else { return nil }
        var err: String? = nil
        if case .string(let e)? = json["error"] { err = e }
        self.init(name: n, model: m, passed: p, status: st, wallSeconds: w, html: h, agreement: json["agreement"] ?? .array([]), error: err)
    }
}

/// The self-contained HTML report of the main job: inline SVG figures, parameter tables, agreement with
/// pass/fail marks, solver status and wall times. No external assets (no scripts, fonts or images).
public enum Report {
    static func esc(_ s: String) -> String { Plot.esc(s) }

    public static func html(entries: [ReportEntry], scale: Scale, totalSeconds: Double, seed: UInt64 = 0) -> String {
        html(sections: entries.map { $0.section(scale: scale, seed: seed) }, scale: scale, totalSeconds: totalSeconds, missing: [])
    }

    /// The report from finished sections; `missing` names the figures of the run that are not (yet) done, and a
    /// report with any missing says so in its title.
    public static func html(sections: [ReportSection], scale: Scale, totalSeconds: Double, missing: [String]) -> String {
        let passed = sections.filter(\.passed).count
        let title = missing.isEmpty ? "Solvable: theory vs simulation"
            : "Solvable: theory vs simulation (PARTIAL: \(sections.count) of \(sections.count + missing.count) figures; missing: \(missing.joined(separator: ", ")))"
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"/><title>\(esc(missing.isEmpty ? "Solvable report" : "Solvable report (partial)"))</title>
        <style>
        body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
        h1{margin-bottom:4px} .meta{color:#555;font-size:13px}
        .fig{border:1px solid #ccc;border-radius:6px;padding:12px;margin:18px 0}
        .panels{display:flex;flex-wrap:wrap;gap:8px}
        table{border-collapse:collapse;font-size:12px;margin:6px 0} td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}
        .pass{color:#1a7f37;font-weight:bold} .fail{color:#c62828;font-weight:bold}
        .caption{font-size:14px;color:#222;max-width:1360px} .cite{font-size:12px;color:#444}
        .panels svg{max-width:100%;height:auto} pre.bib{font-size:12px;background:#f6f6f6;padding:10px;overflow-x:auto}
        </style></head><body>
        <h1>\(esc(title))</h1>
        <p class="meta">Solvable \(esc(RunEnvironment.version)) · commit \(esc(RunEnvironment.gitCommit ?? "unknown")) · BLAS core \(esc(BLASRuntime.coreName)) · threads \(ThreadPolicy.threads) · scale \(scale.rawValue) · total \(String(format: "%.1f", totalSeconds)) s · \(passed)/\(sections.count + missing.count) figures agree within tolerance</p>
        <table><tr><th>figure</th><th>model</th><th>agreement</th><th>status</th><th>time (s)</th></tr>

        """
        for e in sections {
            let mark = e.passed ? "<span class=\"pass\">PASS</span>" : "<span class=\"fail\">FAIL</span>"
            h += "<tr><td><a href=\"#\(esc(e.name))\">\(esc(e.name))</a></td><td>\(esc(e.model))</td><td>\(mark)</td><td>\(esc(e.status))</td><td>\(String(format: "%.1f", e.wallSeconds))</td></tr>\n"
        }
        for m in missing {
            h += "<tr><td>\(esc(m))</td><td></td><td><span class=\"fail\">MISSING</span></td><td>not run</td><td></td></tr>\n"
        }
        h += "</table>\n"
        for e in sections { h += e.html }
        h += "<h2 id=\"references\">References (BibTeX)</h2>\n<pre class=\"bib\">\(esc(Paper.all.map(\.bibTeX).joined(separator: "\n\n")))</pre>\n"
        h += "</body></html>\n"
        return h
    }

    /// One figure's HTML section.
    static func section(_ e: ReportEntry, scale: Scale, seed: UInt64) -> String {
        var h = "<div class=\"fig\" id=\"\(esc(e.spec.name))\"><h2>\(esc(e.spec.title))</h2>\n"
        h += "<p class=\"meta\">\(esc(e.spec.name)) · model \(esc(e.spec.model)) · wall time \(String(format: "%.2f", e.wallSeconds)) s · quick scale: \(esc(e.spec.quickScaleNote))</p>\n"
        if let err = e.error {
            h += "<p class=\"fail\">Failed: \(esc(err))</p>\n</div>\n"
            return h
        }
        guard let r = e.result else { h += "</div>\n"; return h }
        h += "<div class=\"panels\">\n"
        for rendered in r.renderedPanels ?? r.panels.map({ $0.svg() }) {
            var svg = rendered
            // unique clip-path ids per panel so inline SVGs do not collide
            let id = "clip\(UInt32.random(in: 0...UInt32.max))"
            svg = svg.replacingOccurrences(of: "id=\"plotarea\"", with: "id=\"\(id)\"").replacingOccurrences(of: "url(#plotarea)", with: "url(#\(id))")
            h += svg
        }
        h += "</div>\n"
        let errorBars = r.panels.contains { $0.series.contains { $0.yError != nil } }
        let note = errorBars ? " Error bars: ±1 standard error unless stated; bars shorter than a marker are hidden by it (values in the figure's data files)." : ""
        if !r.caption.isEmpty || errorBars { h += "<p class=\"caption\">\(esc(r.caption + note))</p>\n" }
        h += "<p class=\"cite\">\(esc(FigureReferences.citation(figure: e.spec.name, model: e.spec.model, scale: scale, seed: seed)))</p>\n"
        h += "<table><tr><th>agreement statistic</th><th>value</th><th>tolerance</th><th>result</th><th>detail</th></tr>\n"
        for a in r.agreement {
            let mark = a.passed ? "<span class=\"pass\">pass</span>" : "<span class=\"fail\">fail</span>"
            h += "<tr><td>\(esc(a.statistic))</td><td>\(esc(Plot.tickText(a.value)))</td><td>\(a.higherIsBetter ? "&#8805;" : "&#8804;") \(esc(Plot.tickText(a.tolerance)))</td><td>\(mark)</td><td>\(esc(a.detail))</td></tr>\n"
        }
        h += "</table>\n"
        let st = r.status
        h += "<p class=\"meta\">solver status: <span class=\"\(st.isConverged ? "pass" : "fail")\">\(st.rawValue)</span>"
        if !r.records.isEmpty {
            h += " · \(r.records.count) solves, max final residual \(esc(Plot.tickText(r.records.map(\.finalResidual).max() ?? 0)))"
        }
        h += "</p>\n<table><tr><th>parameter</th><th>value</th></tr>\n"
        for (k, v) in r.parameters { h += "<tr><td>\(esc(k))</td><td>\(esc(v))</td></tr>\n" }
        h += "</table>\n</div>\n"
        return h
    }
}
