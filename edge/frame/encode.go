package frame

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
)

// Encode writes a frame as classic JSON: {"type":…,"_reqId":…,fields…}.
// reqID is omitted when empty. msg must be a frame message.
func Encode(reqID string, msg proto.Message) ([]byte, error) {
	return AppendEncode(make([]byte, 0, 256), reqID, msg)
}

// AppendEncode is Encode appending to b.
func AppendEncode(b []byte, reqID string, msg proto.Message) ([]byte, error) {
	m := msg.ProtoReflect()
	k, ok := frames.byName[m.Descriptor().FullName()]
	if !ok {
		return nil, fmt.Errorf("encode frame: %s is not a frame message", m.Descriptor().FullName())
	}
	b = append(b, `{"type":`...)
	b = appendString(b, k.typ)
	if reqID != "" {
		b = append(b, `,"_reqId":`...)
		b = appendString(b, reqID)
	}
	b, err := appendFields(b, m, true)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", k.typ, err)
	}
	return append(b, '}'), nil
}

// appendFields writes the fields of m as "key":value pairs; afterOther says
// that a pair was written before, so the first one needs a comma.
func appendFields(b []byte, m protoreflect.Message, afterOther bool) ([]byte, error) {
	fields := m.Descriptor().Fields()
	var err error
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !writeField(m, fd) {
			continue
		}
		if afterOther {
			b = append(b, ',')
		}
		afterOther = true
		b = appendString(b, fd.JSONName())
		b = append(b, ':')
		b, err = appendFieldValue(b, fd, m.Get(fd))
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

const valueName = protoreflect.FullName("google.protobuf.Value")

// writeField says whether a field is written: always for repeated, map and
// implicit-presence scalars and for google.protobuf.Value; only when set for
// optional scalars and messages.
func writeField(m protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	if fd.IsList() || fd.IsMap() || !fd.HasPresence() {
		return true
	}
	if fd.Message() != nil && fd.Message().FullName() == valueName {
		return true
	}
	return m.Has(fd)
}

func appendFieldValue(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) ([]byte, error) {
	var err error
	switch {
	case fd.IsList():
		list := v.List()
		b = append(b, '[')
		for i := range list.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendSingular(b, fd, list.Get(i)); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case fd.IsMap():
		return appendMap(b, fd, v.Map())
	default:
		return appendSingular(b, fd, v)
	}
}

func appendMap(b []byte, fd protoreflect.FieldDescriptor, mp protoreflect.Map) ([]byte, error) {
	keys := make([]protoreflect.MapKey, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k.String())
		b = append(b, ':')
		if b, err = appendSingular(b, fd.MapValue(), mp.Get(k)); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendSingular(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool()), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case protoreflect.FloatKind:
		return appendFloat(b, v.Float(), 32), nil
	case protoreflect.DoubleKind:
		return appendFloat(b, v.Float(), 64), nil
	case protoreflect.StringKind:
		return appendString(b, v.String()), nil
	case protoreflect.BytesKind:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes())
		return append(b, '"'), nil
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return appendString(b, string(ev.Name())), nil
		}
		return strconv.AppendInt(b, int64(v.Enum()), 10), nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return appendMessage(b, v.Message())
	}
	return nil, fmt.Errorf("field %s: unsupported kind %s", fd.FullName(), fd.Kind())
}

// appendMessage writes a nested message: google.protobuf.Struct, Value and
// ListValue as the JSON they hold, other well-known types as protojson
// writes them (compacted), other messages by the frame rules.
func appendMessage(b []byte, m protoreflect.Message) ([]byte, error) {
	switch v := m.Interface().(type) {
	case *structpb.Value:
		return appendValue(b, v)
	case *structpb.Struct:
		return appendStruct(b, v)
	case *structpb.ListValue:
		return appendList(b, v)
	}
	if m.Descriptor().ParentFile().Package() == "google.protobuf" {
		out, err := protojson.Marshal(m.Interface())
		if err != nil {
			return nil, fmt.Errorf("marshal %s: %w", m.Descriptor().FullName(), err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, out); err != nil {
			return nil, fmt.Errorf("compact %s: %w", m.Descriptor().FullName(), err)
		}
		return append(b, compact.Bytes()...), nil
	}
	b = append(b, '{')
	b, err := appendFields(b, m, false)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendValue writes free-form JSON. An unset Value is null.
func appendValue(b []byte, v *structpb.Value) ([]byte, error) {
	switch k := v.GetKind().(type) {
	case nil, *structpb.Value_NullValue:
		return append(b, "null"...), nil
	case *structpb.Value_NumberValue:
		if math.IsNaN(k.NumberValue) || math.IsInf(k.NumberValue, 0) {
			return nil, fmt.Errorf("invalid JSON number %v", k.NumberValue)
		}
		return appendFloat(b, k.NumberValue, 64), nil
	case *structpb.Value_StringValue:
		return appendString(b, k.StringValue), nil
	case *structpb.Value_BoolValue:
		return strconv.AppendBool(b, k.BoolValue), nil
	case *structpb.Value_StructValue:
		return appendStruct(b, k.StructValue)
	case *structpb.Value_ListValue:
		return appendList(b, k.ListValue)
	}
	return nil, fmt.Errorf("unknown google.protobuf.Value kind %T", v.GetKind())
}

func appendStruct(b []byte, s *structpb.Struct) ([]byte, error) {
	keys := make([]string, 0, len(s.GetFields()))
	for k := range s.GetFields() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		if b, err = appendValue(b, s.GetFields()[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendList(b []byte, l *structpb.ListValue) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, v := range l.GetValues() {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendValue(b, v); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendFloat writes a number the way JavaScript's JSON.stringify does
// (plain decimals between 1e-6 and 1e21, exponents outside). NaN and the
// infinities, which JSON cannot hold, are written as protojson writes them:
// "NaN", "Infinity", "-Infinity".
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	if f == 0 {
		// JSON.stringify(-0) is "0".
		return append(b, '0')
	}
	if abs := math.Abs(f); abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, bits)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'e', -1, bits)
	// Go writes e-07 and e+07 where JavaScript writes e-7 and e+7.
	if n := len(b); n-start >= 4 && b[n-2] == '0' && (b[n-3] == '-' || b[n-3] == '+') {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string the way JSON.stringify does: only
// the quote, the backslash and control characters are escaped. Invalid UTF-8
// becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
