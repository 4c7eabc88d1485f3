import _LockValidatorShims

/// A variable in an image's data, such as a static `pthread_mutex_t` that was never initialised through a
/// call (`PTHREAD_MUTEX_INITIALIZER`): lockdep gives each static lock a class of its own, keyed by its
/// address, and so does the validator, named by the variable's symbol.
package struct StaticVariable: Hashable, Sendable {
    /// The image's file name.
    let module: String
    /// The variable's address in the image's own file: the same in every run of one build.
    let moduleAddress: UInt
    /// Its address in this process, for looking up its name.
    let address: UInt

    /// The variable at `address`; nil when `address` is in no image (the heap, a stack).
    package init?(containing address: UInt) {
        var bias: UInt = 0
        var path: UnsafePointer<CChar>?
        guard lv_image_of(address, &bias, &path) == 0, let path else { return nil }
        let file = String(cString: path)
        module = file.split(separator: "/").last.map(String.init) ?? file
        moduleAddress = address &- bias
        self.address = address
    }

    /// `accounts`, `table+0x28` for a lock inside a variable, or `libfoo.so+0x3168` where no symbol names it.
    var name: String {
        guard let (symbol, offset) = Symbolizer.variable(at: address) else {
            return "\(module)+0x\(String(moduleAddress, radix: 16))"
        }
        return symbol + (offset == 0 ? "" : "+0x\(String(offset, radix: 16))")
    }

    package static func == (lhs: StaticVariable, rhs: StaticVariable) -> Bool {
        lhs.moduleAddress == rhs.moduleAddress && lhs.module == rhs.module
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(module)
        hasher.combine(moduleAddress)
    }
}
