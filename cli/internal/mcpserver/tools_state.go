package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

type getStateInput struct {
	Key      string `json:"key"`
	MeshSlug string `json:"mesh_slug,omitempty" jsonschema:"the mesh (default: the first)"`
}

type setStateInput struct {
	Key      string `json:"key"`
	Value    any    `json:"value" jsonschema:"any JSON value"`
	MeshSlug string `json:"mesh_slug,omitempty" jsonschema:"only this mesh (default: every joined mesh)"`
}

func (s *Server) addStateTools() {
	tool(s, "get_state", "Read a shared state key (live facts every peer sees).", s.getState)
	tool(s, "set_state", "Set a shared state key to any JSON value; peers are told.", s.setState)
	tool(s, "list_state", "List the shared state keys and values.", s.listState)
}

func (s *Server) getState(ctx context.Context, in getStateInput) (string, error) {
	key := strings.TrimSpace(in.Key)
	if key == "" {
		return "", errors.New("key is empty")
	}
	l, err := s.pickLink(in.MeshSlug)
	if err != nil {
		return "", err
	}
	res, err := reply[*edgev1.StateResult](ctx, s, l, &edgev1.GetState{Key: key})
	if err != nil {
		return "", err
	}
	if res.GetUpdatedAt() == "" {
		return fmt.Sprintf("State %q not found.", key), nil
	}
	return fmt.Sprintf("%s = %s (set by %s, %s)", key, jsonText(res.GetValue()), res.GetUpdatedBy(), when(res.GetUpdatedAt(), s.opts.Now())), nil
}

func (s *Server) setState(_ context.Context, in setStateInput) (string, error) {
	key := strings.TrimSpace(in.Key)
	if key == "" {
		return "", errors.New("key is empty")
	}
	value, err := structpb.NewValue(in.Value)
	if err != nil {
		return "", fmt.Errorf("value: %w", err)
	}
	links, err := s.pickLinks(in.MeshSlug)
	if err != nil {
		return "", err
	}
	return s.fanOut(links, fmt.Sprintf("State set: %s = %s", key, jsonText(value)), &edgev1.SetState{Key: key, Value: value}), nil
}

func (s *Server) listState(ctx context.Context, in meshInput) (string, error) {
	l, err := s.pickLink(in.MeshSlug)
	if err != nil {
		return "", err
	}
	res, err := reply[*edgev1.StateList](ctx, s, l, &edgev1.ListState{})
	if err != nil {
		return "", err
	}
	if len(res.GetEntries()) == 0 {
		return fmt.Sprintf("No shared state in %s.", l.mesh.Slug), nil
	}
	var b strings.Builder
	for _, e := range res.GetEntries() {
		fmt.Fprintf(&b, "- %s = %s (by %s)\n", e.GetKey(), jsonText(e.GetValue()), e.GetUpdatedBy())
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// jsonText is a value as compact JSON.
func jsonText(v *structpb.Value) string {
	b, err := json.Marshal(v.AsInterface())
	if err != nil {
		return "?"
	}
	return string(b)
}
