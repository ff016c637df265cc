"""Tests of the Python hook client (samples/hooks/python/anysnap_hooks.py) against
a fake hook channel: each test starts a Python process that uses the module,
with AWS_LAMBDA_RUNTIME_API pointing at a server of this file that plays the
delegator (docs/hook-channel.md) and records what the client asked.

Run: python3 -m unittest tests/hooks/python_hooks_test.py
"""
import http.server
import json
import os
import socket
import subprocess
import sys
import textwrap
import signal
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "samples", "hooks", "python"))


class FakeChannel:
    """A delegator's hook channel.

    register: the answer to the registration, (status, body); unanswered: never
    answer it; probe_registration: before answering it, send the registering
    process SIGUSR1 and wait for its GET /anysnap-test/probe?... (kept in
    `probes`); phases: the phases to hand out, one per poll, then "done";
    broken_polls: how many polls to cut before answering one; hold_polls: never
    answer a poll; plain_api: answer 404 to everything, as the real Runtime API
    does. GET /anysnap-test/poll-open answers once a phase poll has arrived.
    Phases are handed out once the runtime has asked for invocation/next, which
    is held until "done" has been sent (as the delegator holds it), then
    answered.
    """

    def __init__(self, register=None, unanswered=False, probe_registration=False, phases=(),
                 broken_polls=0, hold_polls=False, plain_api=False):
        self.register = register or (201, {"id": "7", "phases": list(phases)})
        self.unanswered = unanswered
        self.probe_registration = probe_registration
        self.phases = list(phases)
        self.broken_polls = broken_polls
        self.hold_polls = hold_polls
        self.plain_api = plain_api
        self.events = []
        self.probes = []
        self.probed = threading.Event()
        self.poll_open = threading.Event()
        self.reports = []
        self.registration = None
        self.next_asked = threading.Event()
        self.done = threading.Event()
        self.stopping = threading.Event()
        channel = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                channel.handle(self, b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                channel.handle(self, self.rfile.read(length))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.api = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def reply(handler, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def handle(self, handler, body):
        method, path = handler.command, handler.path
        if path.startswith("/anysnap-test/"):
            self.handle_test_request(handler, path)
            return
        self.events.append("%s %s" % (method, path))
        if self.plain_api or not (path.startswith("/anysnap/v1/") or path.endswith("/invocation/next")):
            self.reply(handler, 404, b"404 page not found", "text/plain")
        elif method == "POST" and path == "/anysnap/v1/clients":
            self.registration = json.loads(body)
            if self.unanswered:
                self.stopping.wait()
                return
            if self.probe_registration:
                try:
                    os.kill(self.registration["pid"], signal.SIGUSR1)
                    self.probed.wait(30)
                except ProcessLookupError:
                    pass  # gone already: there is no probe to wait for
            self.reply(handler, *self.register)
        elif method == "GET" and path == "/anysnap/v1/clients/7/phase":
            self.poll_open.set()
            if self.hold_polls:
                self.stopping.wait()
                return
            if self.broken_polls > 0:
                self.broken_polls -= 1
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
                return
            if self.phases:
                # As the delegator: a phase is asked for at the runtime's next.
                self.next_asked.wait(30)
            phase = self.phases.pop(0) if self.phases else "done"
            self.reply(handler, 200, {"phase": phase})
            if phase == "done":
                self.done.set()
        elif method == "POST" and path.startswith("/anysnap/v1/clients/7/phase/"):
            report = {"phase": path.rsplit("/", 1)[1]}
            report.update(json.loads(body))
            self.reports.append(report)
            handler.send_response(204)
            handler.end_headers()
        elif method == "GET" and path == "/2018-06-01/runtime/invocation/next":
            self.next_asked.set()
            self.done.wait(30)
            self.reply(handler, 200, {"stop": True})
        else:
            self.reply(handler, 404, {"errorType": "Anysnap.UnknownClient", "errorMessage": path})

    def handle_test_request(self, handler, path):
        """The test's own requests from the child, outside the channel's events."""
        if path.startswith("/anysnap-test/probe?"):
            self.probes.append(path.split("?", 1)[1])
            self.probed.set()
            self.reply(handler, 200, {})
        elif path == "/anysnap-test/poll-open":
            self.reply(handler, 200, self.poll_open.wait(30))
        else:
            self.reply(handler, 404, {})


# A prelude for the child: the module, an `out` line printer, and
# wait_for_next(), which asks for invocation/next as a runtime does.
PRELUDE = """
import http.client, os, sys
import anysnap_hooks as hooks

def out(line):
    print(line, flush=True)

def wait_for_next():
    conn = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    conn.getresponse().read()
    out("next answered")
"""


def run_python(source, api=None):
    """Runs PRELUDE + source in a fresh Python; returns (status, stdout lines, stderr)."""
    env = dict(os.environ, PYTHONPATH=MODULE_DIR, PYTHONDONTWRITEBYTECODE="1")
    env.pop("AWS_LAMBDA_RUNTIME_API", None)
    if api is not None:
        env["AWS_LAMBDA_RUNTIME_API"] = api
    child = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(source)], env=env,
                           capture_output=True, text=True, timeout=30, check=False)
    return child.returncode, child.stdout.splitlines(), child.stderr


