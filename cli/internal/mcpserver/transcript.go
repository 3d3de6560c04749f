package mcpserver

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Writing a channel notification proves nothing: Claude Code drops it
// silently when it did not register the server as a channel (no claude.ai
// or Console login, an organisation without channels, an old version).
// What the model saw is in the session's transcript, a JSONL file Claude
// Code appends to; a channel message that reached the model shows up there
// with its meta, message_id included. So under Claude Code a channelled
// message is acked only once the transcript shows it; until then the hooks
// and check_messages can still hand it over.

// maxTranscriptRead bounds one read of the transcript; the first read of a
// long one starts this far from its end.
const maxTranscriptRead = 8 << 20

// transcript reads what Claude Code appends to a session's transcript.
type transcript struct {
	sessionID string
	// dirs are Claude Code's projects directories, searched for
	// <sessionID>.jsonl when no hook told the path yet.
	dirs []string

	mu     sync.Mutex
	path   string
	offset int64
	// tail is the end of the previous read, so that a needle split
	// between two reads is still found.
	tail []byte
}

// setPath records the transcript path a hook reported.
func (t *transcript) setPath(path string) {
	if path == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if path != t.path {
		t.path, t.offset, t.tail = path, -1, nil
	}
}

// locate returns the transcript's path, looking for it when unknown.
// Callers hold t.mu.
func (t *transcript) locate() string {
	if t.path != "" || t.sessionID == "" {
		return t.path
	}
	for _, dir := range t.dirs {
		matches, err := filepath.Glob(filepath.Join(dir, "*", t.sessionID+".jsonl"))
		if err == nil && len(matches) > 0 {
			t.path, t.offset = matches[0], -1
			return t.path
		}
	}
	return ""
}

// scan reads what was appended since the last scan and reports which of
// the needles it holds.
func (t *transcript) scan(needles []string) map[string]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	path := t.locate()
	if path == "" || len(needles) == 0 {
		return nil
	}
	chunk, err := t.readNew(path)
	if err != nil || len(chunk) == 0 {
		return nil
	}
	found := map[string]bool{}
	for _, n := range needles {
		if n != "" && bytes.Contains(chunk, []byte(n)) {
			found[n] = true
		}
	}
	return found
}

// readNew returns the bytes appended since the last read, after the tail
// of the previous one. A file that shrank (rewritten) is read again from
// near its end. Callers hold t.mu.
func (t *transcript) readNew(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := info.Size()
	if t.offset < 0 || size < t.offset {
		t.offset, t.tail = max(0, size-maxTranscriptRead), nil
	}
	n := min(size-t.offset, maxTranscriptRead)
	if n <= 0 {
		return nil, nil
	}
	buf := make([]byte, len(t.tail), len(t.tail)+int(n))
	copy(buf, t.tail)
	buf = buf[:len(t.tail)+int(n)]
	if _, err := f.ReadAt(buf[len(t.tail):], t.offset); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	t.offset += n
	const keep = 4 << 10
	t.tail = bytes.Clone(buf[max(0, len(buf)-keep):])
	return buf, nil
}
