package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"claudemesh.dev/db"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/services/rpcerr"
)

// Shared state limits.
const (
	maxStateKeyLen   = 256
	maxStateValueLen = 64 << 10
)

// stateChannel is the NOTIFY channel that tells other replicas a key
// changed; the payload is the JSON of stateNotice.
const stateChannel = "claudemesh_state"

// stateNotice is what other replicas need to tell their sessions.
type stateNotice struct {
	MeshID    string          `json:"meshId"`
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	UpdatedBy string          `json:"updatedBy"`
	// From is the presence that wrote it, which is not told ("" for an API
	// key); Replica is the replica that wrote it, which told its own
	// sessions already.
	From    string `json:"from"`
	Replica string `json:"replica"`
}

// SetState writes a shared key and tells every other session of the mesh.
func (s *Service) SetState(ctx context.Context, req *meshv1.SetStateRequest) (*meshv1.SetStateResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	key := strings.TrimSpace(req.GetKey())
	if key == "" || len(key) > maxStateKeyLen || strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 }) {
		return nil, rpcerr.Invalid("state key: use 1-%d printable characters", maxStateKeyLen)
	}
	value := req.GetValue()
	if value == nil {
		value = structpb.NewNullValue()
	}
	raw, err := protojson.Marshal(value)
	if err != nil {
		return nil, rpcerr.Invalid("state value is not JSON: %v", err)
	}
	if len(raw) > maxStateValueLen {
		return nil, rpcerr.Invalid("state value: at most %d bytes of JSON", maxStateValueLen)
	}
	name, err := s.callerName(ctx, c)
	if err != nil {
		return nil, err
	}
	entry := db.StateEntry{MeshID: c.meshID, Key: key, Value: raw, UpdatedByMemberID: c.memberID, UpdatedByName: name, UpdatedAt: s.now()}
	notice := stateNotice{MeshID: c.meshID, Key: key, Value: raw, UpdatedBy: name, Replica: s.cfg.ReplicaID}
	if c.session != nil {
		notice.From = c.session.presenceID
	}
	payload, err := json.Marshal(notice)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "state", err)
	}
	err = s.store.InTx(ctx, func(q db.Queries) error {
		if err := q.UpsertState(ctx, entry); err != nil {
			return err
		}
		return q.Notify(ctx, stateChannel, string(payload))
	})
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "state", err)
	}
	s.announceState(notice)
	return &meshv1.SetStateResponse{Entry: stateToProto(entry)}, nil
}

// callerName is the name a write is attributed to: the member's display
// name, as in the classic broker.
func (s *Service) callerName(ctx context.Context, c caller) (string, error) {
	if c.memberID == "" {
		return "api", nil
	}
	m, err := s.store.GetMember(ctx, c.memberID)
	if err != nil {
		return "", rpcerr.From(ctx, s.log, "member", err)
	}
	return m.DisplayName, nil
}

// announceState pushes a state change to this replica's sessions of the
// mesh, except the writer.
func (s *Service) announceState(n stateNotice) {
	value := &structpb.Value{}
	if err := protojson.Unmarshal(n.Value, value); err != nil {
		s.log.Error("state notice value", "err", err)
		return
	}
	ev := &meshv1.SubscribeResponse{Event: &meshv1.SubscribeResponse_StateChange{StateChange: &meshv1.StateChange{
		Key: n.Key, Value: value, UpdatedBy: n.UpdatedBy,
	}}}
	s.publish(n.MeshID, ev, func(o *session) bool { return o.presenceID != n.From })
}

// onStateNotice tells this replica's sessions of a change another replica
// made.
func (s *Service) onStateNotice(payload string) {
	var n stateNotice
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		s.log.Warn("unreadable state notice", "err", err)
		return
	}
	if n.Replica == s.cfg.ReplicaID {
		return // written here, already announced
	}
	s.announceState(n)
}

// GetState reads a shared key; a missing key is an empty response.
func (s *Service) GetState(ctx context.Context, req *meshv1.GetStateRequest) (*meshv1.GetStateResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	e, err := s.store.GetState(ctx, c.meshID, req.GetKey())
	if errors.Is(err, db.ErrNotFound) {
		return &meshv1.GetStateResponse{}, nil
	}
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "state", err)
	}
	return &meshv1.GetStateResponse{Entry: stateToProto(e)}, nil
}

// ListState lists a mesh's shared keys, by key.
func (s *Service) ListState(ctx context.Context, req *meshv1.ListStateRequest) (*meshv1.ListStateResponse, error) {
	c, err := s.callerIn(ctx, req.GetMeshId())
	if err != nil {
		return nil, err
	}
	entries, err := s.store.ListState(ctx, c.meshID)
	if err != nil {
		return nil, rpcerr.From(ctx, s.log, "state", err)
	}
	out := &meshv1.ListStateResponse{}
	for _, e := range entries {
		out.Entries = append(out.Entries, stateToProto(e))
	}
	return out, nil
}

func stateToProto(e db.StateEntry) *meshv1.StateEntry {
	value := &structpb.Value{}
	if err := protojson.Unmarshal(e.Value, value); err != nil {
		value = structpb.NewNullValue()
	}
	return &meshv1.StateEntry{
		Key:               e.Key,
		Value:             value,
		UpdatedBy:         e.UpdatedByName,
		UpdatedByMemberId: e.UpdatedByMemberID,
		UpdateTime:        timestamp(e.UpdatedAt),
	}
}
