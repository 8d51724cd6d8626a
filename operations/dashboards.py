#!/usr/bin/env python3
"""Writes the Grafana dashboards in operations/dashboards/ (plain JSON, committed).

    python3 operations/dashboards.py          # rewrite the JSON files
    python3 operations/dashboards.py --check  # exit 1 if a file differs from what this writes

The dashboards read agentd's own /metrics as Prometheus scrapes them (one `instance` per
member, under the `job` the operator chose), and the `agentd_target_owner` series the members
forward with their scrapes. Variables: `datasource`, `job` and `instance` (all by default);
queries use `$__rate_interval` for rates. The end-to-end test (Tests/EndToEndTests/
MixinTests.swift) runs every query against a real Prometheus fed by two real agents.
"""

import json
import pathlib
import sys

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# The members' self-metrics, as the job and instance variables select them.
S = 'job=~"$job", instance=~"$instance"'
RATE = "$__rate_interval"


def target(expr, legend="", instant=False, table=False):
    return {"expr": expr, "legendFormat": legend, "instant": instant, "range": not instant,
            "format": "table" if table else "time_series"}


def panel(title, description, targets, unit="short", kind="timeseries", width=12, height=8):
    return {"type": kind, "title": title, "description": description, "unit": unit,
            "targets": targets, "width": width, "height": height}


def build_panel(spec, panel_id, x, y):
    targets = []
    for index, t in enumerate(spec["targets"]):
        targets.append({"datasource": DATASOURCE, "refId": chr(ord("A") + index), **t})
    result = {
        "id": panel_id,
        "type": spec["type"],
        "title": spec["title"],
        "description": spec["description"],
        "datasource": DATASOURCE,
        "gridPos": {"h": spec["height"], "w": spec["width"], "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": spec["unit"]}, "overrides": []},
        "targets": targets,
    }
    if spec["type"] == "timeseries":
        result["options"] = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                             "tooltip": {"mode": "multi", "sort": "none"}}
    elif spec["type"] == "stat":
        result["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                             "colorMode": "value", "graphMode": "area"}
    elif spec["type"] == "state-timeline":
        result["options"] = {"mergeValues": True, "showValue": "never", "rowHeight": 0.8,
                             "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False}}
    elif spec["type"] == "table":
        result["options"] = {"showHeader": True}
        result["transformations"] = [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "Value": True, "__name__": True}}}]
    return result


def layout(specs):
    """Places panels left to right, top to bottom, on Grafana's 24-column grid."""
    panels, x, y, row_height = [], 0, 0, 0
    for panel_id, spec in enumerate(specs, start=1):
        if x + spec["width"] > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(build_panel(spec, panel_id, x, y))
        x += spec["width"]
        row_height = max(row_height, spec["height"])
    return panels


def variables(members=True):
    result = [{"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
               "current": {}, "hide": 0, "options": [], "refresh": 1, "regex": ""}]
    if members:
        result += [
            {"name": "job", "label": "Job", "type": "query", "datasource": DATASOURCE,
             "definition": "label_values(agentd_build_info, job)",
             "query": {"query": "label_values(agentd_build_info, job)", "refId": "job"},
             "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 2,
             "regex": "", "sort": 1},
            {"name": "instance", "label": "Member", "type": "query", "datasource": DATASOURCE,
             "definition": 'label_values(agentd_build_info{job=~"$job"}, instance)',
             "query": {"query": 'label_values(agentd_build_info{job=~"$job"}, instance)', "refId": "instance"},
             "current": {}, "hide": 0, "includeAll": True, "allValue": ".+", "multi": True, "options": [],
             "refresh": 2, "regex": "", "sort": 1},
        ]
    return result


def dashboard(uid, title, description, specs, members=True):
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["agentd"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "time": {"from": "now-1h", "to": "now"},
        "timezone": "",
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": variables(members)},
        "panels": layout(specs),
        "version": 1,
    }


