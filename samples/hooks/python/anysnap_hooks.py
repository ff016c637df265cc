"""anysnap_hooks: before-snapshot and after-restore hooks for Python functions
that run on anysnap, with the interface of AWS's ``snapshot_restore_py``.

    from anysnap_hooks import register_before_snapshot, register_after_restore

    @register_before_snapshot
    def close_pool():
        pool.close()

    register_after_restore(reseed, "instance")   # reseed("instance") after each restore

The hooks run when anysnap's delegator asks for them, through its hook channel
(docs/hook-channel.md): served on AWS_LAMBDA_RUNTIME_API under /anysnap/v1/.

- The first registration registers this process with the delegator, with a
  blocking request: the delegator must know of the client before the runtime's
  first invocation/next, and function code registers hooks while it loads.
- When the delegator wants phases run, a daemon thread long-polls for them and
  runs the hooks on that thread.
- Before-snapshot hooks run in reverse registration order, after-restore hooks
  in registration order. The first hook that raises ends the phase, and the
  report names it.
- Without a delegator (a plain Runtime API answers 404, nothing listens, or
  AWS_LAMBDA_RUNTIME_API is unset) hooks never run: one warning line on stderr
  and the function goes on.

Log lines go to stderr, prefixed "anysnap-hooks:". Standard library only.
"""

import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

__all__ = ["register_before_snapshot", "register_after_restore"]

_PREFIX = "/anysnap/v1"
_BEFORE_SNAPSHOT = "before-snapshot"
_AFTER_RESTORE = "after-restore"
_REGISTER_TIMEOUT_S = 5.0
# Re-poll delays after a broken poll connection (as across a snapshot).
_REPOLL_FIRST_S = 0.05
_REPOLL_MAX_S = 1.0
# Longest hook name and error message put in a report.
_MAX_NAME = 256
_MAX_MESSAGE = 8192

_lock = threading.Lock()
_hooks = {_BEFORE_SNAPSHOT: [], _AFTER_RESTORE: []}
# "new" until the first registration, then "active" (phases to run), "idle"
# (no phase will ever run here) or "off" (no delegator, or too late).
_state = "new"


def _log(line):
    try:
        sys.stderr.write("anysnap-hooks: %s\n" % line)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _hook_name(func):
    name = getattr(func, "__name__", None) or repr(func)
    return name[:_MAX_NAME]


def _runtime_api():
    """(host, port) of AWS_LAMBDA_RUNTIME_API, or None when unset or malformed."""
    value = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
    try:
        parts = urllib.parse.urlsplit("//" + value)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or port is None or port <= 0:
        return None
    return parts.hostname, port


class _Answer:
    def __init__(self, status, body):
        self.status = status
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self):
        """'409 Anysnap.TooLate: init has ended' from an answer in the channel's error shape."""
        err = self.json()
        if isinstance(err, dict) and isinstance(err.get("errorType"), str):
            message = err.get("errorMessage")
            return "%d %s%s" % (self.status, err["errorType"], ": %s" % message if message else "")
        return str(self.status)


def _request(api, method, path, body=None, timeout=None):
    """One request on its own connection; raises OSError when it breaks."""
    conn = None
    try:
        conn = http.client.HTTPConnection(api[0], api[1], timeout=timeout)
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return _Answer(response.status, response.read().decode("utf-8", "replace"))
    except http.client.HTTPException as e:
        raise OSError(str(e) or type(e).__name__) from e
    finally:
        if conn is not None:
            conn.close()


def _register(kind, func):
    """Registers this process with the delegator; on success, starts serving phases.

    Returns the new state. Called with _lock held.
    """
    what = "%s hook %s" % (kind, _hook_name(func))
    api = _runtime_api()
    value = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if api is None:
        if value:
            _log("AWS_LAMBDA_RUNTIME_API=%s is not host:port: %s will not run" % (value, what))
        else:
            _log("AWS_LAMBDA_RUNTIME_API is not set (not on Lambda?): %s will not run" % what)
        return "off"
    try:
        answer = _request(api, "POST", _PREFIX + "/clients", {"language": "python", "pid": os.getpid()},
                          timeout=_REGISTER_TIMEOUT_S)
    except OSError as e:
        reason = "no answer within %g s" % _REGISTER_TIMEOUT_S if isinstance(e, TimeoutError) else (
            type(e).__name__ if not str(e) else str(e))
        _log("no anysnap delegator at %s (%s): %s will not run" % (value, reason, what))
        return "off"
    if answer.status == 404:
        _log("no anysnap delegator at %s (404 from the Runtime API): %s will not run" % (value, what))
        return "off"
    if answer.status == 409:
        _log("%s registered too late (%s): it will never run" % (what, answer.describe()))
        return "off"
    client = answer.json() if answer.status == 201 else None
    if (not isinstance(client, dict) or not isinstance(client.get("id"), str)
            or not isinstance(client.get("phases"), list)):
        _log("registration refused (%s): %s will not run" % (answer.describe(), what))
        return "off"
    if not client["phases"]:
        return "idle"
    thread = threading.Thread(target=_serve_phases, args=(api, client["id"]),
                              name="anysnap-hooks", daemon=True)
    thread.start()
    return "active"


