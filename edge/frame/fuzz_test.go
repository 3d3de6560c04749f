package frame_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// oddSeeds are malformed or unusual frames, among them the regressions of
// the codec fixes: a "type" that is not a string with an "_reqId", null
// and absent google.protobuf.Value fields, -0.
var oddSeeds = []string{
	``,
	`{}`,
	`[]`,
	`null`,
	`{"type":`,
	`{"type":5,"_reqId":"r1"}`,
	`{"type":"hello","pid":"x","_reqId":7}`,
	`{"type":"hello","pid":1e400}`,
	`{"type":"set_state","key":"k","value":1e400}`,
	`{"type":"set_state","key":"k","value":-0}`,
	`{"type":"set_state","key":"k","value":{"a":{"b":[[[null]]]}},"_reqId":{"x":1}}`,
	`{"type":"set_state","key":"\ud83d","value":"\udc00"}`,
	"{\"type\":\"set_summary\",\"summary\":\"\xff\xfe\"}",
	`{"type":"mcp_deploy","server_name":"x","config":{"cpus":"NaN","env":{"b":"1","a":"2"}},"scope":null}`,
	`{"type":"mcp_deploy","server_name":"x","config":{"cpus":-0,"memory_mb":"512"}}`,
	`{"type":"mcp_scope","server_name":"x","scope":null}`,
	`{"type":"hello","meshId":"a","mesh_id":"b"}`,
	`{"type":"push","type":"hello"}`,
	`{"type":"set_profile","capabilities":[null,1,"x"]}`,
	`{"type":"scheduled_ack","deliverAt":"9223372036854775807","_reqId":1e999}`,
	`{"type":"list_peers","_reqId":"\u0000\n"}` + "\n\t ",
}

func FuzzDecode(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join(framesDir, "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range oddSeeds {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dir := range []edgev1.Direction{clientToBroker, brokerToClient} {
			fr, err := frame.Decode(data, dir)
			if err != nil {
				var unknown *frame.UnknownTypeError
				if !errors.Is(err, frame.ErrMalformed) && !errors.As(err, &unknown) {
					t.Fatalf("%s: error of no known class: %v", dir, err)
				}
				if fr.Msg != nil {
					t.Fatalf("%s: a message with error %v", dir, err)
				}
				continue
			}
			enc, err := frame.Encode(fr.ReqID, fr.Msg)
			if err != nil {
				t.Fatalf("%s: decoded %s but cannot encode it: %v", dir, prototext.Format(fr.Msg), err)
			}
			if !json.Valid(enc) {
				t.Fatalf("%s: invalid JSON: %s", dir, enc)
			}
			again, err := frame.Decode(enc, dir)
			if err != nil {
				t.Fatalf("%s: cannot decode our own encoding %s: %v", dir, enc, err)
			}
			if again.Type != fr.Type || again.ReqID != fr.ReqID {
				t.Fatalf("%s: type/reqId %q/%q became %q/%q", dir, fr.Type, fr.ReqID, again.Type, again.ReqID)
			}
			if !proto.Equal(fr.Msg, again.Msg) {
				t.Fatalf("%s: round trip through %s changed the message:\nfirst:  %s\nsecond: %s",
					dir, enc, prototext.Format(fr.Msg), prototext.Format(again.Msg))
			}
			// The encoding is canonical: encoding again gives the same bytes.
			enc2, err := frame.Encode(again.ReqID, again.Msg)
			if err != nil || !bytes.Equal(enc, enc2) {
				t.Fatalf("%s: encoding is not stable:\n%s\n%s (%v)", dir, enc, enc2, err)
			}
		}
	})
}

// FuzzEncodeString checks appendString: whatever the string, Encode writes
// JSON that encoding/json reads back as the same string, each invalid UTF-8
// byte replaced by U+FFFD, in every place a string is written (a field, the
// _reqId, a free-JSON key and value), and our decoder reads it back too.
func FuzzEncodeString(f *testing.F) {
	for _, s := range []string{
		"", "plain", `quote " backslash \ slash /`, "ctl \x00\x01\x1f\x7f", "\n\r\t\b\f",
		"<html> & </html>", "🦊 é 日本", "\u2028\u2029", "\xff", "\xed\xa0\x80", "\xf0\x9f\xa6", "\ufffd",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		want := replaceInvalidUTF8(s)
		msg := &edgev1.StateChange{
			Key:       s,
			Value:     structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{s: structpb.NewStringValue(s)}}),
			UpdatedBy: s,
		}
		enc, err := frame.Encode(s, msg)
		if err != nil {
			t.Fatal(err)
		}
		var back struct {
			Type      string            `json:"type"`
			ReqID     *string           `json:"_reqId"`
			Key       string            `json:"key"`
			Value     map[string]string `json:"value"`
			UpdatedBy string            `json:"updatedBy"`
		}
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", s, enc, err)
		}
		if back.Type != "state_change" || back.Key != want || back.UpdatedBy != want || back.Value[want] != want || len(back.Value) != 1 {
			t.Fatalf("%q: read back %+v from %s", s, back, enc)
		}
		if s == "" && back.ReqID != nil || s != "" && (back.ReqID == nil || *back.ReqID != want) {
			t.Fatalf("%q: _reqId read back as %v from %s", s, back.ReqID, enc)
		}
		if bytes.ContainsAny(enc, "\x00\n\r\t") {
			t.Fatalf("%q: unescaped control character in %s", s, enc)
		}

		fr, err := frame.Decode(enc, brokerToClient)
		if err != nil {
			t.Fatalf("%q: cannot decode %s: %v", s, enc, err)
		}
		got, ok := fr.Msg.(*edgev1.StateChange)
		if !ok || got.GetKey() != want || got.GetUpdatedBy() != want || got.GetValue().GetStructValue().GetFields()[want].GetStringValue() != want {
			t.Fatalf("%q: decoded %v from %s", s, fr.Msg, enc)
		}
		if s != "" && fr.ReqID != want {
			t.Fatalf("%q: decoded _reqId %q", s, fr.ReqID)
		}
	})
}