CLUSTER = dashboard("agentd-cluster", "agentd / Cluster overview",
    "Membership, convergence, gossip and hand-offs, as each member sees them.", [
    panel("Members that are participants", "Members whose own state is participant (cluster_node_info).",
          [target(f'count(cluster_node_info{{{S}, state="participant"}})', "participants")],
          kind="stat", width=6, height=5),
    panel("Converged", "1 when every member counts the same participants; 0 while they disagree "
          "(they then split targets by different rings).",
          [target(f'stddev(cluster_node_peers{{{S}, state="participant"}}) == bool 0', "converged")],
          kind="stat", width=6, height=5),
    panel("Targets moved in the window", "Targets whose owner changed, counted by the members.",
          [target(f"sum(increase(prometheus_scrape_targets_moved_total{{{S}}}[{RATE}]))", "moved")],
          kind="stat", width=6, height=5),
    panel("Late hand-off slots in the window", "Slots missed or scraped twice because a change arrived "
          "after its effective time; should stay 0.",
          [target(f"sum(increase(agentd_handoff_late_slots_total{{{S}}}[{RATE}]))", "late slots")],
          kind="stat", width=6, height=5),
    panel("Members", "Each member's name, gossip address and own state.",
          [target(f"cluster_node_info{{{S}}}", instant=True, table=True)], kind="table", width=24, height=6),
    panel("Members by state", "The most members any member counts in each state.",
          [target(f"max by (state) (cluster_node_peers{{{S}}})", "{{state}}")]),
    panel("Participants as each member sees them", "Lines apart: the members have not converged.",
          [target(f'cluster_node_peers{{{S}, state="participant"}}', "{{instance}}")]),
    panel("Gossip traffic", "Bytes of gossip received and sent per second.",
          [target(f"rate(cluster_transport_rx_bytes_total{{{S}}}[{RATE}])", "{{instance}} received"),
           target(f"rate(cluster_transport_tx_bytes_total{{{S}}}[{RATE}])", "{{instance}} sent")],
          unit="Bps"),
    panel("Gossip failures and rejections", "Messages that could not be sent, and messages refused by "
          "reason (cluster_mismatch, authentication, replayed, stale, …).",
          [target(f"rate(cluster_transport_tx_packets_failed_total{{{S}}}[{RATE}])", "{{instance}} send failures"),
           target(f"sum by (instance, reason) (rate(cluster_transport_rejected_messages_total{{{S}}}[{RATE}]))",
                  "{{instance}} rejected: {{reason}}")],
          unit="ops"),
    panel("Clock skew by peer", "Each peer's clock offset from the member's, and the margin: half the "
          "hand-off delay, max(1, log10 N) s. Skew beyond the margin misplaces hand-off slots.",
          [target(f"cluster_node_clock_skew_seconds{{{S}}}", "{{instance}} → {{peer}}"),
           target(f'clamp_min(log10(sum by (instance) (cluster_node_peers{{{S}, state!~"dead|left"}})), 1)',
                  "margin ({{instance}})")],
          unit="s"),
    panel("Hand-offs", "Targets moved, late slots and node-name conflicts, per member.",
          [target(f"increase(prometheus_scrape_targets_moved_total{{{S}}}[{RATE}])", "{{instance}} moved"),
           target(f"increase(agentd_handoff_late_slots_total{{{S}}}[{RATE}])", "{{instance}} late slots"),
           target(f"increase(cluster_node_name_conflicts_total{{{S}}}[{RATE}])", "{{instance}} name conflicts")]),
    panel("Lamport time", "Each member's Lamport clock: it advances with every change gossiped.",
          [target(f"cluster_node_lamport_time{{{S}}}", "{{instance}}")]),
    panel("Gossip health", "Lifeguard's local health score (0 is healthy; a member that misses its own "
          "probes' answers raises it and slows down) and the members each one gossips with.",
          [target(f"cluster_node_gossip_health_score{{{S}}}", "{{instance}} health score"),
           target(f"cluster_node_gossip_alive_peers{{{S}}}", "{{instance}} alive peers")]),
])

