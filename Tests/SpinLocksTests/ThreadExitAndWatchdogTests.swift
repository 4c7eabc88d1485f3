import Foundation
import SpinLocks
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `thread-exit-holding-lock` and `spin-timeout`: the validator under the failures that stall CI.
@Suite struct ThreadExitAndWatchdogTests {
    @Test func aThreadThatExitsHoldingALockIsReported() {
        let lock = SpinLock(uniqueClassPrefix("left-held"))
        keepForever(lock)  // it stays held: freeing it later would be a violation of its own
        let found = violationsOnFreshProcessor { _ = lock.acquire() }
        #expect(found.map(\.rule) == [.threadExitHoldingLock])
        #expect(found.first?.locks.map(\.name) == [lock.name])
        #expect(found.first?.summary.contains("at DISPATCH_LEVEL") == true)
    }

    @Test func aThreadThatExitsAtRaisedIRQLIsReported() {
        let found = violationsOnFreshProcessor { _ = IRQL.raise(to: .apc) }
        #expect(found.map(\.rule) == [.threadExitHoldingLock])
        #expect(found.first?.locks.isEmpty == true)
    }

    @Test func aThreadThatExitsCleanIsSilent() {
        let lock = SpinLock(uniqueClassPrefix("released"))
        #expect(violationsOnFreshProcessor { lock.withLock {} }.isEmpty)
    }

    /// A thread the validator did not start (a raw pthread) is checked by its pthread key destructor.
    @Test func aRawThreadExitingHoldingALockIsReportedAtExit() async {
        await #expect(processExitsWith: .success) {
            final class Box: @unchecked Sendable { let lock = SpinLock("raw-thread-lock") }
            let box = Unmanaged.passRetained(Box())
            var thread = pthread_t()
            let created = pthread_create(
                &thread, nil,
                { argument in
                    let box = Unmanaged<Box>.fromOpaque(argument!).takeUnretainedValue()
                    _ = box.lock.acquire()
                    return nil
                }, box.toOpaque())
            precondition(created == 0)
            pthread_join(thread, nil)
            let rules = LockValidator.violations.map(\.rule)
            precondition(rules == [.threadExitHoldingLock], "\(rules)")
        }
    }

    /// The same deadlock inside a collecting scope (a test's): the scope would report the inversion when it
    /// ends, which the watchdog never lets come; it is printed before the spin-timeout instead. Each thread
    /// of the wait-for chain holds one lock: the one it spins on is not listed as held.
    @Test func aDeadlockInsideAScopeReportsTheInversionTheScopeCollected() async throws {
        let result = await #expect(processExitsWith: .signal(SIGABRT), observing: [\.standardErrorContent]) {
            setenv("LOCKVALIDATOR_SPIN_TIMEOUT_MS", "400", 1)
            _ = LockValidator.violations(
                during: { deadlock(SpinLock("ScopedDeadlock.A"), SpinLock("ScopedDeadlock.B"), threadNames: "scoped") },
                scopeName: "scopedDeadlock()")
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        let collected = try #require(standardError.range(of: "found in \"scopedDeadlock()\", printed now"))
        let inversion = try #require(standardError.range(of: "ERROR: lock-order-inversion"))
        let timeout = try #require(standardError.range(of: "ERROR: spin-timeout"))
        #expect(collected.lowerBound < inversion.lowerBound && inversion.lowerBound < timeout.lowerBound)
        let chain = standardError[timeout.lowerBound...]
        #expect(!chain.contains("2 locks held by") && chain.contains("1 lock held by"))
    }

    /// A real ABBA deadlock between two threads that meet for the first time: the thread that closes
    /// the cycle reports the inversion before it spins (with the stack of each order), and the watchdog
    /// then ends the process with a spin-timeout report naming both threads and both locks, and the
    /// report file written.
    @Test func aFirstTimeDeadlockIsReportedAsTheInversionBeforeTheWatchdogEndsIt() async throws {
        let reportPath = "/tmp/lockvalidator-deadlock-\(getpid()).json"
        unlink(reportPath)
        let result = await #expect(processExitsWith: .signal(SIGABRT), observing: [\.standardErrorContent]) {
            setenv("LOCKVALIDATOR_SPIN_TIMEOUT_MS", "400", 1)
            setenv("LOCKVALIDATOR_REPORT", "/tmp/lockvalidator-deadlock-\(getppid()).json", 1)
            deadlock(SpinLock("Deadlock.A"), SpinLock("Deadlock.B"), threadNames: "deadlock")
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        let inversion = try #require(standardError.range(of: "ERROR: lock-order-inversion"))
        let timeout = try #require(standardError.range(of: "ERROR: spin-timeout"))
        #expect(inversion.lowerBound < timeout.lowerBound, "the inversion is found before the wait")
        #expect(standardError.contains("the wait-for chain:"))
        #expect(standardError.contains("\"deadlock-one\"") && standardError.contains("\"deadlock-two\""))
        #expect(standardError.contains("\"Deadlock.A\"") && standardError.contains("\"Deadlock.B\""))
        #expect(standardError.contains(": a deadlock"))
        #expect(standardError.contains("aborting so the run ends with this diagnosis"))
        // The watchdog reads the other thread's state only once it has stopped: nothing for TSan to see.
        #expect(!standardError.contains("ThreadSanitizer"))
        let report = try #require(TextFile.read(reportPath))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any])
        let violations = try #require(json["violations"] as? [[String: Any]])
        #expect(Set(violations.compactMap { $0["rule"] as? String }) == ["lock-order-inversion", "spin-timeout"])
        // Each thread of the chain is named where it holds a lock, as everywhere else (not "held by thread 2").
        let timeoutReport = try #require(violations.first { $0["rule"] as? String == "spin-timeout" })
        let summary = try #require(timeoutReport["summary"] as? String)
        let named = try Regex(#"held by thread \d+ "deadlock-(one|two)" \(tid \d+\)"#)
        #expect(summary.matches(of: named).count == 2, "\(summary)")
        #expect(standardError.matches(of: named).count >= 4, "the summary and the wait-for chain")
        let found = try #require(violations.first { $0["rule"] as? String == "lock-order-inversion" })
        let edges = try #require(found["edges"] as? [[String: Any]])
        // Both orders, each with the stack and thread that took it.
        #expect(edges.count == 2)
        #expect(edges.allSatisfy { !(($0["stack"] as? [Any]) ?? []).isEmpty })
        let threads = Set(edges.compactMap { ($0["thread"] as? [String: Any])?["name"] as? String })
        #expect(threads == ["deadlock-one", "deadlock-two"])
        unlink(reportPath)
    }
}