def warnings(stderr):
    return [line for line in stderr.splitlines() if line.startswith("anysnap-hooks:")]


class PythonHooksTest(unittest.TestCase):
    def test_registration_completes_before_the_call_returns(self):
        # The channel holds its answer until the child, signalled, has said
        # from its signal handler whether it is still inside the call.
        with FakeChannel(probe_registration=True) as channel:
            status, lines, stderr = run_python("""
                import signal
                registering = False
                def probe(signum, frame):
                    conn = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
                    conn.request("GET", "/anysnap-test/probe?registering=%d" % registering)
                    conn.getresponse().read()
                    conn.close()
                signal.signal(signal.SIGUSR1, probe)
                registering = True
                hooks.register_before_snapshot(lambda: None)
                registering = False
                out("returned")
                """, channel.api)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(lines, ["returned"])
        self.assertEqual(channel.probes, ["registering=1"])
        self.assertEqual(channel.registration["language"], "python")
        self.assertIsInstance(channel.registration["pid"], int)
        # No phases: the client stops there and never polls.
        self.assertEqual(channel.events, ["POST /anysnap/v1/clients"])
        self.assertEqual(warnings(stderr), [])

    def test_hook_order_arguments_and_decorators(self):
        with FakeChannel(phases=["before-snapshot", "after-restore"]) as channel:
            status, lines, stderr = run_python("""
                hooks.register_before_snapshot(out, "a")
                @hooks.register_before_snapshot
                def b():
                    out("b")
                hooks.register_before_snapshot(out, line="c")
                @hooks.register_after_restore
                def x():
                    out("x")
                hooks.register_after_restore(out, "y")
                out("decorator kept " + b.__name__)
                wait_for_next()
                """, channel.api)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(lines, ["decorator kept b", "c", "b", "a", "x", "y", "next answered"])
        self.assertEqual(channel.reports, [
            {"phase": "before-snapshot", "ok": True, "hooks": 3},
            {"phase": "after-restore", "ok": True, "hooks": 2},
        ])
        self.assertEqual([e for e in channel.events if not e.endswith("/invocation/next")], [
            "POST /anysnap/v1/clients",
            "GET /anysnap/v1/clients/7/phase",
            "POST /anysnap/v1/clients/7/phase/before-snapshot",
            "GET /anysnap/v1/clients/7/phase",
            "POST /anysnap/v1/clients/7/phase/after-restore",
            "GET /anysnap/v1/clients/7/phase",
        ])

    def test_a_failing_hook_ends_its_phase_and_the_report_names_it(self):
        with FakeChannel(phases=["before-snapshot", "after-restore"]) as channel:
            status, lines, stderr = run_python("""
                class PoolBusy(Exception):
                    pass
                def close_pool():
                    raise PoolBusy("pool busy")
                def reconnect():
                    raise ValueError("no host")
                hooks.register_before_snapshot(out, "a")
                hooks.register_before_snapshot(close_pool)
                hooks.register_before_snapshot(out, "c")
                hooks.register_after_restore(reconnect)
                hooks.register_after_restore(out, "never")
                wait_for_next()
                """, channel.api)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(lines, ["c", "next answered"])
        self.assertEqual(channel.reports, [
            {"phase": "before-snapshot", "ok": False, "hook": "close_pool", "errorType": "PoolBusy",
             "errorMessage": "pool busy"},
            {"phase": "after-restore", "ok": False, "hook": "reconnect", "errorType": "ValueError",
             "errorMessage": "no host"},
        ])
        self.assertEqual(warnings(stderr), [
            "anysnap-hooks: before-snapshot hook close_pool failed: PoolBusy: pool busy",
            "anysnap-hooks: after-restore hook reconnect failed: ValueError: no host",
        ])

    def test_polls_again_after_a_broken_poll_connection(self):
        with FakeChannel(phases=["before-snapshot"], broken_polls=2) as channel:
            status, lines, stderr = run_python("""
                hooks.register_before_snapshot(out, "a")
                wait_for_next()
                """, channel.api)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(lines, ["a", "next answered"])
        self.assertEqual(channel.reports, [{"phase": "before-snapshot", "ok": True, "hooks": 1}])
        # Two cut, one answered, one answered "done".
        self.assertEqual(channel.events.count("GET /anysnap/v1/clients/7/phase"), 4)
        self.assertEqual(warnings(stderr), [])

    def test_an_open_poll_never_keeps_the_process_alive(self):
        with FakeChannel(phases=["after-restore"], hold_polls=True) as channel:
            status, lines, stderr = run_python("""
                hooks.register_after_restore(out, "a")
                conn = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
                conn.request("GET", "/anysnap-test/poll-open")
                out("poll open: " + conn.getresponse().read().decode())
                conn.close()
                """, channel.api)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(lines, ["poll open: true"])
        self.assertEqual(channel.events, ["POST /anysnap/v1/clients", "GET /anysnap/v1/clients/7/phase"])

    def test_a_plain_runtime_api_leaves_hooks_off_with_one_warning(self):
        with FakeChannel(plain_api=True) as channel:
            status, lines, stderr = run_python("""
                def close_pool():
                    out("ran")
                hooks.register_before_snapshot(close_pool)
                hooks.register_after_restore(out, "ran")
                out("loaded")
                """, channel.api)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(lines, ["loaded"])
        self.assertEqual(warnings(stderr), [
            "anysnap-hooks: no anysnap delegator at %s (404 from the Runtime API): "
            "before-snapshot hook close_pool will not run" % channel.api])
        self.assertEqual(channel.events, ["POST /anysnap/v1/clients"])

    def test_nothing_listening_or_no_runtime_api_gives_one_warning(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            api = "127.0.0.1:%d" % s.getsockname()[1]
        source = """
            def reseed():
                pass
            hooks.register_after_restore(reseed)
            hooks.register_after_restore(reseed)
            out("loaded")
            """
        status, lines, stderr = run_python(source, api)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(lines, ["loaded"])
        self.assertEqual(warnings(stderr), [
            "anysnap-hooks: no anysnap delegator at %s ([Errno 111] Connection refused): "
            "after-restore hook reseed will not run" % api])
        status, lines, stderr = run_python(source)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(lines, ["loaded"])
        self.assertEqual(warnings(stderr), [
            "anysnap-hooks: AWS_LAMBDA_RUNTIME_API is not set (not on Lambda?): "
            "after-restore hook reseed will not run"])

    def test_registered_too_late_gives_one_warning_and_no_poll(self):
        too_late = (409, {"errorType": "Anysnap.TooLate", "errorMessage": "init has ended"})
        with FakeChannel(register=too_late) as channel:
            status, lines, stderr = run_python("""
                def reseed():
                    out("ran")
                hooks.register_after_restore(reseed)
                hooks.register_before_snapshot(reseed)
                out("loaded")
                """, channel.api)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(lines, ["loaded"])
        self.assertEqual(warnings(stderr), [
            "anysnap-hooks: after-restore hook reseed registered too late "
            "(409 Anysnap.TooLate: init has ended): it will never run"])
        self.assertEqual(channel.events, ["POST /anysnap/v1/clients"])

    def test_a_registration_left_unanswered_gives_up_after_5_s(self):
        with FakeChannel(unanswered=True) as channel:
            status, lines, stderr = run_python("""
                hooks.register_before_snapshot(out, "a")
                out("loaded")
                """, channel.api)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(lines, ["loaded"])
        self.assertEqual(warnings(stderr), [
            "anysnap-hooks: no anysnap delegator at %s (no answer within 5 s): "
            "before-snapshot hook out will not run" % channel.api])

    def test_refuses_a_hook_that_is_not_callable(self):
        with FakeChannel() as channel:
            status, lines, stderr = run_python("""
                try:
                    hooks.register_after_restore("x")
                except TypeError as e:
                    out(e)
                """, channel.api)
        self.assertEqual(status, 0, stderr)
        self.assertEqual(lines, ["anysnap-hooks: register_after_restore needs a callable, got str"])
        self.assertEqual(channel.events, [])


if __name__ == "__main__":
    unittest.main()
