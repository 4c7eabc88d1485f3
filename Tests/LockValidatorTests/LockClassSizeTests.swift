import Testing

@testable import LockValidator

/// glibc's size of a malloc'd block (`<malloc.h>`, which the Glibc module does not import).
@_silgen_name("malloc_usable_size") private func mallocUsableSize(_ block: UnsafeMutableRawPointer) -> Int

/// A class object is made for each of a program's lock classes (100,000 in the scaling benchmark): its
/// site is kept by number, so that the object fits malloc's 96-byte chunk, and reads back as given.
@Suite struct LockClassSizeTests {
    @Test func aClassObjectFitsNinetySixBytesAndKeepsItsSiteAndNesting() {
        let site = Site.source(SourceSite(fileID: "Tests/LockClassSizeTests.swift", line: 14))
        let lockClass = LockClass.named("test.class-size.\(UInt64.random(in: 0...UInt64.max))", site: site)
        let object = Unmanaged.passUnretained(lockClass).toOpaque()
        #expect(mallocUsableSize(object) <= 88)
        #expect(lockClass.site == site && lockClass.nesting == 0)
        let subclass = lockClass.subclass(3)
        #expect(subclass.nesting == 3 && subclass.base === lockClass)
    }
}
