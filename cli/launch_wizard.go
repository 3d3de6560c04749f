package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"claudemesh.dev/cli/internal/config"
)

// wizardAsks says which questions the wizard asks: those the flags left
// open.
type wizardAsks struct {
	// meshes are the slugs to choose from; none means the mesh is decided.
	meshes      []string
	role        bool
	groups      bool
	mode        bool
	permissions bool
}

// wizard asks launch's questions, one line each, on a terminal.
type wizard struct {
	in  io.Reader
	out io.Writer
}

func newWizard(in io.Reader, out io.Writer) *wizard { return &wizard{in: in, out: out} }

// errNoAnswer ends a launch whose questions were not answered (end of
// input).
var errNoAnswer = errors.New("launch cancelled: no answer")

// run asks what asks names and fills in plan.
func (w *wizard) run(ctx context.Context, plan *launchPlan, asks wizardAsks) error {
	if len(asks.meshes) == 0 && !asks.role && !asks.groups && !asks.mode && !asks.permissions {
		return nil
	}
	w.say("claudemesh launch: a few questions (Enter takes the default; the flags --mesh, --role, --groups, --message-mode and -y skip them).")
	if len(asks.meshes) > 0 {
		slug, err := w.chooseMesh(ctx, asks.meshes)
		if err != nil {
			return err
		}
		plan.mesh = slug
	}
	if asks.role {
		role, err := w.ask(ctx, "Your role in this session, e.g. lead or reviewer (Enter to skip): ")
		if err != nil {
			return err
		}
		plan.role = role
	}
	if asks.groups {
		groups, err := w.chooseGroups(ctx)
		if err != nil {
			return err
		}
		plan.groups = groups
	}
	if asks.mode {
		mode, err := w.chooseMode(ctx)
		if err != nil {
			return err
		}
		plan.messageMode = mode
	}
	if asks.permissions {
		yes, err := w.confirm(ctx, "Let Claude run without permission prompts? [y/N] ")
		if err != nil {
			return err
		}
		plan.skipPermissions = yes
	}
	return nil
}

func (w *wizard) chooseMesh(ctx context.Context, slugs []string) (string, error) {
	w.say("You joined several meshes:")
	for i, s := range slugs {
		w.say(fmt.Sprintf("  %d) %s", i+1, s))
	}
	for {
		answer, err := w.ask(ctx, fmt.Sprintf("Mesh [1-%d, default 1]: ", len(slugs)))
		if err != nil {
			return "", err
		}
		if answer == "" {
			return slugs[0], nil
		}
		if n, err := strconv.Atoi(answer); err == nil && n >= 1 && n <= len(slugs) {
			return slugs[n-1], nil
		}
		if slices.Contains(slugs, answer) {
			return answer, nil
		}
		w.say(fmt.Sprintf("  %q is not one of them: type a number from 1 to %d, or a mesh's name.", answer, len(slugs)))
	}
}

func (w *wizard) chooseGroups(ctx context.Context) ([]config.Group, error) {
	for {
		answer, err := w.ask(ctx, "Groups to join, as name[:role],… e.g. eng:lead,qa (Enter to skip): ")
		if err != nil {
			return nil, err
		}
		groups, err := config.ParseGroups(answer)
		if err == nil {
			return groups, nil
		}
		w.say("  " + err.Error())
	}
}

func (w *wizard) chooseMode(ctx context.Context) (string, error) {
	w.say("How should peers' messages reach Claude?")
	modes := []string{modePush, modeInbox, modeOff}
	for i, m := range modes {
		w.say(fmt.Sprintf("  %d) %s", i+1, modeExplanation(m)))
	}
	for {
		answer, err := w.ask(ctx, "Message mode [1-3, default 1 (push)]: ")
		if err != nil {
			return "", err
		}
		answer = strings.ToLower(answer)
		if answer == "" {
			return modePush, nil
		}
		if n, err := strconv.Atoi(answer); err == nil && n >= 1 && n <= len(modes) {
			return modes[n-1], nil
		}
		if slices.Contains(modes, answer) {
			return answer, nil
		}
		w.say(fmt.Sprintf("  %q: type 1, 2 or 3 (or push, inbox, off).", answer))
	}
}

func (w *wizard) confirm(ctx context.Context, prompt string) (bool, error) {
	for {
		answer, err := w.ask(ctx, prompt)
		if err != nil {
			return false, err
		}
		switch strings.ToLower(answer) {
		case "y", "yes":
			return true, nil
		case "", "n", "no":
			return false, nil
		}
		w.say("  Type y or n.")
	}
}

func (w *wizard) say(line string) { _, _ = fmt.Fprintln(w.out, line) }

// ask prints a prompt and reads one line, trimmed. End of input, or the
// context ending (Ctrl-C), cancels the launch.
func (w *wizard) ask(ctx context.Context, prompt string) (string, error) {
	_, _ = fmt.Fprint(w.out, prompt)
	type result struct {
		line string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		line, err := readLine(w.in)
		got <- result{line, err}
	}()
	select {
	case r := <-got:
		if r.err != nil && (r.line == "" || !errors.Is(r.err, io.EOF)) {
			_, _ = fmt.Fprintln(w.out)
			return "", &ExitError{Code: ExitFailure, Err: errNoAnswer}
		}
		return strings.TrimSpace(r.line), nil
	case <-ctx.Done():
		_, _ = fmt.Fprintln(w.out)
		return "", &ExitError{Code: 130, Err: errors.New("launch cancelled")}
	}
}

// readLine reads up to a newline one byte at a time, so nothing after the
// line is taken from the terminal: what follows is claude's.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	var c [1]byte
	for {
		n, err := r.Read(c[:])
		if n == 1 {
			if c[0] == '\n' {
				return b.String(), nil
			}
			b.WriteByte(c[0])
		}
		if err != nil {
			return b.String(), err
		}
	}
}
