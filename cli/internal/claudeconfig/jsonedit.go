package claudeconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file edits JSON documents in place. Claude Code's files hold other
// tools' servers, project history and keys we do not know; a decode into
// map[string]any and re-encode would reorder keys, reformat numbers (1e3 →
// 1000) and re-escape strings. Instead, a small scanner records the byte
// span of every value, and each edit is one splice of the original bytes:
// everything outside the splice is kept byte for byte. New text copies the
// indentation and separators of its neighbours.

// node is a JSON value located in a document.
type node struct {
	// start and end delimit the value: b[start:end].
	start, end int
	// kind is '{', '[', '"', or 'v' for numbers, true, false and null.
	kind    byte
	members []member // objects
	elems   []*node  // arrays
}

// member is one key of an object.
type member struct {
	keyStart, keyEnd int
	key              string
	val              *node
}

// get returns the index of the member named key, or -1. Like JSON.parse,
// the last of duplicated keys wins.
func (n *node) get(key string) int {
	if n == nil || n.kind != '{' {
		return -1
	}
	for i := len(n.members) - 1; i >= 0; i-- {
		if n.members[i].key == key {
			return i
		}
	}
	return -1
}

// child returns the value of the member named key, or nil.
func (n *node) child(key string) *node {
	if i := n.get(key); i >= 0 {
		return n.members[i].val
	}
	return nil
}

// errInvalidJSON marks a document that is not valid JSON.
var errInvalidJSON = errors.New("not valid JSON")

// parse locates every value of b, which must be one valid JSON value.
func parse(b []byte) (*node, error) {
	if !json.Valid(b) {
		var raw json.RawMessage
		err := json.Unmarshal(b, &raw)
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := position(b, int(syn.Offset)-1) // Offset is just past the culprit
			return nil, fmt.Errorf("%w: %s at line %d, column %d", errInvalidJSON, syn.Error(), line, col)
		}
		return nil, fmt.Errorf("%w: %v", errInvalidJSON, err) //nolint:errorlint // one %w is enough
	}
	p := &scanner{b: b}
	p.space()
	return p.value(), nil
}

// position turns a byte offset into a 1-based line and column.
func position(b []byte, off int) (int, int) {
	off = min(max(off, 0), len(b))
	line := 1 + bytes.Count(b[:off], []byte{'\n'})
	return line, off - bytes.LastIndexByte(b[:off], '\n')
}

// scanner walks a document already checked by json.Valid, so it never has
// to report an error.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value() *node {
	n := &node{start: s.i, kind: s.b[s.i]}
	switch n.kind {
	case '{':
		s.i++
		s.space()
		for s.b[s.i] != '}' {
			m := member{keyStart: s.i}
			s.str()
			m.keyEnd = s.i
			m.key = decodeString(s.b[m.keyStart:m.keyEnd])
			s.space()
			s.i++ // ':'
			s.space()
			m.val = s.value()
			n.members = append(n.members, m)
			s.space()
			if s.b[s.i] == ',' {
				s.i++
				s.space()
			}
		}
		s.i++
	case '[':
		s.i++
		s.space()
		for s.b[s.i] != ']' {
			n.elems = append(n.elems, s.value())
			s.space()
			if s.b[s.i] == ',' {
				s.i++
				s.space()
			}
		}
		s.i++
	case '"':
		s.str()
	default:
		n.kind = 'v'
		for s.i < len(s.b) && !strings.ContainsRune(",]} \t\r\n", rune(s.b[s.i])) {
			s.i++
		}
	}
	n.end = s.i
	return n
}

// str skips a string token.
func (s *scanner) str() {
	s.i++
	for s.b[s.i] != '"' {
		if s.b[s.i] == '\\' {
			s.i++
		}
		s.i++
	}
	s.i++
}

func decodeString(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s) // valid: checked by json.Valid
	return s
}

// stringValue returns the string n holds, and whether it is a string.
func stringValue(b []byte, n *node) (string, bool) {
	if n == nil || n.kind != '"' {
		return "", false
	}
	return decodeString(b[n.start:n.end]), true
}

