// The front ends beyond pthread locks, inside each test integration, with several threads contending for
// one lock: Synchronization.Mutex (this target is built with the Mutex overlay: Package.swift), serial
// Dispatch queues' `sync`, and a call that blocks made under a SpinLock. Named for how each must end, as
// LedgerTests; EndToEndTests checks it.
import Foundation
import LockValidator
import LockValidatorPthreads
import LockValidatorTesting
import SpinLocks
import Synchronization
import Testing

@Suite(.lockValidation) struct FrontEndTests {
    // MARK: Synchronization.Mutex, through the overlay

    @Test func failsMutexesInBothOrders() {
        let gold = Mutex(0)
        let silver = Mutex(0)
        contend({ body in gold.withLock { _ in body() } }, { body in silver.withLock { _ in body() } }, invert: true)
    }

    @Test func passesMutexesInOneOrder() {
        let gold = Mutex(0)
        let silver = Mutex(0)
        contend(
            { body in gold.withLock { _ in body() } },
            { body in silver.withLock { $0 += 1; body() } }, invert: false)
        #expect(silver.withLock { $0 } == 400)
    }

    @Test func passesAMutexInversionItExpects() {
        let gold = Mutex(0)
        let silver = Mutex(0)
        expectLockViolation(.lockOrderInversion) {
            contend(
                { body in gold.withLock { _ in body() } }, { body in silver.withLock { _ in body() } }, invert: true)
        }
    }

    // MARK: Serial Dispatch queues

    @Test func failsQueuesSyncedInBothOrders() {
        contend(DispatchQueue(label: "vault.gold"), DispatchQueue(label: "vault.silver"), invert: true)
    }

    @Test func passesQueuesSyncedInOneOrder() {
        contend(DispatchQueue(label: "vault.gold"), DispatchQueue(label: "vault.silver"), invert: false)
    }

    @Test func passesAQueueInversionItExpects() {
        let gold = DispatchQueue(label: "vault.gold")
        let silver = DispatchQueue(label: "vault.silver")
        expectLockViolation(.lockOrderInversion) { contend(gold, silver, invert: true) }
    }

    // MARK: A call that blocks, under a spin lock

    @Test func failsSleepingUnderASpinLock() {
        // A wait that does not wait (the semaphore has a ticket for each call): the spin lock's hold stays short.
        let tickets = DispatchSemaphore.tickets(100)
        contend(SpinLock("Vault.failing"), inside: { tickets.wait() })
    }

    @Test func passesASpinLockContendedWithoutBlocking() {
        let total = Counter()
        contend(SpinLock("Vault.passing"), inside: { total.value += 1 })
        #expect(total.value == 100)
    }

    @Test func passesASleepUnderASpinLockItExpects() {
        let lock = SpinLock("Vault.expecting")
        let tickets = DispatchSemaphore.tickets(100)
        expectLockViolation(.blockingWhileHeld) { contend(lock, inside: { tickets.wait() }) }
    }
}
