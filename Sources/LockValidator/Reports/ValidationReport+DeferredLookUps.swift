extension ValidationReport {
    /// The report with the source lines its processes left to be looked up (``ProcessDescription/deferredImages``)
    /// looked up now, in one batch: its code sites gain file:line, and the classes named by where their locks
    /// are created take the name they would have had (`NSLock created at Cache.swift:37:21 in Cache.init`
    /// for `NSLock created at Cache.init+0x2f`) everywhere the graph names them.
    ///
    /// An image that is gone, or rebuilt since (another build id), is left as it was: its sites keep the
    /// names their symbol tables gave.
    public func resolvingDeferredLookUps() -> ValidationReport {
        var images: [String: ImageDescription] = [:]
        for process in processes {
            for image in process.deferredImages ?? [] where images[image.module] == nil { images[image.module] = image }
        }
        guard !images.isEmpty else { return self }
        let usable = images.filter { $0.value.isUnchanged }
        var sites: [CodeSite] = []
        var seen = Set<CodeSite>()
        func collect(_ site: Site?) {
            guard case .code(let code)? = site, code.location.line == nil, usable[code.module] != nil,
                seen.insert(code).inserted
            else { return }
            sites.append(code)
        }
        for description in graph.classes { collect(description.site) }
        for edge in graph.edges {
            collect(edge.fromAcquiredAt)
            collect(edge.toAcquiredAt)
        }
        // The call is one byte before the return address.
        let answers = Symbolizer.debugInformation(sites.map { (usable[$0.module]!.path, $0.moduleAddress &- 1) })
        var found: [CodeSite: CodeSite] = [:]
        for (site, answer) in zip(sites, answers) {
            guard let answer, answer.line != nil else { continue }
            let known = site.location
            let function = answer.function.map {
                Symbolizer.functionName(mangled: $0, demangled: Symbolizer.demangle($0))
            }
            found[site] = CodeSite(
                module: site.module, moduleAddress: site.moduleAddress,
                location: .init(
                    function: function ?? known.function, functionOffset: answer.offset ?? known.functionOffset,
                    file: answer.file, line: answer.line, column: answer.column))
        }
        var renames: [String: String] = [:]
        for description in graph.classes {
            guard case .code(let site)? = description.site, let better = found[site],
                let verb = ["created", "first seen", "first locked"].first(where: {
                    description.name.contains(" \($0) at ")
                }),
                let marker = description.name.firstRange(of: " \(verb) at "),
                description.name[marker.upperBound...] == site.description
            else { continue }
            renames[description.name] = LockClass.name(
                noun: String(description.name[..<marker.lowerBound]), createdAt: better, verb: verb)
        }
        func renamed(_ name: String) -> String {
            if let new = renames[name] { return new }
            // A readers node is "<class> (read)"; a subclass "<class>/<n>".
            if name.hasSuffix(" (read)") { return renamed(String(name.dropLast(7))) + " (read)" }
            if let slash = name.lastIndex(of: "/"), Int(name[name.index(after: slash)...]) != nil,
                let new = renames[String(name[..<slash])]
            {
                return new + name[slash...]
            }
            return name
        }
        func resolved(_ site: Site) -> Site {
            guard case .code(let code) = site, let better = found[code] else { return site }
            return .code(better)
        }
        func lookedUp(_ process: ProcessDescription) -> ProcessDescription {
            var process = process
            process.deferredImages = nil
            return process
        }
        var report = self
        report.process = lookedUp(process)
        report.mergedFrom = mergedFrom?.map(lookedUp)
        for index in report.graph.classes.indices {
            report.graph.classes[index].name = renamed(report.graph.classes[index].name)
            report.graph.classes[index].site = report.graph.classes[index].site.map(resolved)
        }
        for index in report.graph.edges.indices {
            report.graph.edges[index].from = renamed(report.graph.edges[index].from)
            report.graph.edges[index].to = renamed(report.graph.edges[index].to)
            report.graph.edges[index].fromAcquiredAt = resolved(report.graph.edges[index].fromAcquiredAt)
            report.graph.edges[index].toAcquiredAt = resolved(report.graph.edges[index].toAcquiredAt)
            report.graph.edges[index].process = report.graph.edges[index].process.map(lookedUp)
        }
        for index in report.lockStatistics.indices {
            report.lockStatistics[index].name = renamed(report.lockStatistics[index].name)
        }
        return report
    }
}
