#if canImport(Glibc)
    import Glibc
#endif

/// The directory this process's WAL target writes its files in, made on first use and removed
/// (with the files in it) when the process exits: in `$TMPDIR` when set, else in /dev/shm (a
/// repair syncs what it writes, nearly free in memory), else in /tmp.
public let fuzzTemporaryDirectory: String = {
    let base = getenv("TMPDIR").map { String(cString: $0) } ?? (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp")
    var template = Array("\(base)/agentd-fuzz-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
        perror("mkdtemp")
        exit(1)
    }
    let path = String(cString: made)
    temporaryDirectoryToRemove = path
    atexit {
        if let path = temporaryDirectoryToRemove { removeTree(path) }
    }
    return path
}()

/// Removes `path`, and everything in it when it is a directory.
private func removeTree(_ path: String) {
    guard let directory = opendir(path) else {
        unlink(path)
        return
    }
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) {
            String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
        }
        if name != "." && name != ".." { removeTree(path + "/" + name) }
    }
    closedir(directory)
    rmdir(path)
}

nonisolated(unsafe) private var temporaryDirectoryToRemove: String?

/// Replaces the file at `path` with `bytes`.
public func fuzzWriteFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else {
        perror(path)
        abort()
    }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    guard written == bytes.count else {
        perror(path)
        abort()
    }
}

/// The bytes of the file at `path` (empty when it cannot be read).
public func fuzzReadFile(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { break }
        bytes += buffer[..<count]
    }
    return bytes
}

/// Removes the file at `path` if there is one.
public func fuzzRemoveFile(_ path: String) {
    unlink(path)
}
