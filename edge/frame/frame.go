// Package frame is the codec between classic claudemesh WebSocket frames
// (one JSON object per text frame, discriminated by "type", correlated by an
// optional "_reqId") and the protobuf messages of claudemesh.edge.v1.
//
// Decoding reads "type" and "_reqId", then unmarshals the object with
// protojson into the message the type names, ignoring unknown fields; a
// google.protobuf.Value field that is JSON null is left unset. Encoding writes "type" first, then "_reqId", then the message's fields by
// their json_name, with the classic conventions protojson does not follow:
// 64-bit integers are JSON numbers, scalars without explicit presence are
// always written, optional and message fields only when set (a
// google.protobuf.Value field is written as null when unset), and repeated
// fields always, as [] when empty.
package frame

import (
	"errors"
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// Frame is one decoded frame.
type Frame struct {
	// Type is the frame's "type", for example "hello".
	Type string
	// ReqID is the frame's "_reqId", or "" when it has none.
	ReqID string
	// Msg is the frame's body.
	Msg proto.Message
}

// ErrMalformed is wrapped by Decode errors for frames that are not a JSON
// object, lack a string "type", or whose fields do not fit the message.
var ErrMalformed = errors.New("malformed frame")

// UnknownTypeError is returned by Decode for a "type" that names no frame
// the decoder accepts.
type UnknownTypeError struct {
	Type string
}

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("unknown frame type %q", e.Type)
}

// kind is one registered frame type.
type kind struct {
	typ       string
	direction edgev1.Direction
	desc      protoreflect.MessageDescriptor
	msgType   protoreflect.MessageType
	// hasValue says that the message holds a google.protobuf.Value field,
	// directly or in a nested message, whose nulls Decode clears.
	hasValue bool
}

// registry maps frame types to messages, built once from the descriptors of
// claudemesh.edge.v1.
type registry struct {
	byType map[string]kind
	byName map[protoreflect.FullName]kind
}

//nolint:gochecknoglobals // built once from the generated descriptors, read-only after.
var frames = buildRegistry()

func buildRegistry() *registry {
	r := &registry{
		byType: map[string]kind{},
		byName: map[protoreflect.FullName]kind{},
	}
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		desc := mt.Descriptor()
		if desc.ParentFile().Package() != "claudemesh.edge.v1" {
			return true
		}
		opts, ok := proto.GetExtension(desc.Options(), edgev1.E_Frame).(*edgev1.FrameOptions)
		if !ok || opts.GetType() == "" {
			return true
		}
		k := kind{
			typ:       opts.GetType(),
			direction: opts.GetDirection(),
			desc:      desc,
			msgType:   mt,
			hasValue:  holdsValue(desc, map[protoreflect.FullName]bool{}),
		}
		r.byType[k.typ] = k
		r.byName[desc.FullName()] = k
		return true
	})
	return r
}

// holdsValue says whether a message has a google.protobuf.Value field,
// itself or in a message field (outside the well-known types); seen breaks
// cycles.
func holdsValue(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return false
	}
	seen[md.FullName()] = true
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		sub := fd.Message()
		switch {
		case sub == nil || fd.IsMap():
		case sub.FullName() == valueName:
			if !fd.IsList() {
				return true
			}
		case sub.ParentFile().Package() == "google.protobuf":
		case holdsValue(sub, seen):
			return true
		}
	}
	return false
}

// Direction returns who sends a frame type, or false for an unknown type.
func Direction(typ string) (edgev1.Direction, bool) {
	k, ok := frames.byType[typ]
	return k.direction, ok
}

// Types returns every frame type sent in a direction, sorted.
func Types(dir edgev1.Direction) []string {
	var out []string
	for t, k := range frames.byType {
		if k.direction == dir {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// TypeOf returns the frame type of a message, or false when the message is
// not a frame.
func TypeOf(msg proto.Message) (string, bool) {
	k, ok := frames.byName[msg.ProtoReflect().Descriptor().FullName()]
	return k.typ, ok
}

// New returns an empty message for a frame type.
func New(typ string) (proto.Message, bool) {
	k, ok := frames.byType[typ]
	if !ok {
		return nil, false
	}
	return k.msgType.New().Interface(), true
}
