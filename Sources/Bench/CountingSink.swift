import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import RemoteWrite
import Synchronization

/// `agentd-bench sink --port P`: a remote-write receiver that costs little, for measuring how
/// many samples an agent can deliver when the receiver is not the bottleneck (a Prometheus
/// receiver takes about 0.9 cores per 100,000 samples/s, half of this machine). It decompresses
/// each request and counts its samples by walking the protobuf (no labels decoded), answers 204,
/// and serves its counters at `GET /metrics`: `sink_samples_total`, `sink_series_total` (the
/// `TimeSeries` entries), `sink_requests_total`, `sink_compressed_bytes_total` and
/// `sink_uncompressed_bytes_total` (request bodies before and after snappy: every agent's bytes
/// per sample measured the same way, at the receiver), and `sink_bad_requests_total` (a body that
/// is not a snappy-compressed WriteRequest: answered 400).
func runSink(arguments: [String]) throws {
    var port = 0
    var index = 0
    while index < arguments.count {
        switch arguments[index] {
        case "--port":
            guard index + 1 < arguments.count, let value = Int(arguments[index + 1]) else {
                print("sink: --port needs a number")
                exit(2)
            }
            port = value
            index += 2
        default:
            print("sink: unknown argument \(arguments[index]) (usage: agentd-bench sink --port P)")
            exit(2)
        }
    }
    let counters = SinkCounters()
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let channel = try bindLocalHTTPServer(group: group, port: port) { CountingHandler(counters: counters) }
    FileHandle.standardOutput.write(Data("sink listening on 127.0.0.1:\(channel.localAddress?.port ?? port)\n".utf8))
    try channel.closeFuture.wait()
}

final class SinkCounters: Sendable {
    let samples = Atomic<Int>(0)
    let series = Atomic<Int>(0)
    let requests = Atomic<Int>(0)
    let compressedBytes = Atomic<Int>(0)
    let uncompressedBytes = Atomic<Int>(0)
    let badRequests = Atomic<Int>(0)
}

/// The series (field 1 `TimeSeries` entries) and samples (field 2 entries of each) in a
/// `prometheus.WriteRequest`; nil when the message does not parse.
func countSamples(_ message: [UInt8]) -> (series: Int, samples: Int)? {
    var index = 0
    var series = 0
    var samples = 0
    func varint(_ end: Int) -> Int? {
        var value = 0
        var shift = 0
        while index < end, shift < 64 {
            let byte = message[index]
            index += 1
            value |= Int(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }
    while index < message.count {
        guard let key = varint(message.count), key & 7 == 2, let length = varint(message.count),
            length >= 0, index + length <= message.count
        else { return nil }
        let end = index + length
        if key >> 3 == 1 {
            series += 1
            while index < end {
                guard let inner = varint(end), inner & 7 == 2, let size = varint(end), size >= 0, index + size <= end
                else { return nil }
                if inner >> 3 == 2 { samples += 1 }
                index += size
            }
        }
        index = end
    }
    return (series, samples)
}

private final class CountingHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let counters: SinkCounters
    private var method = HTTPMethod.GET
    private var body: [UInt8] = []

    init(counters: SinkCounters) { self.counters = counters }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            method = head.method
            body.removeAll(keepingCapacity: true)
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            if method == .POST {
                let message = try? Snappy.uncompress(body)
                if let message, let count = countSamples(message) {
                    counters.requests.add(1, ordering: .relaxed)
                    counters.series.add(count.series, ordering: .relaxed)
                    counters.samples.add(count.samples, ordering: .relaxed)
                    counters.compressedBytes.add(body.count, ordering: .relaxed)
                    counters.uncompressedBytes.add(message.count, ordering: .relaxed)
                    respond(context, .noContent, "")
                } else {
                    counters.badRequests.add(1, ordering: .relaxed)
                    respond(context, .badRequest, "not a snappy-compressed WriteRequest\n")
                }
            } else {
                respond(
                    context, .ok,
                    "sink_samples_total \(counters.samples.load(ordering: .relaxed))\n"
                        + "sink_series_total \(counters.series.load(ordering: .relaxed))\n"
                        + "sink_requests_total \(counters.requests.load(ordering: .relaxed))\n"
                        + "sink_compressed_bytes_total \(counters.compressedBytes.load(ordering: .relaxed))\n"
                        + "sink_uncompressed_bytes_total \(counters.uncompressedBytes.load(ordering: .relaxed))\n"
                        + "sink_bad_requests_total \(counters.badRequests.load(ordering: .relaxed))\n")
            }
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ text: String) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "\(text.utf8.count)")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !text.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
