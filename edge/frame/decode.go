package frame

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"

	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// header is what Decode reads before it knows the message.
type header struct {
	Type  *string         `json:"type"`
	ReqID json.RawMessage `json:"_reqId"`
}

//nolint:gochecknoglobals // stateless options.
var unmarshalOptions = protojson.UnmarshalOptions{DiscardUnknown: true}

// Decode parses one frame sent in direction dir. A frame of a type that
// exists only in the other direction is an UnknownTypeError, like a type
// that does not exist. The returned error wraps ErrMalformed or is an
// *UnknownTypeError; in both cases Frame.ReqID is set when the frame had a
// readable "_reqId", so the caller can correlate its error reply.
func Decode(data []byte, dir edgev1.Direction) (Frame, error) {
	var h header
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Frame{}, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	if err := json.Unmarshal(trimmed, &h); err != nil {
		return Frame{}, fmt.Errorf("%w: %s", ErrMalformed, jsonErrorText(err))
	}
	reqID := reqIDText(h.ReqID)
	if h.Type == nil {
		return Frame{ReqID: reqID}, fmt.Errorf("%w: missing string \"type\"", ErrMalformed)
	}
	f := Frame{Type: *h.Type, ReqID: reqID}
	k, ok := frames.byType[f.Type]
	if !ok || k.direction != dir {
		return f, &UnknownTypeError{Type: f.Type}
	}
	msg := k.msgType.New().Interface()
	if err := unmarshalOptions.Unmarshal(trimmed, msg); err != nil {
		return f, fmt.Errorf("%w: %s", ErrMalformed, err.Error())
	}
	f.Msg = msg
	return f, nil
}

// reqIDText turns a raw "_reqId" into the string echoed back: a JSON string
// as is, a JSON number as its text, anything else (null, objects) as "".
func reqIDText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if _, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return string(raw)
		}
	}
	return ""
}

// jsonErrorText shortens encoding/json errors for the error frame.
func jsonErrorText(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field == "type" {
		return "\"type\" must be a string"
	}
	return err.Error()
}
