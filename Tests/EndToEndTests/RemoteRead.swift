import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Primitives
import RemoteWrite
import TestSupport

/// Prometheus's remote-read API (`POST /api/v1/read`, snappy-compressed protobuf): every raw
/// sample of the matching series, bit-exact and with StaleNaN markers, which the PromQL query
/// API leaves out of range selectors.
///
/// Sent with AsyncHTTPClient: URLSession (libcurl) asks for compressed responses and then
/// refuses the `Content-Encoding: snappy` that Prometheus answers with.
extension PrometheusReceiver {
    /// Every series whose name matches `nameRegex`, with its samples between `from` and `to` (ms).
    func remoteRead(nameRegex: String = ".+", from: Int64, to: Int64) async throws -> [RemoteWriteSeries] {
        var matcher: [UInt8] = []
        ProtobufField.varint(1, 2, into: &matcher)  // type: RE
        ProtobufField.bytes(2, Array("__name__".utf8), into: &matcher)
        ProtobufField.bytes(3, Array(nameRegex.utf8), into: &matcher)
        var query: [UInt8] = []
        ProtobufField.varint(1, UInt64(bitPattern: from), into: &query)
        ProtobufField.varint(2, UInt64(bitPattern: to), into: &query)
        ProtobufField.bytes(3, matcher, into: &query)
        var request: [UInt8] = []
        ProtobufField.bytes(1, query, into: &request)
        var snappy = Snappy()
        let body = request.withUnsafeBytes { Array(snappy.compress($0)) }

        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-protobuf")
        headers.add(name: "Content-Encoding", value: "snappy")
        headers.add(name: "X-Prometheus-Remote-Read-Version", value: "0.1.0")
        let response = try await HTTPClient.shared.execute(
            request: HTTPClient.Request(
                url: url + "/api/v1/read", method: .POST, headers: headers, body: .bytes(body)),
            deadline: .now() + .seconds(60)
        ).get()
        let bytes = response.body.map { Array($0.readableBytesView) } ?? []
        guard response.status == .ok else {
            throw TestSupportError(
                "remote read: HTTP \(response.status.code): \(String(decoding: bytes.prefix(500), as: UTF8.self))")
        }
        // ReadResponse { repeated QueryResult results = 1 }; a QueryResult { repeated TimeSeries
        // timeseries = 1 } has the wire shape of a WriteRequest.
        let message = try Snappy.uncompress(bytes, limit: 1 << 30)
        var series: [RemoteWriteSeries] = []
        var offset = 0
        while offset < message.count {
            let key = try ProtobufField.readVarint(message, &offset)
            guard key == (1 << 3 | 2) else { throw TestSupportError("remote read: unexpected field key \(key)") }
            let length = Int(try ProtobufField.readVarint(message, &offset))
            guard offset + length <= message.count else { throw TestSupportError("remote read: truncated response") }
            series += try WriteRequestDecoder.decode(message[offset..<(offset + length)])
            offset += length
        }
        return series
    }
}

/// The few protobuf encodings a remote-read request needs.
private enum ProtobufField {
    static func varint(_ field: UInt64, _ value: UInt64, into buffer: inout [UInt8]) {
        Varint.append(field << 3, to: &buffer)
        Varint.append(value, to: &buffer)
    }

    static func bytes(_ field: UInt64, _ value: [UInt8], into buffer: inout [UInt8]) {
        Varint.append(field << 3 | 2, to: &buffer)
        Varint.append(UInt64(value.count), to: &buffer)
        buffer += value
    }

    static func readVarint(_ bytes: [UInt8], _ offset: inout Int) throws -> UInt64 {
        guard case .value(let value) = Varint.read(bytes, at: &offset, end: bytes.count) else {
            throw TestSupportError("remote read: bad varint at \(offset)")
        }
        return value
    }
}
