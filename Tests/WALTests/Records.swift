import Foundation
import TestSupport
import Testing
import WAL

/// A record whose payload is derived from `index`: compressible when `index` is even.
func sampleRecord(_ index: Int, size: Int? = nil) -> Record {
    var generator = SeededGenerator(seed: UInt64(index))
    let count = size ?? (1 + index * 37 % 900)
    let payload: [UInt8] =
        index.isMultiple(of: 2)
        ? (0..<count).map { UInt8(truncatingIfNeeded: $0 / 16 + index) }
        : (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    return Record(type: UInt8(1 + index % 5), payload: payload)
}

func readAll(_ directory: String, from: Position = Position(segment: 0, offset: 0)) throws -> (
    [StoredRecord], [CorruptionError]
) {
    var reader = try LogReader(directory: directory, from: from)
    var records: [StoredRecord] = []
    while let record = try reader.next() { records.append(record) }
    return (records, reader.corruptions)
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? -1
}

/// What a `LogReader` returns from `from` on, with the positions of the records it
/// returned with `lostSinceLastRecord` set, and the damage it reported.
func readWithLosses(_ directory: String, from: Position = Position(segment: 0, offset: 0)) throws -> (
    records: [StoredRecord], lost: [Position], corruptions: [CorruptionError]
) {
    var reader = try LogReader(directory: directory, from: from)
    var records: [StoredRecord] = []
    var lost: [Position] = []
    while let record = try reader.next() {
        records.append(record)
        if reader.lostSinceLastRecord { lost.append(record.position) }
    }
    #expect(!reader.lostSinceLastRecord)
    return (records, lost, reader.corruptions)
}

/// Replaces the bytes of the file at `path` from `offset` on with `bytes`.
func overwrite(_ path: String, at offset: Int, with bytes: [UInt8]) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: bytes)
    try handle.close()
}

/// The bytes of the file at `path`.
func contents(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Flips the bits of `mask` in the byte at `offset` of the file at `path`.
func flip(_ path: String, at offset: Int, mask: UInt8 = 0x10) throws {
    let bytes = try contents(path)
    try overwrite(path, at: offset, with: [bytes[offset] ^ mask])
}
