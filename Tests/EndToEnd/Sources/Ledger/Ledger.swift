import Foundation

/// A ledger whose accounts and entries have a lock each: `transfer` takes accounts then entries, `audit`
/// entries then accounts. Each is fine alone; together they can deadlock.
///
/// Lock classes are keyed by where the locks are created: `Ledger()` creates its two here, and a test that
/// must have classes of its own (the validator learns each order once per process) passes its own.
public final class Ledger: @unchecked Sendable {
    let accounts: NSLock
    let entries: NSLock
    var balances: [String: Int] = [:]
    var journal: [String] = []

    public init() {
        accounts = NSLock()
        entries = NSLock()
    }

    public init(accounts: NSLock, entries: NSLock) {
        self.accounts = accounts
        self.entries = entries
    }

    public func transfer(_ amount: Int, from: String, to: String) {
        accounts.lock()
        defer { accounts.unlock() }
        balances[from, default: 0] -= amount
        balances[to, default: 0] += amount
        entries.lock()
        journal.append("\(from) -> \(to): \(amount)")
        entries.unlock()
    }

    public func audit() -> Int {
        entries.lock()
        defer { entries.unlock() }
        let count = journal.count
        accounts.lock()
        let total = balances.values.reduce(0, +)
        accounts.unlock()
        return count + total
    }

    /// The order `transfer` uses, alone: clean.
    public func balance(of name: String) -> Int {
        accounts.lock()
        defer { accounts.unlock() }
        entries.lock()
        defer { entries.unlock() }
        return balances[name, default: 0]
    }
}

/// An account with a lock of its own; a parent account's lock is taken before a child's.
public final class Account: @unchecked Sendable {
    public let lock: NSLock
    public var balance = 0

    public init() { lock = NSLock() }

    /// A child account whose lock is given a class of its own, nested under its parent's (lockdep's
    /// `lockdep_set_subclass`).
    public init(childOf parent: Account, lock: NSLock) {
        self.lock = lock
    }

    /// Moves `amount` from `self` into `child`, holding both locks, parent first.
    public func fund(_ child: Account, with amount: Int) {
        lock.lock()
        child.lock.lock()
        balance -= amount
        child.balance += amount
        child.lock.unlock()
        lock.unlock()
    }
}
