import Foundation
import Primitives

/// Segment file names: the sequence number as eight zero-padded decimal digits.
public enum SegmentName {
    public static func format(_ segment: Int) -> String {
        String(segment, zeroPaddedTo: 8)
    }

    public static func parse(_ name: String) -> Int? {
        guard name.count == 8, name.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(name)
    }

    public static func path(_ segment: Int, in directory: String) -> String {
        directory + "/" + format(segment)
    }

    /// The segment numbers present in `directory`, ascending. Other files are ignored.
    public static func list(in directory: String) throws -> [Int] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw WALError.io(path: directory, operation: "list directory", errno: ENOENT)
        }
        return names.compactMap(parse).sorted()
    }
}

/// The 8-byte header at the start of every segment file.
public enum SegmentHeader {
    public static let size = 8
    public static let magic: [UInt8] = Array("AGWL".utf8)
    public static let version: UInt8 = 1
    public static let bytes: [UInt8] = magic + [version, 0, 0, 0]

    static func validate(_ header: UnsafeRawBufferPointer) -> CorruptionError.Cause? {
        guard header.count >= size else { return .segmentHeaderShort(bytes: header.count) }
        guard Array(header[0..<4]) == magic else { return .segmentMagic }
        guard header[4] == version else { return .segmentVersion(header[4]) }
        return nil
    }
}
