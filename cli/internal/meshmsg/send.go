package meshmsg

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"claudemesh.dev/cli/internal/meshcrypto"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
	"claudemesh.dev/services/identity"
)

// Priorities a message may have.
const (
	priorityNow  = "now"
	priorityNext = "next"
	priorityLow  = "low"
)

// NewSend builds the send frame of text to t. A direct message is sealed
// with meshcrypto.SealDirect to the key in t.Spec from the sender's session
// key; a group or broadcast body is encoded with meshcrypto.EncodePlain.
// priority "" means "next"; anything but now, next or low is an error, and
// so is empty text. The frame carries a fresh random client_message_id
// (also its id), so a resend of the same frame is not queued twice.
func NewSend(t Target, text, priority string, session ed25519.PrivateKey) (*edgev1.Send, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("the message is empty: write something to send")
	}
	switch priority {
	case "":
		priority = priorityNext
	case priorityNow, priorityNext, priorityLow:
	default:
		return nil, fmt.Errorf("priority %q: use now, next or low", priority)
	}
	if t.Spec == "" {
		return nil, errors.New("no recipient: resolve the target first")
	}
	var nonce, body string
	if t.Direct {
		to, err := identity.ParsePublic(t.Spec)
		if err != nil {
			return nil, fmt.Errorf("seal the message to %s: %w", t.Name, err)
		}
		if len(session) != ed25519.PrivateKeySize {
			return nil, errors.New("seal the message: no session key to send from")
		}
		if nonce, body, err = meshcrypto.SealDirect([]byte(text), to, session); err != nil {
			return nil, fmt.Errorf("seal the message to %s: %w", t.Name, err)
		}
	} else {
		nonce, body = meshcrypto.EncodePlain(text)
	}
	id := newClientMessageID()
	return &edgev1.Send{
		TargetSpec:      t.Spec,
		Priority:        priority,
		Nonce:           nonce,
		Ciphertext:      body,
		Id:              id,
		ClientMessageId: &id,
	}, nil
}

// newClientMessageID is 16 random bytes in hex.
func newClientMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	return hex.EncodeToString(b[:])
}
