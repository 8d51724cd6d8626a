import HTTPSecurity
import Testing

/// Which URLs the plain HTTP/1.1 client takes, and what a request to each needs.
@Suite struct PlainHTTPURLTests {
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
}
