/// One sample as parsed, viewing the input: valid only inside the parser's callback.
public struct ExpositionSample {
    /// The metric name and label set exactly as written, e.g. `foo{a="b"}`: a consumer hashes
    /// these bytes to recognise a series it has seen before.
    public var seriesBytes: UnsafeRawBufferPointer
    public var value: Double
    /// Milliseconds since the epoch (OpenMetrics seconds are converted, sub-millisecond digits
    /// dropped, saturating at the bounds of `Int64`).
    public var timestamp: Int64?
    /// The type of the family the sample belongs to.
    public var type: ExpositionMetricType
    /// The 1-based number of the sample's line.
    public var line: Int
    /// What the parser's lookup answered for ``seriesBytes`` (nil: not known, or no lookup).
    public var known: Int?
    /// Length of the metric name at the start of `seriesBytes`.
    var nameLength: Int

    /// The metric name.
    public func name() -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: seriesBytes[..<nameLength]), as: UTF8.self)
    }

    /// The labels, unescaped, in written order, without `__name__`. Allocates: meant for
    /// series seen for the first time.
    public func labels() -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        let bytes = seriesBytes
        var i = nameLength
        func skipBlanks() {
            while i < bytes.count, ExpositionBytes.isBlank(bytes[i]) { i += 1 }
        }
        skipBlanks()
        guard i < bytes.count, bytes[i] == ExpositionBytes.openBrace else { return result }
        i += 1
        var value: [UInt8] = []
        while true {
            skipBlanks()
            guard i < bytes.count, ExpositionBytes.isLabelNameStart(bytes[i]) else { return result }
            let nameStart = i
            while i < bytes.count, ExpositionBytes.isLabelNameCharacter(bytes[i]) { i += 1 }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<i]), as: UTF8.self)
            skipBlanks()
            i += 1  // '='
            skipBlanks()
            i += 1  // '"'
            value.removeAll(keepingCapacity: true)
            while i < bytes.count, bytes[i] != ExpositionBytes.quote {
                if bytes[i] == ExpositionBytes.backslash, i + 1 < bytes.count {
                    switch bytes[i + 1] {
                    case ExpositionBytes.backslash, ExpositionBytes.quote: value.append(bytes[i + 1])
                    case 0x6E: value.append(ExpositionBytes.newline)
                    default: value.append(contentsOf: [bytes[i], bytes[i + 1]])
                    }
                    i += 2
                } else {
                    value.append(bytes[i])
                    i += 1
                }
            }
            i += 1  // '"'
            result.append((name, String(decoding: value, as: UTF8.self)))
            skipBlanks()
            if i < bytes.count, bytes[i] == ExpositionBytes.comma { i += 1 }
        }
    }
}
