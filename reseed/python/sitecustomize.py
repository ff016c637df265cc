"""anysnap's Python reseed: refreshes a Python process's random state after
each SnapStart restore. Every environment restored from one snapshot resumes
the same memory, so without it they all draw the same values from `random`,
from OpenSSL's generator (ssl, hashlib's OpenSSL) and from numpy's global one.

anysnap-wrapper loads it under snap-start only, by putting its folder first on
PYTHONPATH (wrapper/reseed_preload.h); the function changes nothing. At start
it:

- gives PYTHONPATH back the value the function set (processes started later
  are never restored), and runs the next `sitecustomize` on sys.path, so the
  function's or the interpreter's own still runs;
- registers with the delegator's hook channel as a reseed client
  (docs/hook-channel.md) with one blocking request: that makes the delegator
  hold the runtime's first invocation/next, or run the reseed inside a
  restore/next the runtime calls itself (AWS's awslambdaric);
- when the delegator asks for after-restore (before any after-restore hook and
  before the first invoke), reseeds on a daemon thread, from the kernel:
    random: the module's hidden instance (random.seed());
    OpenSSL: ssl.RAND_add(os.urandom(48)), when OpenSSL is loaded (ssl or
      hashlib's _hashlib imported);
    numpy: numpy.random.seed(), when numpy is imported;
  and reports what it reseeded and what it could not (with why). A generator
  whose module was never imported holds nothing cloned.
os.urandom, secrets and uuid.uuid4 ask the kernel on every call.

Standard library only; log lines go to stderr, prefixed "anysnap-reseed:".
"""


def _anysnap_reseed():
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    prefix = "/anysnap/v1"

    def log(line):
        sys.stderr.write("anysnap-reseed: %s\n" % line)

    # PYTHONPATH as the function set it: the wrapper put this folder first.
    parts = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if parts and os.path.abspath(parts[0] or ".") == here:
        rest = os.pathsep.join(parts[1:])
        if rest:
            os.environ["PYTHONPATH"] = rest
        else:
            del os.environ["PYTHONPATH"]

    def run_next_sitecustomize():
        import importlib.machinery
        import importlib.util

        path = [p for p in sys.path if os.path.abspath(p or ".") != here]
        spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
        if spec is None or spec.loader is None:
            return
        module = importlib.util.module_from_spec(spec)
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)

    def request(method, path, body=None):
        """One HTTP/1.1 exchange on a fresh loopback connection: (status, body)."""
        import socket

        api = os.environ["AWS_LAMBDA_RUNTIME_API"]
        host, _, port = api.rpartition(":")
        data = b"" if body is None else body.encode()
        head = "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (method, path, api)
        if body is not None:
            head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(data)
        with socket.create_connection((host.strip("[]"), int(port))) as conn:
            conn.sendall(head.encode() + b"\r\n" + data)
            chunks = []
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        answer = b"".join(chunks)
        status_line, _, rest = answer.partition(b"\r\n")
        _, _, payload = rest.partition(b"\r\n\r\n")
        return int(status_line.split()[1]), payload.decode("utf-8", "replace")

    def reseed():
        reseeded, not_reseeded = [], []
        modules = sys.modules
        if "random" in modules:
            try:
                modules["random"].seed()
                reseeded.append("random")
            except Exception as e:  # noqa: BLE001 - reported, never raised
                not_reseeded.append("random (%s)" % e)
        if "_ssl" in modules or "_hashlib" in modules:
            try:
                import ssl

                ssl.RAND_add(os.urandom(48), 48.0)
                reseeded.append("OpenSSL")
            except Exception as e:  # noqa: BLE001
                not_reseeded.append("OpenSSL (%s: %s)" % (type(e).__name__, e))
        if "numpy" in modules:
            try:
                modules["numpy"].random.seed()
                reseeded.append("numpy.random")
            except Exception as e:  # noqa: BLE001
                not_reseeded.append("numpy.random (%s)" % e)
        return {"ok": True, "reseeded": reseeded, "not_reseeded": not_reseeded}

    def serve(client_id):
        import json
        import time

        path = "%s/clients/%s/phase" % (prefix, client_id)
        delay = 0.05
        while True:
            try:
                status, body = request("GET", path)
            except OSError:
                time.sleep(delay)  # a broken poll (e.g. across a snapshot): poll again
                delay = min(2 * delay, 1.0)
                continue
            delay = 0.05
            if status >= 500:
                time.sleep(1.0)
                continue
            try:
                phase = json.loads(body)["phase"] if status == 200 else None
            except (ValueError, KeyError, TypeError):
                phase = None
            if not isinstance(phase, str):
                log("phase poll refused (%d %s): this process is not reseeded after restore"
                    % (status, body))
                return
            if phase == "done":
                return
            outcome = reseed() if phase == "after-restore" else {"ok": True}
            for attempt in range(3):
                try:
                    request("POST", "%s/%s" % (path, phase), json.dumps(outcome))
                    break
                except OSError as e:
                    if attempt == 2:
                        log("report not delivered (%s)" % e)
                    time.sleep(0.05)
            if phase == "after-restore":
                # A process is restored once: nothing is left to do, and not
                # polling again keeps the delegator's path to the first invoke short.
                return

    def register():
        import json

        if not os.environ.get("AWS_LAMBDA_RUNTIME_API"):
            return
        body = json.dumps({"language": "python", "pid": os.getpid(), "reseed": True})
        try:
            status, answer = request("POST", prefix + "/clients", body)
        except (OSError, ValueError, IndexError) as e:
            log("cannot register with anysnap (%s): this process is not reseeded after restore"
                % e)
            return
        # 404: no delegator in front; 409: init has ended, so this process was
        # started after the snapshot and holds nothing it shares.
        if status in (404, 409):
            return
        try:
            client = json.loads(answer) if status == 201 else None
            client_id, phases = client["id"], client["phases"]
        except (ValueError, KeyError, TypeError):
            log("registration refused (%d %s): this process is not reseeded after restore"
                % (status, answer))
            return
        if "after-restore" not in phases:
            return
        import threading

        threading.Thread(target=serve, args=(client_id,), name="anysnap-reseed",
                         daemon=True).start()

    register()
    run_next_sitecustomize()


_anysnap_reseed()
del _anysnap_reseed