THROUGHPUT = dashboard("agentd-throughput", "agentd / Throughput per member",
    "What each member scrapes and appends, and how punctual its scrapes are.", [
    panel("Samples appended", "Samples written to the member's WAL per second.",
          [target(f"rate(prometheus_agent_samples_appended_total{{{S}}}[{RATE}])", "{{instance}}")],
          unit="ops"),
    panel("Active series", "Series written by the last scrape of each target the member scrapes.",
          [target(f"prometheus_agent_active_series{{{S}}}", "{{instance}}")]),
    panel("Targets per member", "Targets each member scrapes now; the sum is every target once.",
          [target(f"prometheus_scrape_targets_gauge{{{S}}}", "{{instance}}"),
           target(f"sum(prometheus_scrape_targets_gauge{{{S}}})", "all members")]),
    panel("Share of targets", "Each member's share of the targets (the ring's split).",
          [target(f"prometheus_scrape_targets_gauge{{{S}}} / on () group_left () "
                  f"sum(prometheus_scrape_targets_gauge{{{S}}})", "{{instance}}")],
          unit="percentunit"),
    panel("Scrape interval: actual mean and configured", "The mean time between scrapes of a target, "
          "by configured interval (the legend): far from it, the member is overloaded or hand-offs skip slots.",
          [target(f"rate(prometheus_target_interval_length_seconds_sum{{{S}}}[{RATE}]) / "
                  f"rate(prometheus_target_interval_length_seconds_count{{{S}}}[{RATE}])",
                  "{{instance}} (configured {{interval}})")],
          unit="s"),
    panel("Slots skipped", "Scrape slots skipped because a loop fell more than an interval behind "
          "(a paused or CPU-starved member): samples nobody scraped.",
          [target(f"increase(agentd_scrape_slots_skipped_total{{{S}}}[{RATE}])", "{{instance}}")]),
    panel("Target sync time", "Mean time to sync a scrape job's targets, by job.",
          [target(f"rate(prometheus_target_sync_length_seconds_sum{{{S}}}[{RATE}]) / "
                  f"rate(prometheus_target_sync_length_seconds_count{{{S}}}[{RATE}])", "{{instance}} {{scrape_job}}")],
          unit="s"),
    panel("Scrapes over limits", "Scrapes refused by a body size, sample, label or WAL record limit.",
          [target(f"rate(prometheus_target_scrapes_exceeded_body_size_limit_total{{{S}}}[{RATE}])",
                  "{{instance}} body size"),
           target(f"rate(prometheus_target_scrapes_exceeded_sample_limit_total{{{S}}}[{RATE}])",
                  "{{instance}} samples"),
           target(f"rate(prometheus_target_scrape_pool_exceeded_label_limits_total{{{S}}}[{RATE}])",
                  "{{instance}} labels"),
           target(f"rate(agentd_target_scrapes_exceeded_wal_record_size_total{{{S}}}[{RATE}])",
                  "{{instance}} WAL record")],
          unit="ops", width=24),
])

