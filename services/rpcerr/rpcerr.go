// Package rpcerr turns errors into Connect errors in one place, so that no
// database message ever reaches a client.
package rpcerr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"connectrpc.com/connect"

	"claudemesh.dev/db"
)

// From returns err as a Connect error. Connect errors pass through;
// db.ErrNotFound becomes NotFound and db.ErrConflict AlreadyExists, with
// what as the message; context errors keep their meaning; anything else is
// logged and becomes Internal with a generic message.
func From(ctx context.Context, log *slog.Logger, what string, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, db.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, fmt.Errorf("%s not found", what))
	case errors.Is(err, db.ErrConflict):
		return connect.NewError(connect.CodeAlreadyExists, fmt.Errorf("%s already exists", what))
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	log.ErrorContext(ctx, "internal error", "what", what, "err", err)
	return connect.NewError(connect.CodeInternal, errors.New("internal error"))
}

// Invalid returns an InvalidArgument error.
func Invalid(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
}

// Denied returns a PermissionDenied error.
func Denied(format string, args ...any) error {
	return connect.NewError(connect.CodePermissionDenied, fmt.Errorf(format, args...))
}
