// Scenarios for Synchronization.Mutex through the Mutex overlay, one per run: `mutex-scenarios <name>`.
// Not a SwiftPM target: MutexOverlayTests compiles this file with `swiftc -I <overlay>` and runs it
// under LD_PRELOAD=libLockValidatorPreload.so, as a program nobody changed would run.
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `body` on `count` threads at once and waits for all.
func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Work: @unchecked Sendable {
        let body: @Sendable (Int) -> Void
        let index: Int
        init(_ body: @escaping @Sendable (Int) -> Void, _ index: Int) {
            self.body = body
            self.index = index
        }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        var thread = pthread_t()
        let work = Unmanaged.passRetained(Work(body, index)).toOpaque()
        pthread_create(
            &thread, nil,
            { argument in
                let work = Unmanaged<Work>.fromOpaque(argument!).takeRetainedValue()
                work.body(work.index)
                return nil
            }, work)
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

final class Bank: Sendable {
    let accounts = Mutex(0)
    let ledger = Mutex(0)
}

/// A Mutex guarding nothing, locked and unlocked apart (Mutex<Void>'s `_unsafeLock`, `_unsafeUnlock`).
final class Gate: Sendable {
    let mutex = Mutex(())
}

/// A Mutex made in a local and then moved into its place: the init hook saw the local's address.
final class Vault: Sendable {
    let gold: Mutex<Int>
    init() {
        let made = Mutex(0)
        gold = made
    }
}

/// Vault's size: made where a freed Vault was, its Mutex (moved in, as Vault's) lands where Vault's was.
final class Safe: Sendable {
    let silver: Mutex<Int>
    init() {
        let made = Mutex(0)
        silver = made
    }
}

/// A Vault whose Mutex was taken before the bank's; the Vault is freed on return. Its address, as a number.
@inline(never) func goldBeforeAccounts(_ bank: Bank) -> UInt {
    let vault = Vault()
    vault.gold.withLock { _ in bank.accounts.withLock { $0 += 1 } }
    return UInt(bitPattern: ObjectIdentifier(vault))
}

let scenarios: [String: () -> Int32] = [
    "moved-into-freed-memory": {
        // Safe's Mutex, moved into memory where Vault's was, is another Mutex: taken after the bank's it
        // is an order of its own, no inversion with the dead Vault's.
        let bank = Bank()
        let vault = goldBeforeAccounts(bank)
        let safe = Safe()
        print(UInt(bitPattern: ObjectIdentifier(safe)) == vault ? "same memory" : "other memory")
        bank.accounts.withLock { _ in safe.silver.withLock { $0 += 1 } }
        return 0
    },
    "moved-abba": {
        // A moved Mutex, alive, taken in both orders with the bank's: an ABBA.
        let bank = Bank()
        let vault = Vault()
        vault.gold.withLock { _ in bank.accounts.withLock { $0 += 1 } }
        bank.accounts.withLock { _ in vault.gold.withLock { $0 += 1 } }
        return 0
    },
    "moved": {
        // The moved Mutex is known from its first lock on: one class, named for that lock.
        let vault = Vault()
        vault.gold.withLock { $0 += 1 }
        vault.gold.withLock { $0 += 1 }
        let bank = Bank()
        bank.accounts.withLock { _ in vault.gold.withLock { $0 += 1 } }
        return 0
    },
    "abba": {
        // Two Mutexes taken in both orders, one thread after the other: an ABBA.
        let bank = Bank()
        concurrently(1) { _ in bank.accounts.withLock { _ in bank.ledger.withLock { $0 += 1 } } }
        concurrently(1) { _ in bank.ledger.withLock { _ in bank.accounts.withLock { $0 += 1 } } }
        return 0
    },
    "consistent": {
        // Four threads contend for two Mutexes, always in one order: clean, and every increment counted.
        let bank = Bank()
        concurrently(4) { _ in
            for _ in 0..<2_000 { bank.accounts.withLock { _ in bank.ledger.withLock { $0 += 1 } } }
        }
        let total = bank.ledger.withLock { $0 }
        print("total \(total)")
        return total == 8_000 ? 0 : 1
    },
    "recursion": {
        // withLock inside withLock of the same Mutex: the standard library would trap ("Recursive call to
        // lock Mutex"); reported, the inner lock not taken, and the program goes on.
        let bank = Bank()
        let value = bank.accounts.withLock { outer in
            outer += 1
            return bank.accounts.withLock { $0 + 1 }
        }
        print("went on: \(value)")
        return 0
    },
    "wrong-thread-unlock": {
        // One thread unlocks a Mutex another holds: the standard library would trap (the futex word names
        // its owner); reported, the unlock not made, so the Mutex stays its holder's, who unlocks it.
        let gate = Gate()
        gate.mutex._unsafeLock()
        concurrently(1) { _ in gate.mutex._unsafeUnlock() }
        concurrently(1) { _ in
            print(gate.mutex._unsafeTryLock() ? "taken by another thread" : "still held by its owner")
        }
        gate.mutex._unsafeUnlock()
        return 0
    },
    "try-lock": {
        // withLockIfAvailable inside another Mutex, then that Mutex inside it: a successful try adds no
        // order into its Mutex, so this is clean.
        let bank = Bank()
        _ = bank.accounts.withLock { _ in bank.ledger.withLockIfAvailable { $0 += 1 } }
        bank.ledger.withLock { _ in bank.accounts.withLock { $0 += 1 } }
        return 0
    },
]

let name = CommandLine.arguments.dropFirst().first ?? ""
guard let scenario = scenarios[name] else {
    print("usage: mutex-scenarios <\(scenarios.keys.sorted().joined(separator: "|"))>")
    exit(2)
}
exit(scenario())
