import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TestSupport
import Testing

@testable import Scrape

/// The scrape client for plain `http://` targets, against a real node exporter.
@Suite struct PlainHTTPScrapeTests {
    @Test func plainURLsAreCutIntoWhatARequestNeeds() throws {
        let url = try #require(PlainHTTPURL("http://127.0.0.1:9100/metrics?module=cpu&x=%20#fragment"))
        #expect(url.host == "127.0.0.1")
        #expect(url.port == 9100)
        #expect(url.authority == "127.0.0.1:9100")
        #expect(url.target == "/metrics?module=cpu&x=%20")

        let bare = try #require(PlainHTTPURL("HTTP://node-1.example"))
        #expect((bare.host, bare.port, bare.authority, bare.target) == ("node-1.example", 80, "node-1.example", "/"))
        let query = try #require(PlainHTTPURL("http://h:1?a=b"))
        #expect(query.target == "/?a=b")
        let v6 = try #require(PlainHTTPURL("http://[::1]:9100/metrics"))
        #expect((v6.host, v6.port, v6.authority) == ("::1", 9100, "[::1]:9100"))

        // Left to AsyncHTTPClient: another scheme, user information, no host, a bad port.
        for other in [
            "https://127.0.0.1:9100/metrics", "http://user:pass@127.0.0.1/metrics", "http:///metrics", "http://",
            "http://h:/", "http://h:0/", "http://h:65536/", "http://h:9x/", "http://::1/", "http://[::1/",
            "ftp://h/", "http:/h/",
        ] {
            #expect(PlainHTTPURL(other) == nil, "\(other)")
        }
    }

    /// A connection stays open for the target's next scrape; when the target restarts, the
    /// connection it closed is replaced and the scrape still succeeds.
    @Test(.timeLimit(.minutes(1))) func aConnectionIsKeptForTheNextScrapeAndReplacedOnceTheTargetClosedIt()
        async throws
    {
        var (exporter, port) = try await startNodeExporter(name: "plain-http-exporter")
        defer { _ = exporter.stop() }
        let connections = PlainScrapeConnections()
        let url = try #require(PlainHTTPURL("http://127.0.0.1:\(port)/metrics"))
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        func scrape() async throws -> ScrapeResponse {
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: url.authority)
            headers.add(name: "Accept-Encoding", value: "gzip")
            let outcome = try await connections.fetch(
                url, headers: headers, on: loop, deadline: .now() + .seconds(20), limit: 0, timeout: .seconds(20))
            guard case .response(let response) = outcome else { throw TestSupportError("redirected: \(outcome)") }
            return response
        }

        for _ in 0..<3 {
            let response = try await scrape()
            // gzip (the exporter's answer to Accept-Encoding) decoded: the text exposition.
            #expect(String(decoding: response.body, as: UTF8.self).contains("\nnode_cpu_seconds_total{"))
            #expect(response.contentType?.hasPrefix("text/plain") == true)
        }
        #expect(connections.opened.load(ordering: .relaxed) == 1)

        _ = await exporter.terminate()
        (exporter, _) = try await startNodeExporter(name: "plain-http-exporter-again", port: port)
        let response = try await scrape()
        #expect(String(decoding: response.body, as: UTF8.self).contains("\nnode_cpu_seconds_total{"))
        #expect(connections.opened.load(ordering: .relaxed) == 2)
    }

    @Test(.timeLimit(.minutes(1))) func aRefusedConnectionNamesTheAddressAndTheReason() async throws {
        let port = freePort()
        let url = try #require(PlainHTTPURL("http://127.0.0.1:\(port)/metrics"))
        await #expect {
            _ = try await PlainScrapeConnections().fetch(
                url, headers: [:], on: MultiThreadedEventLoopGroup.singleton.next(), deadline: .now() + .seconds(20),
                limit: 0, timeout: .seconds(20))
        } throws: { error in
            (error as? ScrapeError)?.message
                == "connect to 127.0.0.1:\(port) failed: Connection refused (at 127.0.0.1:\(port))"
        }
    }
}