def _run_phase(phase):
    """Runs the hooks of `phase`; returns the report to send."""
    with _lock:
        hooks = list(_hooks.get(phase, ()))
    if phase == _BEFORE_SNAPSHOT:
        hooks.reverse()
    for func, args, kwargs in hooks:
        try:
            func(*args, **kwargs)
        except Exception as e:  # pylint: disable=broad-except  # reported, not swallowed
            report = {"ok": False, "hook": _hook_name(func), "errorType": type(e).__name__,
                      "errorMessage": str(e)[:_MAX_MESSAGE]}
            _log("%s hook %s failed: %s: %s" % (phase, report["hook"], report["errorType"],
                                                report["errorMessage"]))
            return report
    return {"ok": True, "hooks": len(hooks)}


def _report(api, client_id, phase, outcome):
    """Sends a phase's report; a broken connection is retried a few times."""
    path = "%s/clients/%s/phase/%s" % (_PREFIX, urllib.parse.quote(client_id, safe=""),
                                       urllib.parse.quote(phase, safe=""))
    delay = _REPOLL_FIRST_S
    for attempt in range(1, 4):
        try:
            answer = _request(api, "POST", path, outcome)
        except OSError as e:
            if attempt == 3:
                _log("%s report not delivered (%s)" % (phase, e))
                return
            time.sleep(delay)
            delay = min(2 * delay, _REPOLL_MAX_S)
            continue
        if answer.status != 204:
            _log("%s report refused (%s)" % (phase, answer.describe()))
        return


def _serve_phases(api, client_id):
    """The long-poll loop: runs each phase the delegator asks for, until "done"."""
    global _state
    path = "%s/clients/%s/phase" % (_PREFIX, urllib.parse.quote(client_id, safe=""))
    delay = _REPOLL_FIRST_S
    while True:
        try:
            answer = _request(api, "GET", path)
        except OSError:
            # Broken poll (e.g. across a snapshot): poll again.
            time.sleep(delay)
            delay = min(2 * delay, _REPOLL_MAX_S)
            continue
        delay = _REPOLL_FIRST_S
        if answer.status >= 500:
            time.sleep(_REPOLL_MAX_S)
            continue
        message = answer.json() if answer.status == 200 else None
        phase = message.get("phase") if isinstance(message, dict) else None
        if not isinstance(phase, str):
            _log("phase poll refused (%s): hooks will not run" % answer.describe())
            with _lock:
                _state = "off"
            return
        if phase == "done":
            with _lock:
                _state = "idle"
            return
        if phase not in _hooks:
            _log("unknown phase %s: no hooks to run" % phase)
        _report(api, client_id, phase, _run_phase(phase))


def _add(kind, func, args, kwargs):
    global _state
    if not callable(func):
        raise TypeError("anysnap-hooks: register_%s needs a callable, got %s"
                        % (kind.replace("-", "_"), type(func).__name__))
    with _lock:
        _hooks[kind].append((func, args, kwargs))
        if _state == "new":
            _state = _register(kind, func)
    return func


def register_before_snapshot(func, *args, **kwargs):
    """Registers func(*args, **kwargs) to run before the snapshot is taken.

    Close connections, drop caches, forget anything that must not be shared by
    every environment restored from the snapshot. Returns func, so it also
    serves as a decorator.
    """
    return _add(_BEFORE_SNAPSHOT, func, args, kwargs)


def register_after_restore(func, *args, **kwargs):
    """Registers func(*args, **kwargs) to run after each restore, before the first event.

    Re-open connections, re-seed unique ids and random state. Returns func, so
    it also serves as a decorator.
    """
    return _add(_AFTER_RESTORE, func, args, kwargs)