REMOTE_WRITE = dashboard("agentd-remote-write", "agentd / Remote write",
    "Delivery to each remote-write endpoint: throughput, failures, lag and backlog.", [
    panel("Samples sent", "Samples delivered per second, by member and endpoint.",
          [target(f"rate(prometheus_remote_storage_samples_total{{{S}}}[{RATE}])", "{{instance}} → {{remote_name}}")],
          unit="ops"),
    panel("Bytes sent", "Compressed bytes sent per second.",
          [target(f"rate(prometheus_remote_storage_bytes_total{{{S}}}[{RATE}])", "{{instance}} → {{remote_name}}")],
          unit="Bps"),
    panel("Lag", "Newest sample read from the WAL minus newest sample sent: how far delivery trails.",
          [target(f"prometheus_remote_storage_highest_timestamp_in_seconds{{{S}}} - on (job, instance, remote_name, url) "
                  f"prometheus_remote_storage_queue_highest_sent_timestamp_seconds{{{S}}}",
                  "{{instance}} → {{remote_name}}")],
          unit="s"),
    panel("WAL backlog", "WAL bytes the endpoint has not read yet: the backlog of an outage.",
          [target(f"agentd_remote_storage_wal_backlog_bytes{{{S}}}", "{{instance}} → {{remote_name}}")],
          unit="bytes"),
    panel("Samples failed, retried, dropped", "Failed: refused for a reason naming no sample (not retried); "
          "retried: sent again after a failure; dropped: before sending.",
          [target(f"rate(prometheus_remote_storage_samples_failed_total{{{S}}}[{RATE}])", "{{instance}} failed"),
           target(f"rate(prometheus_remote_storage_samples_retried_total{{{S}}}[{RATE}])", "{{instance}} retried"),
           target(f"rate(prometheus_remote_storage_samples_dropped_total{{{S}}}[{RATE}])", "{{instance}} dropped")],
          unit="ops"),
    panel("Samples refused", "Samples the receiver refused alone, by reason (already_delivered is no loss).",
          [target(f"sum by (instance, remote_name, reason) "
                  f"(rate(agentd_remote_storage_samples_refused_total{{{S}}}[{RATE}]))",
                  "{{instance}} → {{remote_name}}: {{reason}}")],
          unit="ops"),
    panel("Failed requests by reason", "Requests that failed: retried (network, tls, http_5xx, http_429, …) "
          "or dropped (http_4xx).",
          [target(f"sum by (instance, remote_name, reason) "
                  f"(rate(agentd_remote_storage_failed_requests_total{{{S}}}[{RATE}]))",
                  "{{instance}} → {{remote_name}}: {{reason}}")],
          unit="reqps"),
    panel("Request duration", "The 99th and 50th percentile of a remote-write request attempt, answered "
          "or failed.",
          [target(f"histogram_quantile(0.99, sum by (instance, remote_name, le) "
                  f"(rate(prometheus_remote_storage_sent_batch_duration_seconds_bucket{{{S}}}[{RATE}])))",
                  "{{instance}} → {{remote_name}} p99"),
           target(f"histogram_quantile(0.5, sum by (instance, remote_name, le) "
                  f"(rate(prometheus_remote_storage_sent_batch_duration_seconds_bucket{{{S}}}[{RATE}])))",
                  "{{instance}} → {{remote_name}} p50")],
          unit="s"),
    panel("Pending samples and shards", "Samples queued in shards, not yet sent, and the shards sending.",
          [target(f"prometheus_remote_storage_samples_pending{{{S}}}", "{{instance}} pending"),
           target(f"prometheus_remote_storage_shards{{{S}}}", "{{instance}} shards")]),
    panel("Samples lost to WAL damage", "Samples left out because a damaged or skipped WAL record broke "
          "their series; should stay 0.",
          [target(f"increase(agentd_remote_storage_samples_lost_total{{{S}}}[{RATE}])", "{{instance}} → {{remote_name}}")],
          width=24),
])

