package frame

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"

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
// that does not exist. A google.protobuf.Value field that is JSON null
// decodes as unset, the same as an absent one (Encode writes both as null). The returned error wraps ErrMalformed or is an
// *UnknownTypeError; in both cases Frame.ReqID is set when the frame had a
// readable "_reqId", so the caller can correlate its error reply.
func Decode(data []byte, dir edgev1.Direction) (Frame, error) {
	var h header
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Frame{}, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	trimmed = replaceLoneSurrogates(trimmed)
	err := json.Unmarshal(trimmed, &h)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) {
		return Frame{}, fmt.Errorf("%w: %s", ErrMalformed, jsonErrorText(err))
	}
	// A type error (a "type" that is not a string) still leaves a readable
	// "_reqId": encoding/json decodes the rest of the object.
	reqID := reqIDText(h.ReqID)
	if err != nil {
		return Frame{ReqID: reqID}, fmt.Errorf("%w: %s", ErrMalformed, jsonErrorText(err))
	}
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
	if k.hasValue {
		clearNullValues(msg.ProtoReflect())
	}
	f.Msg = msg
	return f, nil
}

// clearNullValues clears every google.protobuf.Value field of m, and of the
// messages nested in it, that holds JSON null. An absent value and a null
// one then decode alike, as the encoder writes both as null, and as a
// classic peer reads both as "not given" (undefined and null are falsy).
// Nulls inside free JSON (elements of a Struct or ListValue) are kept.
func clearNullValues(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		md := fd.Message()
		switch {
		case md == nil || fd.IsMap():
		case md.FullName() == valueName:
			if !fd.IsList() && isNullValue(v.Message()) {
				m.Clear(fd)
			}
		case md.ParentFile().Package() == "google.protobuf":
		case fd.IsList():
			list := v.List()
			for i := range list.Len() {
				clearNullValues(list.Get(i).Message())
			}
		default:
			clearNullValues(v.Message())
		}
		return true
	})
}

func isNullValue(m protoreflect.Message) bool {
	v, ok := m.Interface().(*structpb.Value)
	if !ok {
		return false
	}
	_, null := v.GetKind().(*structpb.Value_NullValue)
	return null
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

// replaceLoneSurrogates returns data with every \uD800-\uDFFF escape that
// is not half of a surrogate pair replaced by \uFFFD. JavaScript strings
// may hold such lone UTF-16 code units (a string cut inside an emoji), and
// JSON.stringify writes them as escapes that JSON.parse accepts but
// protojson rejects; encoding/json reads them as U+FFFD, and so do we. data
// is copied only when it holds one.
func replaceLoneSurrogates(data []byte) []byte {
	if !bytes.Contains(data, []byte(`\ud`)) && !bytes.Contains(data, []byte(`\uD`)) {
		return data
	}
	out, copied := data, false
	inString := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c != '\\':
		case i+1 < len(data) && data[i+1] == 'u':
			r, ok := surrogateAt(data, i)
			switch {
			case !ok:
				i++ // an escape of another character: skip the 'u'
			case r < 0xdc00 && isLowSurrogateAt(data, i+6):
				i += 11 // a pair: skip both escapes
			default:
				if !copied {
					out, copied = bytes.Clone(data), true
				}
				copy(out[i+2:i+6], "fffd")
				i += 5
			}
		default:
			i++ // skip the escaped character
		}
	}
	return out
}

// surrogateAt reads a \uXXXX escape at data[i:] and says whether it is a
// UTF-16 surrogate.
func surrogateAt(data []byte, i int) (rune, bool) {
	if i+6 > len(data) || data[i] != '\\' || data[i+1] != 'u' {
		return 0, false
	}
	v, err := strconv.ParseUint(string(data[i+2:i+6]), 16, 16)
	if err != nil || v < 0xd800 || v > 0xdfff {
		return 0, false
	}
	return rune(v), true
}

func isLowSurrogateAt(data []byte, i int) bool {
	r, ok := surrogateAt(data, i)
	return ok && r >= 0xdc00
}
