import SpinLocks

/// Seed scenario 1: a driver's ISR, StartIo and DpcForIsr sharing device data.
///
/// The ISR runs at the device's DIRQL holding the interrupt spin lock: it reads the operation's status,
/// saves it for the DPC and counts interrupts, then queues DpcForIsr. StartIo programs the device and
/// the DPC completes requests; both reach the shared data only through `synchronizeExecution`, on
/// several processors at once. The DPC consults the ISR-maintained count under the interrupt spin lock
/// and resets it, as the seed describes. Runs clean.
enum DriverInterrupts {
    /// The device extension: what the ISR, StartIo and the DPC share.
    final class DeviceExtension: @unchecked Sendable {
        var currentRequest = 0
        var savedStatus: [Int] = []  // per-operation data the ISR saves for the DPC
        var interruptCount = 0  // maintained by the ISR, consulted and reset by the DPC
        var completed = 0
    }

    /// The driver's objects: the ISR queues the DPC, the DPC synchronizes with the ISR.
    final class Driver: @unchecked Sendable {
        let device = DeviceExtension()
        let completionLock = SpinLock("Driver.completionLock")
        private(set) var interrupt: InterruptObject!
        private(set) var dpcForIsr: Dpc!

        init() {
            interrupt = InterruptObject("Driver.interrupt", irql: .device(5)) { [unowned self] _ in
                // ISR, at DIRQL(5) holding the interrupt spin lock.
                device.savedStatus.append(device.currentRequest)
                device.interruptCount += 1
                dpcForIsr.queue()
                return true
            }
            dpcForIsr = Dpc("Driver.DpcForIsr") { [unowned self] _ in
                // DpcForIsr, at DISPATCH_LEVEL: consult and reset what the ISR kept, under its spin lock.
                let (count, statuses) = interrupt.synchronizeExecution { () -> (Int, [Int]) in
                    defer {
                        device.interruptCount = 0
                        device.savedStatus.removeAll()
                    }
                    return (device.interruptCount, device.savedStatus)
                }
                completionLock.acquireAtDpcLevel()
                device.completed += min(count, statuses.count)
                completionLock.releaseFromDpcLevel()
            }
        }
    }

    static var scenario: Scenario {
        Scenario(
            name: ExampleName.driverInterrupts,
            summary: "ISR, StartIo and DpcForIsr share device data through synchronizeExecution on 2 processors",
            expected: []
        ) {
            let driver = Driver()
            onProcessors(2, name: "cpu") { processor in
                for request in 0..<200 {
                    // StartIo, at DISPATCH_LEVEL: program the device for the next request.
                    let old = IRQL.raise(to: .dispatch)
                    driver.interrupt.synchronizeExecution { driver.device.currentRequest = processor * 1_000 + request }
                    IRQL.lower(to: old)
                    // The device finishes the operation and interrupts this processor.
                    driver.interrupt.trigger()
                }
            }
            precondition(driver.device.completed == 400, "every request completes: \(driver.device.completed)")
        }
    }
}
