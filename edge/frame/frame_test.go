package frame_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"

	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

var update = flag.Bool("update", false, "rewrite testdata/frames/*.golden.json from the encoder")

const (
	framesDir    = "testdata/frames"
	goldenSuffix = ".golden.json"

	clientToBroker = edgev1.Direction_DIRECTION_CLIENT_TO_BROKER
	brokerToClient = edgev1.Direction_DIRECTION_BROKER_TO_CLIENT
)

// fixture is one frame as a classic peer writes it: testdata/frames/<name>.json,
// where name is "<type>" or "<type>.<variant>". Its golden file
// <name>.golden.json is what our encoder writes for it.
type fixture struct {
	name   string
	typ    string
	dir    edgev1.Direction
	input  []byte
	golden string
}

func loadFixtures(tb testing.TB) []fixture {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(framesDir, "*.json"))
	require.NoError(tb, err)
	var out []fixture
	for _, path := range paths {
		if strings.HasSuffix(path, goldenSuffix) {
			continue
		}
		input, err := os.ReadFile(path)
		require.NoError(tb, err)
		var head struct {
			Type string `json:"type"`
		}
		require.NoError(tb, json.Unmarshal(input, &head), path)
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		require.Equal(tb, head.Type, strings.SplitN(name, ".", 2)[0], "%s: the file name must start with the frame type", path)
		dir, ok := frame.Direction(head.Type)
		require.True(tb, ok, "%s: unknown frame type %q", path, head.Type)
		out = append(out, fixture{
			name:   name,
			typ:    head.Type,
			dir:    dir,
			input:  input,
			golden: filepath.Join(framesDir, name+goldenSuffix),
		})
	}
	require.NotEmpty(tb, out)
	return out
}

func otherDirection(dir edgev1.Direction) edgev1.Direction {
	if dir == clientToBroker {
		return brokerToClient
	}
	return clientToBroker
}

// readGolden reads a golden file without its final newline.
func readGolden(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	require.NoError(tb, err, "missing golden file: run go test ./frame -run TestGolden -update")
	return bytes.TrimSuffix(b, []byte("\n"))
}

func decodeJSON(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	var m map[string]any
	require.NoError(tb, json.Unmarshal(b, &m), "%s", b)
	return m
}

func requireProtoEqual(tb testing.TB, want, got proto.Message) {
	tb.Helper()
	require.True(tb, proto.Equal(want, got), "messages differ:\nwant: %s\ngot:  %s",
		prototext.Format(want), prototext.Format(got))
}

func TestGoldenCoversEveryType(t *testing.T) {
	t.Parallel()

	for _, dir := range []edgev1.Direction{clientToBroker, brokerToClient} {
		types := frame.Types(dir)
		require.NotEmpty(t, types)
		for _, typ := range types {
			got, ok := frame.Direction(typ)
			require.True(t, ok, typ)
			require.Equal(t, dir, got, typ)
			require.FileExists(t, filepath.Join(framesDir, typ+".json"), "frame type %q has no fixture", typ)
		}
	}

	// Every golden file belongs to a fixture.
	goldens, err := filepath.Glob(filepath.Join(framesDir, "*"+goldenSuffix))
	require.NoError(t, err)
	for _, g := range goldens {
		require.FileExists(t, strings.TrimSuffix(g, goldenSuffix)+".json", "stale golden file")
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()

	for _, fx := range loadFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()

			// A frame decodes in exactly one direction.
			_, err := frame.Decode(fx.input, otherDirection(fx.dir))
			var unknown *frame.UnknownTypeError
			require.ErrorAs(t, err, &unknown)
			require.Equal(t, fx.typ, unknown.Type)

			f, err := frame.Decode(fx.input, fx.dir)
			require.NoError(t, err)
			require.Equal(t, fx.typ, f.Type)
			in := decodeJSON(t, fx.input)
			wantReqID, _ := in["_reqId"].(string)
			require.Equal(t, wantReqID, f.ReqID)

			got, err := frame.Encode(f.ReqID, f.Msg)
			require.NoError(t, err)
			if *update {
				require.NoError(t, os.WriteFile(fx.golden, append(bytes.Clone(got), '\n'), 0o600))
			}
			golden := readGolden(t, fx.golden)
			require.Equal(t, string(golden), string(got))

			// "type" first, "_reqId" second.
			prefix := `{"type":` + strconv.Quote(fx.typ)
			if wantReqID != "" {
				prefix += `,"_reqId":` + strconv.Quote(wantReqID)
			}
			require.True(t, bytes.HasPrefix(got, []byte(prefix)), "want prefix %s", prefix)

			again, err := frame.Decode(golden, fx.dir)
			require.NoError(t, err)
			require.Equal(t, f.Type, again.Type)
			require.Equal(t, f.ReqID, again.ReqID)
			requireProtoEqual(t, f.Msg, again.Msg)

			out := decodeJSON(t, golden)
			if fx.dir == brokerToClient {
				requireLikeClassicBroker(t, fx.name, in, out)
				return
			}
			require.Equal(t, in["type"], out["type"])
			checkClientFields(t, "", f.Msg.ProtoReflect().Descriptor(), in, out)
		})
	}
}

