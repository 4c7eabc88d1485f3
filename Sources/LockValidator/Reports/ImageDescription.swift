import _LockValidatorShims

extension ValidationReport {
    /// An image file a process ran code from, as its report records it for looking its sites up later:
    /// `lockval` asks debug information of the file at `path` only while it is still the file that ran
    /// (the same GNU build id).
    public struct ImageDescription: Sendable, Codable, Hashable {
        /// The file's name, as code sites name their module (`AppPackageTests.xctest`, `libFoo.so`).
        public var module: String
        /// Its absolute path when the process ran.
        public var path: String
        /// Its GNU build id in hex; nil when the file has none (then the path alone is trusted).
        public var buildID: String?

        public init(module: String, path: String, buildID: String?) {
            self.module = module
            self.path = path
            self.buildID = buildID
        }

        /// The images of this process that hold `sites`, each once.
        static func images(holding sites: [CodeSite]) -> [ImageDescription] {
            var seen: [String: ImageDescription] = [:]
            for site in sites where seen[site.module] == nil {
                var bias: UInt = 0
                var path: UnsafePointer<CChar>?
                guard let address = site.address, lv_image_of(address, &bias, &path) == 0, let path else { continue }
                let buildID = lv_image_build_id(address).map { String(cString: $0) }
                seen[site.module] = ImageDescription(
                    module: site.module, path: String(cString: path), buildID: buildID?.isEmpty == false ? buildID : nil
                )
            }
            return seen.values.sorted { $0.module < $1.module }
        }

        /// Whether the file at `path` is still the one that ran.
        var isUnchanged: Bool {
            var hex = [CChar](repeating: 0, count: 129)
            guard lv_file_build_id(path, &hex) == 0 else { return false }
            guard let buildID else { return true }
            return String(decoding: hex.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) == buildID
        }
    }
}
