package invite_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/services/identity"
	"claudemesh.dev/services/invite"
)

func FuzzDecode(f *testing.F) {
	f.Add(fixedToken)
	f.Add(fixedSpecialToken)
	f.Add(fixedToken + "==")
	f.Add("e30")        // {}
	f.Add("bnVsbA")     // null
	f.Add("W10")        // []
	f.Add("eyJ2IjoxfQ") // {"v":1}
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := invite.Decode(token)
		if err != nil {
			require.ErrorIs(t, err, identity.ErrMalformed)
			return
		}
		if p.Validate() != nil {
			return
		}
		// A well-formed payload survives Encode and Decode unchanged, and
		// Verify gives the same answer for both.
		again, err := invite.Encode(p)
		require.NoError(t, err)
		q, err := invite.Decode(again)
		require.NoError(t, err)
		require.Equal(t, p, q)
		require.Equal(t, p.Verify() == nil, q.Verify() == nil)
	})
}

func FuzzTokenFromLink(f *testing.F) {
	for _, s := range []string{
		fixedToken,
		"ic://join/" + fixedToken,
		"https://claudemesh.com/join/" + fixedToken + "/?x=1",
		"https://claudemesh.com/en/join/" + fixedToken,
		"http://localhost:3000/join/abc%3D",
		"https://claudemesh.com/i/ABCD2345",
		"ic:join/x",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, link string) {
		token, err := invite.TokenFromLink(link)
		if err != nil {
			require.ErrorIs(t, err, identity.ErrMalformed)
			require.Empty(t, token)
			return
		}
		require.NotEmpty(t, token)
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		require.Empty(t, strings.Trim(strings.TrimRight(token, "="), alphabet), "token %q has a non-base64url character", token)
		// Every accepted token is also accepted in the ic:// and https forms.
		for _, l := range []string{invite.ICURL(token), "https://h.example/join/" + token, "https://h.example/fr/join/" + url.PathEscape(token)} {
			again, err := invite.TokenFromLink(l)
			require.NoError(t, err, l)
			require.Equal(t, token, again)
		}
	})
}

func FuzzHTTPBase(f *testing.F) {
	for _, s := range []string{
		"wss://ic.claudemesh.com/ws",
		"ws://[::1]:7900/ws",
		"https://user@h:8443/a?b#c",
		"wss:///ws",
		"ftp://h",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, brokerURL string) {
		base, err := invite.HTTPBase(brokerURL)
		if err != nil {
			require.True(t, errors.Is(err, identity.ErrMalformed), "%v", err)
			return
		}
		u, err := url.Parse(base)
		require.NoError(t, err)
		require.Contains(t, []string{"http", "https"}, u.Scheme)
		require.Empty(t, u.Path)
		require.Empty(t, u.RawQuery)
		require.Nil(t, u.User)
		// The base is a fixed point.
		again, err := invite.HTTPBase(base)
		require.NoError(t, err)
		require.Equal(t, base, again)
	})
}
