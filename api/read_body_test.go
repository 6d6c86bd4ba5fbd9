package api

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadBody: the Content-Length hint sizes the buffer, but the body read
// is the body sent, whatever the hint says, and the size limit still holds.
func TestReadBody(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", 1500)
	for _, tc := range []struct {
		name    string
		hint    int64
		limit   int64
		want    string
		wantErr bool
	}{
		{"exact hint", 1500, 0, body, false},
		{"no hint", -1, 0, body, false},
		{"hint too small", 10, 0, body, false},
		{"hint too large", 4000, 0, body, false},
		{"hint above the bound", 1 << 20, 0, body, false},
		{"limit", 1500, 1000, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/1.0/sign", io.NopCloser(strings.NewReader(body)))
			r.ContentLength = tc.hint
			if tc.limit > 0 {
				r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, tc.limit)
			}
			got, err := readBody(r)
			if tc.wantErr {
				var mb *http.MaxBytesError
				if !errors.As(err, &mb) {
					t.Fatalf("err = %v, want a MaxBytesError", err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("readBody = %d bytes, %v; want %d bytes", len(got), err, len(tc.want))
			}
		})
	}
}
