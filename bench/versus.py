#!/usr/bin/env python3
"""agentd vs Prometheus 2.42 agent mode vs vmagent, one after the other, same load and duration.

    python3 bench/versus.py --agentd .build-release/release/agentd [--duration 60] [--warmup 20]
        [--runs 1] [--loads node,synthetic] [--agents agentd,prometheus,vmagent]
        [--agentd-sync batch] [--targets 50] [--series 2000] [--interval 1] [--tls]
        [--sink AGENTD_BENCH] [--target-server AGENTD_BENCH] [--max-ingest RATES] [--cold]

Loads: "node" = 8 real prometheus-node-exporters scraped every 5 s; "synthetic" = bench/targets.py
(or with --target-server AGENTD_BENCH, `agentd-bench targets`: the same exposition served from
Swift, for rates one Python process cannot serve) serving --targets × --series series, scraped
every --interval s (1; timeout 0.9 of it); the
1M-series load of issue 17 is --targets 500 --series 2000 --interval 10. Each agent run gets a
fresh Prometheus receiver (--web.enable-remote-write-receiver) and fresh data directory.

--tls: the script makes a CA and a server certificate with openssl in its work folder (EC P-256,
SAN IP:127.0.0.1); the synthetic targets serve HTTPS with it (keep-alive as before, HTTP/1.1), and
the receiver runs with --web.config.file (tls_server_config with the same certificate, one
basic_auth_users entry: a bcrypt hash of cost 10 made with Python's crypt module). The agents
scrape with scheme https trusting the CA, and remote-write over HTTPS trusting the CA with basic
auth (username + password_file). The node exporters stay plain HTTP. The script's own queries of
the receiver (samples appended, series) go over HTTPS with the CA and the password. Measured for
agentd; the Prometheus agent-mode and vmagent configurations are written the same way
(Prometheus's scrape_config/remote_write tls_config + basic_auth; vmagent's -remoteWrite.tlsCAFile,
-remoteWrite.basicAuth.*); Prometheus agent mode ran over TLS only in a short smoke run, vmagent
never (it is not installed on the machines here).

Per run, between t0 (after --warmup) and t1 (--duration later):
  samples        the receiver's prometheus_tsdb_head_samples_appended_total delta
  CPU            agent utime+stime from /proc/PID/stat, delta, per million samples
  peak RSS       VmHWM at t1; RSS/series = VmHWM / series at the receiver
  disk B/sample  growth of the agent's storage directory (agentd: WAL, index, cursors; file sizes) / samples
  RW B/sample    the agent's own counter of remote-write bytes sent (delta) / samples
  appended/s     the agent's own count of samples it took in, per second: agentd and Prometheus's
                 prometheus_agent_samples_appended_total, vmagent's vm_promscrape_scraped_samples_sum
  series         distinct data series (not up/scrape_*) the receiver holds at t1 vs expected
In the JSON lines also: target_server_cpu_cores (the synthetic targets' server) and receiver_cpu_cores (the
receiving Prometheus), utime+stime over the same window; for agentd wal_backlog_bytes at t0 and t1
(agentd_remote_storage_wal_backlog_bytes: growing means the receiver fell behind the scrapes, and
samples delivered then undercount the samples scraped).
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))

# Set by --tls: the run's certificates and the receiver's credentials (see Secure). None = plain HTTP.
SECURE = None


class Secure:
    """--tls: a CA and a server certificate made with openssl in `directory` (EC P-256, SAN
    IP:127.0.0.1, as Tests/TestSupport/TestCertificates.swift makes them), the receiver's web config
    (tls_server_config + one basic_auth_users entry, bcrypt cost 10 via Python's crypt module), and
    the password file agentd reads. The synthetic targets and the receiver serve HTTPS with the one
    server certificate; this script talks to the receiver over HTTPS too (the CA, the password)."""

    user = "agentd"

    def __init__(self, directory, bcrypt_cost=10):
        os.makedirs(directory, exist_ok=True)
        self.ca = os.path.join(directory, "ca.crt")
        self.cert = os.path.join(directory, "server.crt")
        self.key = os.path.join(directory, "server.key")
        self.password_file = os.path.join(directory, "password")
        self.web_config = os.path.join(directory, "web.yml")
        ca_key = os.path.join(directory, "ca.key")
        request = os.path.join(directory, "server.csr")
        extensions = os.path.join(directory, "server.ext")
        with open(extensions, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        for argv in (
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", ca_key, "-out", self.ca, "-days", "7", "-subj", "/CN=versus.py bench CA"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", self.key, "-out", request, "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", request, "-CA", self.ca, "-CAkey", ca_key, "-CAcreateserial",
             "-out", self.cert, "-days", "7", "-extfile", extensions],
        ):
            subprocess.run(["openssl"] + argv, check=True, capture_output=True)
        self.password = base64.urlsafe_b64encode(os.urandom(18)).decode()
        with open(self.password_file, "w") as f:
            f.write(self.password + "\n")
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # crypt is deprecated in 3.11, gone in 3.13
            import crypt
            hashed = crypt.crypt(self.password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << bcrypt_cost))
        if not hashed or not hashed.startswith("$2"):
            raise RuntimeError("this Python's crypt module cannot make a bcrypt hash")
        with open(self.web_config, "w") as f:
            f.write("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: '%s'\n"
                    % (self.cert, self.key, self.user, hashed))
        self.context = ssl.create_default_context(cafile=self.ca)
        self.authorization = "Basic " + base64.b64encode(("%s:%s" % (self.user, self.password)).encode()).decode()


def scheme():
    return "https" if SECURE else "http"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_range(count):
    for base in range(22000, 60000, 97):
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port range")


def http_get(url, timeout=5):
    if url.startswith("https:"):
        # The receiver wants the password; the targets ignore it.
        request = urllib.request.Request(url, headers={"Authorization": SECURE.authorization})
        with urllib.request.urlopen(request, timeout=timeout, context=SECURE.context) as response:
            return response.read().decode(errors="replace")
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode(errors="replace")


def wait_http(url, seconds):
    deadline = time.time() + seconds
    while True:
        try:
            http_get(url, timeout=2)
            return
        except Exception:
            if time.time() > deadline:
                raise RuntimeError("timed out waiting for " + url)
            time.sleep(0.3)


def metric_sum(url, names):
    """Sum of every sample of the first of `names` present in the /metrics page."""
    try:
        text = http_get(url, timeout=10)
    except Exception:
        return None
    return metric_in(text, names)


def metric_in(text, names):
    """Sum of every sample of the first of `names` present in an exposition (None: no text)."""
    for name in names:
        total, found = 0.0, False
        for line in (text or "").splitlines():
            if line.startswith("#"):
                continue
            key = line.split(" ", 1)[0]
            if key == name or key.startswith(name + "{"):
                try:
                    total += float(line.rsplit(" ", 1)[1])
                    found = True
                except ValueError:
                    pass
        if found:
            return total
    return None


def query(port, expression):
    url = "%s://127.0.0.1:%d/api/v1/query?%s" % (scheme(), port, urllib.parse.urlencode({"query": expression}))
    try:
        result = json.loads(http_get(url, timeout=30))["data"]["result"]
        return float(result[0]["value"][1]) if result else 0.0
    except Exception:
        return None


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def status_kib(pid, *keys):
    """Fields of /proc/PID/status in KiB (0 when absent), all from one read: one value for one key,
    else a tuple in the order asked."""
    found = dict.fromkeys(keys, 0)
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in found:
                found[key] = int(line.split()[1])
    values = tuple(found[key] for key in keys)
    return values[0] if len(keys) == 1 else values


def dir_bytes(path):
    total = 0
    for base, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(base, name))
            except OSError:
                pass
    return total


class Processes:
    def __init__(self):
        self.started = []

    def start(self, argv, log, env=None):
        process = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                                   start_new_session=True, env=env)
        self.started.append(process)
        return process

    def stop(self, process, grace=15):
        """SIGTERM (after SIGCONT, should it be stopped), then SIGKILL after `grace` seconds;
        returns the exit status."""
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def stop_all(self):
        for process in reversed(self.started):
            self.stop(process, grace=5)


def start_prometheus_receiver(procs, directory, port, log):
    """A Prometheus remote-write receiver on 127.0.0.1:port with its data in directory; waits until ready."""
    os.makedirs(directory, exist_ok=True)
    config = os.path.join(directory, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 15s\n")
    argv = ["prometheus", "--config.file=" + config, "--storage.tsdb.path=" + directory + "/data",
            "--web.listen-address=127.0.0.1:%d" % port, "--web.enable-remote-write-receiver"]
    if SECURE:
        argv.append("--web.config.file=" + SECURE.web_config)
    process = procs.start(argv, log)
    wait_http("%s://127.0.0.1:%d/-/ready" % (scheme(), port), 60)
    return process


def start_receiver(procs, work, name, sink=None):
    """A Prometheus receiver, or with `sink` (an agentd-bench binary) a counting sink that costs
    little (`agentd-bench sink`: decompresses, counts samples, answers 204)."""
    port = free_port()
    directory = os.path.join(work, name)
    if sink:
        os.makedirs(directory, exist_ok=True)
        process = procs.start([sink, "sink", "--port", str(port)], directory + "/log")
        wait_http("http://127.0.0.1:%d/metrics" % port, 30)
        return process, port
    return start_prometheus_receiver(procs, directory, port, directory + "/log"), port


def drop_page_cache():
    """--cold: writes dirty pages back and drops the whole clean page cache (root only), so that the
    agent starting next reads its binary from disk as at a machine's first start. Which of a binary's
    pages a process maps depends on how they came into the cache: the kernel maps a resident
    neighbourhood of the page a process faults on (fault-around, and whole large folios), and the
    folios' sizes follow how the file was read or written before. Two byte-identical copies of
    agentd, one written by the linker and one by `cp`, held 20.1–20.2 and 21.0 MiB file-backed idle
    with their pages cached as the writes left them, 19.8 and 19.7 cold (docs/performance.md)."""
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def start_agent(procs, args, agent, load, receiver_port, work, sync):
    if args.cold:
        drop_page_cache()
    port = free_port()
    directory = os.path.join(work, agent)
    os.makedirs(directory, exist_ok=True)
    data = os.path.join(directory, "data")
    url = "%s://127.0.0.1:%d/api/v1/write" % (scheme(), receiver_port)
    targets = load["targets"]
    interval, timeout = load["interval"], load["timeout"]
    if agent == "agentd":
        config = os.path.join(directory, "config.alloy")
        with open(config, "w") as f:
            f.write('prometheus.scrape "bench" {\n  targets = [\n')
            for target in targets:
                f.write('    {"__address__" = "%s"},\n' % target)
            f.write('  ]\n  forward_to = [prometheus.remote_write.default.receiver]\n')
            f.write('  job_name = "%s"\n  scrape_interval = "%s"\n  scrape_timeout = "%s"\n'
                    % (load["job"], interval, timeout))
            if SECURE and load.get("tls"):
                f.write('  scheme = "https"\n  tls_config {\n    ca_file = "%s"\n  }\n' % SECURE.ca)
            f.write('}\n\n')
            f.write('prometheus.remote_write "default" {\n  endpoint {\n    url = "%s"\n' % url)
            if args.agentd_max_samples_per_send:
                f.write('    queue_config {\n      max_samples_per_send = %d\n    }\n' % args.agentd_max_samples_per_send)
            if SECURE:
                f.write('    tls_config {\n      ca_file = "%s"\n    }\n'
                        '    basic_auth {\n      username = "%s"\n      password_file = "%s"\n    }\n'
                        % (SECURE.ca, SECURE.user, SECURE.password_file))
            f.write('  }\n}\n')
        process = procs.start([args.agentd, "run", config, "--server.http.listen-addr=127.0.0.1:%d" % port,
                               "--storage.path=" + data, "--storage.wal-sync=" + sync], directory + "/log")
        # The whole storage folder: the WAL, the SQLite index and its own -wal file, the cursors.
        return process, port, data, data, "http://127.0.0.1:%d/metrics" % port
    scrape = ("global:\n  scrape_interval: %s\n  scrape_timeout: %s\nscrape_configs:\n  - job_name: %s\n"
              "    static_configs:\n      - targets: [%s]\n"
              % (interval, timeout, load["job"], ", ".join('"%s"' % t for t in targets)))
    if SECURE and load.get("tls"):
        scrape += "    scheme: https\n    tls_config:\n      ca_file: %s\n" % SECURE.ca
    if agent == "prometheus":
        config = os.path.join(directory, "prometheus.yml")
        with open(config, "w") as f:
            f.write(scrape + "remote_write:\n  - url: %s\n" % url)
            if SECURE:
                f.write("    tls_config:\n      ca_file: %s\n    basic_auth:\n      username: %s\n"
                        "      password_file: %s\n" % (SECURE.ca, SECURE.user, SECURE.password_file))
        process = procs.start(["prometheus", "--enable-feature=agent", "--config.file=" + config,
                               "--storage.agent.path=" + data, "--web.listen-address=127.0.0.1:%d" % port],
                              directory + "/log")
        return process, port, data, data, "http://127.0.0.1:%d/metrics" % port
    if agent == "vmagent":
        config = os.path.join(directory, "scrape.yml")
        with open(config, "w") as f:
            f.write(scrape)
        argv = ["vmagent", "-promscrape.config=" + config, "-remoteWrite.url=" + url,
                "-remoteWrite.tmpDataPath=" + data, "-httpListenAddr=127.0.0.1:%d" % port, "-loggerLevel=WARN"]
        if SECURE:
            argv += ["-remoteWrite.tlsCAFile=" + SECURE.ca, "-remoteWrite.basicAuth.username=" + SECURE.user,
                     "-remoteWrite.basicAuth.passwordFile=" + SECURE.password_file]
        process = procs.start(argv, directory + "/log")
        return process, port, data, data, "http://127.0.0.1:%d/metrics" % port
    raise ValueError(agent)


APPENDED = {
    "agentd": ["prometheus_agent_samples_appended_total"],
    "prometheus": ["prometheus_agent_samples_appended_total"],
    "vmagent": ["vm_promscrape_scraped_samples_sum"],
}

BYTES_SENT = {
    "agentd": ["prometheus_remote_storage_bytes_total"],
    "prometheus": ["prometheus_remote_storage_bytes_total"],
    "vmagent": ["vmagent_remotewrite_bytes_sent_total"],
}


def sink_totals(url):
    """The counting sink's byte, request and series counters."""
    names = {"compressed": "sink_compressed_bytes_total", "uncompressed": "sink_uncompressed_bytes_total",
             "requests": "sink_requests_total", "series": "sink_series_total"}
    totals = {key: metric_sum(url, [name]) for key, name in names.items()}
    return None if None in totals.values() else totals


def measure(procs, args, agent, load, work, sync, run_index):
    name = "%s-%s-%s-%s%d" % (agent, load["name"], sync, "tls-" if SECURE else "", run_index)
    work = os.path.join(work, name)
    receiver, receiver_port = start_receiver(procs, work, "receiver", args.sink)
    process, port, wal, data, metrics_url = start_agent(procs, args, agent, load, receiver_port, work, sync)
    received = ["sink_samples_total"] if args.sink else ["prometheus_tsdb_head_samples_appended_total"]
    result = {"agent": agent, "load": load["name"], "sync": sync if agent == "agentd" else "-"}
    if SECURE:
        result["tls"] = "remote write" + (" and scrape" if load.get("tls") else "")
    try:
        wait_http(metrics_url, 60)
        time.sleep(args.warmup)
        if process.poll() is not None:
            raise RuntimeError("%s exited; see %s" % (agent, os.path.join(work, agent, "log")))
        receiver_metrics = ("http://127.0.0.1:%d/metrics" % receiver_port if args.sink
                            else "%s://127.0.0.1:%d/metrics" % (scheme(), receiver_port))
        s0 = metric_sum(receiver_metrics, received)
        w0 = sink_totals(receiver_metrics) if args.sink else None
        c0, b0, d0, t0 = cpu_seconds(process.pid), metric_sum(metrics_url, BYTES_SENT[agent]), dir_bytes(wal), time.time()
        tc0 = cpu_seconds(load["server_pid"]) if load.get("server_pid") else None
        rc0 = cpu_seconds(receiver.pid)
        backlog0 = metric_sum(metrics_url, ["agentd_remote_storage_wal_backlog_bytes"]) if agent == "agentd" else None
        a0 = metric_sum(metrics_url, APPENDED[agent])
        time.sleep(args.duration)
        s1 = metric_sum(receiver_metrics, received)
        w1 = sink_totals(receiver_metrics) if args.sink else None
        c1, b1, d1, t1 = cpu_seconds(process.pid), metric_sum(metrics_url, BYTES_SENT[agent]), dir_bytes(wal), time.time()
        tc1 = cpu_seconds(load["server_pid"]) if load.get("server_pid") else None
        rc1 = cpu_seconds(receiver.pid)
        backlog1 = metric_sum(metrics_url, ["agentd_remote_storage_wal_backlog_bytes"]) if agent == "agentd" else None
        a1 = metric_sum(metrics_url, APPENDED[agent])
        hwm, rss, rss_anon, rss_file = status_kib(process.pid, "VmHWM", "VmRSS", "RssAnon", "RssFile")
        samples = (s1 - s0) if s0 is not None and s1 is not None else 0
        series = None if args.sink else query(receiver_port, 'count({__name__=~".+", __name__!~"up|scrape_.+"})')
        up = None if args.sink else query(receiver_port, "count(up == 1)")
        result.update({
            "seconds": t1 - t0,
            "samples": samples,
            "samples_per_second": samples / (t1 - t0),
            "appended_per_second": (a1 - a0) / (t1 - t0) if a0 is not None and a1 is not None else None,
            "expected_per_second": load["expected_series"] / load["interval_seconds"],
            "cpu_seconds": c1 - c0,
            "cpu_per_million": (c1 - c0) / samples * 1e6 if samples else None,
            "cpu_cores": (c1 - c0) / (t1 - t0),
            "peak_rss_mib": hwm / 1024,
            "rss_mib": rss / 1024,
            "rss_anon_mib": rss_anon / 1024,
            "rss_file_mib": rss_file / 1024,
            "rss_bytes_per_series": hwm * 1024 / series if series else None,
            "disk_bytes_per_sample": (d1 - d0) / samples if samples else None,
            "disk_bytes_end": d1,
            "rw_bytes_per_sample": (b1 - b0) / samples if samples and b0 is not None and b1 is not None else None,
            "series": series,
            "expected_series": load["expected_series"],
            "targets_up": up,
            "target_server_cpu_cores": (tc1 - tc0) / (t1 - t0) if tc0 is not None else None,
            "receiver_cpu_cores": (rc1 - rc0) / (t1 - t0),
            "wal_backlog_bytes": [backlog0, backlog1],
        })
        if args.sink:
            result["sink_bad_requests"] = metric_sum(receiver_metrics, ["sink_bad_requests_total"])
            if w0 and w1 and samples:
                # Measured at the receiver, the same way for every agent.
                delta = {key: w1[key] - w0[key] for key in w0}
                result["received_bytes_per_sample"] = delta["compressed"] / samples
                result["received_uncompressed_bytes_per_sample"] = delta["uncompressed"] / samples
                result["received_samples_per_request"] = samples / delta["requests"] if delta["requests"] else None
                result["received_samples_per_series_entry"] = samples / delta["series"] if delta["series"] else None
        if agent == "agentd":
            inspect = subprocess.run([args.agentd, "wal", "inspect", data], capture_output=True, text=True)
            lines = [l for l in inspect.stdout.splitlines() if "sample" in l.lower()]
            result["wal_inspect"] = lines[-3:] if lines else inspect.stdout.strip().splitlines()[-3:]
    except Exception as error:  # a failed run is reported, not fatal
        result["error"] = str(error)
    finally:
        procs.stop(process)
        procs.stop(receiver)
    print(json.dumps(result), flush=True)
    return result


def node_load(procs, work):
    ports, targets = [], []
    for index in range(8):
        port = free_port()
        procs.start(["prometheus-node-exporter", "--web.listen-address=127.0.0.1:%d" % port],
                    os.path.join(work, "node-exporter-%d.log" % index))
        targets.append("127.0.0.1:%d" % port)
    expected = 0
    for target in targets:
        wait_http("http://%s/metrics" % target, 30)
        body = http_get("http://%s/metrics" % target)
        expected += sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    return {"name": "node", "job": "node", "targets": targets, "interval": "5s", "timeout": "4s",
            "interval_seconds": 5, "expected_series": expected,
            "description": "8 node exporters, 5 s"}


def synthetic_load(procs, work, count, series, interval=1, bench=None):
    """bench/targets.py serving count × series, or with `bench` (an agentd-bench binary) its
    `targets` server, the same exposition served from Swift (plain HTTP only)."""
    base = free_port_range(count)
    ready = os.path.join(work, "targets.ready")
    options = ["--port", str(base), "--targets", str(count), "--series", str(series), "--ready-file", ready]
    argv = [bench, "targets"] + options if bench else [sys.executable, os.path.join(HERE, "targets.py")] + options
    if SECURE:
        argv += ["--tls-cert", SECURE.cert, "--tls-key", SECURE.key]
    server = procs.start(argv, os.path.join(work, "targets.log"))
    deadline = time.time() + 60
    while not os.path.exists(ready):
        if time.time() > deadline or server.poll() is not None:
            raise RuntimeError("the target server did not start; see " + os.path.join(work, "targets.log"))
        time.sleep(0.2)
    size = len(http_get("%s://127.0.0.1:%d/metrics" % (scheme(), base)))
    return {"name": "synthetic", "job": "synthetic", "targets": ["127.0.0.1:%d" % (base + i) for i in range(count)],
            "interval": "%ds" % interval, "timeout": "%dms" % (interval * 900), "interval_seconds": interval,
            "expected_series": count * series, "server_pid": server.pid, "server": server, "tls": SECURE is not None,
            "description": "%d synthetic targets × %d series (%d KB bodies), %d s%s%s"
                           % (count, series, size // 1000, interval, ", HTTPS" if SECURE else "",
                              ", served by agentd-bench targets" if bench else "")}


def fmt(value, pattern="%.2f"):
    return "n/a" if value is None else pattern % value


def table(results, loads):
    print()
    if SECURE:
        print("TLS (--tls): remote write over HTTPS with basic auth (bcrypt at the receiver); the synthetic "
              "targets over HTTPS too (node exporters stay plain HTTP).")
    print("| load | agent | WAL sync | samples/s delivered (expected) | CPU-s per M samples | CPU cores "
          "| peak RSS MiB | RSS bytes/series | disk B/sample | remote-write B/sample | series at receiver / expected |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    # Each (load, agent, WAL sync) in the order first run: its results, and those that failed.
    runs = {}
    for r in results:
        runs.setdefault((r["load"], r["agent"], r["sync"]), ([], []))[1 if "error" in r else 0].append(r)

    def median_of(group, name):
        values = [r[name] for r in group if r.get(name) is not None]
        return statistics.median(values) if values else None

    for key, (group, failed) in runs.items():
        if not group:
            print("| %s | %s | %s | failed: %s |" % (key[0], key[1], key[2], failed[0]["error"]))
            continue

        def median(name):
            return median_of(group, name)

        print("| %s | %s | %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s / %d |" % (
            key[0], key[1], key[2], fmt(median("samples_per_second"), "%.0f"),
            fmt(median("expected_per_second"), "%.0f"), fmt(median("cpu_per_million")), fmt(median("cpu_cores")),
            fmt(median("peak_rss_mib"), "%.0f"), fmt(median("rss_bytes_per_series"), "%.0f"),
            fmt(median("disk_bytes_per_sample")), fmt(median("rw_bytes_per_sample")),
            fmt(median("series"), "%.0f"), group[0]["expected_series"]))
    print()
    print("Memory at t1 (/proc/PID/status): RSS = anonymous (heap, stacks, dirtied data) + file-backed "
          "(the agent's own binary and libraries, mapped in as they are touched)")
    print()
    print("| load | agent | RSS MiB | anonymous MiB | file-backed MiB |")
    print("|---|---|---|---|---|")
    for key, (group, _) in runs.items():
        if group:
            print("| %s | %s | %s | %s | %s |" % tuple([key[0], key[1]] + [
                fmt(median_of(group, name), "%.1f") for name in ("rss_mib", "rss_anon_mib", "rss_file_mib")]))
    print()
    print("Medians of %s run(s) each. " % ", ".join(sorted({str(len(group) + len(failed))
                                                           for group, failed in runs.values()})))
    if any(r.get("received_bytes_per_sample") is not None for r in results):
        print()
        print("Remote-write requests as the counting sink received them (the same count for every agent):")
        print()
        print("| load | agent | bytes/sample (snappy) | bytes/sample (protobuf) | samples/request | samples per TimeSeries |")
        print("|---|---|---|---|---|---|")
        for key, (group, _) in runs.items():
            if any(r.get("received_bytes_per_sample") is not None for r in group):
                print("| %s | %s | %s | %s | %s | %s |" % (
                    key[0], key[1], fmt(median_of(group, "received_bytes_per_sample")),
                    fmt(median_of(group, "received_uncompressed_bytes_per_sample")),
                    fmt(median_of(group, "received_samples_per_request"), "%.0f"),
                    fmt(median_of(group, "received_samples_per_series_entry"))))


def max_ingest(procs, args, work):
    """For each agent, the rates it keeps up with, in order, until the first it does not."""
    rates = [int(rate) for rate in args.max_ingest.split(",")]
    summary = []
    for agent in args.agents.split(","):
        kept = None
        for rate in rates:
            load_work = os.path.join(work, "ingest-%s-%d" % (agent, rate))
            os.makedirs(load_work, exist_ok=True)
            load = synthetic_load(procs, load_work, max(1, rate // args.series), args.series, 1, args.target_server)
            print("max ingest: %s at %d samples/s (%s)" % (agent, rate, load["description"]), flush=True)
            result = measure(procs, args, agent, load, load_work, args.agentd_sync.split(",")[0], 0)
            for process in list(procs.started):
                procs.stop(process, grace=5)
            procs.started.clear()
            expected = load["expected_series"]
            delivered = result.get("samples_per_second") or 0
            appended = result.get("appended_per_second") or 0
            keeps_up = "error" not in result and delivered >= 0.97 * expected and appended >= 0.97 * expected
            summary.append((agent, rate, delivered, appended, result.get("cpu_cores"), result.get("peak_rss_mib"),
                            result.get("target_server_cpu_cores"), keeps_up))
            if not keeps_up:
                break
            kept = rate
        print("max ingest: %s keeps up with %s samples/s" % (agent, kept if kept else "none of the rates"),
              flush=True)
    print()
    print("| agent | offered samples/s | delivered/s | ingested/s | CPU cores | peak RSS MiB | target server cores "
          "| keeps up |")
    print("|---|---|---|---|---|---|---|---|")
    for agent, rate, delivered, appended, cores, rss, server_cores, keeps_up in summary:
        print("| %s | %d | %.0f | %.0f | %s | %s | %s | %s |" % (
            agent, rate, delivered, appended, fmt(cores), fmt(rss, "%.0f"), fmt(server_cores),
            "yes" if keeps_up else "no"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--agentd", required=True)
    parser.add_argument("--work", default="/tmp")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=20)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--loads", default="node,synthetic")
    parser.add_argument("--agents", default="agentd,prometheus,vmagent")
    parser.add_argument("--agentd-sync", default="batch", help="comma-separated: batch,never,1s")
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--interval", type=int, default=1, help="the synthetic targets' scrape interval, seconds")
    parser.add_argument("--tls", action="store_true",
                        help="HTTPS everywhere the agent connects: the synthetic targets, and the receiver "
                             "(--web.config.file: TLS and a bcrypt basic-auth user)")
    parser.add_argument("--cold", action="store_true",
                        help="drop the page cache before each agent starts (root): file-backed RSS as at a "
                             "first start, not as whichever pages an earlier run left cached")
    parser.add_argument("--sink", help="an agentd-bench binary: receive with its counting sink instead of Prometheus")
    parser.add_argument("--agentd-max-samples-per-send", type=int, metavar="N",
                        help="agentd's queue_config max_samples_per_send (default: Alloy's, 2000)")
    parser.add_argument("--target-server", metavar="AGENTD_BENCH",
                        help="an agentd-bench binary: serve the synthetic targets with its `targets` server "
                             "(the same exposition as bench/targets.py, from Swift; plain HTTP only)")
    parser.add_argument("--max-ingest", metavar="RATES",
                        help="comma-separated samples/s (synthetic targets of --series series at 1 s): for each "
                             "agent, the highest rate, tried in order, that it keeps up with (delivered and "
                             "ingested within 3 %% of the rate over the window); stops at the first it does not")
    args = parser.parse_args()
    if args.tls and args.target_server:
        sys.exit("versus.py: --target-server serves plain HTTP only; leave it out with --tls")
    # Every program the run starts, with the Debian package that has it: say so before starting.
    needed = {"prometheus": "prometheus", "vmagent": "victoria-metrics"}
    wanted = set(args.agents.split(",")) | ({"prometheus"} if not args.sink else set())
    missing = ["%s (apt-get install -y %s)" % (name, package) for name, package in needed.items()
               if name in wanted and shutil.which(name) is None]
    if missing:
        sys.exit("versus.py: not installed: " + ", ".join(missing))
    work = os.path.join(args.work, "versus")
    # A fresh folder each time: a stale targets.ready or agent data directory from an earlier
    # run would start the measurement early or on an old WAL.
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    global SECURE
    if args.tls:
        SECURE = Secure(os.path.join(work, "tls"))
    procs = Processes()
    if args.max_ingest:
        try:
            max_ingest(procs, args, work)
        finally:
            procs.stop_all()
        return
    results = []
    loads = []
    try:
        for load_name in args.loads.split(","):
            load_work = os.path.join(work, load_name)
            os.makedirs(load_work, exist_ok=True)
            load = node_load(procs, load_work) if load_name == "node" else \
                synthetic_load(procs, load_work, args.targets, args.series, args.interval, args.target_server)
            loads.append(load)
            print("load %s: %s, %d data series expected" % (load_name, load["description"], load["expected_series"]),
                  flush=True)
            for run in range(args.runs):
                for agent in args.agents.split(","):
                    for sync in (args.agentd_sync.split(",") if agent == "agentd" else ["-"]):
                        results.append(measure(procs, args, agent, load, load_work, sync, run))
            # Stop this load's targets before the next load.
            for process in list(procs.started):
                procs.stop(process, grace=5)
            procs.started.clear()
    finally:
        procs.stop_all()
    table(results, loads)


if __name__ == "__main__":
    main()
