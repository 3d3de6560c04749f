package invite_test

import (
	"fmt"
	"time"

	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/invite"
)

// An owner issues an invite, and a joiner checks it before POSTing /join.
func Example() {
	owner, err := identity.Generate()
	if err != nil {
		panic(err)
	}
	p := invite.Sign(invite.Payload{
		V:           1,
		MeshID:      "mesh_0123456789abcdef0123456789ab",
		MeshSlug:    "dev-team",
		BrokerURL:   "wss://ic.claudemesh.com/ws",
		ExpiresAt:   time.Date(2026, 4, 22, 0, 0, 0, 0, time.UTC).Unix(),
		MeshRootKey: invite.NewRootKey(),
		Role:        "member",
	}, owner)
	token, err := invite.Encode(p)
	if err != nil {
		panic(err)
	}
	link := "https://claudemesh.com/en/join/" + token

	// The joiner's side.
	got, err := invite.TokenFromLink(link)
	if err != nil {
		panic(err)
	}
	joined, err := invite.Decode(got)
	if err != nil {
		panic(err)
	}
	fmt.Println("valid:", joined.Verify() == nil)
	fmt.Println("expired:", joined.Expired(time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC)))
	joinURL, err := invite.JoinURL(joined.BrokerURL, got)
	if err != nil {
		panic(err)
	}
	fmt.Println(joinURL[:len("https://ic.claudemesh.com/join/")])
	// Output:
	// valid: true
	// expired: false
	// https://ic.claudemesh.com/join/
}
