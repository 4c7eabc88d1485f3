import SpinLocks

/// Seed scenario 2: the floppy controller. Two executive spin locks protect two timer objects (the
/// motor-off timer and the head-settle timer); routines set them one at a time and together, and two
/// of them take the locks in opposite orders. No run here deadlocks — the routines run one after the
/// other — yet the validator reports the inversion, because on a real machine they need not. With
/// `fixed`, every routine takes the motor lock first, and the run is clean.
enum FloppyController {
    struct Timer {
        var dueTime = 0
        var armed = false
    }

    final class Controller: @unchecked Sendable {
        let motorLock = SpinLock("Floppy.motorTimerLock")
        let headLock = SpinLock("Floppy.headTimerLock")
        var motorTimer = Timer()
        var headTimer = Timer()
    }

    static func scenario(fixed: Bool) -> Scenario {
        Scenario(
            name: fixed ? "\(ExampleName.floppyController) --fixed" : ExampleName.floppyController,
            summary: fixed
                ? "two timer locks, every routine takes them in one order"
                : "two timer locks set together by two routines in opposite orders; no deadlock on this run",
            expected: fixed ? [] : [.lockOrderInversion]
        ) {
            let controller = Controller()
            // The seek routine sets both timers: motor lock, then head lock.
            let seek = ProcessorThread(name: "seek") {
                for step in 0..<50 {
                    controller.motorLock.withLock {
                        controller.motorTimer = Timer(dueTime: step, armed: true)
                        controller.headLock.withLock { controller.headTimer = Timer(dueTime: step + 1, armed: true) }
                    }
                    controller.motorLock.withLock { controller.motorTimer.armed = false }
                }
            }
            seek.join()
            // The recalibrate DPC sets them too — in the other order, unless fixed.
            let recalibrate = ProcessorThread(name: "recalibrate") {
                for step in 0..<50 {
                    if fixed {
                        controller.motorLock.withLock {
                            controller.headLock.withLock {
                                controller.headTimer = Timer(dueTime: step, armed: true)
                                controller.motorTimer = Timer(dueTime: step, armed: true)
                            }
                        }
                    } else {
                        controller.headLock.withLock {
                            controller.headTimer = Timer(dueTime: step, armed: true)
                            controller.motorLock.withLock { controller.motorTimer = Timer(dueTime: step, armed: true) }
                        }
                    }
                    controller.headLock.withLock { controller.headTimer.armed = false }
                }
            }
            recalibrate.join()
        }
    }
}
