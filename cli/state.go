package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"claudemesh.dev/cli/internal/brokerclient"
	"claudemesh.dev/edge/frame"
	edgev1 "claudemesh.dev/gen/pb/claudemesh/edge/v1"
)

// stateFlags are the flags every state subcommand takes.
type stateFlags struct {
	meshSlug string
	asJSON   bool
}

func newStateCommand(env *Env) *cobra.Command {
	f := &stateFlags{}
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Read and write the mesh's shared key/value state",
		Long: `The shared state is a set of keys with JSON values that every peer of the mesh
reads and writes (the last write wins). Peers are told when a key changes.`,
		Example: `  claudemesh state set sprint '{"n": 14, "goal": "ship search"}'
  claudemesh state set deploy-frozen true
  claudemesh state get sprint --json
  claudemesh state list`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&f.meshSlug, "mesh", "", "the mesh (needed when several are joined)")
	cmd.PersistentFlags().BoolVar(&f.asJSON, "json", false, "print JSON")
	cmd.AddCommand(newStateGetCommand(env, f), newStateSetCommand(env, f), newStateListCommand(env, f))
	return cmd
}

func newStateGetCommand(env *Env, f *stateFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "get <key>",
		Short:   "Print the value of a key",
		Example: "  claudemesh state get sprint\n  claudemesh state get sprint --mesh dev-team --json",
		Args:    needArgs(1, 1, "state get needs a key, like: claudemesh state get sprint"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStateSession(cmd.Context(), env, f, func(ctx context.Context, s *stateSession) error {
				res, err := s.get(ctx, args[0])
				if err != nil {
					return err
				}
				if f.asJSON {
					return writeFrameFields(env, res)
				}
				if res.GetUpdatedAt() == "" {
					_, err = fmt.Fprintf(env.Stdout, "%s is not set in %s.\n", res.GetKey(), s.slug)
					return err
				}
				_, err = fmt.Fprintf(env.Stdout, "%s = %s  (set by %s, %s)\n", res.GetKey(), valueJSON(res.GetValue()),
					res.GetUpdatedBy(), localTime(res.GetUpdatedAt(), env.NowFunc()))
				return err
			})
		},
	}
}

func newStateSetCommand(env *Env, f *stateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "set <key> <value...>",
		Short: "Set a key (the value is JSON, else a plain string)",
		Long: `Set a key. The value is read as JSON (an object, array, number, true, false or
null) and, when it is not valid JSON, kept as a plain string; several words
are one string. Set a key to null to clear it.`,
		Example: `  claudemesh state set sprint '{"n": 14}'
  claudemesh state set owner alice
  claudemesh state set note release is on hold --json`,
		Args: needArgs(2, -1, `state set needs a key and a value, like: claudemesh state set sprint '{"n": 14}'`),
		RunE: func(cmd *cobra.Command, args []string) error {
			value, err := parseStateValue(strings.Join(args[1:], " "))
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			return withStateSession(cmd.Context(), env, f, func(ctx context.Context, s *stateSession) error {
				res, err := s.set(ctx, args[0], value)
				if err != nil {
					return err
				}
				if f.asJSON {
					return writeFrameFields(env, res)
				}
				_, err = fmt.Fprintf(env.Stdout, "✓ %s = %s\n", res.GetKey(), valueJSON(res.GetValue()))
				return err
			})
		},
	}
}

func newStateListCommand(env *Env, f *stateFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List every key with its value",
		Example: "  claudemesh state list\n  claudemesh state list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStateSession(cmd.Context(), env, f, func(ctx context.Context, s *stateSession) error {
				reply, err := s.client.Request(ctx, &edgev1.ListState{})
				if err != nil {
					return fmt.Errorf("list the state of %s: %w", s.slug, err)
				}
				list, ok := reply.Msg.(*edgev1.StateList)
				if !ok {
					return fmt.Errorf("list the state of %s: unexpected %s", s.slug, reply.Type)
				}
				if f.asJSON {
					fields, err := frameFields(list)
					if err != nil {
						return err
					}
					entries, _ := fields["entries"].([]any)
					if entries == nil {
						entries = []any{}
					}
					return writeJSON(env.Stdout, entries)
				}
				return printState(env, s.slug, list.GetEntries())
			})
		},
	}
}

