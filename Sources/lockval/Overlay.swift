import ArgumentParser
import Foundation
import LockValidator

/// `lockval overlay`: writes the Mutex overlay, a copy of the toolchain's `Synchronization` module whose
/// `Mutex` calls LockValidatorPthreads. The standard library inlines `Mutex`'s lock and unlock into the
/// program (`@_alwaysEmitIntoClient`: a compare-and-swap of the thread id into a futex word), so there is
/// no call to interpose; the overlay's inlined code calls weak hooks instead, which a program linked with
/// LockValidatorPthreads defines and any other program leaves unset (then it runs the plain `Mutex`). A
/// build finds the overlay before the toolchain's module with `-Xswiftc -I -Xswiftc <directory>`.
struct Overlay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the Mutex overlay: Synchronization.Mutex validated by LockValidatorPthreads.",
        discussion: """
            Builds, for the swiftc on PATH, a copy of its Synchronization module whose Mutex calls \
            LockValidatorPthreads. Then build with it: swift test -Xswiftc -I -Xswiftc <directory>
            """)
    @Option(name: .shortAndLong, help: "The directory to write it to.")
    var output = ".build/lockvalidator-overlay"
    @Option(help: "The Swift compiler whose Synchronization module to copy.")
    var swiftc = "swiftc"

    func run() throws {
        try handlingBadInput {
            let target = try TargetInfo.of(swiftc)
            let interfacePath =
                "\(target.resourcePath)/linux/Synchronization.swiftmodule/\(target.moduleTriple).swiftinterface"
            guard let interface = try? String(contentsOfFile: interfacePath, encoding: .utf8) else {
                throw Failure("\(interfacePath): cannot read the toolchain's Synchronization interface")
            }
            let patched = try MutexOverlay.patched(interface)
            // Absolute: the compiled module names its interface by this path, and a build that rebuilds a
            // module importing Synchronization (Testing's cross-import overlays) reads it from another
            // directory than this one.
            let output = URL(fileURLWithPath: output).standardizedFileURL.path
            let directory = "\(output)/Synchronization.swiftmodule"
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let source = "\(output)/Synchronization.swiftinterface"
            do {
                try TextFile.writeAtomically(patched, to: source)
            } catch {
                throw Failure("\(error)")
            }
            let compiled = "\(directory)/\(target.moduleTriple).swiftmodule"
            let status = try Subprocess.run(
                swiftc,
                [
                    "-frontend", "-compile-module-from-interface", source, "-module-name", "Synchronization",
                    "-o", compiled, "-target", target.triple,
                ])
            guard status == 0 else { throw Failure("\(swiftc) could not compile the overlay (status \(status))") }
            print("lockval: the Mutex overlay for \(target.compilerVersion) is in \(output)")
            print("lockval: build with it: swift test -Xswiftc -I -Xswiftc \(output)")
        }
    }
}

/// What `swiftc -print-target-info` says about the compiler.
struct TargetInfo {
    let triple: String
    let moduleTriple: String
    let resourcePath: String
    let compilerVersion: String

    static func of(_ swiftc: String) throws -> TargetInfo {
        let (status, text) = try Subprocess.output(swiftc, ["-print-target-info"])
        struct Info: Decodable {
            struct Target: Decodable {
                let triple: String
                let moduleTriple: String
            }
            struct Paths: Decodable { let runtimeResourcePath: String }
            let compilerVersion: String
            let target: Target
            let paths: Paths
        }
        guard status == 0, let info = try? JSONDecoder().decode(Info.self, from: Data(text.utf8)) else {
            throw Failure("\(swiftc) -print-target-info did not answer (is \(swiftc) a Swift compiler?)")
        }
        return TargetInfo(
            triple: info.target.triple, moduleTriple: info.target.moduleTriple,
            resourcePath: info.paths.runtimeResourcePath, compilerVersion: info.compilerVersion)
    }
}

/// Runs a program and waits.
enum Subprocess {
    static func run(_ program: String, _ arguments: [String]) throws -> Int32 {
        let process = try start(program, arguments, output: nil)
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func output(_ program: String, _ arguments: [String]) throws -> (Int32, String) {
        let pipe = Pipe()
        let process = try start(program, arguments, output: pipe)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private static func start(_ program: String, _ arguments: [String], output: Pipe?) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        if let output { process.standardOutput = output }
        do {
            try process.run()
        } catch {
            throw Failure("cannot run \(program): \(error)")
        }
        return process
    }
}