/// A third thread spinning on a lock of a deadlock it is not part of: its watchdog fires first (it began
/// spinning 200 ms before the cycle formed), and its chain runs into the cycle, which meets the lock it
/// waits for again; "locks involved" lists each lock once.
@Suite struct SpinTimeoutOutsideTheCycleTests {
    @Test func aWaiterOutsideTheCycleListsEachLockOnce() async throws {
        let result = await #expect(processExitsWith: .signal(SIGABRT), observing: [\.standardErrorContent]) {
            setenv("LOCKVALIDATOR_SPIN_TIMEOUT_MS", "400", 1)
            let (a, b) = (SpinLock("OutsideWaiter.A"), SpinLock("OutsideWaiter.B"))
            let (aHeld, bHeld, thirdSpins) = (Signal(), Signal(), Signal())
            let one = ProcessorThread(name: "outside-one") {
                let old = a.acquire()
                aHeld.raise()
                thirdSpins.wait()
                usleep(200_000)  // the third thread's spin began well before this one's
                bHeld.wait()
                b.acquireAtDpcLevel()
                a.release(old)
            }
            let two = ProcessorThread(name: "outside-two") {
                let old = b.acquire()
                bHeld.raise()
                aHeld.wait()
                thirdSpins.wait()
                usleep(200_000)
                a.acquireAtDpcLevel()
                b.release(old)
            }
            let three = ProcessorThread(name: "outside-three") {
                aHeld.wait()
                thirdSpins.raise()
                a.withLock {}
            }
            [one, two, three].forEach { $0.join() }
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        let timeout = try #require(standardError.range(of: "ERROR: spin-timeout"))
        let report = standardError[timeout.lowerBound...]
        // The third thread is the one whose watchdog fired: its wait starts the chain.
        let story = try #require(report.split(separator: "\n").first { $0.contains("passed the watchdog:") })
        let third = try #require(story.range(of: "\"outside-three\""))
        let first = try #require(story.range(of: "\"outside-one\""))
        #expect(third.lowerBound < first.lowerBound, "\(story)")
        let involved = try #require(report.range(of: "locks involved:\n"))
        let lines = report[involved.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
            .prefix { !$0.isEmpty }
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.filter { $0.contains("\"OutsideWaiter.A\"") }.count == 1)
    }
}

/// Two threads, `<threadNames>-one` and `<threadNames>-two`, each take one lock and, once the other holds its
/// own, the other's: a real ABBA deadlock that only the watchdog ends.
private func deadlock(_ a: SpinLock, _ b: SpinLock, threadNames: String) {
    let aHeld = Signal()
    let bHeld = Signal()
    let first = ProcessorThread(name: "\(threadNames)-one") {
        let old = a.acquire()
        aHeld.raise()
        bHeld.wait()
        b.acquireAtDpcLevel()
        a.release(old)
    }
    let second = ProcessorThread(name: "\(threadNames)-two") {
        let old = b.acquire()
        bHeld.raise()
        aHeld.wait()
        a.acquireAtDpcLevel()
        b.release(old)
    }
    first.join()
    second.join()
}
