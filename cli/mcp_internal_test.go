package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNamesChannel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmdline string
		want    bool
	}{
		{"claude --dangerously-load-development-channels server:claudemesh", true},
		{"claude --dangerously-load-development-channels=server:claudemesh --resume x", true},
		{"claude --dangerously-load-development-channels server:other,server:claudemesh", true},
		{"claude --channels plugin:claudemesh@market", true},
		{"claude --dangerously-load-development-channels server:other", false},
		{"claude --resume server:claudemesh", false},
		{"claude", false},
		{"claude --channels", false},
	} {
		args := bytes.Split([]byte(tc.cmdline), []byte(" "))
		require.Equal(t, tc.want, namesChannel(args), tc.cmdline)
	}
}
