import FuzzSupport
import Scrape

// The exposition parsers (Prometheus text 0.0.4 and OpenMetrics 1.0) on any bytes, as a scrape
// body and as `agentd check-metrics` input. Beyond "never traps": the body parsed whole and the
// same body fed in chunks (as a socket delivers it) give the same samples or the same error, and
// `checkMetrics` agrees with the parser, and parsing the body again knowing its series (as the
// scrape loop's cache does) changes nothing.

/// What parsing a body produced: a digest of every sample (series bytes, name, labels, value,
/// timestamp, type) or the error.
struct Outcome: Equatable {
    var samples = 0
    var digest: UInt64 = 0xcbf2_9ce4_8422_2325
    var error: ExpositionError?

    mutating func add(_ sample: ExpositionSample) {
        samples += 1
        mix(sample.seriesBytes)
        mix(Array(sample.name().utf8))
        for label in sample.labels() {
            mix(Array(label.name.utf8))
            mix(Array(label.value.utf8))
        }
        mix(sample.value.bitPattern)
        mix(UInt64(bitPattern: sample.timestamp ?? -1))
        mix(UInt64(sample.timestamp == nil ? 0 : 1))
        mix(Array("\(sample.type)".utf8))
    }

    private mutating func mix<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        for byte in bytes { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01b3 }
        digest = (digest ^ 0xff) &* 0x100_0000_01b3
    }

    private mutating func mix(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { mix($0) }
    }
}

/// The body parsed in one piece; `lookup` answers for series bytes (nothing by default) and
/// `check` sees each sample first.
func parseWhole(
    _ body: UnsafeRawBufferPointer, _ format: ExpositionFormat,
    lookup: (UnsafeRawBufferPointer) -> Int? = { _ in nil }, check: (ExpositionSample) -> Void = { _ in }
) -> Outcome {
    var outcome = Outcome()
    var parser = ExpositionParser(format: format)
    do {
        let count = try parser.parse(body, lookup: lookup) { sample in
            check(sample)
            outcome.add(sample)
        }
        fuzzCheck(count == outcome.samples, "parse returned \(count) for \(outcome.samples) samples")
    } catch let error as ExpositionError {
        outcome.error = error
    } catch {
        fuzzCheck(false, "unexpected error \(error)")
    }
    return outcome
}

func parseStreamed(_ body: UnsafeRawBufferPointer, _ format: ExpositionFormat, chunkSize: Int) -> Outcome {
    var outcome = Outcome()
    var parser = ExpositionStreamParser(format: format)
    do {
        var start = 0
        while start < body.count {
            let end = min(start + chunkSize, body.count)
            // A copy per chunk, as a socket's buffer: the parser must not keep views into it.
            try parser.feed(Array(UnsafeRawBufferPointer(rebasing: body[start..<end]))) { outcome.add($0) }
            start = end
        }
        let count = try parser.finish { outcome.add($0) }
        fuzzCheck(count == outcome.samples, "finish returned \(count) for \(outcome.samples) samples")
    } catch let error as ExpositionError {
        outcome.error = error
    } catch {
        fuzzCheck(false, "unexpected error \(error)")
    }
    return outcome
}

func testOneInput(_ body: UnsafeRawBufferPointer) {
    // The chunk size comes from the input's length, so that a saved crash replays exactly.
    let chunkSize = 1 + body.count % 97
    for format in [ExpositionFormat.prometheusText, .openMetrics] {
        // Every series the whole parse gave, as the scrape loop's cache keeps them.
        var known: [[UInt8]: Int] = [:]
        let whole = parseWhole(body, format) { _ in
            nil
        } check: { sample in
            if known[Array(sample.seriesBytes)] == nil { known[Array(sample.seriesBytes)] = known.count }
        }
        let streamed = parseStreamed(body, format, chunkSize: chunkSize)
        fuzzCheck(
            whole == streamed,
            "\(format): whole \(whole) differs from streamed in chunks of \(chunkSize): \(streamed)")
        // Parsed again knowing those series, the text parser skips their label sets' checks: the
        // outcome must not change.
        let knowing = parseWhole(body, format) {
            known[Array($0)]
        } check: { sample in
            fuzzCheck(
                sample.known != nil && sample.known == known[Array(sample.seriesBytes)],
                "\(format): a series seen before was not found: \(Array(sample.seriesBytes))")
        }
        fuzzCheck(whole == knowing, "\(format): whole \(whole) differs from parsed knowing its series: \(knowing)")
        let checked = checkMetrics(Array(body), format: format)
        fuzzCheck(checked == whole.error, "\(format): check-metrics says \(String(describing: checked))")
    }
}

/// libFuzzer's entry point (its own `main`, linked in but not used, refers to it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    testOneInput(fuzzInput(data, size))
    return 0
}

FuzzDriver.run(seeds: { [] }, fuzzOneInput)
