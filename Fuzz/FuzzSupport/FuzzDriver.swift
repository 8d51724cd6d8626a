import CFuzzer

#if canImport(Glibc)
    import Glibc
#endif

/// The `main` of every fuzz target. SwiftPM gives an executable its own `main`, so a target does
/// not rely on libFuzzer's: it calls ``run(seeds:_:)``, which hands the command line to
/// libFuzzer's driver (`LLVMFuzzerRunDriver`), or writes the target's seed corpus when asked to.
public enum FuzzDriver {
    /// One input of a seed corpus: a file name and its bytes.
    public struct Seed {
        public var name: String
        public var bytes: [UInt8]

        public init(_ name: String, _ bytes: [UInt8]) {
            self.name = name
            self.bytes = bytes
        }
    }

    /// With the arguments `--write-seeds DIR`, writes `seeds()` into DIR (one file each) and
    /// exits; otherwise runs libFuzzer with the command line (`-help=1` lists its flags),
    /// calling `testOneInput` on every input.
    public static func run(
        seeds: () -> [Seed],
        _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> Never {
        let arguments = CommandLine.arguments
        if arguments.count == 3, arguments[1] == "--write-seeds" {
            exit(write(seeds(), to: arguments[2]) ? 0 : 1)
        }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
    }

    private static func write(_ seeds: [Seed], to directory: String) -> Bool {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            perror(directory)
            return false
        }
        for seed in seeds {
            let path = directory + "/" + seed.name
            guard let file = fopen(path, "wb") else {
                perror(path)
                return false
            }
            let written = seed.bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
            guard written == seed.bytes.count else { return false }
            print("wrote \(path) (\(seed.bytes.count) bytes)")
        }
        return true
    }
}

/// The bytes libFuzzer hands a target, as a buffer (empty when `data` is nil).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeRawBufferPointer {
    guard let data, size > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: data, count: size)
}

/// Stops the fuzzer on a broken invariant (libFuzzer saves the input as a crash).
public func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        fuzzLog("fuzz invariant broken: \(message())")
        abort()
    }
}

/// Writes a line to standard error, unbuffered (so that it survives an abort).
public func fuzzLog(_ message: String) {
    let text = Array((message + "\n").utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
