import HTTPSecurity
import NIOCore
import NIOHTTP1
import NIOPosix
import TestSupport
import Testing

@testable import Scrape

/// The scrape client for plain `http://` targets, against a real node exporter.
@Suite struct PlainHTTPScrapeTests {
    /// A connection stays open for the target's next scrape; when the target restarts, the
    /// connection it closed is replaced and the scrape still succeeds.
    @Test(.timeLimit(.minutes(1))) func aConnectionIsKeptForTheNextScrapeAndReplacedOnceTheTargetClosedIt()
        async throws
    {
        var (exporter, port) = try await startNodeExporter(name: "plain-http-exporter")
        defer { _ = exporter.stop() }
        let connections = PlainHTTPConnections<ScrapeResponseAccumulator>(receiveBufferLimit: 16 << 10)
        let url = try #require(PlainHTTPURL("http://127.0.0.1:\(port)/metrics"))
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        func scrape() async throws -> ScrapeResponse {
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: url.authority)
            headers.add(name: "Accept-Encoding", value: "gzip")
            let outcome = try await connections.send(
                HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target, headers: headers), to: url, on: loop,
                deadline: .now() + .seconds(20), reader: ScrapeResponseAccumulator(limit: 0))
            guard case .response(let response) = outcome else { throw TestSupportError("redirected: \(outcome)") }
            return response
        }

        for _ in 0..<3 {
            let response = try await scrape()
            // gzip (the exporter's answer to Accept-Encoding) decoded: the text exposition.
            #expect(String(decoding: response.body, as: UTF8.self).contains("\nnode_cpu_seconds_total{"))
            #expect(response.contentType?.hasPrefix("text/plain") == true)
        }
        #expect(connections.opened == 1)

        _ = await exporter.terminate()
        (exporter, _) = try await startNodeExporter(name: "plain-http-exporter-again", port: port)
        let response = try await scrape()
        #expect(String(decoding: response.body, as: UTF8.self).contains("\nnode_cpu_seconds_total{"))
        #expect(connections.opened == 2)
    }

    @Test(.timeLimit(.minutes(1))) func aRefusedConnectionNamesTheAddressAndTheReason() async throws {
        let port = freePort()
        let url = try #require(PlainHTTPURL("http://127.0.0.1:\(port)/metrics"))
        await #expect {
            _ = try await PlainHTTPConnections<ScrapeResponseAccumulator>(receiveBufferLimit: 16 << 10).send(
                HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target), to: url,
                on: MultiThreadedEventLoopGroup.singleton.next(), deadline: .now() + .seconds(20),
                reader: ScrapeResponseAccumulator(limit: 0))
        } throws: { error in
            (error as? PlainHTTPError)?.message
                == "connect to 127.0.0.1:\(port) failed: Connection refused (at 127.0.0.1:\(port))"
        }
    }
}
