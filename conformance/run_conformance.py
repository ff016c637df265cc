#!/usr/bin/env python3
"""The conformance suite's runner: one function written against one of AWS's
own runtime clients, run the same way under AWS's Runtime Interface Emulator
(RIE) directly, under RIE through anysnap-wrapper called with java21's argv,
and under anysnap-local (on-demand, and snap-start with the freeze backend).

Every scenario of docs/conformance.md is invoked in each of those modes, and
what the caller sees (status, Content-Type, X-Amz-Function-Error, body) is
recorded after masking what differs from run to run (request ids, deadlines,
trace ids, the fake account id, where the code lies). Then:
  - through the wrapper, every record equals RIE's, byte for byte;
  - under anysnap-local, every record equals RIE's once the deliberate
    differences of docs/conformance.md (Lambda's behaviour where RIE differs)
    are applied to RIE's.
A mismatch prints both records as a diff; the closing line counts the checks.

Usage: run_conformance.py --client nodejs|python|go|java|rust --source DIR --build DIR
"""
import argparse
import difflib
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

FUNCTION_NAME = "conformance"
# Every wait below ends on an event; this only bounds a broken run.
PATIENCE_S = 120
MIB = 1024 * 1024
# java21's managed bootstrap argv after the wrapper (runtime-api.md §4).
JAVA21_ARGV_HEAD = [
    "-XX:+TieredCompilation", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
    "-XX:MaxHeapSize=445645k", "--add-opens=java.base/java.io=ALL-UNNAMED",
    "-Dorg.crac.Core.Compat=com.amazonaws.services.lambda.crac", "-XX:-UsePerfData",
    "-Djava.net.preferIPv4Stack=true",
]
JAVA_MAIN_CLASS = "com.amazonaws.services.lambda.runtime.api.client.AWSLambda"
JAVA_CLIENT_CLASSPATH = ("/var/runtime/lib/aws-lambda-java-core-1.2.3.jar:"
                         "/var/runtime/lib/aws-lambda-java-runtime-interface-client-2.6.0-linux-x86_64.jar")


# --- the clients -----------------------------------------------------------

class Client:
    """One runtime client: its function's folder, its runtime host command,
    and which scenarios it has (streaming only where the client offers it)."""

    def __init__(self, name, task_root, command, handler, stream_handler=None, java=False,
                 stream_content_type=None):
        self.name = name
        # The Content-Type the client posts a streamed response with.
        self.stream_content_type = stream_content_type
        self.task_root = task_root
        self.command = command  # argv of the runtime host, the handler last when it takes one
        self.handler = handler
        self.stream_handler = stream_handler
        self.java = java


def make_client(name, source, build):
    conf = os.path.join(source, "conformance")
    out = os.path.join(build, "conformance")
    if name == "nodejs":
        ric = os.path.join(build, "node_modules", "aws-lambda-ric", "index.mjs")
        return Client(name, os.path.join(conf, "nodejs"), ["node", ric, "index.handler"],
                      "index.handler", stream_handler="index.stream",
                      stream_content_type="text/plain")
    if name == "python":
        return Client(name, os.path.join(conf, "python"),
                      [sys.executable, "-m", "awslambdaric", "function.handler"], "function.handler")
    if name == "go":
        return Client(name, os.path.join(out, "go"), [os.path.join(out, "go", "bootstrap")],
                      "bootstrap", stream_handler="bootstrap",
                      stream_content_type="application/octet-stream")
    if name == "rust":
        return Client(name, os.path.join(out, "rust"), [os.path.join(out, "rust", "bootstrap")],
                      "bootstrap", stream_handler="bootstrap",
                      stream_content_type="application/vnd.awslambda.http-integration-response")
    if name == "java":
        lib = os.path.join(out, "java", "lib")
        jars = sorted(os.path.join(lib, j) for j in os.listdir(lib) if j.endswith(".jar"))
        java = shutil.which("java")
        if java is None:
            raise SystemExit("run_conformance: java is not on PATH")
        return Client(name, os.path.join(out, "java"),
                      [java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-classpath",
                       ":".join(jars), JAVA_MAIN_CLASS, "conformance.Handler::handleRequest"],
                      "conformance.Handler::handleRequest", java=True)
    raise SystemExit(f"run_conformance: unknown client {name}")


# --- the scenarios ---------------------------------------------------------

FORM = "application/x-www-form-urlencoded"  # what curl -d sends