WAL = dashboard("agentd-wal", "agentd / WAL",
    "Each member's write-ahead log: writes, size, segments, damage and failing appends.", [
    panel("Appends failing now", "1 while the member's WAL refuses appends (its scrapes are not stored).",
          [target(f"agentd_wal_appends_failing{{{S}}}", "{{instance}}")], width=8),
    panel("Append failures by reason", "Appends the WAL refused: disk_full, record_too_large, io.",
          [target(f"sum by (instance, reason) (rate(agentd_wal_append_failures_total{{{S}}}[{RATE}]))",
                  "{{instance}} {{reason}}")],
          unit="ops", width=16),
    panel("Fsyncs", "WAL fsyncs per second.",
          [target(f"rate(prometheus_tsdb_wal_fsync_duration_seconds_count{{{S}}}[{RATE}])", "{{instance}}")],
          unit="ops"),
    panel("Mean fsync duration", "Mean time an fsync took in the window (empty when none ran).",
          [target(f"rate(prometheus_tsdb_wal_fsync_duration_seconds_sum{{{S}}}[{RATE}]) / "
                  f"rate(prometheus_tsdb_wal_fsync_duration_seconds_count{{{S}}}[{RATE}])", "{{instance}}")],
          unit="s"),
    panel("WAL size", "Bytes in the WAL directory.",
          [target(f"prometheus_tsdb_wal_storage_size_bytes{{{S}}}", "{{instance}}")], unit="bytes"),
    panel("Segments", "The segment being written, and how many segments the WAL holds.",
          [target(f"prometheus_tsdb_wal_segment_current{{{S}}}", "{{instance}} current"),
           target(f"agentd_wal_segments{{{S}}}", "{{instance}} held")]),
    panel("Corruptions", "Torn tails repaired at open, damaged stretches and undecodable records "
          "remote-write readers stepped over; should stay 0.",
          [target(f"increase(prometheus_tsdb_wal_corruptions_total{{{S}}}[{RATE}])", "{{instance}} repaired at open"),
           target(f"sum by (instance) (increase(agentd_remote_storage_wal_corruptions_total{{{S}}}[{RATE}]))",
                  "{{instance}} stepped over"),
           target(f"sum by (instance) (increase(agentd_remote_storage_records_skipped_total{{{S}}}[{RATE}]))",
                  "{{instance}} records skipped")]),
    panel("Write failures, truncations, dropped segments", "Failed writes, truncations (and failed ones), "
          "and segments dropped by a retention limit before every reader passed them.",
          [target(f"increase(prometheus_tsdb_wal_writes_failed_total{{{S}}}[{RATE}])", "{{instance}} writes failed"),
           target(f"increase(prometheus_tsdb_wal_truncations_total{{{S}}}[{RATE}])", "{{instance}} truncations"),
           target(f"increase(prometheus_tsdb_wal_truncations_failed_total{{{S}}}[{RATE}])",
                  "{{instance}} truncations failed"),
           target(f"increase(agentd_wal_segments_dropped_total{{{S}}}[{RATE}])", "{{instance}} segments dropped")]),
])

OWNERSHIP = dashboard("agentd-ownership", "agentd / Target ownership",
    "Which member scraped each clustered target over time, from the agentd_target_owner series the "
    "members forward with their scrapes (one series per target and owner, stale when it moves).", [
    panel("Owner of each target over time", "A row per target and owner, filled while that member scraped it.",
          [target("max by (job, instance, owner) (agentd_target_owner)", "{{instance}} ← {{owner}}")],
          kind="state-timeline", width=24, height=10),
    panel("Targets per owner", "How many targets each member owns: the ring's split over time.",
          [target("count by (owner) (agentd_target_owner)", "{{owner}}")]),
    panel("Owners in the last hour, per target", "More than one: the target moved within the hour.",
          [target("count by (job, instance) (count by (job, instance, owner) (max_over_time(agentd_target_owner[1h])))",
                  "{{job}}/{{instance}}")]),
    panel("Current owners", "Each target's owner now.",
          [target("max by (job, instance, owner) (agentd_target_owner)", instant=True, table=True)],
          kind="table", width=24),
], members=False)

DASHBOARDS = {
    "agentd-cluster.json": CLUSTER,
    "agentd-throughput.json": THROUGHPUT,
    "agentd-remote-write.json": REMOTE_WRITE,
    "agentd-wal.json": WAL,
    "agentd-ownership.json": OWNERSHIP,
}


def main():
    directory = pathlib.Path(__file__).resolve().parent / "dashboards"
    check = "--check" in sys.argv[1:]
    stale = []
    for name, board in DASHBOARDS.items():
        text = json.dumps(board, indent=2, ensure_ascii=False) + "\n"
        path = directory / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            directory.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run python3 operations/dashboards.py): " + ", ".join(stale))
        sys.exit(1)


if __name__ == "__main__":
    main()