func printState(env *Env, slug string, entries []*edgev1.StateEntry) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintf(env.Stdout, "No shared state in %s yet: claudemesh state set <key> <value>\n", slug)
		return err
	}
	now := env.NowFunc()
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "KEY\tVALUE\tSET BY\tUPDATED")
	for _, e := range entries {
		v := valueJSON(e.GetValue())
		if r := []rune(v); len(r) > 60 {
			v = string(r[:59]) + "…"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.GetKey(), v, e.GetUpdatedBy(), localTime(e.GetUpdatedAt(), now))
	}
	return tw.Flush()
}

// stateSession is a one-shot session for the state commands. Errors the
// broker answers to set_state (which has no reply) arrive as events.
type stateSession struct {
	client *brokerclient.Client
	slug   string

	mu     sync.Mutex
	errors []*edgev1.Error
}

func withStateSession(ctx context.Context, env *Env, f *stateFlags, run func(context.Context, *stateSession) error) error {
	s := &stateSession{}
	c, m, err := dialOneShot(ctx, env, f.meshSlug, s.event)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	s.client, s.slug = c, m.Slug
	ctx, cancel := context.WithTimeout(ctx, oneShotRequestTimeout)
	defer cancel()
	return run(ctx, s)
}

func (s *stateSession) event(f frame.Frame) {
	if e, ok := f.Msg.(*edgev1.Error); ok {
		s.mu.Lock()
		s.errors = append(s.errors, e)
		s.mu.Unlock()
	}
}

func (s *stateSession) get(ctx context.Context, key string) (*edgev1.StateResult, error) {
	reply, err := s.client.Request(ctx, &edgev1.GetState{Key: key})
	if err != nil {
		return nil, fmt.Errorf("read %s in %s: %w", key, s.slug, err)
	}
	res, ok := reply.Msg.(*edgev1.StateResult)
	if !ok {
		return nil, fmt.Errorf("read %s in %s: unexpected %s", key, s.slug, reply.Type)
	}
	return res, nil
}

// set writes a key and reads it back. set_state has no reply; the broker
// handles a socket's state frames in order, so the get that follows
// answers after the write, and a refusal of the write arrives before it.
func (s *stateSession) set(ctx context.Context, key string, value *structpb.Value) (*edgev1.StateResult, error) {
	if err := s.client.Send(ctx, &edgev1.SetState{Key: key, Value: value}); err != nil {
		return nil, fmt.Errorf("set %s in %s: %w", key, s.slug, err)
	}
	res, err := s.get(ctx, key)
	s.mu.Lock()
	refusals := s.errors
	s.mu.Unlock()
	if len(refusals) > 0 {
		return nil, &ExitError{Code: ExitFailure, Err: fmt.Errorf("the broker refused to set %q in %s: %s: %s",
			key, s.slug, refusals[0].GetCode(), refusals[0].GetMessage())}
	}
	return res, err
}

// parseStateValue reads a value as JSON, else as a plain string.
func parseStateValue(s string) (*structpb.Value, error) {
	if !json.Valid([]byte(s)) {
		return structpb.NewStringValue(s), nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("value %s: %w", s, err)
	}
	value, err := structpb.NewValue(v)
	if err != nil {
		return nil, fmt.Errorf("value %s: %w", s, err)
	}
	return value, nil
}

// valueJSON is a value as one line of JSON.
func valueJSON(v *structpb.Value) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v.AsInterface())
	if err != nil {
		return fmt.Sprint(v.AsInterface())
	}
	return string(b)
}

// localTime shows an ISO-8601 time as local time: HH:MM:SS today, else the
// date and minute.
func localTime(iso string, now time.Time) string {
	t, err := time.Parse(time.RFC3339Nano, iso)
	if err != nil {
		return iso
	}
	t = t.In(now.Location())
	if ty, tm, td := t.Date(); ty == now.Year() && tm == now.Month() && td == now.Day() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

// frameFields is a frame's classic wire JSON without its type and _reqId.
func frameFields(msg proto.Message) (map[string]any, error) {
	b, err := frame.Encode("", msg)
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	if err := jsonUnmarshal(b, &fields); err != nil {
		return nil, err
	}
	delete(fields, "type")
	return fields, nil
}

// writeFrameFields prints a frame's fields as JSON.
func writeFrameFields(env *Env, msg proto.Message) error {
	fields, err := frameFields(msg)
	if err != nil {
		return err
	}
	return writeJSON(env.Stdout, fields)
}
