import Events
import Foundation
import Synchronization
import WAL

/// The durable cursor of one remote-write endpoint: a small file beside the WAL
/// (`remote_write/NAME.cursor` under the storage path), written after every acknowledged
/// request and before every send.
///
/// The file holds two slots of 4 KiB; each store overwrites the older one in place with one
/// `pwrite`: a length, a CRC32C, a sequence number and the progress as JSON (readable with
/// `strings`). Reading takes the valid slot with the higher sequence, so a torn write (a power
/// loss mid-write) costs one step back, never the cursor. One system call per store keeps
/// exact resume cheap (a write-and-rename cost 20 times as much here).
///
/// It is the source of truth for where forwarding resumes: the SQLite index may be deleted
/// and rebuilt without anything being sent twice or skipped. It is not fsynced on every store:
/// a process crash (kill -9) loses nothing written, and a power loss can only leave it at an
/// older state, which costs samples sent again (refused by the receiver as already delivered
/// and counted), never samples lost.
public final class DeliveryCursorFile: DeliveryProgressStore {
    /// The file's path.
    public let path: String
    private let fd: Int32
    /// What stores share: the sequence number of the last store, the last mapping with its JSON
    /// escaping, and the slot buffer.
    private struct State {
        var sequence: UInt64 = 0
        var mapping = ""
        var escapedMapping: [UInt8] = []
        var slot: [UInt8] = []
    }

    private let state = Mutex(State())

    /// Bytes per slot: a 16-byte slot header and the JSON (under 1 KiB for 4 shards).
    static let slotSize = 4096
    private static let slotHeader = 16

    /// A cursor file at `path`, created (with its directory) when missing.
    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DeliveryCursorError(path: path, errno: errno) }
        state.withLock { $0.sequence = (try? self.newestSlot())?.sequence ?? 0 }
    }

    deinit { close(fd) }

    /// The file for endpoint `name` under the storage path `root`. Names are kept readable;
    /// characters a file name must not have are replaced, and a hash keeps replaced names apart.
    public static func path(root: String, endpoint name: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        var safe = String(name.map { allowed.contains($0) ? $0 : "_" })
        if safe != name || safe.hasPrefix(".") || safe.isEmpty {
            let key = TargetKey.hash(Array(name.utf8))
            safe = "_" + safe + "-" + String(key, radix: 16)
        }
        return root + "/remote_write/" + safe + ".cursor"
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

    /// The valid slot with the higher sequence: its sequence and JSON, or nil when neither is valid.
    private func newestSlot() throws -> (sequence: UInt64, json: [UInt8])? {
        var best: (sequence: UInt64, json: [UInt8])?
        for slot in 0..<2 {
            var bytes = [UInt8](repeating: 0, count: Self.slotSize)
            let read = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(slot * Self.slotSize)) }
            guard read >= 0 else { throw DeliveryCursorError(path: path, errno: errno) }
            guard read >= Self.slotHeader else { continue }
            func uint(_ at: Int, _ count: Int) -> UInt64 {
                (0..<count).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
            }
            let length = Int(uint(0, 4))
            guard length > 0, Self.slotHeader + length <= read else { continue }
            let checksum = UInt32(uint(4, 4))
            guard CRC32C.checksum(Array(bytes[8..<(Self.slotHeader + length)])) == checksum else { continue }
            let sequence = uint(8, 8)
            if sequence >= best?.sequence ?? 0 {
                best = (sequence, Array(bytes[Self.slotHeader..<(Self.slotHeader + length)]))
            }
        }
        return best
    }

    /// The stored progress; nil when nothing was stored yet.
    ///
    /// - Throws: when the file cannot be read, or holds slots but none that parses.
    public func load() throws -> DeliveryProgress? {
        guard let newest = try newestSlot() else {
            var status = stat()
            if fstat(fd, &status) == 0, status.st_size > 0 {
                throw DeliveryCursorError(path: path, message: "neither slot is intact")
            }
            return nil
        }
        let stored: Stored
        do {
            stored = try JSONDecoder().decode(Stored.self, from: Data(newest.json))
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
        // Written by hand into a reused buffer, not with JSONEncoder or string interpolation: this
        // runs twice per request. Same shape as `Stored`, keys sorted.
        try state.withLock { state in
            if state.mapping != progress.mapping {
                state.mapping = progress.mapping
                state.escapedMapping = Array(Self.escape(progress.mapping).utf8)
            }
            var slot = SlotWriter(reusing: &state.slot)
            slot.append("{\"committed\":")
            if let committed = progress.committed { slot.point(committed, samples: nil) } else { slot.append("null") }
            slot.append(",\"mapping\":\"")
            slot.bytes += state.escapedMapping
            slot.append("\",\"shards\":[")
            for (index, (acknowledged, sent)) in zip(progress.acknowledged, progress.sent).enumerated() {
                slot.append(index == 0 ? "{\"acknowledged\":" : ",{\"acknowledged\":")
                slot.mark(acknowledged)
                slot.append(",\"sent\":")
                slot.mark(sent)
                slot.append("}")
            }
            slot.append("],\"version\":1}")
            let length = slot.bytes.count - Self.slotHeader
            guard slot.bytes.count <= Self.slotSize else {
                throw DeliveryCursorError(path: path, message: "progress of \(length) bytes does not fit a slot")
            }
            state.sequence += 1
            slot.put(UInt64(length), at: 0, 4)
            slot.put(state.sequence, at: 8, 8)
            let checksum = slot.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[8...])) }
            slot.put(UInt64(checksum), at: 4, 4)
            let offset = off_t(Int(state.sequence % 2) * Self.slotSize)
            let written = slot.bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
            state.slot = slot.bytes
            guard written == state.slot.count else {
                throw DeliveryCursorError(path: path, errno: written < 0 ? errno : ENOSPC)
            }
        }
    }

    /// A slot as it is built: its header's 16 bytes, then the JSON.
    private struct SlotWriter {
        var bytes: [UInt8]

        /// Takes `buffer` (leaving it empty) to write into.
        init(reusing buffer: inout [UInt8]) {
            bytes = []
            swap(&bytes, &buffer)
            bytes.removeAll(keepingCapacity: true)
            bytes.append(contentsOf: repeatElement(0, count: DeliveryCursorFile.slotHeader))
        }

        mutating func append(_ literal: StaticString) {
            literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
        }

        /// `value` in decimal.
        mutating func append(_ value: Int) {
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            var magnitude = value.magnitude
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for the 20 digits of 2⁶⁴ − 1
            withUnsafeMutableBytes(of: &digits) { buffer in
                var start = buffer.count
                repeat {
                    start -= 1
                    buffer[start] = UInt8(truncatingIfNeeded: magnitude % 10) &+ UInt8(ascii: "0")
                    magnitude /= 10
                } while magnitude > 0
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start...]))
            }
        }

        mutating func point(_ position: UInt64, samples: Int?) {
            let unpacked = Forwarder.unpack(position)
            append("{\"offset\":")
            append(unpacked.offset)
            append(",")
            if let samples {
                append("\"samples\":")
                append(samples)
                append(",")
            }
            append("\"segment\":")
            append(unpacked.segment)
            append("}")
        }

        mutating func mark(_ mark: DeliveryProgress.Mark?) {
            if let mark { point(mark.position, samples: mark.samples) } else { append("null") }
        }

        /// Writes `value`'s low `count` bytes, little-endian, at `offset`.
        mutating func put(_ value: UInt64, at offset: Int, _ count: Int) {
            for byte in 0..<count { bytes[offset + byte] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(byte))) }
        }
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
