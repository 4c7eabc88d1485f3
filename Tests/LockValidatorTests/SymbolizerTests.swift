import Foundation
import LockValidator
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Naming code: the names a report shows for addresses the validator met.
@Suite struct SymbolizerTests {
    @Test func cPlusPlusNamesAreDemangled() {
        let mangled = "_ZN6icu_768TimeZone13createDefaultEv"
        #expect(Symbolizer.demangle(mangled) == "icu_76::TimeZone::createDefault()")
        #expect(Symbolizer.functionName(mangled: mangled, demangled: Symbolizer.demangle(mangled)) == "icu_76::TimeZone::createDefault")
        #expect(Symbolizer.demangle("not_mangled") == "not_mangled")
    }

    @Test func swiftNamesLoseTheirModuleParametersAndResult() {
        let mangled = "$s5CacheAACABycfc"
        #expect(Symbolizer.functionName(mangled: mangled, demangled: Symbolizer.demangle(mangled)) == "Cache.init")
        #expect(
            Symbolizer.functionName(
                mangled: "$s1", demangled: "closure #1 @Sendable () -> () in CacheTests.onAThread() -> ()")
                == "closure #1 in onAThread")
    }

    /// Names as swift-nio's suites produce them (issue 28's run of NIOPosixTests): private functions keep
    /// their name without the discriminator, every qualified name loses its module, generic arguments and
    /// an accessor's type go.
    @Test(arguments: [
        (
            "static NIOPosix.MultiThreadedEventLoopGroup.(setupThreadAndEventLoop in _C2B1B6D4C8E5F7A9)(name: Swift.String, parentGroup: NIOPosix.MultiThreadedEventLoopGroup) -> NIOPosix.SelectableEventLoop",
            "static MultiThreadedEventLoopGroup.setupThreadAndEventLoop"
        ),
        (
            "static NIOConcurrencyHelpers.LockOperations.lock(Swift.UnsafeMutablePointer<__C.pthread_mutex_t>) -> ()",
            "static LockOperations.lock"
        ),
        (
            "generic specialization <Foundation.NSString, Foundation.NSData> of Foundation.NSCache.init() -> Foundation.NSCache<A, B>",
            "generic specialization of NSCache.init"
        ),
        ("NIOCore.EventLoopFuture.isFulfilled.getter : Swift.Bool", "EventLoopFuture.isFulfilled.getter"),
        (
            "one-time initialization function for NIOPosixTests.(sharedGroup in _A1B2C3D4)",
            "one-time initialization function for sharedGroup"
        ),
        (
            "(1) suspend resume partial function for NIOPosixTests.ChannelTests.testX() async throws -> ()",
            "ChannelTests.testX"
        ),
        (
            "await resume partial function for GRPCCore.GRPCClient.runConnections() async throws -> ()",
            "GRPCClient.runConnections"
        ),
        ("closure #1 @Sendable () -> () in CacheTests.onAThread() -> ()", "closure #1 in onAThread"),
        (
            "NIOCore.EventLoopFuture.(getError in _5F1D)<A where A: Swift.Sendable>() -> Swift.Optional<Swift.Error>",
            "EventLoopFuture.getError"
        ),
    ])
    func swiftNamesAsPeopleWriteThem(demangled: String, expected: String) {
        #expect(Symbolizer.functionName(mangled: "$s", demangled: demangled) == expected)
    }

    /// glibc's `start_thread` is an internal function of a stripped library: the symbol table's nearest
    /// export below it (`pthread_condattr_setpshared`) does not cover it, so that name is never given.
    @Test func anExportThatDoesNotCoverTheAddressDoesNotNameIt() throws {
        let frames = Guarded<[UInt]>([])
        ProcessorThread { frames.value = StackTrace.capture().addresses }.join()
        // The thread's outermost frames are the C library's: start_thread, then clone.
        let outer = try #require(frames.value.suffix(2).first)
        let name = Symbolizer.symbol(at: outer)?.name
        #expect(name == nil || name == "start_thread", "\(name ?? "nil")")
        let site = CodeSite(returnAddress: outer)
        #expect(site.module.hasPrefix("libc.so"))
        #expect(!site.description.contains("pthread_condattr"))
    }

    /// A site in this process is looked up when shown, and read back from JSON as it was shown.
    @Test func aCodeSiteRoundTripsThroughJSONWithWhatWasLookedUp() throws {
        let frames = StackTrace.capture().addresses
        let site = Site.code(CodeSite(returnAddress: try #require(frames.first)))
        let decoded = try JSONDecoder().decode(Site.self, from: JSONEncoder().encode(site))
        #expect(decoded == site)
        #expect(decoded.description == site.description)
        #expect(site.code?.location.function?.contains("aCodeSiteRoundTripsThroughJSON") == true, "\(site)")
    }
}