// checkClientFields checks a client→broker golden against its input: every
// input key that names a field of md has the same JSON value in the golden,
// keys that name no field are dropped, and an input null may become
// anything (it decodes as the field's default). Nested frame messages are
// compared key by key; free JSON (Struct, Value, ListValue) and scalars as
// whole values.
func checkClientFields(t *testing.T, path string, md protoreflect.MessageDescriptor, in, out map[string]any) {
	t.Helper()
	for key, v := range in {
		at := path + "/" + key
		if path == "" && (key == "type" || key == "_reqId") {
			continue
		}
		fd := md.Fields().ByJSONName(key)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(key)) // protojson also accepts the proto name
		}
		if fd == nil {
			require.NotContains(t, out, key, "%s: an unknown field must be dropped", at)
			continue
		}
		if v == nil {
			continue
		}
		got, ok := out[fd.JSONName()]
		require.True(t, ok, "%s: missing in the golden file", at)
		sub := fd.Message()
		if sub == nil || fd.IsMap() || sub.ParentFile().Package() == "google.protobuf" {
			require.Equal(t, v, got, at)
			continue
		}
		if !fd.IsList() {
			checkClientFields(t, at, sub, asObject(t, at, v), asObject(t, at, got))
			continue
		}
		inList, outList := asArray(t, at, v), asArray(t, at, got)
		require.Len(t, outList, len(inList), at)
		for i := range inList {
			elem := at + "/" + strconv.Itoa(i)
			checkClientFields(t, elem, sub, asObject(t, elem, inList[i]), asObject(t, elem, outList[i]))
		}
	}
}

func asObject(t *testing.T, at string, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "%s: want a JSON object, got %#v", at, v)
	return m
}

func asArray(t *testing.T, at string, v any) []any {
	t.Helper()
	a, ok := v.([]any)
	require.True(t, ok, "%s: want a JSON array, got %#v", at, v)
	return a
}

// diffKind says how our encoding of a broker→client frame legitimately
// differs from the classic broker's at one JSON path.
type diffKind int

const (
	// nullDropped: the classic broker writes null for an absent optional
	// field or message (JSON.stringify of a DB null); we omit the key. The
	// classic client reads both as "not there" (`?? null`, truthiness).
	nullDropped diffKind = iota + 1
	// defaultAdded: the classic broker leaves the key out; we write it with
	// its default ("", [], null) because the field has no presence.
	defaultAdded
)

// classicBrokerDiffs lists, per broker→client fixture, where our golden
// differs from what the classic broker wrote. Every other fixture must be
// JSON-equal to its golden.
var classicBrokerDiffs = map[string]map[string]diffKind{
	// A fresh classic session: roleTag is a DB null; meshSlug and hookToken
	// are ours; restoredGroups is repeated, so always written.
	"hello_ack.classic": {
		"/memberProfile/roleTag": nullDropped,
		"/restoredGroups":        defaultAdded,
		"/meshSlug":              defaultAdded,
		"/hookToken":             defaultAdded,
	},
	// A classic broker's peer: summary is a DB null; memberPubkey, peerRole,
	// memberId and statusSource are HEAD or ours.
	"peers_list.classic": {
		"/peers/0/summary":      nullDropped,
		"/peers/0/memberPubkey": defaultAdded,
		"/peers/0/peerRole":     defaultAdded,
		"/peers/0/memberId":     defaultAdded,
		"/peers/0/statusSource": defaultAdded,
	},
	"message_status_result.held": {"/deliveredAt": nullDropped},
	"skill_data.missing":         {"/skill": nullDropped},
	// {error} without result: result is a google.protobuf.Value, written
	// as null when unset.
	"mcp_call_result.error": {"/result": defaultAdded},
	// {status:"failed", error} without tools: tools is repeated.
	"mcp_deploy_status.failed": {"/tools": defaultAdded},
	"vault_list_result":        {"/entries/0/mount_path": nullDropped},
}

