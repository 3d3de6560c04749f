package conv_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"claudemesh.dev/db/internal/conv"
)

type doc struct {
	Name string `json:"name"`
	N    int    `json:"n,omitempty"`
}

func TestArrays(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		in      []string
		encoded string
		want    []string // what decoding the encoded form gives back
	}{
		{name: "Nil", in: nil, encoded: `[]`, want: nil},
		{name: "Empty", in: []string{}, encoded: `[]`, want: nil},
		{name: "Values", in: []string{"a", "b"}, encoded: `["a","b"]`, want: []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := conv.EncodeArray(tt.in)
			require.NoError(t, err)
			require.JSONEq(t, tt.encoded, string(b))
			got, err := conv.DecodeArray[string](b)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
	}{
		{name: "NotJSON", in: `{nope`},
		{name: "Empty", in: ``},
		{name: "WrongType", in: `42`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := conv.DecodeArray[string]([]byte(tt.in))
			require.Error(t, err)
			_, err = conv.Decode[doc]([]byte(tt.in))
			require.Error(t, err)
		})
	}
}

func TestValues(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		in      doc
		encoded string
	}{
		{name: "Zero", in: doc{}, encoded: `{"name":""}`},
		{name: "Full", in: doc{Name: "x", N: 3}, encoded: `{"name":"x","n":3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := conv.Encode(tt.in)
			require.NoError(t, err)
			require.JSONEq(t, tt.encoded, string(b))
			got, err := conv.Decode[doc](b)
			require.NoError(t, err)
			require.Equal(t, tt.in, got)
		})
	}
}

func TestMapRows(t *testing.T) {
	t.Parallel()

	errBad := errors.New("bad row")
	atoi := func(s string) (int, error) {
		if s == "bad" {
			return 0, errBad
		}
		return strconv.Atoi(s)
	}
	tests := []struct {
		name    string
		rows    []string
		want    []int
		wantErr string
	}{
		{name: "Nil", rows: nil, want: nil},
		{name: "Empty", rows: []string{}, want: nil},
		{name: "Rows", rows: []string{"1", "2"}, want: []int{1, 2}},
		{name: "Error", rows: []string{"1", "bad"}, wantErr: "row 1: bad row"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := conv.MapRows(tt.rows, atoi)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, errBad)
				require.EqualError(t, err, tt.wantErr)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestNullables(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		null bool
	}{
		{name: "Empty", in: "", null: true},
		{name: "Value", in: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := conv.NullString(tt.in)
			if tt.null {
				require.Nil(t, p)
			} else {
				require.NotNil(t, p)
				require.Equal(t, tt.in, *p)
			}
			require.Equal(t, tt.in, conv.Deref(p))
		})
	}
}

func TestNotNilBytes(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{name: "Nil", in: nil, want: []byte{}},
		{name: "Empty", in: []byte{}, want: []byte{}},
		{name: "Value", in: []byte("ab"), want: []byte("ab")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := conv.NotNilBytes(tt.in)
			require.NotNil(t, got)
			require.Equal(t, tt.want, got)
		})
	}
}
