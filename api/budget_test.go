package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBodyBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("refuses beyond the budget and takes back what is released", func(t *testing.T) {
		t.Parallel()
		b := newBodyBudget(10, -1)
		if err := b.acquire(ctx, 6); err != nil {
			t.Fatal(err)
		}
		if err := b.acquire(ctx, 4); err != nil {
			t.Fatal(err)
		}
		if err := b.acquire(ctx, 1); !errs.Is(err, errs.Unavailable) {
			t.Fatalf("acquire beyond the budget: %v, want an Unavailable error", err)
		}
		b.release(4)
		if err := b.acquire(ctx, 3); err != nil {
			t.Fatalf("acquire after a release: %v", err)
		}
		b.release(3)
		b.release(6)
		if b.inUse() != 0 {
			t.Fatalf("in use %d after every release", b.inUse())
		}
	})
	t.Run("a waiter gets the bytes released", func(t *testing.T) {
		t.Parallel()
		b := newBodyBudget(10, time.Hour)
		if err := b.acquire(ctx, 10); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- b.acquire(ctx, 5) }()
		waitFor(t, "the waiter", func() bool { return b.waiting() == 1 })
		b.release(10)
		if err := <-done; err != nil {
			t.Fatalf("waiter: %v", err)
		}
		if b.inUse() != 5 || b.waiting() != 0 {
			t.Fatalf("in use %d, waiting %d; want 5 and 0", b.inUse(), b.waiting())
		}
	})
	t.Run("a cancelled waiter gives up", func(t *testing.T) {
		t.Parallel()
		b := newBodyBudget(10, time.Hour)
		if err := b.acquire(ctx, 8); err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- b.acquire(cctx, 5) }()
		waitFor(t, "the waiter", func() bool { return b.waiting() == 1 })
		cancel()
		if err := <-done; !errs.Is(err, errs.Unavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled waiter: %v", err)
		}
		if b.inUse() != 8 || b.waiting() != 0 {
			t.Fatalf("in use %d, waiting %d; want 8 and 0", b.inUse(), b.waiting())
		}
	})
}

// budgetHandler is the API over an authoritytest environment with a body
// budget of exactly one maximum-size body.
func budgetHandler(t *testing.T, wait time.Duration) (*Handler, *at.Env) {
	t.Helper()
	env := at.New(t, at.Options{})
	h := New(Deps{
		Authority: func() *authority.Authority { return env.Authority },
		Now:       env.Clock.Now, BodyBudget: MaxBodySize, BodyWait: wait,
	})
	return h, env
}

// heldBytes is how much of the budget slowRequest's body holds: all of it
// but 5 bytes, too few for any other body.
const heldBytes = MaxBodySize - 5

// slowRequest starts a /sign whose body comes from a pipe, sends heldBytes
// of it and returns once the handler holds them in the budget.
func slowRequest(t *testing.T, h *Handler) (*io.PipeWriter, <-chan *httptest.ResponseRecorder) {
	t.Helper()
	pr, pw := io.Pipe()
	req := httptest.NewRequest("POST", "/1.0/sign", pr)
	req.ContentLength = -1
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		done <- w
	}()
	if _, err := pw.Write([]byte(`{"csr":"` + strings.Repeat("A", heldBytes-8))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the body to be held", func() bool { return h.budget.inUse() == heldBytes })
	return pw, done
}

func post(h *Handler, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/sign", strings.NewReader(body)))
	return w
}

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	var e wire.Error
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	if status >= 400 {
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Status != status || e.Message == "" {
			t.Fatalf("error body %q: %v", w.Body, err)
		}
	}
}

