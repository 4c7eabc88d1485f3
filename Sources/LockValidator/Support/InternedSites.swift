/// Lock init sites by number, each distinct site kept once: a lock keeps its site's number, four bytes,
/// where a ``Site`` is 25 (and a million locks made at one line were a million copies of it).
enum InternedSites {
    private struct Table {
        /// Number n's site at n - 1; 0 stands for no site.
        var sites: [Site] = []
        var numbers: [Site: UInt32] = [:]
    }

    private static let table = InternalLock(Table())

    /// The number of `site`, kept if new; 0 for nil.
    static func number(of site: Site?) -> UInt32 {
        guard let site else { return 0 }
        return table.withLock { table in
            if let known = table.numbers[site] { return known }
            table.sites.append(site)
            table.numbers[site] = UInt32(table.sites.count)
            return UInt32(table.sites.count)
        }
    }

    /// The site numbered `number`; nil for 0.
    static func site(_ number: UInt32) -> Site? {
        guard number != 0 else { return nil }
        return table.withLock { $0.sites[Int(number) - 1] }
    }
}
