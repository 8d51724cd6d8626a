import DNSLookup
import HTTPSecurity
import Scrape
import Testing

@testable import Config

@Suite("discovery.dns, discovery.http, discovery.docker and target_limit")
struct DiscoveryComponentTests {
    private func parse(_ source: String) throws(Diagnostic) -> AgentConfig {
        try AgentConfig.parse(source: source, filename: "config.alloy", context: EvaluationContext(hostname: "h"))
    }

    @Test func dnsDiscoveryFeedsAScrapeWithAlloysDefaults() throws {
        let config = try parse(
            """
            discovery.dns "peers" {
            	names = ["_metrics._tcp.example.org"]
            }
            discovery.dns "hosts" {
            	names            = ["web.example.org", "db.example.org"]
            	type             = "A"
            	port             = 9100
            	refresh_interval = "5s"
            }
            prometheus.scrape "s" {
            	targets    = discovery.dns.hosts.targets
            	forward_to = []
            	target_limit = 10
            }
            """)
        let srv = try #require(config.dnsDiscoveries.first)
        #expect(srv.type == .srv && srv.port == 0 && srv.refreshInterval == .seconds(30))
        let hosts = try #require(config.dnsDiscoveries.last)
        #expect(hosts.names == ["web.example.org", "db.example.org"])
        #expect(hosts.type == .a && hosts.port == 9100 && hosts.refreshInterval == .seconds(5))
        let scrape = try #require(config.scrape("s"))
        #expect(scrape.targets == .discovered(ComponentID(name: "discovery.dns", label: "hosts")))
        #expect(scrape.targetLimit == 10)
    }

    @Test func httpDiscoveryTakesTheClientSettings() throws {
        let config = try parse(
            """
            discovery.http "fleet" {
            	url = "https://sd.example.org/targets"
            	refresh_interval = "15s"
            	bearer_token = "t0ken"
            	tls_config {
            		insecure_skip_verify = true
            	}
            }
            prometheus.scrape "s" {
            	targets    = discovery.http.fleet.targets
            	forward_to = []
            }
            """)
        let http = try #require(config.httpDiscoveries.first)
        #expect(http.url == "https://sd.example.org/targets")
        #expect(http.refreshInterval == .seconds(15))
        #expect(http.http.tls?.insecureSkipVerify == true)
        #expect(http.http.authorization == .credentials(type: "Bearer", credentials: .inline(Secret("t0ken"))))
    }