// requireLikeClassicBroker checks that a broker→client golden is the JSON
// the classic broker wrote, up to the differences classicBrokerDiffs lists,
// and that each listed difference is really there.
func requireLikeClassicBroker(t *testing.T, name string, in, out map[string]any) {
	t.Helper()
	for path, kind := range classicBrokerDiffs[name] {
		inParent, key := jsonParent(t, in, path)
		outParent, _ := jsonParent(t, out, path)
		inV, inOK := inParent[key]
		outV, outOK := outParent[key]
		switch kind {
		case nullDropped:
			require.True(t, inOK, "%s: not in the input", path)
			require.Nil(t, inV, "%s: not null in the input", path)
			require.False(t, outOK, "%s: still in the golden file", path)
			delete(inParent, key)
		case defaultAdded:
			require.False(t, inOK, "%s: already in the input", path)
			require.True(t, outOK, "%s: not in the golden file", path)
			require.Contains(t, []any{"", nil, []any{}, false, float64(0)}, outV, "%s: not a default", path)
			delete(outParent, key)
		}
	}
	want, err := json.Marshal(in)
	require.NoError(t, err)
	got, err := json.Marshal(out)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
}

// jsonParent walks a "/a/0/b" path and returns the object holding its last
// key.
func jsonParent(t *testing.T, doc map[string]any, path string) (map[string]any, string) {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var cur any = doc
	for _, p := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i, err := strconv.Atoi(p)
			require.NoError(t, err, path)
			require.Less(t, i, len(c), path)
			cur = c[i]
		default:
			require.Failf(t, "bad path", "%s: %T at %q", path, cur, p)
		}
	}
	return asObject(t, path, cur), parts[len(parts)-1]
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		dir  edgev1.Direction
		// isUnknown says the error is an *UnknownTypeError for type unknown;
		// otherwise it wraps ErrMalformed.
		isUnknown bool
		unknown   string
		reqID     string
		typ       string
	}{
		{name: "Empty", in: ``},
		{name: "Whitespace", in: " \n\t "},
		{name: "NotJSON", in: `hello`},
		{name: "JSONArray", in: `[{"type":"list_peers","_reqId":"r1"}]`},
		{name: "JSONString", in: `"list_peers"`},
		{name: "JSONNull", in: `null`},
		{name: "TruncatedObject", in: `{"type":"list_peers","_reqId":"r1"`},
		{name: "TrailingData", in: `{"type":"list_peers","_reqId":"r1"} {}`},
		{name: "MissingType", in: `{"_reqId":"r1","meshId":"m"}`, reqID: "r1"},
		{name: "TypeNull", in: `{"type":null,"_reqId":"r1"}`, reqID: "r1"},
		{name: "TypeNumber", in: `{"type":5,"_reqId":"r1"}`, reqID: "r1"},
		{name: "TypeObjectNumberReqID", in: `{"_reqId":42,"type":{"name":"hello"}}`, reqID: "42"},
		{name: "UnknownType", in: `{"type":"teleport","_reqId":"r1"}`, isUnknown: true, unknown: "teleport", reqID: "r1", typ: "teleport"},
		{name: "UnknownTypeNumberReqID", in: `{"type":"teleport","_reqId":17}`, isUnknown: true, unknown: "teleport", reqID: "17", typ: "teleport"},
		{name: "UnknownTypeFloatReqID", in: `{"type":"teleport","_reqId":-1.5e3}`, isUnknown: true, unknown: "teleport", reqID: "-1.5e3", typ: "teleport"},
		{name: "UnknownTypeNullReqID", in: `{"type":"teleport","_reqId":null}`, isUnknown: true, unknown: "teleport", typ: "teleport"},
		{name: "UnknownTypeObjectReqID", in: `{"type":"teleport","_reqId":{"id":"r1"}}`, isUnknown: true, unknown: "teleport", typ: "teleport"},
		{name: "UnknownTypeBoolReqID", in: `{"type":"teleport","_reqId":true}`, isUnknown: true, unknown: "teleport", typ: "teleport"},
		{name: "UnknownTypeEmpty", in: `{"type":""}`, isUnknown: true, unknown: "", typ: ""},
		{name: "ClassicTypeNotImplemented", in: `{"type":"remember","content":"x","_reqId":"r1"}`, isUnknown: true, unknown: "remember", reqID: "r1", typ: "remember"},
		{name: "BrokerTypeFromClient", in: `{"type":"push","messageId":"m1","_reqId":"r1"}`, isUnknown: true, unknown: "push", reqID: "r1", typ: "push"},
		{name: "ClientTypeFromBroker", in: `{"type":"send","targetSpec":"*"}`, dir: brokerToClient, isUnknown: true, unknown: "send", typ: "send"},
		{name: "WrongFieldType", in: `{"type":"hello","pid":"x","_reqId":"r2"}`, reqID: "r2", typ: "hello"},
		{name: "WrongFieldTypeNumberReqID", in: `{"type":"hello","pid":"x","_reqId":7}`, reqID: "7", typ: "hello"},
		{name: "WrongNestedFieldType", in: `{"type":"set_stats","stats":{"messagesIn":"many"}}`, typ: "set_stats"},
		{name: "Int32Overflow", in: `{"type":"hello","pid":4294967296}`, typ: "hello"},
		{name: "FractionalInt", in: `{"type":"mcp_logs","server_name":"x","lines":1.5}`, typ: "mcp_logs"},
		{name: "BoolAsString", in: `{"type":"set_visible","visible":"true"}`, typ: "set_visible"},
		{name: "RepeatedNotArray", in: `{"type":"vault_get","keys":"GITHUB_TOKEN"}`, typ: "vault_get"},
		{name: "StructNotObject", in: `{"type":"mcp_call","serverName":"s","toolName":"t","args":[1]}`, typ: "mcp_call"},
		{name: "DuplicateField", in: `{"type":"hello","meshId":"a","mesh_id":"b"}`, typ: "hello"},
		{name: "DuplicateStructKey", in: `{"type":"set_state","key":"k","value":{"a":1,"a":2}}`, typ: "set_state"},
		{name: "NumberOutOfRange", in: `{"type":"set_state","key":"k","value":1e400}`, typ: "set_state"},
		{name: "InvalidUTF8", in: "{\"type\":\"set_summary\",\"summary\":\"\xff\"}", typ: "set_summary"},
		{name: "BadUnicodeEscape", in: `{"type":"set_summary","summary":"\ud83"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			dir := tt.dir
			if dir == edgev1.Direction_DIRECTION_UNSPECIFIED {
				dir = clientToBroker
			}
			f, err := frame.Decode([]byte(tt.in), dir)
			require.Error(t, err)
			require.Nil(t, f.Msg)
			require.Equal(t, tt.reqID, f.ReqID)
			require.Equal(t, tt.typ, f.Type)
			var unknown *frame.UnknownTypeError
			if tt.isUnknown {
				require.ErrorAs(t, err, &unknown)
				require.Equal(t, tt.unknown, unknown.Type)
				require.NotErrorIs(t, err, frame.ErrMalformed)
				require.Contains(t, err.Error(), strconv.Quote(tt.unknown))
				return
			}
			require.ErrorIs(t, err, frame.ErrMalformed)
			require.False(t, errors.As(err, &unknown), "malformed, not unknown")
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		in    string
		dir   edgev1.Direction
		reqID string
		want  proto.Message
	}{
		{
			name: "SurroundingWhitespace",
			in:   " \r\n\t{\"type\":\"list_peers\",\"_reqId\":\"r1\"}\n",
			want: &edgev1.ListPeers{}, reqID: "r1",
		},
		{
			name: "ReqIDAnywhere",
			in:   `{"key":"k","_reqId":"r1","type":"get_state"}`,
			want: &edgev1.GetState{Key: "k"}, reqID: "r1",
		},
		{
			name: "UnknownFieldsIgnored",
			in:   `{"type":"set_stats","futureField":{"a":[1,2,{"b":null}]},"stats":{"uptime":60,"futureCounter":1}}`,
			want: &edgev1.SetStats{Stats: &edgev1.Stats{Uptime: proto.Int64(60)}},
		},
		{
			name: "ProtoFieldNames",
			in:   `{"type":"get_file","file_id":"f1"}`,
			want: &edgev1.GetFile{FileId: "f1"},
		},
		{
			name: "Int64AsString",
			in:   `{"type":"scheduled_ack","scheduledId":"s","deliverAt":"1764331200123"}`,
			dir:  brokerToClient,
			want: &edgev1.ScheduledAck{ScheduledId: "s", DeliverAt: 1764331200123},
		},
		{
			name: "IntWithExponent",
			in:   `{"type":"hello","pid":4.8213e4}`,
			want: &edgev1.Hello{Pid: 48213},
		},
		{
			// Frames carry base64 as strings; the codec does not check it.
			name: "Base64NotChecked",
			in:   `{"type":"send","targetSpec":"*","nonce":"!!not base64","ciphertext":"%%"}`,
			want: &edgev1.Send{TargetSpec: "*", Nonce: "!!not base64", Ciphertext: "%%"},
		},
		{
			// JSON.stringify writes a JavaScript string cut inside a
			// surrogate pair with a lone surrogate escape; it reads as U+FFFD.
			name: "LoneSurrogates",
			in: `{"type":"state_change","key":"cut \ud83e","value":{"\udd8a":["\ud83e\udd8a","\uD83E\uDD8A","\ud83e\ud83e\udd8a",` +
				`"\\ud83e","\\\ud83e","\udc00\ud800","\u0041\ud800x"]},"updatedBy":"\uDFFF","_reqId":"r\udc00"}`,
			dir:   brokerToClient,
			reqID: "r\ufffd",
			want: &edgev1.StateChange{
				Key: "cut \ufffd",
				Value: structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
					"\ufffd": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{
						structpb.NewStringValue("🦊"),
						structpb.NewStringValue("🦊"),
						structpb.NewStringValue("\ufffd🦊"),
						structpb.NewStringValue(`\ud83e`),
						structpb.NewStringValue(`\` + "\ufffd"),
						structpb.NewStringValue("\ufffd\ufffd"),
						structpb.NewStringValue("A\ufffdx"),
					}}),
				}}),
				UpdatedBy: "\ufffd",
			},
		},
		{
			name: "NullsAreDefaults",
			in:   `{"type":"hello","meshId":null,"groups":null,"protocolVersion":null}`,
			want: &edgev1.Hello{},
		},
		{
			// A null google.protobuf.Value decodes as unset, like an absent one.
			name: "NullValueIsUnset",
			in:   `{"type":"mcp_scope","server_name":"github","scope":null}`,
			want: &edgev1.McpScope{ServerName: "github"},
		},
		{
			name: "NullInsideFreeJSONKept",
			in:   `{"type":"state_list","entries":[{"key":"a","value":null},{"key":"b","value":[null,{"c":null}]}]}`,
			dir:  brokerToClient,
			want: &edgev1.StateList{Entries: []*edgev1.StateEntry{
				{Key: "a"},
				{Key: "b", Value: structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{
					structpb.NewNullValue(),
					structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"c": structpb.NewNullValue()}}),
				}})},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			dir := tt.dir
			if dir == edgev1.Direction_DIRECTION_UNSPECIFIED {
				dir = clientToBroker
			}
			f, err := frame.Decode([]byte(tt.in), dir)
			require.NoError(t, err)
			require.Equal(t, tt.reqID, f.ReqID)
			requireProtoEqual(t, tt.want, f.Msg)
		})
	}
}

func TestEncode(t *testing.T) {
	t.Parallel()

	encode := func(t *testing.T, reqID string, msg proto.Message) string {
		t.Helper()
		b, err := frame.Encode(reqID, msg)
		require.NoError(t, err)
		require.True(t, json.Valid(b), "%s", b)
		return string(b)
	}

	t.Run("AppendEncode", func(t *testing.T) {
		t.Parallel()
		b, err := frame.AppendEncode([]byte("prefix:"), "", &edgev1.ListPeers{})
		require.NoError(t, err)
		require.Equal(t, `prefix:{"type":"list_peers"}`, string(b))
	})

	t.Run("FloatsLikeJavaScript", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			in   float64
			want string
		}{
			{1, `1`},
			{1.5, `1.5`},
			{-2, `-2`},
			{0, `0`},
			{math.Copysign(0, -1), `0`},
			{0.1, `0.1`},
			{1e21, `1e+21`},
			{1.5e21, `1.5e+21`},
			{1e20, `100000000000000000000`},
			{123456789012345680000, `123456789012345680000`},
			{1e-6, `0.000001`},
			{-0.000001, `-0.000001`},
			{1.5e-6, `0.0000015`},
			{1e-7, `1e-7`},
			{-1.5e-7, `-1.5e-7`},
			{1.23e-18, `1.23e-18`},
			{1e100, `1e+100`},
			{5e-324, `5e-324`},
			{math.MaxFloat64, `1.7976931348623157e+308`},
			{1764331200123, `1764331200123`},
			{1 << 53, `9007199254740992`},
			{123456789.123, `123456789.123`},
		}
		for _, tt := range tests {
			got := encode(t, "", &edgev1.StateChange{Key: "k", Value: structpb.NewNumberValue(tt.in)})
			require.Equal(t, `{"type":"state_change","key":"k","value":`+tt.want+`,"updatedBy":""}`, got, "%v", tt.in)

			cpus := tt.in
			got = encode(t, "", &edgev1.McpDeploy{Config: &edgev1.ServiceConfig{Cpus: &cpus}})
			require.Contains(t, got, `"cpus":`+tt.want+`,`, "%v", tt.in)
		}
	})

	t.Run("Int64AsNumbers", func(t *testing.T) {
		t.Parallel()
		got := encode(t, "r1", &edgev1.ScheduledAck{ScheduledId: "s1", DeliverAt: 1764331200123})
		require.Equal(t, `{"type":"scheduled_ack","_reqId":"r1","scheduledId":"s1","deliverAt":1764331200123}`, got)

		got = encode(t, "", &edgev1.FileList{Files: []*edgev1.FileInfo{{Size: math.MaxInt64}}})
		require.Contains(t, got, `"size":9223372036854775807,`)

		got = encode(t, "", &edgev1.SetStats{Stats: &edgev1.Stats{MessagesIn: proto.Int64(-1), Uptime: proto.Int64(0)}})
		require.Equal(t, `{"type":"set_stats","stats":{"messagesIn":-1,"uptime":0}}`, got)
	})

	t.Run("RepeatedAndMapsEmpty", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, `{"type":"file_list","files":[]}`, encode(t, "", &edgev1.FileList{}))
		require.Equal(t, `{"type":"vault_get","keys":[]}`, encode(t, "", &edgev1.VaultGet{}))
		got := encode(t, "", &edgev1.McpDeploy{Config: &edgev1.ServiceConfig{}})
		require.Equal(t, `{"type":"mcp_deploy","server_name":"","config":{"env":{},"network_allow":[]},"scope":null}`, got)
	})

	t.Run("UnsetOptionalOmitted", func(t *testing.T) {
		t.Parallel()
		got := encode(t, "", &edgev1.Ack{Id: "a1", MessageId: "m1", Queued: true})
		require.Equal(t, `{"type":"ack","id":"a1","messageId":"m1","queued":true}`, got)

		// Set to its zero value, an optional field is written.
		got = encode(t, "", &edgev1.Ack{Error: proto.String("")})
		require.Equal(t, `{"type":"ack","id":"","messageId":"","queued":false,"error":""}`, got)

		// Unset message fields are omitted, set empty ones written.
		got = encode(t, "", &edgev1.HelloAck{PresenceId: "p1", MemberProfile: &edgev1.MemberProfile{}})
		require.Equal(t, `{"type":"hello_ack","presenceId":"p1","memberDisplayName":"",`+
			`"memberProfile":{"groups":[],"messageMode":""},"restoredGroups":[],"services":[],"meshSlug":"","hookToken":""}`, got)
		got = encode(t, "", &edgev1.SkillData{})
		require.Equal(t, `{"type":"skill_data"}`, got)
	})

	t.Run("UnsetValueIsNull", func(t *testing.T) {
		t.Parallel()
		got := encode(t, "r1", &edgev1.StateResult{Key: "deploy/lock"})
		require.Equal(t, `{"type":"state_result","_reqId":"r1","key":"deploy/lock","value":null,"updatedBy":"","updatedAt":""}`, got)

		got = encode(t, "", &edgev1.StateList{Entries: []*edgev1.StateEntry{{Key: "a"}, {Key: "b", Value: structpb.NewNullValue()}}})
		require.Equal(t, `{"type":"state_list","entries":[{"key":"a","value":null,"updatedBy":"","updatedAt":""},`+
			`{"key":"b","value":null,"updatedBy":"","updatedAt":""}]}`, got)

		// A nil entry inside free JSON is null too.
		got = encode(t, "", &edgev1.StateChange{Value: structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{nil, {}}})})
		require.Equal(t, `{"type":"state_change","key":"","value":[null,null],"updatedBy":""}`, got)
	})

	t.Run("FreeJSON", func(t *testing.T) {
		t.Parallel()
		value, err := structpb.NewValue(map[string]any{
			"s": "x", "n": 2.5, "b": false, "z": nil, "l": []any{1, "two", true, nil, map[string]any{}}, "o": map[string]any{"k": []any{}},
		})
		require.NoError(t, err)
		got := encode(t, "", &edgev1.SetState{Key: "k", Value: value})
		require.Equal(t, `{"type":"set_state","key":"k","value":{"b":false,"l":[1,"two",true,null,{}],"n":2.5,"o":{"k":[]},"s":"x","z":null}}`, got)

		_, err = frame.Encode("", &edgev1.SetState{Value: structpb.NewNumberValue(math.NaN())})
		require.Error(t, err, "NaN is not JSON")
		_, err = frame.Encode("", &edgev1.SetState{Value: structpb.NewNumberValue(math.Inf(1))})
		require.Error(t, err, "Infinity is not JSON")

		// A double field writes NaN and the infinities as protojson does.
		nan, inf := math.NaN(), math.Inf(-1)
		require.Contains(t, encode(t, "", &edgev1.McpDeploy{Config: &edgev1.ServiceConfig{Cpus: &nan}}), `"cpus":"NaN"`)
		require.Contains(t, encode(t, "", &edgev1.McpDeploy{Config: &edgev1.ServiceConfig{Cpus: &inf}}), `"cpus":"-Infinity"`)
	})

	t.Run("MapKeysSorted", func(t *testing.T) {
		t.Parallel()
		got := encode(t, "", &edgev1.McpDeploy{ServerName: "s", Config: &edgev1.ServiceConfig{
			Env: map[string]string{"b": "2", "a": "1", "Z": "0", "a_b": "3", "é": "4"},
		}})
		require.Contains(t, got, `"env":{"Z":"0","a":"1","a_b":"3","b":"2","é":"4"}`)

		eventData, err := structpb.NewStruct(map[string]any{"name": "carol", "groups": []any{}, "pubkey": "ab", "Name": 1})
		require.NoError(t, err)
		got = encode(t, "", &edgev1.Push{EventData: eventData})
		require.Contains(t, got, `"eventData":{"Name":1,"groups":[],"name":"carol","pubkey":"ab"}`)
	})

	t.Run("Strings", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			in   string
			want string // the JSON string, quotes included
		}{
			{``, `""`},
			{`plain`, `"plain"`},
			{`say "hi"`, `"say \"hi\""`},
			{`C:\path\to`, `"C:\\path\\to"`},
			{"line1\nline2\r\n\ttab", `"line1\nline2\r\n\ttab"`},
			{"\b\f", `"\b\f"`},
			{"nul\x00 bell\x07 esc\x1b us\x1f", `"nul\u0000 bell\u0007 esc\u001b us\u001f"`},
			{"del\x7f", "\"del\x7f\""},
			{`<script>a && b</script>`, `"<script>a && b</script>"`},
			{"emoji 🦊 é ü 日本", `"emoji 🦊 é ü 日本"`},
			{"sep\u2028\u2029", "\"sep\u2028\u2029\""},
			{"bad \xff byte", "\"bad \ufffd byte\""},
			{"cut \xf0\x9f\xa6", "\"cut \ufffd\ufffd\ufffd\""},
			{"surrogate \xed\xa0\x80", "\"surrogate \ufffd\ufffd\ufffd\""},
			{"\ufffd kept", "\"\ufffd kept\""},
		}
		for _, tt := range tests {
			got := encode(t, "", &edgev1.SetSummary{Summary: tt.in})
			require.Equal(t, `{"type":"set_summary","summary":`+tt.want+`}`, got, "%q", tt.in)

			var back struct {
				Summary string `json:"summary"`
			}
			require.NoError(t, json.Unmarshal([]byte(got), &back))
			require.Equal(t, replaceInvalidUTF8(tt.in), back.Summary, "%q", tt.in)
		}
	})

	t.Run("TypeThenReqID", func(t *testing.T) {
		t.Parallel()
		got := encode(t, `r"1`, &edgev1.Error{Code: "not_found", Message: "no such message", Id: proto.String("m1")})
		require.Equal(t, `{"type":"error","_reqId":"r\"1","code":"not_found","message":"no such message","id":"m1"}`, got)

		got = encode(t, "", &edgev1.Error{Code: "no_hello", Message: "must send hello first"})
		require.Equal(t, `{"type":"error","code":"no_hello","message":"must send hello first"}`, got)
	})

	t.Run("NotAFrame", func(t *testing.T) {
		t.Parallel()
		for _, msg := range []proto.Message{&edgev1.GroupRef{Name: "eng"}, &edgev1.FrameOptions{}, structpb.NewStringValue("x")} {
			b, err := frame.Encode("r1", msg)
			require.Error(t, err)
			require.Contains(t, err.Error(), "not a frame message")
			require.Nil(t, b)
			_, ok := frame.TypeOf(msg)
			require.False(t, ok)
		}
	})
}

