package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/cli/internal/config"
)

// configMesh keeps the table tests short.
type configMesh = config.Mesh

func TestConfig(t *testing.T) {
	t.Parallel()

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		c := Config{Scenario: ScenarioDM, Members: make([]configMesh, 2)}.WithDefaults()
		require.Equal(t, 10*time.Second, c.Duration)
		require.Equal(t, 16, c.Inflight)
		require.Zero(t, c.Messages)
		require.NoError(t, c.Validate())

		// With a message count, the duration is only a cap.
		c = Config{Scenario: ScenarioBroadcast, Members: make([]configMesh, 2), Messages: 5}.WithDefaults()
		require.Equal(t, MaxDuration, c.Duration)

		c = Config{Scenario: ScenarioOfflineDrain, Members: make([]configMesh, 2)}.WithDefaults()
		require.Equal(t, 100, c.Messages)
		require.Equal(t, MaxDuration, c.Duration)

		c = Config{Scenario: ScenarioConnect, Members: make([]configMesh, 1), Messages: 5}.WithDefaults()
		require.Equal(t, 10*time.Second, c.Duration)
	})

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		for name, tc := range map[string]struct {
			cfg  Config
			want string
		}{
			"Scenario":      {Config{Scenario: "x", Members: make([]configMesh, 2)}, `unknown scenario "x"`},
			"TooFewForDM":   {Config{Scenario: ScenarioDM, Members: make([]configMesh, 1)}, "at least 2 peers"},
			"NoneToConnect": {Config{Scenario: ScenarioConnect}, "at least 1 peer"},
			"TooManyPeers":  {Config{Scenario: ScenarioConnect, Members: make([]configMesh, MaxPeers+1)}, "at most 5000"},
			"TooLong":       {Config{Scenario: ScenarioDM, Members: make([]configMesh, 2), Duration: time.Hour}, "between 0 and 10m0s"},
			"Rate":          {Config{Scenario: ScenarioDM, Members: make([]configMesh, 2), Rate: -1}, "rate -1"},
			"Inflight":      {Config{Scenario: ScenarioDM, Members: make([]configMesh, 2), Inflight: MaxInflight + 1}, "inflight 1025"},
			"Messages":      {Config{Scenario: ScenarioDM, Members: make([]configMesh, 2), Messages: -1}, "must not be negative"},
			"TotalMessages": {Config{Scenario: ScenarioDM, Members: make([]configMesh, 2000), Messages: 2001}, "at most 2000000"},
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				require.ErrorContains(t, tc.cfg.WithDefaults().Validate(), tc.want)
			})
		}
	})
}

func TestMessage(t *testing.T) {
	t.Parallel()

	m := message{run: "0a1b2c3d", from: 7, seq: 123456, sent: 98765 * time.Microsecond}
	text := messageText(m)
	require.Len(t, text, messageSize)

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		got, err := parseMessage(text)
		require.NoError(t, err)
		require.Equal(t, m, got)
	})

	t.Run("Altered", func(t *testing.T) {
		t.Parallel()
		for name, altered := range map[string]string{
			"Filler":    text[:len(text)-1] + "!",
			"Truncated": text[:len(text)-5],
			"Seq":       messageText(message{run: m.run, from: m.from, seq: 9, sent: m.sent})[:60] + text[60:],
			"Empty":     "",
			"Other":     "hello there",
			"NotNumber": "claudemesh-bench r from x seq 1 at 2: ",
		} {
			_, err := parseMessage(altered)
			require.ErrorIs(t, err, errNotBench, name)
		}
	})
}
