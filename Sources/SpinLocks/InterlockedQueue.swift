import LockValidator

/// A list guarded by a spin lock, operated on by interlocked routines that take and release the lock
/// themselves (`ExInterlockedInsertTailList`, `ExInterlockedInsertHeadList`,
/// `ExInterlockedRemoveHeadList`).
///
/// The routines may be called at any IRQL, an ISR's included: like Windows, which disables interrupts
/// around them, they raise to HIGH_LEVEL for the few instructions they hold the lock, so the lock is
/// always held at one IRQL and no interrupt can arrive while it is held.
///
/// - Warning: a lock passed in is then used at HIGH_LEVEL; taking it elsewhere with ordinary routines
///   at a lower IRQL is an `irql-inconsistent-usage`.
public final class InterlockedQueue<Element> {
    /// The spin lock guarding the list; other code may take it to work on the list's owner.
    public let lock: SpinLock
    private var elements: [Element?] = []
    private var head = 0

    /// Creates an empty queue guarded by `lock`, or by a new lock named `name`.
    public init(_ name: String? = nil, lock: SpinLock? = nil, fileID: StaticString = #fileID, line: UInt = #line) {
        self.lock = lock ?? SpinLock(name, fileID: fileID, line: line)
    }

    /// Appends `element` (`ExInterlockedInsertTailList`).
    public func insertTail(_ element: Element, fileID: StaticString = #fileID, line: UInt = #line) {
        interlocked(at: CallSite(fileID, line)) { elements.append(element) }
    }

    /// Prepends `element` (`ExInterlockedInsertHeadList`).
    public func insertHead(_ element: Element, fileID: StaticString = #fileID, line: UInt = #line) {
        interlocked(at: CallSite(fileID, line)) {
            if head > 0 {
                head -= 1
                elements[head] = element
            } else {
                elements.insert(element, at: 0)
            }
        }
    }

    /// Removes and returns the first element, or nil when empty (`ExInterlockedRemoveHeadList`).
    public func removeHead(fileID: StaticString = #fileID, line: UInt = #line) -> Element? {
        interlocked(at: CallSite(fileID, line)) {
            guard head < elements.count else { return nil }
            let element = elements[head].take()
            head += 1
            if head == elements.count || head >= 64 && head * 2 >= elements.count {
                elements.removeFirst(head)
                head = 0
            }
            return element
        }
    }

    /// The number of elements, read under the lock.
    public func count(fileID: StaticString = #fileID, line: UInt = #line) -> Int {
        interlocked(at: CallSite(fileID, line)) { elements.count - head }
    }

    private func interlocked<Result>(at site: CallSite, _ body: () -> Result) -> Result {
        let thread = ThreadState.current
        let oldIRQL = thread.irql
        thread.irql = .high
        lock.lock(.ordinary, on: thread, at: site)
        let result = body()
        lock.unlock(.ordinary, restoring: oldIRQL, on: thread, at: site)
        return result
    }
}

extension InterlockedQueue: @unchecked Sendable where Element: Sendable {}