def scenarios(client):
    """(name, event bytes, the invoke's Content-Type), in the order sent: each
    failure is followed by an ordinary invoke, which must work."""
    echo = json.dumps({"action": "echo", "k": "v"}).encode()
    s = [
        ("echo", echo, FORM),
        ("echo-json", json.dumps({"action": "echo", "list": [1, 2, 3]}).encode(), "application/json"),
        ("event-1mib", json.dumps({"action": "big_event", "pad": "p" * MIB}).encode(), FORM),
        ("response-5mib", json.dumps({"action": "big_response", "size": 5 * MIB}).encode(), FORM),
        ("response-7mib", json.dumps({"action": "big_response", "size": 7 * MIB}).encode(), FORM),
        ("after-response-7mib", echo, FORM),
        ("handled-error", json.dumps({"action": "error"}).encode(), FORM),
        ("after-handled-error", echo, FORM),
        ("unhandled-error", json.dumps({"action": "crash"}).encode(), FORM),
        ("after-unhandled-error", echo, FORM),
        ("exit-mid-invoke", json.dumps({"action": "exit"}).encode(), FORM),
        ("after-exit", echo, FORM),
    ]
    return s


def stream_scenarios():
    chunks = ["first chunk;", "second chunk;", "x" * 70000, "last chunk"]
    return [("stream", json.dumps({"action": "stream", "chunks": chunks}).encode(), FORM),
            ("after-stream", json.dumps({"action": "stream", "chunks": ["again"]}).encode(), FORM)]


# --- processes -------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, log_path):
    # RIE says nothing once it listens (its startHTTPServer logs only after
    # ListenAndServe returns): connect until it accepts.
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited before listening:\n{read(log_path)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"never listened on {port}:\n{read(log_path)}")


def read(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


class Server:
    """A process serving the invoke endpoint: RIE or anysnap-local. Its output
    goes through a pipe to `log_path`, read line by line as it comes."""

    LISTENING = re.compile(rb" at http://127\.0\.0\.1:(\d+)/")

    def __init__(self, argv, env, cwd, log_path, port=None):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.said_port = None
        self.listening = threading.Event()  # serve said where, or the output ended
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.copier = threading.Thread(target=self._copy, daemon=True)
        self.copier.start()
        if port is not None:
            wait_for_port(port, self.proc, log_path)
            self.port = port
        else:  # anysnap-local serve --port 0 says where it listens
            self.listening.wait(PATIENCE_S)
            self.port = self.said_port
            if self.port is None:
                raise RuntimeError(f"anysnap-local did not start:\n{read(log_path)}")

    def _copy(self):
        for line in self.proc.stdout:
            self.log.write(line)
            self.log.flush()
            if self.said_port is None:
                m = self.LISTENING.search(line)
                if m:
                    self.said_port = int(m.group(1))
                    self.listening.set()
        self.listening.set()

    def invoke(self, body, content_type):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=PATIENCE_S)
        conn.request("POST", "/2015-03-31/functions/function/invocations", body=body,
                     headers={"Content-Type": content_type})
        r = conn.getresponse()
        data = r.read()
        record = {"status": r.status, "content_type": r.getheader("Content-Type"),
                  "function_error": r.getheader("X-Amz-Function-Error"), "body": data}
        conn.close()
        return record

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        else:
            try:  # whatever the runtime left in the group
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.copier.join(15)
        self.proc.stdout.close()
        self.log.close()


# --- masking and the deliberate differences --------------------------------

UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TRACE = re.compile(rb"Root=1-[0-9a-f]{8}-[0-9a-f]{24}[A-Za-z0-9=;_-]*")
ACCOUNT = re.compile(rb"(arn:aws:lambda:[a-z0-9-]+:)\d{12}(:function:)")
# Function.ResponseSizeTooLarge naming the response's size (Lambda's words).
OVERSIZE = re.compile(rb"(Response payload size \()(\d+)( bytes\) exceeded)")
MAX_RESPONSE = 6291556
REMAINING = re.compile(rb'("remaining_ms"\s*:\s*)(\d+)')
DEADLINE = re.compile(rb'("deadline_ms"\s*:\s*)(\d+)')