// splice replaces b[start:end] with text.
type splice struct {
	start, end int
	text       []byte
}

func (s *splice) apply(b []byte) []byte {
	out := make([]byte, 0, len(b)-(s.end-s.start)+len(s.text))
	out = append(out, b[:s.start]...)
	out = append(out, s.text...)
	return append(out, b[s.end:]...)
}

// layout is how a document is formatted.
type layout struct {
	// pretty is true when the document has line breaks.
	pretty bool
	// unit is one level of indentation. Defaults to two spaces.
	unit string
}

func detectLayout(b []byte, root *node) layout {
	l := layout{pretty: bytes.IndexByte(b, '\n') >= 0, unit: "  "}
	if !l.pretty || len(root.members) == 0 {
		return l
	}
	rootIndent := lineIndent(b, root.start)
	if u, ok := strings.CutPrefix(lineIndent(b, root.members[0].keyStart), rootIndent); ok && u != "" {
		l.unit = u
	}
	return l
}

// lineIndent returns the spaces and tabs that begin the line holding pos.
func lineIndent(b []byte, pos int) string {
	start := bytes.LastIndexByte(b[:pos], '\n') + 1
	end := start
	for end < pos && (b[end] == ' ' || b[end] == '\t') {
		end++
	}
	return string(b[start:end])
}