func TestRegistry(t *testing.T) {
	t.Parallel()

	typ, ok := frame.TypeOf(&edgev1.Hello{})
	require.True(t, ok)
	require.Equal(t, "hello", typ)

	msg, ok := frame.New("peers_list")
	require.True(t, ok)
	requireProtoEqual(t, &edgev1.PeersList{}, msg)

	_, ok = frame.New("teleport")
	require.False(t, ok)
	_, ok = frame.Direction("teleport")
	require.False(t, ok)

	dir, ok := frame.Direction("push")
	require.True(t, ok)
	require.Equal(t, brokerToClient, dir)
}

// replaceInvalidUTF8 replaces each byte that is not part of valid UTF-8
// with U+FFFD, as the encoder (and encoding/json) do.
func replaceInvalidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func BenchmarkDecodeSend(b *testing.B) {
	input, err := os.ReadFile(filepath.Join(framesDir, "send.json"))
	require.NoError(b, err)
	b.ReportAllocs()
	b.SetBytes(int64(len(input)))
	for b.Loop() {
		if _, err := frame.Decode(input, clientToBroker); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePush(b *testing.B) {
	input, err := os.ReadFile(filepath.Join(framesDir, "push.json"))
	require.NoError(b, err)
	f, err := frame.Decode(input, brokerToClient)
	require.NoError(b, err)
	b.ReportAllocs()
	b.SetBytes(int64(len(input)))
	for b.Loop() {
		if _, err := frame.Encode(f.ReqID, f.Msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePushSystem(b *testing.B) {
	input, err := os.ReadFile(filepath.Join(framesDir, "push.system.json"))
	require.NoError(b, err)
	f, err := frame.Decode(input, brokerToClient)
	require.NoError(b, err)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = frame.AppendEncode(buf[:0], f.ReqID, f.Msg); err != nil {
			b.Fatal(err)
		}
	}
}