def mask(record, host_paths):
    body = record["body"]
    problems = []
    for m in REMAINING.finditer(body):
        if not 0 < int(m.group(2)) <= 300000:
            problems.append(f"remaining_ms {m.group(2).decode()} is not within the 300 s timeout")
    now_ms = int(time.time() * 1000)
    for m in DEADLINE.finditer(body):
        if not now_ms - PATIENCE_S * 1000 < int(m.group(2)) <= now_ms + 300000:
            problems.append(f"deadline_ms {m.group(2).decode()} is not within 300 s of now")
    for m in OVERSIZE.finditer(body):
        if int(m.group(2)) <= MAX_RESPONSE:
            problems.append(f"a response of {m.group(2).decode()} bytes called too large")
    body = OVERSIZE.sub(rb"\1<size>\3", body)
    body = REMAINING.sub(rb"\1<remaining-ms>", body)
    body = DEADLINE.sub(rb"\1<deadline-ms>", body)
    body = UUID.sub(b"<request-id>", body)
    body = TRACE.sub(b"<trace-id>", body)
    body = ACCOUNT.sub(rb"\1<account>\2", body)
    for path in host_paths:  # RIE runs the code where it lies; Lambda at /var/task
        body = body.replace(path.encode(), b"/var/task")
    out = dict(record)
    out["body"] = body
    return out, problems


# What Go's net/http sniffs from a body RIE writes without a Content-Type.
RIE_SNIFFED_TYPE = "text/plain; charset=utf-8"


def as_lambda(rie_record, name, client):
    """RIE's record turned into what Lambda answers, by rows 1 to 4 and 9 of
    docs/conformance.md; anysnap-local must answer exactly this."""
    r = dict(rie_record)
    body = r["body"]
    error = is_error_document(body)
    # 1: Lambda names a failed invoke in X-Amz-Function-Error; RIE does not.
    if error and r["function_error"] is None:
        r["function_error"] = "Unhandled"
    # 2: Lambda answers 200 for every invoke that reached the function; RIE
    # answers 502 when the runtime died or its response was too large.
    if error and r["status"] == 502:
        r["status"] = 200
    # 3: Lambda passes on the Content-Type the runtime posted; RIE does not:
    # Go's net/http sniffs one from a buffered body, and a streamed one goes
    # out with none or application/octet-stream.
    if name in ("stream", "after-stream") and not error:
        r["content_type"] = client.stream_content_type
    elif r["content_type"] in (RIE_SNIFFED_TYPE, None):
        r["content_type"] = "application/json"
    # 4: Lambda hands every invoke a trace id; RIE sends none.
    body = re.sub(rb'("trace_id"\s*:\s*)(null|None|"")', rb'\1"<trace-id>"', body)
    # 9: Lambda names the too-large response's size; RIE names only the limit.
    body = body.replace(b"Response payload size exceeded", b"Response payload size (<size> bytes) exceeded")
    r["body"] = body
    return r


def is_error_document(body):
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    return isinstance(doc, dict) and "errorType" in doc and "errorMessage" in doc


def show(record):
    body = record["body"]
    if len(body) > 2000:
        body = body[:1000] + b"...(" + str(len(body)).encode() + b" bytes)..." + body[-500:]
    lines = [f"status: {record['status']}", f"Content-Type: {record['content_type']}",
             f"X-Amz-Function-Error: {record['function_error']}", "body:"]
    return lines + body.decode(errors="replace").splitlines()


# --- modes -----------------------------------------------------------------