// encode renders v as JSON whose continuation lines start with prefix, one
// unit deeper per level; compact when pretty is false. HTML characters stay
// as they are, as JSON.stringify writes them.
func encode(v any, prefix string, l layout, pretty bool) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if pretty {
		enc.SetIndent(prefix, l.unit)
	}
	if err := enc.Encode(v); err != nil {
		// Only our own values are encoded: strings, slices and structs of
		// them cannot fail.
		panic(fmt.Sprintf("claudeconfig: encode %T: %v", v, err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}

// separator returns the whitespace that precedes item in its container,
// after the comma: what a new item after the last one should copy.
func separator(b []byte, prevEnd, itemStart int) []byte {
	sep := b[prevEnd:itemStart]
	if i := bytes.IndexByte(sep, ','); i >= 0 {
		sep = sep[i+1:]
	}
	return sep
}

// insertMember adds key: v at the end of object obj.
func insertMember(b []byte, l layout, obj *node, key string, v any) *splice {
	k := encode(key, "", l, false)
	if n := len(obj.members); n > 0 {
		last := obj.members[n-1]
		prevEnd := obj.start + 1
		if n > 1 {
			prevEnd = obj.members[n-2].val.end
		}
		sep := separator(b, prevEnd, last.keyStart)
		pretty := bytes.IndexByte(sep, '\n') >= 0
		text := append([]byte{','}, sep...)
		text = append(text, k...)
		text = append(text, b[last.keyEnd:last.val.start]...) // the colon as written
		text = append(text, encode(v, lineIndent(b, last.keyStart), l, pretty)...)
		return &splice{start: last.val.end, end: last.val.end, text: text}
	}
	if !l.pretty {
		text := fmt.Appendf(nil, "{%s:%s}", k, encode(v, "", l, false))
		return &splice{start: obj.start, end: obj.end, text: text}
	}
	base := lineIndent(b, obj.start)
	inner := base + l.unit
	text := fmt.Appendf(nil, "{\n%s%s: %s\n%s}", inner, k, encode(v, inner, l, true), base)
	return &splice{start: obj.start, end: obj.end, text: text}
}

// appendElems adds vs at the end of array arr.
func appendElems(b []byte, l layout, arr *node, vs []any) *splice {
	if n := len(arr.elems); n > 0 {
		last := arr.elems[n-1]
		prevEnd := arr.start + 1
		if n > 1 {
			prevEnd = arr.elems[n-2].end
		}
		sep := separator(b, prevEnd, last.start)
		pretty := bytes.IndexByte(sep, '\n') >= 0
		prefix := lineIndent(b, last.start)
		text := make([]byte, 0, 64*len(vs))
		for _, v := range vs {
			text = append(text, ',')
			text = append(text, sep...)
			text = append(text, encode(v, prefix, l, pretty)...)
		}
		return &splice{start: last.end, end: last.end, text: text}
	}
	if !l.pretty {
		return &splice{start: arr.start, end: arr.end, text: encode(vs, "", l, false)}
	}
	base := lineIndent(b, arr.start)
	inner := base + l.unit
	text := []byte("[")
	for i, v := range vs {
		if i > 0 {
			text = append(text, ',')
		}
		text = append(text, '\n')
		text = append(text, inner...)
		text = append(text, encode(v, inner, l, true)...)
	}
	text = append(text, '\n')
	text = append(text, base...)
	text = append(text, ']')
	return &splice{start: arr.start, end: arr.end, text: text}
}

// replaceValue replaces n with v.
func replaceValue(b []byte, l layout, n *node, v any) *splice {
	return &splice{start: n.start, end: n.end, text: encode(v, lineIndent(b, n.start), l, l.pretty)}
}

// removeMember removes member i of obj with the separator before it (or,
// for the first member, after it), so that removing a member insertMember
// added gives back the original bytes.
func removeMember(obj *node, i int) *splice {
	switch {
	case len(obj.members) == 1:
		return &splice{start: obj.start + 1, end: obj.end - 1}
	case i > 0:
		return &splice{start: obj.members[i-1].val.end, end: obj.members[i].val.end}
	default:
		return &splice{start: obj.members[0].keyStart, end: obj.members[1].keyStart}
	}
}

// removeElem removes element i of arr, like removeMember.
func removeElem(arr *node, i int) *splice {
	switch {
	case len(arr.elems) == 1:
		return &splice{start: arr.start + 1, end: arr.end - 1}
	case i > 0:
		return &splice{start: arr.elems[i-1].end, end: arr.elems[i].end}
	default:
		return &splice{start: arr.elems[0].start, end: arr.elems[1].start}
	}
}

// lookup follows path through objects from root. It returns the value at
// path, or nil with the deepest object on the way and how many keys of path
// it matched. A value on the way that is not an object is an error: the
// file has a shape we must not guess at.
func lookup(root *node, path ...string) (*node, *node, int, error) {
	cur := root
	for i, key := range path {
		if cur.kind != '{' {
			return nil, nil, 0, fmt.Errorf("%s is not a JSON object; fix it by hand or restore a backup", dotted(path[:i]))
		}
		next := cur.child(key)
		if next == nil {
			return nil, cur, i, nil
		}
		cur = next
	}
	return cur, nil, len(path), nil
}

// insertPath adds v at path below obj, which lacks path[0], creating the
// objects in between.
func insertPath(b []byte, l layout, obj *node, path []string, v any) *splice {
	for i := len(path) - 1; i > 0; i-- {
		v = map[string]any{path[i]: v}
	}
	return insertMember(b, l, obj, path[0], v)
}

func dotted(path []string) string {
	if len(path) == 0 {
		return "the document"
	}
	return strings.Join(path, ".")
}

// step is one idempotent edit: it returns the next splice towards the state
// it wants, or nil once the document is in that state.
type step func(b []byte, root *node, l layout) (*splice, error)

// edit applies each step until it has nothing left to do.
func edit(b []byte, steps ...step) ([]byte, error) {
	for _, st := range steps {
		for n := 0; ; n++ {
			if n == 10000 {
				return nil, errors.New("claudeconfig: an edit did not converge (a bug)")
			}
			root, err := parse(b)
			if err != nil {
				return nil, err
			}
			if root.kind != '{' {
				return nil, fmt.Errorf("%w: the document is not a JSON object", errInvalidJSON)
			}
			sp, err := st(b, root, detectLayout(b, root))
			if err != nil {
				return nil, err
			}
			if sp == nil {
				break
			}
			b = sp.apply(b)
		}
	}
	return b, nil
}
