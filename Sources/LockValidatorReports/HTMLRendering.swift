import LockValidator

extension ValidationReport {
    /// The most edges listed in the page's table: enough for a merged graph of a thousand classes,
    /// about 150 bytes each.
    static let listedEdgeLimit = 20_000

    /// One self-contained HTML page: the summary, every violation with its story and stacks (a cycle
    /// with a drawing of it and its neighbours), and the lock-order graph: without a cycle a drawing of
    /// the most connected classes, and the table of edges, with a filter by class name.
    public func html() -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>LockValidator report</title>
            <style>
            body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
                   max-width: 1100px; color: #1d1d1f; padding: 0 1em; }
            h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
            .rule { font-family: ui-monospace, Menlo, monospace; padding: 1px 6px; border-radius: 4px; color: #fff; }
            .error { background: #c62828; } .warning { background: #ef6c00; } .suppressed { background: #757575; }
            .violation { border: 1px solid #ddd; border-radius: 6px; padding: 0.8em 1em; margin: 1em 0; }
            pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 12px; }
            table { border-collapse: collapse; font-size: 12px; } td, th { border: 1px solid #ddd; padding: 2px 6px; }
            .cycle { color: #c62828; font-weight: 600; } .muted { color: #666; }
            .node { cursor: pointer; } svg { display: block; margin: 0.5em 0; }
            .edges { max-height: 70vh; overflow: auto; border: 1px solid #ddd; }
            .edges table { width: 100%; table-layout: fixed; }
            .edges td { overflow-wrap: anywhere; vertical-align: top; }
            .edges td.irql { overflow-wrap: normal; white-space: nowrap; }
            .edges th { position: sticky; top: 0; background: #f6f8fa; }
            .filter { margin: 0.6em 0; } .filter input { font: inherit; padding: 2px 6px; width: 22em; }
            </style></head><body>
            <h1>LockValidator report</h1>

            """
        let counts = statistics
        page += "<p>\(Self.escape(process.executable)) (pid \(process.pid))"
        if let merged = mergedFrom { page += ", merged from \(counted(merged.count, "process", "processes"))" }
        page += ": <b>\(counted(counts.violations, "violation"))</b>"
        page += " (\(counted(counts.occurrences, "occurrence"))), \(counts.suppressed) suppressed;"
        page += " \(counted(counts.classes, "lock class", "lock classes")),"
        page += " \(counted(counts.edges, "lock-order edge")), \(counted(counts.chains, "chain")).</p>\n"
        for error in config.errors { page += "<p class=\"cycle\">configuration error: \(Self.escape(error))</p>\n" }

        page += "<h2>Violations</h2>\n"
        if violations.isEmpty { page += "<p>None.</p>\n" }
        let degrees = classDegrees
        var cycles = 0
        for (index, violation) in violations.enumerated() {
            var picture = ""
            if violation.rule == .lockOrderInversion && !violation.cycle.isEmpty {
                if cycles < Self.drawnCycleLimit {
                    picture = cyclePicture(violation, id: "lv-cycle\(index)", degrees: degrees)
                }
                cycles += 1
            }
            page += section(violation, id: index, suppressed: false, picture: picture)
        }
        if !suppressed.isEmpty {
            page += "<h2>Suppressed</h2>\n"
            for (index, violation) in suppressed.enumerated() {
                page += section(violation, id: index, suppressed: true)
            }
        }

        page += "<h2 id=\"graph\">Lock-order graph</h2>\n"
        if cycles == 0 {
            page += hubPicture(degrees: degrees)
        } else {
            page += "<p>Each cycle is drawn with its violation above"
            if cycles > Self.drawnCycleLimit { page += " (the first \(Self.drawnCycleLimit) of \(cycles))" }
            page += ".</p>\n"
        }
        page += edgeTable(cycle: cycleEdges) + "</body></html>\n"
        return page
    }

    private func section(_ violation: Violation, id: Int, suppressed: Bool, picture: String = "") -> String {
        let style = suppressed ? "suppressed" : violation.severity.rawValue
        var html = "<div class=\"violation\" id=\"\(suppressed ? "s" : "v")\(id)\">"
        html +=
            "<p><span class=\"rule \(style)\">\(violation.rule.rawValue)</span> \(Self.escape(violation.rule.headline))"
        if violation.occurrences > 1 { html += " <span class=\"muted\">× \(violation.occurrences)</span>" }
        html += "</p>\n<p>\(Self.escape(violation.summary))</p>\n"
        if let site = violation.site { html += "<p class=\"muted\">at \(Self.escape(site.description))</p>\n" }
        if let scope = violation.scope { html += "<p class=\"muted\">in \(Self.escape(scope))</p>\n" }
        if !violation.cycle.isEmpty {
            let chain = (violation.cycle + [violation.cycle[0]]).map(Self.escape).joined(separator: " → ")
            html += "<p class=\"cycle\">cycle: \(chain)</p>\n"
        }
        if let verdict = violation.verdict {
            let style = verdict.canDeadlock ? "cycle" : "muted"
            html += "<p class=\"\(style)\">verdict: \(Self.escape(verdict.description))</p>\n"
        }
        if let confirmation = violation.confirmation {
            html += "<p class=\"confirmation\"><b>\(confirmation.status.rawValue)</b>"
            html +=
                confirmation.status == .confirmed
                ? " (LOCKVALIDATOR_CONFIRM): the cycle formed for real</p>\n"
                : " (LOCKVALIDATOR_CONFIRM): steered for, it did not form in this run</p>\n"
            if !confirmation.interleaving.isEmpty {
                html += "<ol>" + confirmation.interleaving.map { "<li>\(Self.escape($0))</li>" }.joined() + "</ol>\n"
            }
        }
        html += picture
        html +=
            "<details><summary>report and stacks</summary><pre>\(Self.escape(violation.rendered(.text)))</pre></details>"
        return html + "</div>\n"
    }

    /// Every edge up to the limit, those of reported cycles first, in a scrolling table; a small script
    /// (the page works without it) shows only the rows whose held or acquired class contains the text
    /// typed, or the class clicked in a drawing. `page.html#filter=Name` opens with the filter set.
    private func edgeTable(cycle: Set<String>) -> String {
        guard !graph.edges.isEmpty else { return "<p>No lock-order edges.</p>\n" }
        func isCycle(_ edge: Edge) -> Bool { cycle.contains("\(edge.from)\u{1}\(edge.to)") }
        let listed = (graph.edges.filter(isCycle) + graph.edges.filter { !isCycle($0) }).prefix(Self.listedEdgeLimit)
        var html = "<p>\(counted(graph.edges.count, "edge"))"
        if graph.edges.count > listed.count {
            html += "; the first \(listed.count) are listed, \(graph.edges.count - listed.count) more are left out"
        }
        html += ".</p>\n<div class=\"filter\" id=\"edge-filter-box\" hidden><label>Filter by class name: "
        html += "<input id=\"edge-filter\" type=\"search\" placeholder=\"part of a class name\" autocomplete=\"off\">"
        html += "</label> <span id=\"edge-count\" class=\"muted\" aria-live=\"polite\"></span></div>\n"
        // Fixed columns whose cells wrap: long class names and sites fit the page instead of widening it.
        html += "<div class=\"edges\"><table id=\"edges\"><colgroup><col style=\"width:23%\"><col style=\"width:23%\">"
        html += "<col style=\"width:20%\"><col style=\"width:21%\"><col style=\"width:13%\"></colgroup>"
        html += "<thead><tr><th>held</th><th>acquired</th>"
        html += "<th>held since</th><th>acquired at</th><th>IRQL</th></tr></thead><tbody>\n"
        for edge in listed {
            html += "<tr\(isCycle(edge) ? " class=\"cycle\"" : "")><td>\(Self.escape(edge.from))</td>"
            html += "<td>\(Self.escape(edge.to))</td><td>\(Self.escape(edge.fromAcquiredAt.description))</td>"
            html += "<td>\(Self.escape(edge.toAcquiredAt.description))</td><td class=\"irql\">\(edge.irql)</td></tr>\n"
        }
        return html + "</tbody></table></div>\n" + Self.filterScript
    }

    /// Filters the edge table by class name, case-insensitively; shows the filter only when it runs.
    private static let filterScript = """
        <script>
        (function () {
          var box = document.getElementById("edge-filter-box"), input = document.getElementById("edge-filter");
          var count = document.getElementById("edge-count"), rows = document.getElementById("edges").tBodies[0].rows;
          var held = [], acquired = [];
          for (var i = 0; i < rows.length; i++) {
            held.push(rows[i].cells[0].textContent.toLowerCase());
            acquired.push(rows[i].cells[1].textContent.toLowerCase());
          }
          function apply() {
            var text = input.value.trim().toLowerCase(), shown = 0;
            for (var i = 0; i < rows.length; i++) {
              var match = !text || held[i].indexOf(text) >= 0 || acquired[i].indexOf(text) >= 0;
              if (rows[i].hidden === match) rows[i].hidden = !match;
              if (match) shown++;
            }
            count.textContent = text ? shown + " of " + rows.length + " listed edges match" : "";
          }
          input.addEventListener("input", apply);
          document.querySelectorAll("[data-class]").forEach(function (node) {
            node.addEventListener("click", function () {
              input.value = node.getAttribute("data-class");
              apply();
              box.scrollIntoView();
            });
          });
          try {
            if (location.hash.indexOf("#filter=") === 0) input.value = decodeURIComponent(location.hash.slice(8));
          } catch (malformed) {}
          box.hidden = false;
          document.querySelectorAll(".needs-script").forEach(function (hint) { hint.hidden = false; });
          apply();
        })();
        </script>

        """

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A coordinate with one decimal.
    static func number(_ value: Double) -> String { "\((value * 10).rounded() / 10)" }
}
