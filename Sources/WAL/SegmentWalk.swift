/// Walks one segment's records by their headers, reading in full only the records
/// whose type the caller asks for. This is how a reader finds the seek points and
/// the definitions it needs inside a segment without checksumming or decompressing
/// everything in between.
///
/// What the walk steps over is not verified: a reader that needs those records reads
/// them with `LogReader`, which checks every one. Damage met on the way ends the walk
/// without a resync: a header that fails the format's rules (the walk cannot know where
/// its record ends), a record that runs past the end of the file, or a record of a type
/// asked for whose checksum or lz4 block is bad. The walk reports `.damaged` there and
/// goes no further; a reader started from a point before it meets the same damage,
/// reports it and resyncs. Damage inside a record that is stepped over goes unnoticed.
/// Padding records (what `Repair` writes over damage) are valid records: the walk steps
/// over them and never returns them, whatever `read` says.
public struct SegmentWalk {
    public enum Step {
        /// A record of a type that was asked for, intact.
        case record(StoredRecord)
        /// The segment's records end here.
        case end(Position)
        /// The walk cannot go on: a bad header, a torn record or a failed checksum.
        case damaged(CorruptionError)
    }

    private var scanner: SegmentScanner

    public init(directory: String, segment: Int) throws {
        scanner = try SegmentScanner(directory: directory, segment: segment)
        if let cause = try scanner.headerProblem() {
            throw CorruptionError(position: Position(segment: segment, offset: 0), cause: cause)
        }
    }

    /// The next record whose type `read` accepts.
    public mutating func next(reading read: (UInt8) -> Bool) throws -> Step {
        while true {
            guard let step = try scanner.skip(reading: { $0 != RecordFrame.paddingType && read($0) }) else {
                continue
            }
            switch step {
            case .record(let record): return .record(record)
            case .end(let position): return .end(position)
            case .incomplete(let error), .corrupt(let error): return .damaged(error)
            }
        }
    }
}
