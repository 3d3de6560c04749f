// Package rpccode maps Connect errors from the services onto the classic
// error codes peers know.
package rpccode

import (
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
)

// Classic returns the classic error code for an RPC error: the reason of an
// attached google.rpc.ErrorInfo detail when there is one (for example
// "timestamp_skew" or "invalid_cron"), else a code derived from the Connect
// code.
func Classic(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return "internal"
	}
	if reason := Reason(ce); reason != "" {
		return reason
	}
	switch ce.Code() {
	case connect.CodeUnimplemented:
		return "unimplemented"
	case connect.CodeInvalidArgument, connect.CodeOutOfRange:
		return "invalid_argument"
	case connect.CodeNotFound:
		return "not_found"
	case connect.CodeAlreadyExists:
		return "conflict"
	case connect.CodePermissionDenied:
		return "forbidden"
	case connect.CodeUnauthenticated:
		return "unauthorized"
	case connect.CodeResourceExhausted:
		return "limit"
	case connect.CodeFailedPrecondition, connect.CodeAborted:
		return "failed_precondition"
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeCanceled:
		return "unavailable"
	default:
		return "internal"
	}
}

// Reason returns the reason of the first google.rpc.ErrorInfo detail of an
// error, or "".
func Reason(ce *connect.Error) string {
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			continue
		}
		if info, ok := v.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
