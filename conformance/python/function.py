"""The conformance function for AWS's Python runtime interface client
(awslambdaric): every action of docs/conformance.md, as this client's API
offers it. An event that is not application/json reaches it as a string."""
import os


def handler(event, context):
    action = event.get("action") if isinstance(event, dict) else None
    if action == "big_event":
        return {"pad_length": len(event["pad"])}
    if action == "big_response":
        return "x" * event["size"]
    if action == "error":
        raise ValueError("handled error from the function")
    if action == "crash":
        # Not an Exception: what a handler lets escape unhandled.
        raise KeyboardInterrupt("unhandled")
    if action == "exit":
        os._exit(3)
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
    }
