// The conformance function for AWS's Java runtime interface client: every
// action of docs/conformance.md, as this client's API offers it.
package conformance;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.LinkedHashMap;
import java.util.Map;

public class Handler implements RequestHandler<Map<String, Object>, Object> {
  @Override
  public Object handleRequest(Map<String, Object> event, Context context) {
    String action = String.valueOf(event.get("action"));
    switch (action) {
      case "big_event":
        return Map.of("pad_length", ((String) event.get("pad")).length());
      case "big_response":
        return "x".repeat(((Number) event.get("size")).intValue());
      case "error":
        throw new IllegalStateException("handled error from the function");
      case "crash":
        throw new AssertionError("unhandled error from the function");
      case "exit":
        System.exit(3);
        return null;
      default:
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("event", event);
        out.put("request_id", context.getAwsRequestId());
        out.put("function_arn", context.getInvokedFunctionArn());
        out.put("remaining_ms", context.getRemainingTimeInMillis());
        String trace = System.getProperty("com.amazonaws.xray.traceHeader");
        out.put("trace_id", trace == null ? "" : trace);
        return out;
    }
  }
}