class Run:
    def __init__(self, args, client, work):
        self.args = args
        self.client = client
        self.work = work
        self.bin = os.path.join(args.build, "bin")
        self.rie = os.path.join(args.build, "conformance", "bin", "aws-lambda-rie")

    def base_env(self, handler):
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        env["AWS_LAMBDA_FUNCTION_NAME"] = FUNCTION_NAME
        env["LAMBDA_TASK_ROOT"] = self.client.task_root
        env["_HANDLER"] = handler
        if self.client.name == "python":
            env["PYTHONPATH"] = os.path.join(self.args.build, "conformance", "python", "site")
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def command(self, handler):
        cmd = list(self.client.command)
        if self.client.handler != handler:
            cmd[-1] = handler
        return cmd

    def start_rie(self, mode, handler):
        env = self.base_env(handler)
        if mode == "rie":
            argv = self.command(handler)
        else:
            env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand"
            wrapper = os.path.join(self.bin, "anysnap-wrapper")
            if mode == "rie+wrapper-disabled":  # the original argv, exec'ed untouched
                env["ANYSNAP_DISABLE"] = "1"
                argv = [wrapper] + self.command(handler)
            else:
                env["ANYSNAP_RUNTIME"] = shlex.join(self.command(handler))
                argv = [wrapper, "/var/lang/bin/java"] + JAVA21_ARGV_HEAD + [
                    "-classpath", JAVA_CLIENT_CLASSPATH, JAVA_MAIN_CLASS, handler]
        bootstrap = os.path.join(self.work, f"bootstrap-{mode}")
        with open(bootstrap, "w") as f:
            f.write("#!/bin/sh\nexec " + shlex.join(argv) + "\n")
        os.chmod(bootstrap, 0o755)
        port, api_port = free_port(), free_port()
        return Server([self.rie, "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
                       "--runtime-api-address", f"127.0.0.1:{api_port}", bootstrap],
                      env, self.client.task_root, os.path.join(self.work, f"{mode}.log"), port)

    def start_local(self, mode, handler):
        env = self.base_env(handler)
        argv = [os.path.join(self.bin, "anysnap-local"), "serve", "--port", "0", "--task-root",
                self.client.task_root, "--function-name", FUNCTION_NAME, "--handler", handler,
                "--env", "ANYSNAP_RUNTIME=" + shlex.join(self.command(handler))]
        for key in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE"):
            if key in env:
                argv += ["--env", f"{key}={env[key]}"]
        if mode == "local-snap-start":
            argv += ["--init-type", "snap-start", "--snapshot", "freeze"]
        return Server(argv, env, self.work, os.path.join(self.work, f"{mode}.log"))

    def record(self, mode, handler, cases):
        server = self.start_rie(mode, handler) if mode.startswith("rie") else \
            self.start_local(mode, handler)
        records, problems = {}, []
        try:
            for name, event, content_type in cases:
                masked, bad = mask(server.invoke(event, content_type), [self.client.task_root])
                records[name] = masked
                problems += [f"{mode} {name}: {p}" for p in bad]
        except Exception as e:  # a hung or dead server: report with its log
            problems.append(f"{mode}: {e}\n--- {mode} log ---\n{read(server.log_path)[-6000:]}")
        finally:
            server.stop()
        return records, problems


def compare(label, expected, got, failures):
    if expected == got:
        return True
    diff = difflib.unified_diff(show(expected), show(got), "expected", label, lineterm="", n=2)
    failures.append(f"--- {label}\n" + "\n".join(diff))
    return False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--client", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--build", required=True)
    p.add_argument("--keep", action="store_true", help="keep the logs folder")
    args = p.parse_args()
    args.source = os.path.abspath(args.source)
    args.build = os.path.abspath(args.build)
    needed = [os.path.join(args.build, "conformance", "bin", "aws-lambda-rie"),
              os.path.join(args.build, "bin", "anysnap-local"),
              os.path.join(args.build, "bin", "anysnap-wrapper")]
    needed += {"nodejs": [os.path.join(args.build, "node_modules", "aws-lambda-ric", "index.mjs")],
               "python": [os.path.join(args.build, "conformance", "python", "site", "awslambdaric")],
               "go": [os.path.join(args.build, "conformance", "go", "bootstrap")],
               "rust": [os.path.join(args.build, "conformance", "rust", "bootstrap")],
               "java": [os.path.join(args.build, "conformance", "java", "lib")]}.get(args.client, [])
    missing = [n for n in needed if not os.path.exists(n)]
    if missing:
        print(f"conformance {args.client}: missing {', '.join(missing)}: run scripts/test-deps.sh")
        return 1
    client = make_client(args.client, args.source, args.build)
    work = tempfile.mkdtemp(prefix=f"anysnap-conformance-{client.name}-")
    run = Run(args, client, work)

    groups = [(client.handler, scenarios(client))]
    if client.stream_handler:
        groups.append((client.stream_handler, stream_scenarios()))
    compared_modes = ["rie+wrapper"] + (["rie+wrapper-disabled"] if client.java else [])
    local_modes = ["local-on-demand", "local-snap-start"]

    passed, failures, problems = 0, [], []
    for handler, cases in groups:
        reference, bad = run.record("rie", handler, cases)
        problems += bad
        for mode in compared_modes + local_modes:
            records, bad = run.record(mode, handler, cases)
            problems += bad
            for name, _, _ in cases:
                if name not in reference or name not in records:
                    continue
                expected = reference[name]
                if mode.startswith("local"):
                    expected = as_lambda(expected, name, client)
                if compare(f"{client.name} {mode} {name}", expected, records[name], failures):
                    passed += 1
    for f in failures:
        print(f)
    for pr in problems:
        print(f"--- {pr}")
    failed = len(failures) + len(problems)
    if failed or args.keep:
        print(f"logs: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"conformance {client.name}: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