// TestHandlerBodyBudget: a request whose body does not fit in what is left
// of the server's body budget is refused with a 503 (or waits for room),
// and each request gives its bytes back when it ends: after success, after
// a handler error, and when the client goes away mid-body.
func TestHandlerBodyBudget(t *testing.T) {
	t.Parallel()
	t.Run("refused when full, released on disconnect and on errors", func(t *testing.T) {
		t.Parallel()
		h, env := budgetHandler(t, -1)
		pw, slow := slowRequest(t, h)
		w := post(h, `{"csr":"x","ott":"y"}`)
		wantStatus(t, w, http.StatusServiceUnavailable)
		if !strings.Contains(w.Body.String(), "busy") {
			t.Fatalf("503 body %s, want it to say the CA is busy", w.Body)
		}
		if w.Header().Get("Retry-After") == "" {
			t.Fatalf("503 without Retry-After")
		}
		// The client goes away mid-body: the handler fails, the budget is back.
		pw.CloseWithError(errors.New("client disconnected"))
		wantStatus(t, <-slow, http.StatusBadRequest)
		if got := h.budget.inUse(); got != 0 {
			t.Fatalf("in use %d after the disconnected request ended", got)
		}
		// A handler error gives it back too.
		wantStatus(t, post(h, `{"csr":"x","ott":"y"}`), http.StatusBadRequest)
		// And so does a success.
		csr := at.CSRPEM(at.NewCSR(t, at.CSR{CommonName: "b.example.com", DNSNames: []string{"b.example.com"}}))
		body, _ := json.Marshal(map[string]string{"csr": csr, "ott": env.SignToken(t, "b.example.com")})
		wantStatus(t, post(h, string(body)), http.StatusCreated)
		if got := h.budget.inUse(); got != 0 {
			t.Fatalf("in use %d after the requests ended", got)
		}
	})
	t.Run("waits for room", func(t *testing.T) {
		t.Parallel()
		h, _ := budgetHandler(t, time.Hour)
		pw, slow := slowRequest(t, h)
		second := make(chan *httptest.ResponseRecorder, 1)
		go func() { second <- post(h, `{"csr":"x","ott":"y"}`) }()
		waitFor(t, "the second request to wait", func() bool { return h.budget.waiting() == 1 })
		if _, err := pw.Write([]byte(`"}`)); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		wantStatus(t, <-slow, http.StatusBadRequest) // invalid csr
		wantStatus(t, <-second, http.StatusBadRequest)
		if got := h.budget.inUse(); got != 0 {
			t.Fatalf("in use %d after the requests ended", got)
		}
	})
	t.Run("a waiting client that goes away", func(t *testing.T) {
		t.Parallel()
		h, _ := budgetHandler(t, time.Hour)
		pw, slow := slowRequest(t, h)
		ctx, cancel := context.WithCancel(context.Background())
		second := make(chan *httptest.ResponseRecorder, 1)
		go func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, "POST", "/sign", strings.NewReader(`{"csr":"x","ott":"y"}`)))
			second <- w
		}()
		waitFor(t, "the second request to wait", func() bool { return h.budget.waiting() == 1 })
		cancel()
		wantStatus(t, <-second, http.StatusServiceUnavailable)
		pw.Close()
		<-slow
		if got, n := h.budget.inUse(), h.budget.waiting(); got != 0 || n != 0 {
			t.Fatalf("in use %d, waiting %d after the requests ended", got, n)
		}
	})
	t.Run("a body announced but not sent holds nothing", func(t *testing.T) {
		t.Parallel()
		h, _ := budgetHandler(t, -1)
		stalled := make([]*io.PipeWriter, 3)
		for i := range stalled {
			pr, pw := io.Pipe()
			stalled[i] = pw
			req := httptest.NewRequest("POST", "/sign", pr)
			req.ContentLength = MaxBodySize
			go h.ServeHTTP(httptest.NewRecorder(), req)
		}
		wantStatus(t, post(h, `{"csr":"x","ott":"y"}`), http.StatusBadRequest)
		for _, pw := range stalled {
			pw.Close()
		}
	})
	t.Run("an announced length above the limit is refused unread", func(t *testing.T) {
		t.Parallel()
		h, _ := budgetHandler(t, -1)
		body := &countingReader{r: strings.NewReader(strings.Repeat("x", MaxBodySize+1))}
		req := httptest.NewRequest("POST", "/sign", body)
		req.ContentLength = MaxBodySize + 1
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		wantStatus(t, w, http.StatusRequestEntityTooLarge)
		if body.n != 0 {
			t.Fatalf("%d bytes of the oversized body were read", body.n)
		}
		if got := h.budget.inUse(); got != 0 {
			t.Fatalf("in use %d", got)
		}
	})
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
