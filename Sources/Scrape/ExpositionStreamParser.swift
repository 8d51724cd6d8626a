/// Parses an exposition arriving in chunks (as read from a socket): complete lines are parsed
/// in place from each chunk, a partial line is buffered until its newline arrives. Yields the
/// same samples and errors, at the same line and column, as ``ExpositionParser/parse(_:onSample:)``
/// on the whole body. After an error the parser must not be fed again.
public struct ExpositionStreamParser {
    private var parser: ExpositionParser
    private var pending: [UInt8] = []

    public init(format: ExpositionFormat, limits: ExpositionLimits = .none) {
        parser = ExpositionParser(format: format, limits: limits)
    }

    /// Number of samples parsed so far.
    public var sampleCount: Int { parser.sampleCount }

    /// Parses the complete lines that `chunk` ends; calls `onSample` per sample.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, onSample: (ExpositionSample) throws -> Void) throws {
        guard let base = chunk.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var start = 0
        if !pending.isEmpty {
            let end = ExpositionBytes.firstIndex(of: ExpositionBytes.newline, in: base, count: chunk.count)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: base, count: end))
            guard end < chunk.count else { return }
            try pending.withUnsafeBytes { line in
                try parser.parseLine(line, onSample: onSample)
            }
            pending.removeAll(keepingCapacity: true)
            start = end + 1
        }
        while start < chunk.count {
            let end =
                start
                + ExpositionBytes.firstIndex(of: ExpositionBytes.newline, in: base + start, count: chunk.count - start)
            guard end < chunk.count else {
                pending.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: end - start))
                return
            }
            try parser.parseLine(UnsafeRawBufferPointer(start: base + start, count: end - start), onSample: onSample)
            start = end + 1
        }
    }

    /// Parses the complete lines that `chunk` ends; calls `onSample` per sample.
    public mutating func feed(_ chunk: [UInt8], onSample: (ExpositionSample) throws -> Void) throws {
        try chunk.withUnsafeBytes { try feed($0, onSample: onSample) }
    }

    /// Parses a last line without a newline and checks the end of the input.
    /// - Returns: the number of samples in the whole input.
    @discardableResult
    public mutating func finish(onSample: (ExpositionSample) throws -> Void) throws -> Int {
        if !pending.isEmpty {
            try pending.withUnsafeBytes { line in
                try parser.parseLine(line, onSample: onSample)
            }
            pending.removeAll()
        }
        try parser.finishInput()
        return parser.sampleCount
    }
}
