import Events
import Foundation
import Synchronization
import WAL

/// The durable cursor of one remote-write endpoint: a small JSON file beside the WAL
/// (`remote_write/NAME.json` under the storage path), written to a temporary file and renamed
/// over the old one after every acknowledged request, so it is always whole.
///
/// It is the source of truth for where forwarding resumes: the SQLite index may be deleted
/// and rebuilt without anything being sent twice or skipped. It is not fsynced on every write:
/// a process crash (kill -9) loses nothing written, and a power loss can only leave it at an
/// older state, which costs samples sent again (refused by the receiver as already delivered
/// and counted), never samples lost.
public final class DeliveryCursorFile: DeliveryProgressStore {
    /// The file's path.
    public let path: String
    private let scratch = Mutex<Data>(Data())

    /// A cursor file at `path`; its directory is created when missing.
    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// The file for endpoint `name` under the storage path `root`. Names are kept readable;
    /// characters a file name must not have are replaced, and a hash keeps replaced names apart.
    public static func path(root: String, endpoint name: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        var safe = String(name.map { allowed.contains($0) ? $0 : "_" })
        if safe != name || safe.hasPrefix(".") || safe.isEmpty {
            let key = TargetKey.hash(Array(name.utf8))
            safe = "_" + safe + "-" + String(key, radix: 16)
        }
        return root + "/remote_write/" + safe + ".json"
    }

    private struct Stored: Codable {
        struct Point: Codable {
            var segment: Int
            var offset: Int
            var samples: Int?
        }
        struct Shard: Codable {
            var acknowledged: Point?
            var sent: Point?
        }
        var version: Int
        var mapping: String
        var committed: Point?
        var shards: [Shard]
    }

    /// The stored progress; nil when there is no file yet.
    ///
    /// - Throws: when the file exists but cannot be read or does not parse.
    public func load() throws -> DeliveryProgress? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let stored: Stored
        do {
            stored = try JSONDecoder().decode(Stored.self, from: data)
        } catch {
            throw DeliveryCursorError(path: path, message: "does not parse: \(error)")
        }
        guard stored.version == 1 else {
            throw DeliveryCursorError(path: path, message: "has version \(stored.version); this agentd reads 1")
        }
        func mark(_ point: Stored.Point?) -> DeliveryProgress.Mark? {
            point.map {
                .init(
                    position: Forwarder.pack(Position(segment: $0.segment, offset: $0.offset)), samples: $0.samples ?? 0
                )
            }
        }
        return DeliveryProgress(
            committed: stored.committed.map { Forwarder.pack(Position(segment: $0.segment, offset: $0.offset)) },
            acknowledged: stored.shards.map { mark($0.acknowledged) }, sent: stored.shards.map { mark($0.sent) },
            mapping: stored.mapping)
    }

    public func store(_ progress: DeliveryProgress) throws {
        // Written by hand, not with JSONEncoder: this runs twice per request (it was 10 % of the
        // agent's CPU at 100,000 samples/s). Same shape as `Stored`, keys sorted.
        var text = "{\"committed\":"
        func point(_ position: UInt64, samples: Int?) {
            let unpacked = Forwarder.unpack(position)
            text += "{\"offset\":\(unpacked.offset),"
            if let samples { text += "\"samples\":\(samples)," }
            text += "\"segment\":\(unpacked.segment)}"
        }
        func mark(_ mark: DeliveryProgress.Mark?) {
            if let mark { point(mark.position, samples: mark.samples) } else { text += "null" }
        }
        if let committed = progress.committed { point(committed, samples: nil) } else { text += "null" }
        text += ",\"mapping\":\"" + Self.escape(progress.mapping) + "\",\"shards\":["
        for (index, (acknowledged, sent)) in zip(progress.acknowledged, progress.sent).enumerated() {
            text += index == 0 ? "{\"acknowledged\":" : ",{\"acknowledged\":"
            mark(acknowledged)
            text += ",\"sent\":"
            mark(sent)
            text += "}"
        }
        text += "],\"version\":1}"
        try scratch.withLock { _ in try Self.replace(path, with: Data(text.utf8)) }
    }

    /// A string as a JSON string's contents.
    private static func escape(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Writes `data` to `path + ".tmp"` and renames it over `path`.
    private static func replace(_ path: String, with data: Data) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DeliveryCursorError(path: temporary, errno: errno) }
        defer { close(fd) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else {
            throw DeliveryCursorError(path: temporary, errno: written < 0 ? errno : ENOSPC)
        }
        guard rename(temporary, path) == 0 else { throw DeliveryCursorError(path: path, errno: errno) }
    }
}

/// A cursor file that cannot be written or read.
public struct DeliveryCursorError: Error, CustomStringConvertible {
    public var path: String
    public var message: String

    init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    init(path: String, errno code: Int32) {
        self.init(path: path, message: String(cString: strerror(code)) + " (errno \(code))")
    }

    public var description: String { "\(path): \(message)" }
}
