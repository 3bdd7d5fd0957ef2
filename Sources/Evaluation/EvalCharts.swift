import Foundation

/// The pictures of a results file (docs/EVALUATION.md §"Pictures"), as standalone SVG:
/// - accuracy against length, one line per method with its Wilson 95 % interval as whiskers —
///   per task, and pooled over the tasks;
/// - the needle-in-a-haystack heatmap per task and method: depth of the reference in the
///   context (rows, 0 % at the top) × length (columns), each cell the share of references
///   found, red (0 %) to green (100 %), with the count of references.
public enum EvalCharts {
    /// Colours by method, then a palette for the others.
    static let named: [String: String] = ["dense": "#333333", "infllm": "#1f77b4", "actqkv": "#d62728", "actqkv-ref": "#2ca02c"]
    static let palette = ["#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
    static let depthBins = 10

    /// Writes every picture of `records` into `directory`; returns the files' paths.
    @discardableResult
    public static func write(records: [EvalRecord], to directory: String) throws(RulerError) -> [String] {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw .io(path: directory, reason: "\(error)")
        }
        let summary = EvalSummary(records: records)
        var files: [(String, String)] = []
        let tasks = EvalSummary.order(summary.cells.map(\.task), first: RulerTask.allCases.map(\.rawValue))
        for task in tasks {
            let series = Dictionary(grouping: summary.cells.filter { $0.task == task }, by: \.method).mapValues { $0.map { (length: $0.length, scores: $0.scores) } }
            files.append(("accuracy-\(task).svg", accuracyChart(title: "\(task): accuracy against length", series: series, methods: methods(summary))))
        }
        let pooled = Dictionary(grouping: summary.pooled, by: \.method).mapValues { $0.map { (length: $0.length, scores: $0.scores) } }
        files.append(("accuracy-pooled.svg", accuracyChart(title: "All tasks pooled: accuracy against length", series: pooled, methods: methods(summary))))
        for task in tasks {
            for method in methods(summary) {
                let rs = records.filter { $0.task == task && $0.method == method }
                if let svg = depthHeatmap(title: "\(task), \(method): references found by depth and length", records: rs) {
                    files.append(("depth-\(task)-\(method).svg", svg))
                }
            }
        }
        var paths: [String] = []
        for (name, svg) in files {
            let path = (directory as NSString).appendingPathComponent(name)
            do { try Data(svg.utf8).write(to: URL(fileURLWithPath: path)) } catch { throw .io(path: path, reason: "\(error)") }
            paths.append(path)
        }
        return paths
    }

    static func methods(_ s: EvalSummary) -> [String] { EvalSummary.order(s.pooled.map(\.method), first: [s.reference, s.baseline]) }

