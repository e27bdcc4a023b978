import Foundation
import NumericalCore

/// Every report figure ships the data it plots and a matplotlib script that redraws it from that data
/// (`solvable reproduce` writes them next to the SVG panels):
///
/// - `{figure}-{panel}-data.csv`: one row per plotted point of a line/point panel, all points (the SVG thins
///   markers on dense series, the CSV never does): `series` (0-based index in the legend order), `label`,
///   `style` (line, dashed, points, linePoints, reference), `color` (palette index), `x`, `y`, `y_error`
///   (one standard error; nan when the series has none).
/// - `{figure}-{panel}.npy`: a heatmap panel's matrix, float64 [row, col] (row 0 is the top row, i.e. the
///   first value of the vertical axis), with the axis extents and colour range in the script.
/// - `plot_{figure}.py`: `python3 plot_{figure}.py [OUT.png|OUT.pdf]` redraws the figure with matplotlib.
extension Plot {
    /// The plotted series as a long table (see the type's documentation); nil for heatmap panels.
    public func dataTable() -> ResultTable? {
        guard heatmap == nil else { return nil }
        var index: [Double] = [], labels: [String] = [], styles: [String] = [], colors: [Double] = []
        var xs: [Double] = [], ys: [Double] = [], es: [Double] = []
        for (k, se) in series.enumerated() {
            for i in 0..<se.x.count {
                index.append(Double(k)); labels.append(se.label); styles.append(se.style.name); colors.append(Double(se.color))
                xs.append(se.x[i]); ys.append(se.y[i])
                es.append(se.yError.flatMap { i < $0.count ? $0[i] : nil } ?? .nan)
            }
        }
        var t = ResultTable()
        t.add("series", index); t.add("label", strings: labels); t.add("style", strings: styles); t.add("color", colors)
        t.add("x", xs); t.add("y", ys); t.add("y_error", es)
        return t
    }

    /// A heatmap panel's matrix as float64 [row, col]; nil for line panels.
    public func heatmapArray() -> NDArray? {
        guard let hm = heatmap, let cols = hm.values.first?.count else { return nil }
        return NDArray(shape: [hm.values.count, cols], data: hm.values.flatMap { $0 })
    }

    /// The panel's description for the redraw script: everything but the data.
    func scriptSpec(dataFile: String) -> JSONValue {
        func d(_ x: Double?) -> JSONValue { x.map { $0.isFinite ? .number($0) : .null } ?? .null }
        var kv: [(String, JSONValue)] = [
            ("data", .string(dataFile)), ("title", .string(title)), ("xlabel", .string(xLabel)), ("ylabel", .string(yLabel)),
            ("xlog", .bool(xLog)), ("ylog", .bool(yLog)), ("ymin", d(yMin)), ("ymax", d(yMax)),
        ]
        if let hm = heatmap {
            let (lo, hi) = hm.colorRange()
            kv += [("heatmap", .object([
                ("colorbar", .string(hm.colorbarLabel)), ("vmin", d(lo)), ("vmax", d(hi)), ("diverging", .bool(hm.diverging)),
                ("extent", .array([d(hm.xExtent.lowerBound), d(hm.xExtent.upperBound), d(hm.yExtent.upperBound), d(hm.yExtent.lowerBound)])),
            ]))]
        }
        return .object(kv)
    }
}

extension Plot.Style {
    /// The style's name in the data CSV and the redraw script.
    public var name: String {
        switch self {
        case .line: "line"
        case .dashed: "dashed"
        case .points: "points"
        case .linePoints: "linePoints"
        case .reference: "reference"
        }
    }
}

