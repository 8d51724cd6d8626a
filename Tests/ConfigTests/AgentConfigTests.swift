import HTTPSecurity
import Scrape
import Testing

@testable import Config

@Suite("AgentConfig")
struct AgentConfigTests {
    private let context = EvaluationContext(hostname: "host-a", nodeName: "agentd-2", environment: ["TOKEN": "s3cret"])

    private func parse(_ source: String) throws -> AgentConfig {
        try AgentConfig.parse(source: source, filename: "config.alloy", context: context)
    }

    private func failure(_ source: String) -> Diagnostic? {
        #expect(throws: Diagnostic.self) { try parse(source) }
    }

    private let remoteWrite = """
        prometheus.remote_write "default" {
        	endpoint {
        		url = "http://127.0.0.1:9090/api/v1/write"
        	}
        }

        """

    @Test func aFileThatCannotBeReadIsNamedWithTheReason() {
        let missing = #expect(throws: ConfigFileError.self) { try AgentConfig.load(path: "/nonexistent/agentd.alloy") }
        #expect(
            missing?.description
                == "/nonexistent/agentd.alloy: cannot read the configuration file: No such file or directory")
        let directory = #expect(throws: ConfigFileError.self) { try AgentConfig.load(path: "/") }
        #expect(directory?.description == "/: cannot read the configuration file: it is a directory")
    }

    /// A scrape component "db" whose clustering block holds `enabled = true` and `attribute`
    /// (on line 11 of the file, its value at column 17).
    private func clustering(_ attribute: String) -> String {
        remoteWrite + """
            prometheus.scrape "db" {
            	targets    = []
            	forward_to = [prometheus.remote_write.default.receiver]
            	clustering {
            		enabled = true
            		\(attribute)
            	}
            }
            """
    }

    @Test func clusteringHashLabelsAreReadAndCheckedForLabelNames() throws {
        let block = { (labels: String) in self.clustering("hash_labels = \(labels)") }
        let scrape = try #require(try parse(block(#"["job", "instance"]"#)).scrape("db"))
        #expect(scrape.clusteringEnabled && scrape.clusteringHashLabels == ["job", "instance"])
        #expect(try parse(block("[]")).scrape("db")?.clusteringHashLabels == [])
        #expect(
            failure(block(#"["job", "in-stance"]"#))?.description
                == #"config.alloy:11:17: hash_labels of prometheus.scrape "db": "in-stance" is not a valid label name"#)
        #expect(failure(block(#""job""#)) != nil)
    }

    @Test func clusteringReplicasAreAPositiveCount() throws {
        #expect(try parse(clustering("replicas    = 2")).scrape("db")?.clusteringReplicas == 2)
        #expect(
            failure(clustering("replicas    = 0"))?.description
                == #"config.alloy:11:17: attribute "replicas" of clustering must be at least 1, got 0"#)
    }

    @Test func clusteringBalanceIsTargetsOrSeriesAndSeriesHasOneOwner() throws {
        #expect(try parse(clustering("replicas    = 1")).scrape("db")?.clusteringBalance == "targets")
        #expect(try parse(clustering(#"balance     = "series""#)).scrape("db")?.clusteringBalance == "series")
        #expect(
            failure(clustering(#"balance     = "load""#))?.description
                == #"config.alloy:11:17: attribute "balance" of clustering must be "targets" or "series", not "load""#)
        #expect(
            failure(clustering("replicas = 2\n\t\tbalance  = \"series\""))?.description
                == #"config.alloy:12:14: clustering of prometheus.scrape "db": balance = "series" places one owner per target; it cannot be combined with replicas = 2"#
        )
    }

    @Test func scrapeDefaultsAreAlloys() throws {
        let config = try parse(
            remoteWrite + """
                prometheus.scrape "nodes" {
                	targets    = [{"__address__" = "127.0.0.1:9100"}]
                	forward_to = [prometheus.remote_write.default.receiver]
                }
                """)
        let scrape = try #require(config.scrape("nodes"))
        #expect(scrape.jobName == "prometheus.scrape.nodes")
        #expect(scrape.scrapeInterval == .seconds(60))
        #expect(scrape.scrapeTimeout == .seconds(10))
        #expect(scrape.metricsPath == "/metrics")
        #expect(scrape.scheme == "http")
        #expect(scrape.params.isEmpty)
        #expect(!scrape.honorLabels)
        #expect(scrape.honorTimestamps)
        #expect(scrape.sampleLimit == 0)
        #expect(scrape.bodySizeLimit == 0)
        #expect(scrape.labelLimit == 0 && scrape.labelNameLengthLimit == 0 && scrape.labelValueLengthLimit == 0)
        #expect(!scrape.clusteringEnabled && scrape.clusteringHashLabels.isEmpty && scrape.clusteringReplicas == 1)
        #expect(scrape.targets == .static([["__address__": "127.0.0.1:9100"]]))
    }

    @Test func forwardToGivesEachScrapeItsRoutesThroughPrometheusRelabel() throws {
        let config = try parse(
            remoteWrite + """
                prometheus.remote_write "other" {
                	endpoint {
                		url = "http://127.0.0.1:9091/api/v1/write"
                		write_relabel_config {
                			source_labels = ["__name__"]
                			regex         = "up"
                			action        = "drop"
                		}
                	}
                }
                prometheus.relabel "drop_go" {
                	forward_to     = [prometheus.remote_write.other.receiver, prometheus.relabel.nowhere.receiver]
                	max_cache_size = 10
                	rule {
                		source_labels = ["__name__"]
                		regex         = "go_.*"
                		action        = "drop"
                	}
                }
                prometheus.relabel "nowhere" {
                	forward_to = []
                }
                prometheus.scrape "both" {
                	targets    = []
                	forward_to = [prometheus.remote_write.other.receiver, prometheus.remote_write.default.receiver, prometheus.remote_write.other.receiver]
                }
                prometheus.scrape "fanned" {
                	targets    = []
                	forward_to = [prometheus.relabel.drop_go.receiver, prometheus.remote_write.default.receiver]
                }
                prometheus.scrape "none" {
                	targets    = []
                	forward_to = []
                }
                prometheus.scrape "dead_end" {
                	targets    = []
                	forward_to = [prometheus.relabel.nowhere.receiver]
                }
                """)
        let dropGo = ComponentID(name: "prometheus.relabel", label: "drop_go")
        func routes(_ scrape: String) throws -> [SampleRoute] {
            config.routes(try #require(config.scrape(scrape)).forwardTo)
        }
        #expect(try routes("both") == [SampleRoute(stages: [], receivers: ["default", "other"])])
        #expect(
            try routes("fanned") == [
                SampleRoute(stages: [dropGo], receivers: ["other"]), SampleRoute(stages: [], receivers: ["default"]),
            ])
        #expect(try routes("none") == [SampleRoute(stages: [], receivers: [])])
        #expect(try routes("dead_end") == [SampleRoute(stages: [], receivers: [])])
        let relabel = try #require(config.prometheusRelabel(dropGo))
        #expect(relabel.maxCacheSize == 10 && relabel.rules.count == 1)
        #expect(config.remoteWrites.first { $0.id.label == "other" }?.endpoints[0].writeRelabelRules.count == 1)
    }

    @Test func everyScrapeAttributeIsRead() throws {
        let config = try parse(
            remoteWrite + """
                prometheus.scrape "nodes" {
                	targets          = []
                	forward_to       = [prometheus.remote_write.default.receiver]
                	job_name         = "node"
                	scrape_interval  = "1h30m"
                	scrape_timeout   = "500ms"
                	metrics_path     = "/probe"
                	scheme           = "https"
                	params           = { module = ["http_2xx", "tcp"] }
                	honor_labels     = true
                	honor_timestamps = false
                	sample_limit     = 5000
                	body_size_limit  = "10MiB"
                	label_limit      = 30
                	label_name_length_limit  = 100
                	label_value_length_limit = 2048
                	clustering {
                		enabled = true
                	}
                }
                """)
        let scrape = try #require(config.scrape("nodes"))
        #expect(scrape.jobName == "node")
        #expect(scrape.scrapeInterval == .seconds(5400))
        #expect(scrape.scrapeTimeout == .milliseconds(500))
        #expect(scrape.metricsPath == "/probe")
        #expect(scrape.scheme == "https")
        #expect(scrape.params == ["module": ["http_2xx", "tcp"]])
        #expect(scrape.honorLabels && !scrape.honorTimestamps)
        #expect(scrape.sampleLimit == 5000)
        #expect(scrape.bodySizeLimit == 10 * 1024 * 1024)
        #expect(scrape.labelLimit == 30)
        #expect(scrape.labelNameLengthLimit == 100)
        #expect(scrape.labelValueLengthLimit == 2048)
        #expect(scrape.clusteringEnabled)
    }

    @Test func remoteWriteReadsEndpointsQueueWALAndDefaults() throws {
        let config = try parse(
            """
            prometheus.remote_write "default" {
            	external_labels = { cluster = "eu", node = constants.node_name }
            	endpoint {
            		url = "http://a/api/v1/write"
            	}
            	endpoint {
            		url            = "https://b/push"
            		name           = "b"
            		remote_timeout = "1m"
            		headers        = { "X-Scope-OrgID" = "tenant" }
            		basic_auth {
            			username = "user"
            			password = sys.env("TOKEN")
            		}
            		queue_config {
            			capacity             = 500
            			max_shards           = 4
            			max_samples_per_send = 100
            			batch_send_deadline  = "1s"
            			retry_on_http_429    = false
            		}
            	}
            	wal {
            		truncate_frequency = "1h"
            	}
            }
            """)
        let component = try #require(config.remoteWrites.first)
        #expect(component.externalLabels == ["cluster": "eu", "node": "agentd-2"])
        #expect(component.endpoints.count == 2)
        let first = component.endpoints[0]
        #expect(first.name == "prometheus.remote_write.default.0")
        #expect(first.remoteTimeout == .seconds(30))
        #expect(first.queue == RemoteWriteComponent.QueueOptions())
        #expect(first.queue.minBackoff == .milliseconds(30))
        let second = component.endpoints[1]
        #expect(second.name == "b")
        #expect(second.remoteTimeout == .seconds(60))
        #expect(second.headers == ["X-Scope-OrgID": "tenant"])
        #expect(second.http.authorization == .basic(username: "user", password: .inline(Secret("s3cret"))))
        #expect(second.queue.capacity == 500 && second.queue.maxShards == 4)
        #expect(second.queue.maxSamplesPerSend == 100 && second.queue.batchSendDeadline == .seconds(1))
        #expect(!second.queue.retryOnHTTP429)
        #expect(component.wal.truncateFrequency == .seconds(3600))
        #expect(component.wal.maxKeepaliveTime == .seconds(8 * 3600))
    }

    @Test func relabelRulesDecodeEveryField() throws {
        let config = try parse(
            """
            discovery.relabel "r" {
            	targets = [{"__address__" = "a:1"}]
            	rule {
            		source_labels = ["__address__"]
            		separator     = "|"
            		regex         = "(.*):.*"
            		target_label  = "host"
            		replacement   = "h-$1"
            		action        = "replace"
            	}
            	rule {
            		source_labels = ["host"]
            		modulus       = 8
            		target_label  = "shard"
            		action        = "hashmod"
            	}
            }
            """)
        let relabel = try #require(config.relabels.first)
        #expect(relabel.rules.count == 2)
        #expect(relabel.rules[0].separator == "|" && relabel.rules[0].regex.pattern == "(.*):.*")
        #expect(relabel.rules[1].modulus == 8)
        guard case .static(let output) = relabel.output else {
            Issue.record("expected static output")
            return
        }
        #expect(output.first?["host"] == "h-a")
        #expect(output.first?["shard"] != nil)
    }

    @Test func staticRelabelOutputIsAnOrdinaryListForLaterComponents() throws {
        let config = try parse(
            remoteWrite + """
                prometheus.scrape "s" {
                	targets    = discovery.relabel.second.output
                	forward_to = [prometheus.remote_write.default.receiver]
                }
                discovery.relabel "second" {
                	targets = discovery.relabel.first.output
                	rule {
                		source_labels = ["env"]
                		regex         = "prod"
                		action        = "keep"
                	}
                }
                discovery.relabel "first" {
                	targets = [
                		{"__address__" = "a:1", env = "prod"},
                		{"__address__" = "b:1", env = "dev"},
                	]
                }
                """)
        #expect(
            config.evaluationOrder.map(\.description) == [
                "prometheus.remote_write.default", "discovery.relabel.first", "discovery.relabel.second",
                "prometheus.scrape.s",
            ])
        #expect(config.scrape("s")?.targets == .static([["__address__": "a:1", "env": "prod"]]))
    }

    @Test func fileDiscoveryTargetsStayDynamicThroughRelabelling() throws {
        let config = try parse(
            remoteWrite + """
                discovery.file "files" {
                	files = ["/etc/targets/*.yml"]
                }
                discovery.relabel "r" {
                	targets = discovery.file.files.targets
                	rule {
                		target_label = "job"
                		replacement  = "files"
                	}
                }
                prometheus.scrape "s" {
                	targets    = discovery.relabel.r.output
                	forward_to = [prometheus.remote_write.default.receiver]
                }
                """)
        let file = ComponentID(name: "discovery.file", label: "files")
        #expect(config.files.first?.refreshInterval == .seconds(300))
        let targets = try #require(config.scrape("s")?.targets)
        #expect(targets.resolve { _ in [["__address__": "x:1"]] } == [["__address__": "x:1", "job": "files"]])
        guard case .relabel(_, _, let input) = targets else {
            Issue.record("expected relabel source")
            return
        }
        #expect(input == .file(file))
    }

    @Test func aDependencyCycleIsAnErrorNamingTheComponents() {
        let error = failure(
            """
            discovery.relabel "a" {
            	targets = discovery.relabel.b.output
            }
            discovery.relabel "b" {
            	targets = discovery.relabel.a.output
            }
            """)
        #expect(
            error?.description
                == "config.alloy:1:1: dependency cycle between components: discovery.relabel.a -> discovery.relabel.b -> discovery.relabel.a"
        )
    }

    @Test(arguments: [
        (
            "prometheus.scrape \"s\" {\n\ttargets = []\n\tforward_to = []\n\tlabel_limit = -1\n}",
            "4:16: attribute \"label_limit\" of prometheus.scrape \"s\" must be at least 0, got -1"
        ),
        (
            "prometheus.scrape \"s\" {\n\ttargets = []\n\tforward_to = []\n\tlabel_value_length_limit = \"2KiB\"\n}",
            "4:29: attribute \"label_value_length_limit\" of prometheus.scrape \"s\" must be an integer, not a string"
        ),
        (
            "prometheus.scrape \"s\" {\n\ttargets = []\n\tforward_to = []\n\tbody_size_limit = -5\n}",
            "4:20: attribute \"body_size_limit\" of prometheus.scrape \"s\" must not be negative, got -5"
        ),
        (
            "prometheus.scrape \"s\" {\n\ttargets = []\n\tforward_to = []\n\tlabel_name_length_limit = 1.5\n}",
            "4:28: attribute \"label_name_length_limit\" of prometheus.scrape \"s\" must be an integer, not a number"
        ),
        (
            "prometheus.scrap \"x\" {}",
            "1:1: unknown component \"prometheus.scrap\"; supported: discovery.dns, discovery.docker, discovery.file, discovery.http, discovery.relabel, prometheus.relabel, prometheus.remote_write, prometheus.scrape"
        ),
        (
            "prometheus.exporter.unix \"x\" {}",
            "1:1: component prometheus.exporter.unix is an Alloy component that agentd does not support yet; supported: discovery.dns, discovery.docker, discovery.file, discovery.http, discovery.relabel, prometheus.relabel, prometheus.remote_write, prometheus.scrape"
        ),
        (
            "discovery.relabel {\n}",
            "1:1: component discovery.relabel must have a label, e.g. discovery.relabel \"default\" { … }"
        ),
        (
            "discovery.relabel \"a\" {\n\ttargets = []\n\tfoo = 1\n}",
            "3:2: unknown attribute \"foo\" in discovery.relabel \"a\"; expected one of: targets"
        ),
        (
            "prometheus.remote_write \"a\" {\n\tendpoint {\n\t\turl = \"http://x\"\n\t\tsend_exemplars = true\n\t}\n}",
            "4:3: attribute \"send_exemplars\" of endpoint is an Alloy attribute that agentd does not support yet; supported: bearer_token, bearer_token_file, enable_http2, follow_redirects, headers, name, proxy_url, remote_timeout, url"
        ),
        (
            "prometheus.remote_write \"a\" {\n\tendpoint {\n\t\turl = \"http://x\"\n\t\toauth2 {\n\t\t}\n\t}\n}",
            "4:3: block \"oauth2\" of endpoint is an Alloy block that agentd does not support yet; supported blocks: authorization, basic_auth, queue_config, tls_config, write_relabel_config"
        ),
        (
            "prometheus.remote_write \"a\" {\n\tendpoint {\n\t}\n}",
            "2:2: missing required attribute \"url\" in endpoint"
        ),
        (
            "discovery.relabel \"a\" {\n\ttargets = discovery.docker.x.targets\n}",
            "2:12: \"discovery.docker.x.targets\" does not refer to a declared component"
        ),
        (
            "discovery.file \"a\" {\n\tfiles = [\"t.txt\"]\n}",
            "2:10: t.txt: path name is not valid for file discovery: it must end in .json, .yml or .yaml"
        ),
        (
            "discovery.file \"a\" {\n\tfiles = \"t.json\"\n}",
            "2:10: attribute \"files\" of discovery.file \"a\" must be a list of strings, not a string"
        ),
        (
            "discovery.file \"a\" {\n\tfiles = []\n\trefresh_interval = \"5 minutes\"\n}",
            "3:21: attribute \"refresh_interval\" of discovery.file \"a\": invalid duration \"5 minutes\" (expected e.g. \"15s\", \"1h30m\", \"500ms\")"
        ),
        (
            "discovery.relabel \"a\" {\n\ttargets = []\n\trule {\n\t\taction = \"hashmod\"\n\t\ttarget_label = \"x\"\n\t}\n}",
            "3:2: relabel configuration for hashmod requires non-zero modulus"
        ),
        (
            "discovery.relabel \"a\" {\n\ttargets = []\n\trule {\n\t\taction = \"rename\"\n\t}\n}",
            "4:12: unknown relabel action \"rename\"; expected one of: replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase"
        ),
        (
            "discovery.relabel \"a\" {\n\ttargets = [\"a:1\"]\n}",
            "2:12: attribute \"targets\" of discovery.relabel \"a\": target 0 must be an object of strings, not a string"
        ),
        (
            "discovery.relabel \"a\" {\n\ttargets = []\n}\ndiscovery.relabel \"a\" {\n\ttargets = []\n}",
            "4:1: component discovery.relabel.a is already declared at 1:1"
        ),
        (
            "http {\n\ttls {\n\t\tcert_file = \"s.crt\"\n\t\tkey_file = \"s.key\"\n\t\tclient_auth_type = \"RequireAnyClientCert\"\n\t}\n}",
            "5:22: attribute \"client_auth_type\" of http tls must be one of \"NoClientCert\", \"VerifyClientCertIfGiven\", \"RequireAndVerifyClientCert\" (agentd does not accept client certificates it cannot verify)"
        ),
        (
            "http {\n\ttls {\n\t\tcert_file = \"s.crt\"\n\t\tkey_file = \"s.key\"\n\t\tclient_auth_type = \"RequireAndVerifyClientCert\"\n\t}\n}",
            "2:2: client_auth_type \"RequireAndVerifyClientCert\" needs client_ca_file or client_ca to verify against"
        ),
        (
            "http {\n\ttls {\n\t\tcert_file = \"s.crt\"\n\t}\n}",
            "2:2: the http tls block needs a certificate (cert_file or cert_pem) and its key (key_file or key_pem)"
        ),
        (
            "http {\n\tauth {\n\t}\n}",
            "2:2: block \"auth\" of http is an Alloy block that agentd does not support yet; supported blocks: tls"
        ),
        (
            "prometheus.relabel \"a\" {\n\tforward_to = []\n\trule {\n\t\taction = \"rename\"\n\t}\n}",
            "4:12: unknown relabel action \"rename\"; expected one of: replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase"
        ),
        (
            "prometheus.relabel \"a\" {\n\trule {\n\t}\n}",
            "1:1: missing required attribute \"forward_to\" in prometheus.relabel \"a\""
        ),
        (
            "prometheus.relabel \"a\" {\n\tforward_to = [\"x\"]\n}",
            "2:15: attribute \"forward_to\" of prometheus.relabel \"a\" must be a list of receivers, not a string"
        ),
        (
            "prometheus.relabel \"a\" {\n\tforward_to = []\n\tmax_cache_size = 0\n}",
            "3:19: attribute \"max_cache_size\" of prometheus.relabel \"a\" must be at least 1, got 0"
        ),
        (
            "prometheus.relabel \"a\" {\n\tforward_to = []\n\tcache_ttl = \"10m\"\n}",
            "3:2: attribute \"cache_ttl\" of prometheus.relabel \"a\" is an Alloy attribute that agentd does not support yet; supported: forward_to, max_cache_size"
        ),
        (
            "prometheus.relabel \"a\" {\n\tforward_to = [prometheus.relabel.b.receiver]\n}\nprometheus.relabel \"b\" {\n\tforward_to = [prometheus.relabel.a.receiver]\n}",
            "1:1: dependency cycle between components: prometheus.relabel.a -> prometheus.relabel.b -> prometheus.relabel.a"
        ),
        (
            "prometheus.remote_write \"a\" {\n\tendpoint {\n\t\turl = \"http://x\"\n\t\twrite_relabel_config {\n\t\t\taction = \"hashmod\"\n\t\t\ttarget_label = \"x\"\n\t\t}\n\t}\n}",
            "4:3: relabel configuration for hashmod requires non-zero modulus"
        ),
        (
            "prometheus.remote_write \"a\" {\n\tendpoint {\n\t\turl = \"http://x\"\n\t\twrite_relabel_config {\n\t\t\tregexp = \"x\"\n\t\t}\n\t}\n}",
            "5:4: unknown attribute \"regexp\" in write_relabel_config; expected one of: action, modulus, regex, replacement, separator, source_labels, target_label"
        ),
        (
            "discovery.relabel \"my-targets\" {\n}",
            "1:19: component label \"my-targets\" must be an identifier (letters, digits and underscores, not starting with a digit)"
        ),
    ])
    func configurationErrorsNameWhatIsWrongAndWhere(source: String, expected: String) {
        #expect(failure(source)?.description == "config.alloy:" + expected)
    }

    @Test func theHTTPBlockConfiguresTheServersTLS() throws {
        let config = try AgentConfig.parse(
            source: """
                http {
                  tls {
                    cert_file        = "/etc/agentd/server.crt"
                    key_pem          = "-----BEGIN PRIVATE KEY-----"
                    client_ca_file   = "/etc/agentd/ca.crt"
                    client_auth_type = "VerifyClientCertIfGiven"
                    min_version      = "TLS13"
                  }
                }
                """)
        let tls = try #require(config.serverTLS)
        #expect(tls.certificate == .file("/etc/agentd/server.crt"))
        #expect(tls.key == .inline(Secret("-----BEGIN PRIVATE KEY-----")))
        #expect(tls.clientCertificateAuthority == .file("/etc/agentd/ca.crt"))
        #expect(tls.clientAuthentication == .verifyIfGiven)
        #expect(tls.minimumVersion == .tls13)
        // The key never prints.
        #expect(!"\(config)".contains("BEGIN PRIVATE KEY"))
    }

    @Test func aScrapeTimeoutLongerThanTheIntervalIsRejected() {
        let error = failure(
            remoteWrite + """
                prometheus.scrape "s" {
                	targets         = []
                	forward_to      = [prometheus.remote_write.default.receiver]
                	scrape_interval = "5s"
                }
                """)
        #expect(
            error?.message.contains("scrape_timeout (10.0 seconds) greater than scrape_interval (5.0 seconds)") == true)
    }

    @Test(arguments: [
        ("15s", Duration.seconds(15)), ("1h30m", .seconds(5400)), ("500ms", .milliseconds(500)),
        ("1.5h", .seconds(5400)),
        ("2d", .seconds(172_800)), ("1w", .seconds(604_800)), ("0", .zero), ("100us", .microseconds(100)),
    ])
    func durationsParseGoAndPrometheusSyntax(text: String, expected: Duration) {
        #expect(AlloyDuration.parse(text) == expected)
    }

    @Test(arguments: ["", "15", "1x", "s", "-1s", "1h 30m"])
    func malformedDurationsAreRejected(text: String) {
        #expect(AlloyDuration.parse(text) == nil)
    }

    @Test func sizesAreBaseTwo() {
        #expect(AlloyDuration.parseBytes("10MiB") == 10_485_760)
        #expect(AlloyDuration.parseBytes("1KB") == 1024)
        #expect(AlloyDuration.parseBytes("0") == 0)
        #expect(AlloyDuration.parseBytes("10 apples") == nil)
    }

    @Test func loggingIsAcceptedAtTheTopLevel() throws {
        let config = try parse("logging {\n\tlevel = \"debug\"\n}")
        #expect(config.logging.level == "debug" && config.logging.format == "logfmt")
    }
}