    @Test func dockerDiscoveryTakesAlloysAttributesAndDefaults() throws {
        let config = try parse(
            """
            discovery.docker "local" {
            	host             = "unix:///run/podman/podman.sock"
            	follow_redirects = true
            }
            discovery.docker "remote" {
            	host                 = "tcp://docker.example.org:2376"
            	port                 = 9100
            	host_networking_host = "10.0.0.1"
            	match_first_network  = false
            	refresh_interval     = "15s"
            	filter {
            		name   = "label"
            		values = ["scrape=true"]
            	}
            	filter {
            		name   = "status"
            		values = ["running", "paused"]
            	}
            	tls_config {
            		ca_file = "/etc/docker/ca.pem"
            	}
            	basic_auth {
            		username = "u"
            		password = "p"
            	}
            }
            prometheus.scrape "s" {
            	targets    = discovery.docker.remote.targets
            	forward_to = []
            }
            """)
        let local = try #require(config.dockerDiscoveries.first)
        #expect(local.host == .unix(path: "/run/podman/podman.sock"))
        #expect(local.port == 80 && local.hostNetworkingHost == "localhost" && local.matchFirstNetwork)
        #expect(local.refreshInterval == .seconds(60) && local.filters.isEmpty)
        let remote = try #require(config.dockerDiscoveries.last)
        // A tls_config makes tcp:// HTTPS, as the Docker CLI's --tlsverify.
        #expect(remote.host == .http(baseURL: "https://docker.example.org:2376"))
        #expect(remote.port == 9100 && remote.hostNetworkingHost == "10.0.0.1" && !remote.matchFirstNetwork)
        #expect(remote.refreshInterval == .seconds(15))
        #expect(
            remote.filters == [
                .init(name: "label", values: ["scrape=true"]), .init(name: "status", values: ["running", "paused"]),
            ])
        #expect(remote.http.tls?.certificateAuthority == .file("/etc/docker/ca.pem"))
        #expect(remote.http.authorization == .basic(username: "u", password: .inline(Secret("p"))))
        #expect(remote.discovery.filters == remote.filters && remote.discovery.port == 9100)
        #expect(config.scrape("s")?.targets == .discovered(remote.id))
    }

    @Test(arguments: [
        (
            "discovery.dns \"d\" {\n\tnames = [\"a.example.org\"]\n\ttype = \"A\"\n}",
            "1:1: discovery.dns \"d\" needs a port for A records (only SRV records carry their own)"
        ),
        (
            "discovery.dns \"d\" {\n\tnames = [\"a.example.org\"]\n\ttype = \"TXT\"\n}",
            "3:9: attribute \"type\" of discovery.dns \"d\" must be one of \"A\", \"AAAA\", \"SRV\", \"MX\", \"NS\", not \"TXT\""
        ),
        (
            "discovery.dns \"d\" {\n\tnames = []\n}",
            "2:10: attribute \"names\" of discovery.dns \"d\" must list at least one name, none empty"
        ),
        (
            "discovery.dns \"d\" {\n\tnames = [\"a\"]\n\tport = 70000\n}",
            "3:9: attribute \"port\" of discovery.dns \"d\" must be at most 65535"
        ),
        (
            "discovery.http \"h\" {\n\turl = \"ftp://x/y\"\n}",
            "2:8: attribute \"url\" of discovery.http \"h\" must be an http:// or https:// URL with a host, not \"ftp://x/y\""
        ),
        (
            "discovery.http \"h\" {\n\turl = \"http://x/\"\n\toauth2 {\n\t}\n}",
            "3:2: block \"oauth2\" of discovery.http \"h\" is an Alloy block that agentd does not support yet; supported blocks: authorization, basic_auth, tls_config"
        ),
        (
            "discovery.docker \"d\" {\n\thost = \"/var/run/docker.sock\"\n}",
            "2:9: attribute \"host\" of discovery.docker \"d\" must be a unix:///path/to/socket, tcp://, http:// or https:// URL, not \"/var/run/docker.sock\""
        ),
        (
            "discovery.docker \"d\" {\n\tport = 80\n}",
            "1:1: missing required attribute \"host\" in discovery.docker \"d\""
        ),
        (
            "discovery.docker \"d\" {\n\thost = \"unix:///var/run/docker.sock\"\n\tport = 65536\n}",
            "3:9: attribute \"port\" of discovery.docker \"d\" must be at most 65535"
        ),
        (
            "discovery.docker \"d\" {\n\thost = \"unix:///var/run/docker.sock\"\n\trefresh_interval = \"0s\"\n}",
            "3:21: attribute \"refresh_interval\" of discovery.docker \"d\" must be greater than 0"
        ),
        (
            "discovery.docker \"d\" {\n\thost = \"unix:///var/run/docker.sock\"\n\tfilter {\n\t\tname = \"label\"\n\t}\n}",
            "3:2: missing required attribute \"values\" in filter"
        ),
        (
            "discovery.docker \"d\" {\n\thost = \"unix:///var/run/docker.sock\"\n\tfilter {\n\t\tname = \"\"\n\t\tvalues = []\n\t}\n}",
            "4:10: attribute \"name\" of filter in discovery.docker \"d\" must not be empty"
        ),
        (
            "discovery.docker \"d\" {\n\thost = \"unix:///var/run/docker.sock\"\n\tbearer_token = \"t\"\n}",
            "3:2: \"bearer_token\" of discovery.docker \"d\" applies to a tcp://, http:// or https:// host only, not to the unix socket unix:///var/run/docker.sock"
        ),
        (
            "discovery.docker \"d\" {\n\thost = \"tcp://docker:2375\"\n\toauth2 {\n\t}\n}",
            "3:2: block \"oauth2\" of discovery.docker \"d\" is an Alloy block that agentd does not support yet; supported blocks: authorization, basic_auth, filter, tls_config"
        ),
        (
            "prometheus.scrape \"s\" {\n\ttargets = []\n\tforward_to = []\n\ttarget_limit = -1\n}",
            "4:17: attribute \"target_limit\" of prometheus.scrape \"s\" must be at least 0, got -1"
        ),
    ])
    func refusesWithWhereAndWhat(source: String, message: String) {
        #expect(throws: Diagnostic.self) { try parse(source) }
        do {
            _ = try parse(source)
        } catch {
            #expect(error.description == "config.alloy:\(message)")
        }
    }
}