    static func colour(_ method: String, among methods: [String]) -> String {
        if let c = named[method] { return c }
        let others = methods.filter { named[$0] == nil }
        return palette[(others.firstIndex(of: method) ?? 0) % palette.count]
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func header(width: Int, height: Int, title: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
        <rect width="\(width)" height="\(height)" fill="white"/>
        <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15" font-weight="bold">\(escape(title))</text>

        """
    }

    /// Accuracy (0–100 %) against length (columns evenly spaced, one per length present).
    static func accuracyChart(title: String, series: [String: [(length: Int, scores: EvalSummary.Scores)]],
                              methods: [String]) -> String {
        let shown = methods.filter { series[$0] != nil }
        let labels = shown.map { "\($0) (N ≥ \(series[$0]!.map(\.scores.count).min() ?? 0))" }
        // The legend's column is as wide as its longest label: 40 px of key, then the text.
        let left = 60.0, plotW = 510.0, top = 40.0, bottom = 50.0, height = 420
        let right = max(150, 40 + legendTextWidth(labels.map(\.count).max() ?? 0) + 10)
        let width = Int(left + plotW + right), plotH = Double(height) - top - bottom
        let lengths = Set(series.values.flatMap { $0.map(\.length) }).sorted()
        func x(_ length: Int) -> Double {
            let i = Double(lengths.firstIndex(of: length) ?? 0)
            return lengths.count == 1 ? left + plotW / 2 : left + 30 + i * (plotW - 60) / Double(lengths.count - 1)
        }
        func y(_ a: Double) -> Double { top + plotH * (1 - a) }
        var svg = header(width: width, height: height, title: title)
        for tick in stride(from: 0, through: 100, by: 20) {
            let yy = y(Double(tick) / 100)
            svg += "<line x1=\"\(left)\" y1=\"\(yy)\" x2=\"\(left + plotW)\" y2=\"\(yy)\" stroke=\"#dddddd\"/>\n"
            svg += "<text x=\"\(left - 8)\" y=\"\(yy + 4)\" text-anchor=\"end\">\(tick)</text>\n"
        }
        svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotH)\" stroke=\"black\"/>\n"
        svg += "<line x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(left + plotW)\" y2=\"\(top + plotH)\" stroke=\"black\"/>\n"
        for l in lengths {
            svg += "<text x=\"\(x(l))\" y=\"\(top + plotH + 18)\" text-anchor=\"middle\">\(EvalSummary.lengthName(l))</text>\n"
        }
        svg += "<text x=\"\(left + plotW / 2)\" y=\"\(Double(height) - 10)\" text-anchor=\"middle\">length (tokens)</text>\n"
        svg += "<text transform=\"translate(18 \(top + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">accuracy % (95 % Wilson interval)</text>\n"
        for (m, method) in shown.enumerated() {
            let c = colour(method, among: methods)
            let points = series[method]!.sorted { $0.length < $1.length }
            let offset = Double(m - shown.count / 2) * 4  // keep whiskers of equal points apart
            if points.count > 1 {
                let path = points.map { "\(x($0.length) + offset),\(y($0.scores.accuracy))" }.joined(separator: " ")
                svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(c)\" stroke-width=\"2\"/>\n"
            }
            for (length, p) in points {
                let xx = x(length) + offset
                svg += "<line x1=\"\(xx)\" y1=\"\(y(p.interval.lower))\" x2=\"\(xx)\" y2=\"\(y(p.interval.upper))\" stroke=\"\(c)\" stroke-width=\"1\"/>\n"
                svg += "<circle cx=\"\(xx)\" cy=\"\(y(p.accuracy))\" r=\"4\" fill=\"\(c)\"><title>\(escape(method)) \(EvalSummary.lengthName(length)): \(String(format: "%.1f", 100 * p.accuracy)) % of \(p.count)</title></circle>\n"
            }
            let ly = top + 10 + Double(m) * 20
            svg += "<line x1=\"\(left + plotW + 15)\" y1=\"\(ly)\" x2=\"\(left + plotW + 35)\" y2=\"\(ly)\" stroke=\"\(c)\" stroke-width=\"3\"/>\n"
            svg += "<text x=\"\(left + plotW + 40)\" y=\"\(ly + 4)\">\(escape(labels[m]))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// An upper estimate of the width in pixels of a legend label of `characters` characters in
    /// 12 px DejaVu Sans: such labels advance ≈ 6.1 px a character on average (digits 7.6 px,
    /// lower-case letters 3.5–7.6, "≥" 10, "-" 4.3).
    static func legendTextWidth(_ characters: Int) -> Double { 7.5 * Double(characters) }

    /// The depth × length heatmap of one task and method (nil when no reference has a depth).
    static func depthHeatmap(title: String, records: [EvalRecord]) -> String? {
        var found: [Int: [Int: (hits: Int, total: Int)]] = [:]  // length → bin → counts
        for r in records {
            for (i, depth) in r.referenceDepths.enumerated() {
                guard let depth, i < r.hits.count else { continue }
                let bin = min(depthBins - 1, max(0, Int(depth * Double(depthBins))))
                var cell = found[r.length, default: [:]][bin] ?? (0, 0)
                cell.total += 1
                if r.hits[i] { cell.hits += 1 }
                found[r.length, default: [:]][bin] = cell
            }
        }
        guard !found.isEmpty else { return nil }
        let lengths = found.keys.sorted()
        let cellW = 90.0, cellH = 30.0, left = 90.0, top = 50.0
        let width = max(640, Int(left + cellW * Double(lengths.count) + 150)), height = Int(top + cellH * Double(depthBins) + 60)
        var svg = header(width: width, height: height, title: title)
        for (col, length) in lengths.enumerated() {
            let x = left + cellW * Double(col)
            svg += "<text x=\"\(x + cellW / 2)\" y=\"\(top + cellH * Double(depthBins) + 18)\" text-anchor=\"middle\">\(EvalSummary.lengthName(length))</text>\n"
            for bin in 0..<depthBins {
                let y = top + cellH * Double(bin)
                if let cell = found[length]?[bin], cell.total > 0 {
                    let share = Double(cell.hits) / Double(cell.total)
                    svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cellW)\" height=\"\(cellH)\" fill=\"\(heat(share))\" stroke=\"white\"/>\n"
                    svg += "<text x=\"\(x + cellW / 2)\" y=\"\(y + cellH / 2 + 4)\" text-anchor=\"middle\">\(Int((100 * share).rounded())) % of \(cell.total)</text>\n"
                } else {
                    svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cellW)\" height=\"\(cellH)\" fill=\"#eeeeee\" stroke=\"white\"/>\n"
                }
            }
        }
        for bin in 0..<depthBins {
            let y = top + cellH * Double(bin) + cellH / 2 + 4
            svg += "<text x=\"\(left - 8)\" y=\"\(y)\" text-anchor=\"end\">\(bin * 100 / depthBins)–\((bin + 1) * 100 / depthBins) %</text>\n"
        }
        svg += "<text x=\"\(width / 2)\" y=\"\(Double(height) - 12)\" text-anchor=\"middle\">length (tokens); rows: depth of the reference in the context</text>\n"
        // Colour key.
        let kx = left + cellW * Double(lengths.count) + 30
        for step in 0...10 {
            let share = Double(10 - step) / 10
            svg += "<rect x=\"\(kx)\" y=\"\(top + Double(step) * 20)\" width=\"20\" height=\"20\" fill=\"\(heat(share))\"/>\n"
            if step % 5 == 0 { svg += "<text x=\"\(kx + 26)\" y=\"\(top + Double(step) * 20 + 14)\">\(Int(share * 100)) %</text>\n" }
        }
        return svg + "</svg>\n"
    }

    /// Red (0) through yellow to green (1).
    static func heat(_ share: Double) -> String {
        let s = min(1, max(0, share))
        let r = s < 0.5 ? 215 : Int(215 - (s - 0.5) * 2 * 189)
        let g = s < 0.5 ? Int(48 + s * 2 * 143) : Int(191 - (s - 0.5) * 2 * 39)
        let b = s < 0.5 ? 39 : Int(39 + (s - 0.5) * 2 * 41)
        return String(format: "#%02x%02x%02x", r, g, b)
    }
}
