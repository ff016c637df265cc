// The conformance function for AWS's Node.js runtime interface client
// (aws-lambda-ric): every action of docs/conformance.md, as this client's
// API offers it.
export const handler = async (event, context) => {
  switch (event && event.action) {
    case "big_event":
      return { pad_length: event.pad.length };
    case "big_response":
      return "x".repeat(event.size);
    case "error":
      throw new Error("handled error from the function");
    case "crash":
      // Thrown outside the handler's promise: an uncaught exception.
      setTimeout(() => {
        throw new Error("unhandled error from a timer");
      }, 0);
      return new Promise(() => {});
    case "exit":
      process.exit(3);
    default:
      return {
        event,
        request_id: context.awsRequestId,
        function_arn: context.invokedFunctionArn,
        remaining_ms: context.getRemainingTimeInMillis(),
        trace_id: process.env._X_AMZN_TRACE_ID ?? null,
      };
  }
};

// Response streaming: the event's chunks, written one by one.
export const stream = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType("text/plain");
  for (const chunk of event.chunks) {
    responseStream.write(chunk);
    await new Promise((resolve) => setImmediate(resolve));
  }
  responseStream.end();
});
