import Foundation

/// A tmpfs of a few hundred KiB mounted for one test: a real disk that fills up. Mounting
/// needs root, which the test environment has. Use it through `withSmallDisk`, which
/// unmounts it when the body returns.
public struct SmallDisk: Sendable {
    public let path: String

    fileprivate init(at path: String, size: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path]) == 0 else {
            throw TestSupportError("could not mount a tmpfs at \(path): this test needs root")
        }
        self.path = path
    }

    fileprivate func unmount() { _ = Self.run("/bin/umount", ["-l", path]) }

    /// Fills the disk with a file of `bytes` bytes at `name`; returns its path.
    @discardableResult
    public func fill(_ name: String, bytes: Int) -> String {
        let file = path + "/" + name
        _ = FileManager.default.createFile(atPath: file, contents: Data(count: bytes))
        return file
    }

    /// Fills what is left of the disk with a file at `name` (written until the disk refuses
    /// more); returns its path.
    @discardableResult
    public func fillUp(_ name: String) -> String {
        let file = path + "/" + name
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return file }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 16 << 10)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        return file
    }

    private static func run(_ command: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return -1
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Runs `body` with a tmpfs of `size` (such as "512k") mounted at `path`.
public func withSmallDisk<Result>(at path: String, size: String, _ body: (SmallDisk) throws -> Result) throws -> Result
{
    let disk = try SmallDisk(at: path, size: size)
    defer { disk.unmount() }
    return try body(disk)
}

/// Runs `body` with a tmpfs of `size` (such as "512k") mounted at `path`.
public func withSmallDisk<Result>(
    at path: String, size: String, _ body: (SmallDisk) async throws -> Result
) async throws -> Result {
    let disk = try SmallDisk(at: path, size: size)
    defer { disk.unmount() }
    return try await body(disk)
}
