"""Tests of the Python reseed (reseed/python/sitecustomize.py) on its own:
what it does to an interpreter as it starts, and its side of the hook channel
(docs/hook-channel.md) against a fake delegator written here.

Run: python3 tests/hooks/reseed_python_test.py
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
RESEED = os.path.normpath(os.path.join(HERE, "..", "..", "reseed", "python"))


class FakeChannel:
    """A delegator's hook channel: registers one reseed client, hands it
    after-restore on its first poll (once the process under test has called
    GET /test/ready, when `wait_ready`) and "done" on the next, and keeps what
    it reported."""

    def __init__(self, wait_ready=False):
        self.ready = threading.Event()
        if not wait_ready:
            self.ready.set()
        self.registered = None
        self.report = None
        self.reported = threading.Event()
        channel = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/anysnap/v1/clients":
                    channel.registered = body
                    self.answer(201, {"id": "3", "phases": ["after-restore"]})
                else:
                    channel.report = (self.path, body)
                    self.answer(204)
                    channel.reported.set()

            def do_GET(self):
                if self.path == "/test/ready":
                    channel.ready.set()
                    self.answer(200, {})
                    return
                channel.ready.wait(30)
                phase = "done" if channel.report else "after-restore"
                self.answer(200, {"phase": phase})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def address(self):
        return "127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def run(code, pythonpath, api=None):
    env = dict(os.environ, PYTHONPATH=pythonpath, PYTHONDONTWRITEBYTECODE="1")
    env.pop("AWS_LAMBDA_RUNTIME_API", None)
    if api:
        env["AWS_LAMBDA_RUNTIME_API"] = api
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)


class ReseedTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def user_dir(self, files):
        for name, text in files.items():
            with open(os.path.join(self.tmp.name, name), "w") as f:
                f.write(text)
        return self.tmp.name

    def test_the_functions_own_sitecustomize_still_runs_and_pythonpath_is_its_own(self):
        user = self.user_dir({"sitecustomize.py": "import builtins\nbuiltins.USER_SITE = True\n"})
        out = run("import os, sitecustomize; print(USER_SITE, os.environ.get('PYTHONPATH'),"
                  " sitecustomize.__file__)", RESEED + os.pathsep + user)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split(), ["True", user, os.path.join(user, "sitecustomize.py")])

    def test_alone_it_leaves_no_pythonpath(self):
        out = run("import os; print(os.environ.get('PYTHONPATH'))", RESEED)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "None")

    def test_registers_and_reseeds_what_is_loaded(self):
        channel = FakeChannel(wait_ready=True)
        self.addCleanup(channel.close)
        code = ("import os, random, ssl, time, urllib.request\n"
                "before = random.getstate()\n"
                "urllib.request.urlopen('http://%s/test/ready' % os.environ['AWS_LAMBDA_RUNTIME_API'])\n"
                "while random.getstate() == before: time.sleep(0.01)\n"
                "print('reseeded', flush=True)\n"
                "time.sleep(60)\n")
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONPATH=RESEED, PYTHONDONTWRITEBYTECODE="1",
                                         AWS_LAMBDA_RUNTIME_API=channel.address()))
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        self.assertEqual(proc.stdout.readline().strip(), "reseeded")
        self.assertTrue(channel.reported.wait(30))
        proc.stdout.close()
        self.assertEqual(channel.registered["reseed"], True)
        self.assertEqual(channel.registered["language"], "python")
        path, report = channel.report
        self.assertEqual(path, "/anysnap/v1/clients/3/phase/after-restore")
        self.assertEqual(report, {"ok": True, "reseeded": ["random", "OpenSSL"],
                                  "not_reseeded": []})

    def test_openssl_without_ssl_is_named_as_not_reseeded(self):
        # After-restore only once OpenSSL is loaded (hashlib's _hashlib).
        channel = FakeChannel(wait_ready=True)
        self.addCleanup(channel.close)
        user = self.user_dir({"ssl.py": "raise ImportError('no ssl in this Python')\n"})
        code = ("import hashlib, _hashlib, os, time, urllib.request\n"
                "urllib.request.urlopen('http://%s/test/ready' % os.environ['AWS_LAMBDA_RUNTIME_API'])\n"
                "time.sleep(60)\n")
        proc = subprocess.Popen([sys.executable, "-c", code], env=dict(
            os.environ, PYTHONPATH=RESEED + os.pathsep + user, PYTHONDONTWRITEBYTECODE="1",
            AWS_LAMBDA_RUNTIME_API=channel.address()))
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        self.assertTrue(channel.reported.wait(30))
        _, report = channel.report
        self.assertNotIn("OpenSSL", report["reseeded"])
        self.assertEqual(report["not_reseeded"],
                         ["OpenSSL (ImportError: no ssl in this Python)"])


if __name__ == "__main__":
    unittest.main()
