//! The conformance function for AWS's Rust runtime client (lambda_runtime):
//! every action of docs/conformance.md, as this client's API offers it.
use std::convert::Infallible;

use futures::stream::{self, Iter};
use lambda_runtime::{service_fn, Error, FunctionResponse, LambdaEvent, StreamResponse};
use serde_json::{json, Value};

type Chunks = Iter<std::vec::IntoIter<Result<String, Infallible>>>;

async fn handle(event: LambdaEvent<Value>) -> Result<FunctionResponse<Value, Chunks>, Error> {
    let (payload, context) = event.into_parts();
    let action = payload.get("action").and_then(Value::as_str).unwrap_or("echo");
    let buffered = |v: Value| Ok(FunctionResponse::BufferedResponse(v));
    match action {
        "big_event" => {
            let pad = payload.get("pad").and_then(Value::as_str).unwrap_or("");
            buffered(json!({ "pad_length": pad.len() }))
        }
        "big_response" => {
            let size = payload.get("size").and_then(Value::as_u64).unwrap_or(0) as usize;
            buffered(Value::String("x".repeat(size)))
        }
        "error" => Err("handled error from the function".into()),
        "crash" => panic!("unhandled panic from the function"),
        "exit" => std::process::exit(3),
        "stream" => {
            let chunks: Vec<Result<String, Infallible>> = payload
                .get("chunks")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|c| Ok(c.as_str().unwrap_or("").to_owned())).collect())
                .unwrap_or_default();
            Ok(FunctionResponse::StreamingResponse(StreamResponse::from(stream::iter(chunks))))
        }
        _ => buffered(json!({
            "event": payload,
            "request_id": context.request_id,
            "function_arn": context.invoked_function_arn,
            "deadline_ms": context.deadline,
            "trace_id": context.xray_trace_id,
        })),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
