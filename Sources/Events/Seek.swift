import WAL

/// Where to start decoding a segment, with a decoder ready to start there.
///
/// Samples are coded against earlier samples of the same segment, so decoding
/// normally starts at a segment's start. A checkpoint restarts that chain: from a
/// checkpoint on, a decoder needs only the series the segment defined before it.
/// A seek walks the segment's record headers (`SegmentWalk`), reads just the series
/// and checkpoint records, and stops at the last checkpoint `accept` takes; the
/// samples it steps over are neither checksummed, decompressed nor decoded, and the
/// series' labels are decoded only when asked for.
///
/// Damage ends the walk: decoding starts at the last checkpoint taken before it, or
/// at the segment's start, and the reader reports the damage when it gets there.
/// (Damage inside a samples record the walk steps over goes unseen: that record is
/// not read.)
struct Seek {
    var position: Position
    var decoder = EventDecoder()

    /// Where a reader asked to start at `start` begins: the last checkpoint at or before
    /// it, or the start of its segment (at once, when `start` is there).
    init(directory: String, toward start: Position) {
        if start.offset > SegmentHeader.size {
            self.init(directory: directory, segment: start.segment) { position, _ in position <= start }
        } else {
            self.init(startOf: start.segment)
        }
    }

    private init(startOf segment: Int) {
        position = .start(of: segment)
    }

    /// The last checkpoint in `segment` of the run, from the first, that `accept` takes.
    init(directory: String, segment: Int, accept: (Position, Checkpoint) -> Bool) {
        position = .start(of: segment)
        var decoder = EventDecoder()
        decoder.enter(segment: segment)
        var found: Position?
        do {
            var walk = try SegmentWalk(directory: directory, segment: segment)
            walking: while true {
                switch try walk.next(reading: { $0 == EventKind.series.rawValue || $0 == EventKind.checkpoint.rawValue }
                )
                {
                case .record(let record) where record.type == EventKind.checkpoint.rawValue:
                    guard accept(record.position, try EventCodec.decodeCheckpoint(record.payload)) else {
                        break walking
                    }
                    found = record.position
                case .record(let record):
                    try decoder.defineLazily(record)
                case .end, .damaged:
                    break walking
                }
            }
        } catch {
            found = nil
        }
        // The decoder knows every series defined before the checkpoint, perhaps a few
        // defined after it too, which is harmless: they are defined again when reached.
        if let found {
            position = found
            self.decoder = decoder
        }
    }
}
