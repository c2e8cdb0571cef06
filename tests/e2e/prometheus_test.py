#!/usr/bin/env python3
"""End-to-end test with a real Prometheus: the built daemon listens on
daemon.metrics_listen, a Prometheus on loopback scrapes it every second,
and its API must show the target up and a burstd sample, and an ES|QL
rule's labelled series with its name (a quote, a backslash, a non-ASCII
letter) read back as written; promtool must accept the /metrics text.  Exits 77 (skipped) when prometheus and
promtool are missing and cannot be installed (apt-get, as root).

usage: prometheus_test.py BURSTD
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

SKIP = 77
RULE_NAME = 'Say "hi" \\ \u00e9t\u00e9'
RULE_ID = "33333333-3333-4333-8333-333333333333"


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def have_tools():
    return shutil.which("prometheus") and shutil.which("promtool")


def install():
    """apt-get install prometheus, when we may; quietly False if not."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends",
                        "prometheus"], env=env, timeout=600,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(have_tools())


def fetch(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def poll(what, fn, timeout):
    """Calls fn until it returns a true value; that value, or fails."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except (OSError, ValueError, KeyError) as e:
            last = e
        time.sleep(0.25)
    sys.exit("FAIL: %s not seen in %d s (last: %r)" % (what, timeout, last))


def main():
    burstd = os.path.abspath(sys.argv[1])
    if not have_tools() and not install():
        print("SKIP: prometheus and promtool not installed")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="burstd-prom-")
    procs = []
    try:
        bport, pport = free_port(), free_port()
        conf = os.path.join(tmp, "burstd.yaml")
        with open(conf, "w") as f:
            f.write("daemon:\n  tick_interval: 100ms\n"
                    "  metrics_listen: 127.0.0.1:%d\n"
                    "inputs:\n  - type: unix\n    path: %s/in.sock\n"
                    "    name: shipper\n"
                    "sinks:\n  - type: stdout\n"
                    "rules:\n  - name: '%s'\n"
                    "    rule_id: %s\n"
                    "    query: 'FROM logs-* | WHERE process.name == \"nc\"'"
                    "\n" % (bport, tmp, RULE_NAME, RULE_ID))
        blog = open(os.path.join(tmp, "burstd.log"), "w")
        procs.append(subprocess.Popen([burstd, "-c", conf],
                                      stdout=subprocess.DEVNULL,
                                      stderr=blog))
        text = poll("burstd /metrics", lambda: fetch(
            "http://127.0.0.1:%d/metrics" % bport), 30)
        p = subprocess.run(["promtool", "check", "metrics"], input=text,
                           capture_output=True, timeout=60)
        if p.returncode != 0:
            sys.exit("FAIL: promtool check metrics: %s%s" % (
                p.stdout.decode(), p.stderr.decode()))

        pconf = os.path.join(tmp, "prometheus.yml")
        with open(pconf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n"
                    "  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: burstd\n"
                    "    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % bport)
        plog = open(os.path.join(tmp, "prometheus.log"), "w")
        procs.append(subprocess.Popen(
            ["prometheus", "--config.file=" + pconf,
             "--storage.tsdb.path=" + os.path.join(tmp, "data"),
             "--web.listen-address=127.0.0.1:%d" % pport],
            stdout=plog, stderr=subprocess.STDOUT))
        api = "http://127.0.0.1:%d/api/v1/" % pport

        def target_up():
            t = json.loads(fetch(api + "targets"))["data"]["activeTargets"]
            return [x for x in t if x["health"] == "up"]
        up = poll("the burstd target up", target_up, 45)
        if up[0]["labels"]["instance"] != "127.0.0.1:%d" % bport:
            sys.exit("FAIL: unexpected target %r" % up[0])

        def query():
            q = urllib.parse.quote(
                'burstd_input_clients_connected{input="shipper"}')
            r = json.loads(fetch(api + "query?query=" + q))["data"]["result"]
            return r
        r = poll("burstd_input_clients_connected in prometheus", query, 30)
        if r[0]["value"][1] != "0":
            sys.exit("FAIL: %r" % r)

        def rule_query():
            q = urllib.parse.quote('burstd_rule_alerts_total{rule_id="%s"}'
                                   % RULE_ID)
            return json.loads(fetch(api + "query?query=" + q))["data"][
                "result"]
        rr = poll("burstd_rule_alerts_total in prometheus", rule_query, 30)
        if (len(rr) != 1 or rr[0]["metric"].get("rule") != RULE_NAME or
                rr[0]["value"][1] != "0"):
            sys.exit("FAIL: %r" % rr)
        print("ok: target up, %s = %s, rule %r" % (
            r[0]["metric"]["__name__"], r[0]["value"][1],
            rr[0]["metric"]["rule"]))
        return 0
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
