import Scrape
import Testing

/// Parses `bytes` fed in chunks of `chunkSize` bytes: the samples, or the error.
func parseStreamed(_ bytes: [UInt8], _ format: ExpositionFormat, chunkSize: Int) -> Result<
    [CollectedSample], ExpositionError
> {
    expositionResult {
        var samples: [CollectedSample] = []
        var parser = ExpositionStreamParser(format: format)
        var start = 0
        while start < bytes.count {
            let end = min(start + chunkSize, bytes.count)
            try parser.feed(Array(bytes[start..<end])) { samples.append(CollectedSample($0)) }
            start = end
        }
        let count = try parser.finish { samples.append(CollectedSample($0)) }
        #expect(count == samples.count)
        return samples
    }
}

/// An input for the streaming comparison.
struct StreamCase: CustomStringConvertible, Sendable {
    var name: String
    var body: [UInt8]
    var format: ExpositionFormat

    var description: String { name }

    static func all() -> [StreamCase] {
        let conformance = ExpositionConformanceCase.all().map {
            StreamCase(name: "openmetrics/\($0.name)", body: $0.body, format: .openMetrics)
        }
        let text = TextCase.all.enumerated().map {
            StreamCase(name: "text/\($0.offset)", body: Array($0.element.body.utf8), format: .prometheusText)
        }
        return conformance + text
    }
}

@Suite struct ExpositionStreamParserTests {
    @Test(arguments: StreamCase.all())
    func byteByByteAndChunkedFeedingMatchesWholeBodyParsing(_ streamCase: StreamCase) {
        let whole = parseWhole(streamCase.body, streamCase.format)
        for chunkSize in [1, 2, 7, max(streamCase.body.count, 1)] {
            let streamed = parseStreamed(streamCase.body, streamCase.format, chunkSize: chunkSize)
            #expect(streamed == whole, "chunk size \(chunkSize)")
        }
    }

    @Test func samplesAreDeliveredAsSoonAsTheirLineIsComplete() throws {
        var parser = ExpositionStreamParser(format: .prometheusText)
        var seen: [String] = []
        try parser.feed(Array("a 1\nb ".utf8)) { seen.append($0.name()) }
        #expect(seen == ["a"])
        try parser.feed(Array("2\nc 3".utf8)) { seen.append($0.name()) }
        #expect(seen == ["a", "b"])
        let count = try parser.finish { seen.append($0.name()) }
        #expect(seen == ["a", "b", "c"] && count == 3)
    }
}