/// The matplotlib script that redraws one report figure from its data files.
public enum PlotScript {
    /// `plot_{figure}.py` for a figure whose panel `i` (0-based) reads `dataFiles[i]`.
    public static func python(figure: String, title: String, caption: String, panels: [Plot], dataFiles: [String]) -> String {
        let spec: JSONValue = .object([
            ("figure", .string(figure)), ("title", .string(title)), ("caption", .string(caption)),
            ("palette", .array(Plot.palette.map { .string($0) })), ("marker_limit", .int(Plot.markerLimit)),
            ("panels", .array(zip(panels, dataFiles).map { $0.scriptSpec(dataFile: $1) })),
        ])
        let json = spec.serialized().replacingOccurrences(of: "'''", with: "\\u0027\\u0027\\u0027")
        return """
        #!/usr/bin/env python3
        \"\"\"Redraws Solvable's report figure `\(figure)` from the data files next to this script.

        Usage: python3 plot_\(figure).py [OUT.png | OUT.pdf | OUT.svg]   (default: \(figure).png next to this script)
        Needs numpy and matplotlib. Data: line panels read {figure}-{panel}-data.csv (columns series, label, style,
        color, x, y, y_error; every computed point, markers are thinned only in the drawing), heatmap panels read
        {figure}-{panel}.npy (float64 [row, col], row 0 at the top). Written by `solvable reproduce`.
        \"\"\"
        import csv
        import json
        import math
        import os
        import sys

        import numpy as np
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        SPEC = json.loads(r'''\(json)''')
        HERE = os.path.dirname(os.path.abspath(__file__))


        def read_series(path):
            \"\"\"The long-format CSV as a list of series dicts in legend order.\"\"\"
            series = {}
            with open(path, newline="") as f:
                for row in csv.DictReader(f):
                    k = int(float(row["series"]))
                    s = series.setdefault(k, {"label": row["label"], "style": row["style"], "color": int(float(row["color"])),
                                              "x": [], "y": [], "e": []})
                    s["x"].append(float(row["x"]))
                    s["y"].append(float(row["y"]))
                    s["e"].append(float(row["y_error"]))
            return [series[k] for k in sorted(series)]


        def draw_series(ax, s, panel):
            color = SPEC["palette"][s["color"] % len(SPEC["palette"])]
            x, y, e = np.array(s["x"]), np.array(s["y"]), np.array(s["e"])
            label = s["label"] or None
            style = s["style"]
            if style in ("line", "dashed", "reference"):
                ls = {"line": "-", "dashed": "--", "reference": ":"}[style]
                ax.plot(x, y, ls, color="0.35" if style == "reference" else color, lw=1.2 if style == "reference" else 1.8, label=label)
                return
            step = max(1, math.ceil(len(x) / SPEC["marker_limit"]))
            if style == "linePoints":
                ax.plot(x, y, "-", color=color, lw=1.4)
            shown = slice(None, None, step)
            yerr = e[shown] if np.isfinite(e).any() else None
            if yerr is not None:
                yerr = np.where(np.isfinite(yerr), yerr, 0.0)
            ax.errorbar(x[shown], y[shown], yerr=yerr, fmt="o", ms=4.5, mfc="white", mec=color, mew=1.4, ecolor=color,
                        elinewidth=1.1, capsize=3, label=label, linestyle="none")


        def draw_panel(ax, panel):
            path = os.path.join(HERE, panel["data"])
            if "heatmap" in panel:
                hm = panel["heatmap"]
                values = np.load(path)
                cmap = "RdBu_r" if hm["diverging"] else "viridis"
                im = ax.imshow(values, cmap=cmap, vmin=hm["vmin"], vmax=hm["vmax"], extent=hm["extent"], aspect="auto",
                               interpolation="nearest")
                plt.colorbar(im, ax=ax, label=hm["colorbar"])
            else:
                for s in read_series(path):
                    draw_series(ax, s, panel)
                if panel["xlog"]:
                    ax.set_xscale("log")
                if panel["ylog"]:
                    ax.set_yscale("log")
                if panel["ymin"] is not None or panel["ymax"] is not None:
                    ax.set_ylim(panel["ymin"], panel["ymax"])
                if any(line.get_label() and not line.get_label().startswith("_") for line in ax.get_lines() + ax.containers):
                    ax.legend(fontsize=8, frameon=False)
            ax.set_title(panel["title"], fontsize=10)
            ax.set_xlabel(panel["xlabel"])
            ax.set_ylabel(panel["ylabel"])


        def main():
            panels = SPEC["panels"]
            cols = min(len(panels), 2)
            rows = math.ceil(len(panels) / cols)
            fig, axes = plt.subplots(rows, cols, figsize=(6.4 * cols, 4.6 * rows), squeeze=False)
            for ax, panel in zip(axes.flat, panels):
                draw_panel(ax, panel)
            for ax in list(axes.flat)[len(panels):]:
                ax.set_visible(False)
            fig.suptitle(SPEC["title"], fontsize=11)
            fig.tight_layout()
            out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, SPEC["figure"] + ".png")
            fig.savefig(out, dpi=150)
            print(out)


        if __name__ == "__main__":
            main()

        """
    }
}
