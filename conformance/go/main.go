// The conformance function for AWS's Go runtime client
// (github.com/aws/aws-lambda-go): every action of docs/conformance.md, as
// this client's API offers it. Built as the custom runtime's bootstrap.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Action string   `json:"action"`
	Pad    string   `json:"pad"`
	Size   int      `json:"size"`
	Chunks []string `json:"chunks"`
}

type echo struct {
	Event       json.RawMessage `json:"event"`
	RequestID   string          `json:"request_id"`
	FunctionArn string          `json:"function_arn"`
	DeadlineMs  int64           `json:"deadline_ms"`
	TraceID     *string         `json:"trace_id"`
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var e event
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	switch e.Action {
	case "big_event":
		return map[string]int{"pad_length": len(e.Pad)}, nil
	case "big_response":
		return strings.Repeat("x", e.Size), nil
	case "error":
		return nil, errors.New("handled error from the function")
	case "crash":
		panic("unhandled panic from the function")
	case "exit":
		os.Exit(3)
	case "stream":
		// An io.Reader is streamed to the Runtime API as it is read.
		readers := make([]io.Reader, 0, len(e.Chunks))
		for _, c := range e.Chunks {
			readers = append(readers, strings.NewReader(c))
		}
		return io.MultiReader(readers...), nil
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	out := echo{Event: raw, RequestID: lc.AwsRequestID, FunctionArn: lc.InvokedFunctionArn,
		DeadlineMs: deadline.UnixMilli()}
	if trace, ok := os.LookupEnv("_X_AMZN_TRACE_ID"); ok && trace != "" {
		out.TraceID = &trace
	}
	return out, nil
}

func main() {
	lambda.Start(handle)
}
