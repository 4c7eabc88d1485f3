import SpinLocks

/// Seed scenario 5: what must not happen under a spin lock — pageable code, a call that may block, a
/// hold of 60 µs (the budget is 25), an error thrown out of the critical section, and a DPC-level
/// routine called at PASSIVE_LEVEL. Each is reported with its stacks.
enum SpinLockMisuse {
    struct MediaError: Error {}

    /// Each routine has its own lock here, so that each finding stands on its own.
    final class Volume: @unchecked Sendable {
        let labelLock = SpinLock("Volume.labelLock")
        let mediaLock = SpinLock("Volume.mediaLock")
        let flushLock = SpinLock("Volume.flushLock")
        let validationLock = SpinLock("Volume.validationLock")
        let generationLock = SpinLock("Volume.generationLock")
        var label = "DATA"
        var generation = 0

        /// Reads the volume label from pageable code, with the lock held.
        @inline(never)
        func readLabel() -> String {
            labelLock.withLock {
                pageableCode()
                return label
            }
        }

        /// Waits for the media with the lock held (KeWaitForSingleObject).
        @inline(never)
        func waitForMedia() {
            mediaLock.withLock { mightSleep() }
        }

        /// Recomputes a checksum for 60 µs with the lock held; it does so on every flush.
        @inline(never)
        func flush() {
            flushLock.withLock {
                compute(microseconds: 60)
                generation += 1
            }
        }

        /// Validates the media, throwing out of the critical section.
        @inline(never)
        func validate() throws {
            try validationLock.withLock {
                if label == "DATA" { throw MediaError() }
            }
        }

        /// Calls the AtDpcLevel routines from PASSIVE_LEVEL.
        @inline(never)
        func touchFromPassive() {
            generationLock.acquireAtDpcLevel()
            generation += 1
            generationLock.releaseFromDpcLevel()
        }
    }

    static var scenario: Scenario {
        Scenario(
            name: ExampleName.spinLockMisuse,
            summary:
                "pageable code, a blocking call, 60 µs holds, a thrown error and an AtDpcLevel call at PASSIVE_LEVEL",
            expected: [
                .pageableAtRaisedIRQL, .blockingWhileHeld, .holdTimeExceeded, .errorWhileHeld, .irqlTooLow, .irqlTooLow,
            ]
        ) {
            let volume = Volume()
            let thread = ProcessorThread(name: "volume") {
                _ = volume.readLabel()
                volume.waitForMedia()
                // A long hold is reported once it repeats at its site, not a VM's burst of noise: six holds at
                // 2× the budget or more among consecutive ones over it (twelve flushes, so that a loaded
                // machine's preempted holds, which count neither way, still leave six).
                for _ in 0..<12 { volume.flush() }
                _ = try? volume.validate()
                volume.touchFromPassive()
            }
            thread.join()
        }
    }
}
