package bench

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// messageSize is the length of every bench message text, about a short
// chat message.
const messageSize = 200

// filler pads message texts; it is checked on arrival like the rest.
const filler = "the quick brown fox jumps over the lazy dog while the mesh keeps every message it acked; "

// message is what a bench message text says.
type message struct {
	run  string
	from int
	seq  int64
	// sent is when it was sent, on the run's monotonic clock.
	sent time.Duration
}

// messageText is the text of a message: its fields, then filler up to
// messageSize bytes.
func messageText(m message) string {
	var b strings.Builder
	b.Grow(messageSize)
	b.WriteString("claudemesh-bench ")
	b.WriteString(m.run)
	b.WriteString(" from ")
	b.WriteString(strconv.Itoa(m.from))
	b.WriteString(" seq ")
	b.WriteString(strconv.FormatInt(m.seq, 10))
	b.WriteString(" at ")
	b.WriteString(strconv.FormatInt(int64(m.sent), 10))
	b.WriteString(": ")
	for b.Len() < messageSize {
		n := min(messageSize-b.Len(), len(filler))
		b.WriteString(filler[:n])
	}
	return b.String()
}

var errNotBench = errors.New("not a bench message")

// parseMessage reads a message text and checks all of it, filler included,
// by writing it again.
func parseMessage(text string) (message, error) {
	f := strings.Fields(text)
	if len(f) < 8 || f[0] != "claudemesh-bench" || f[2] != "from" || f[4] != "seq" || f[6] != "at" {
		return message{}, errNotBench
	}
	var (
		m   message
		err error
	)
	m.run = f[1]
	if m.from, err = strconv.Atoi(f[3]); err != nil {
		return message{}, errNotBench
	}
	if m.seq, err = strconv.ParseInt(f[5], 10, 64); err != nil {
		return message{}, errNotBench
	}
	sent, err := strconv.ParseInt(strings.TrimSuffix(f[7], ":"), 10, 64)
	if err != nil {
		return message{}, errNotBench
	}
	m.sent = time.Duration(sent)
	if messageText(m) != text {
		return message{}, fmt.Errorf("%w: content altered", errNotBench)
	}
	return m, nil
}
