package rpcerr

import (
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
)

// Domain is the google.rpc.ErrorInfo domain of claudemesh errors.
const Domain = "claudemesh.dev"

// WithReason returns a Connect error carrying a google.rpc.ErrorInfo whose
// reason is a classic error code ("timestamp_skew", "invite_expired", …), so
// that the WebSocket edge and HTTP adapters can answer with the classic code
// and Connect clients can branch on it.
func WithReason(code connect.Code, reason, format string, args ...any) error {
	err := connect.NewError(code, fmt.Errorf(format, args...))
	if detail, derr := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: reason, Domain: Domain}); derr == nil {
		err.AddDetail(detail)
	}
	return err
}

// Reason returns the ErrorInfo reason of a Connect error, or "".
func Reason(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		if info, ok := v.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
