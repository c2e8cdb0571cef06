#!/usr/bin/env python3
"""End-to-end tests of the metrics listener (daemon.metrics_listen): the
built daemon answering real HTTP clients over TCP and a Unix socket.
Uses the harness of daemon_test.py.

usage: http_test.py BURSTD [unittest args]
"""
import os
import signal
import socket
import sys
import time
import unittest

import daemon_test as dt


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def exchange(addr, data, family=socket.AF_INET, timeout=20):
    """Sends data, returns (status, headers, body) of the answer; the
    daemon must close the connection after it."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(addr)
    s.sendall(data)
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def get(addr, path, family=socket.AF_INET, method="GET"):
    return exchange(addr, ("%s %s HTTP/1.1\r\nHost: x\r\n"
                           "User-Agent: test\r\n\r\n" % (method, path))
                    .encode(), family)


def samples(body):
    return dict(line.rsplit(" ", 1) for line in body.decode().splitlines()
                if line and not line.startswith("#"))


class HttpTest(dt.DaemonTest):
    def start_http(self, sinks="  - type: stdout\n", listen=None):
        port = free_port()
        listen = listen or "127.0.0.1:%d" % port
        stats = self.path("stats.sock")
        d = self.start(dt.conf(
            self.tmp, "  - type: unix\n    path: %s\n" % self.path("in.sock"),
            sinks, extra="  stats_socket: %s\n  metrics_listen: %s\n"
            % (stats, listen)))
        self.assertTrue(d.wait_log("metrics listening on"), d.log_text())
        return d, ("127.0.0.1", port)

    def test_metrics_and_routes(self):
        """/metrics serves what the stats socket serves; other paths,
        methods and malformed heads get their codes."""
        d, addr = self.start_http()
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path("in.sock"))
        c.sendall(dt.event(int(time.time() * 1000), "p1", "whoami")
                  .encode())
        self.assertTrue(d.wait_matched(1), d.log_text())
        c.close()
        status, h, body = get(addr, "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(h["content-type"],
                         "text/plain; version=0.0.4; charset=utf-8")
        self.assertEqual(h["connection"], "close")
        self.assertEqual(int(h["content-length"]), len(body))
        m = samples(body)
        self.assertEqual(m["burstd_events_matched_total"], "1")
        self.assertEqual(m['burstd_input_clients_total{input="unix0"}'], "1")
        # The stats socket's families, the same set.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.path("stats.sock"))
        text = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            text += chunk
        s.close()
        self.assertEqual(set(samples(text)), set(m))
        self.assertEqual(m['burstd_input_lines_total{input="unix0"}'], "1")
        self.assertEqual(m['burstd_sink_connects_total{sink="stdout0"}'],
                         "1")
        self.assertEqual(len([k for k in m
                              if k.startswith("burstd_build_info{")]), 1)
        self.assertGreater(int(m["process_resident_memory_bytes"]), 1 << 20)
        self.assertLessEqual(abs(int(m["process_start_time_seconds"]) -
                                 time.time()), 120)
        # The event was stamped now: its agent lags by seconds at most.
        self.assertLess(float(m["burstd_event_time_lag_seconds"]), 60)
        self.assertEqual(m["burstd_config_last_reload_successful"], "1")

        status, h, body = get(addr, "/health")
        self.assertEqual((status, body), (200, b"ok\n"))
        status, h, body = get(addr, "/metrics", method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertGreater(int(h["content-length"]), 1000)
        self.assertEqual(get(addr, "/metrics?x=1")[0], 200)
        self.assertEqual(get(addr, "/nothing")[0], 404)
        status, h, _ = get(addr, "/metrics", method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(h["allow"], "GET, HEAD")
        bad = [b"GET /metrics HTTP/1.1\r\n\r\n",            # no Host
               b"GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",  # not a path
               b"GET /metrics HTTP/1.1\nHost: x\n\n",       # bare LF
               b"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
               b"GET /metrics HTTP/1.1\r\nHost x\r\n\r\n",
               b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
               b"Content-Length: 5\r\n\r\nhello"]
        for req in bad:
            status, _, body = exchange(addr, req)
            self.assertEqual(status, 400, req)
            self.assertTrue(body.strip(), req)
        self.assertEqual(exchange(addr, b"GET /metrics HTTP/2.0\r\n"
                                  b"Host: x\r\n\r\n")[0], 505)
        big = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + \
            b"X-Pad: " + b"a" * 9000 + b"\r\n\r\n"
        self.assertEqual(exchange(addr, big)[0], 431)
        m = samples(get(addr, "/metrics")[2])
        self.assertEqual(m["burstd_http_bad_requests_total"],
                         str(len(bad) + 2))
        self.assertEqual(d.stop(), 0)

    def test_slow_head_is_closed_and_counted(self):
        """A client that never finishes its head is closed after the
        timeout and counted; others are served meanwhile."""
        d, addr = self.start_http()
        slow = socket.create_connection(addr)
        slow.sendall(b"GET /metrics HTTP/1.1\r\n")
        self.assertEqual(get(addr, "/health")[0], 200)
        slow.settimeout(30)
        self.assertEqual(slow.recv(100), b"")  # closed, no answer
        slow.close()
        m = samples(get(addr, "/metrics")[2])
        self.assertEqual(m["burstd_http_timeouts_total"], "1")
        self.assertEqual(d.stop(), 0)

    def test_health_follows_sink_and_unix_listener(self):
        """/health is 503 naming the sink while it is down, 200 once it
        connects; the listener on a Unix socket path works alike and its
        file is removed at stop."""
        sock = self.path("alerts.sock")
        mpath = self.path("metrics.sock")
        d, _ = self.start_http(sinks="  - type: unix\n    path: %s\n"
                               "    backoff_min: 50ms\n"
                               "    backoff_max: 400ms\n" % sock,
                               listen=mpath)
        status, _, body = get(mpath, "/health", socket.AF_UNIX)
        self.assertEqual(status, 503)
        self.assertIn(b"sink", body)
        self.assertIn(sock.encode(), body)
        lst = dt.Listener(sock)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                status, _, body = get(mpath, "/health", socket.AF_UNIX)
                if status == 200:
                    break
                time.sleep(0.1)
            self.assertEqual((status, body), (200, b"ok\n"))
            self.assertEqual(d.stop(), 0)
        finally:
            lst.stop()
        self.assertFalse(os.path.exists(mpath))

    def test_reload_outcome(self):
        """A refused reload shows as 0, a good one as 1 again."""
        d, addr = self.start_http()
        good = open(d.conf).read()
        with open(d.conf, "w") as f:
            f.write(good + "bogus_key: 1\n")
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("keeping the running"), d.log_text())
        m = samples(get(addr, "/metrics")[2])
        self.assertEqual(m["burstd_config_last_reload_successful"], "0")
        self.assertEqual(m["burstd_reloads_failed_total"], "1")
        with open(d.conf, "w") as f:
            f.write(good)
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_log("reloaded "), d.log_text())
        m = samples(get(addr, "/metrics")[2])
        self.assertEqual(m["burstd_config_last_reload_successful"], "1")
        self.assertEqual(d.stop(), 0)

    def test_bad_listen_address_is_refused(self):
        """A malformed metrics_listen fails the configuration check."""
        for bad in ["127.0.0.1", "localhost:9100", "[::1]9100",
                    "127.0.0.1:70000", "relative/path"]:
            conf = self.path("bad.yaml")
            with open(conf, "w") as f:
                f.write(dt.conf(self.tmp, "  - type: stdin\n",
                                "  - type: stdout\n",
                                extra="  metrics_listen: \"%s\"\n" % bad))
            p = dt.subprocess.run([dt.BURSTD, "-n", "-c", conf],
                                  capture_output=True, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0, bad)
            self.assertIn("metrics_listen", p.stderr, bad)


# Only this file's tests, not the ones inherited from DaemonTest.
def load_tests(loader, tests, pattern):
    return loader.loadTestsFromNames(
        ["%s.%s" % (HttpTest.__name__, n)
         for n in loader.getTestCaseNames(HttpTest)
         if n in HttpTest.__dict__], sys.modules[__name__])


if __name__ == "__main__":
    dt.BURSTD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
