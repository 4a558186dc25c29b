package edgeload

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The clients' addresses run from 127.1.0.1 through the rest of 127.0.0.0/8, never 127.0.0.1.
func TestClientAddr(t *testing.T) {
	for i, want := range map[int]string{0: "127.1.0.1", 254: "127.1.0.255", 255: "127.1.1.0", MaxClients - 1: "127.255.255.254"} {
		if got := ClientAddr(i).String(); got != want {
			t.Errorf("ClientAddr(%d) = %s, want %s", i, got, want)
		}
	}
}

// The stand-in counts what it holds, and says for how long it held each request.
func TestUpstreamCountsWhatItHolds(t *testing.T) {
	release := make(chan struct{})
	held := make(chan struct{}, 2)
	u := &Upstream{Hold: func(*http.Request) { held <- struct{}{}; <-release }}
	done := make(chan *httptest.ResponseRecorder, 2)
	for range 2 {
		go func() {
			w := httptest.NewRecorder()
			u.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			done <- w
		}()
	}
	<-held
	<-held
	if u.InFlight() != 2 || u.Peak() != 2 {
		t.Fatalf("in flight %d, peak %d, want 2 and 2", u.InFlight(), u.Peak())
	}
	close(release)
	for range 2 {
		if w := <-done; w.Code != http.StatusOK || w.Header().Get(HeldHeader) == "" {
			t.Errorf("answer %d, %s %q", w.Code, HeldHeader, w.Header().Get(HeldHeader))
		}
	}
	if u.InFlight() != 0 || u.Peak() != 2 || u.Served() != 2 {
		t.Errorf("in flight %d, peak %d, served %d, want 0, 2, 2", u.InFlight(), u.Peak(), u.Served())
	}
	// After CloseConnections the stand-in closes the connection to end the answer.
	u.CloseConnections()
	s := httptest.NewServer(u)
	defer s.Close()
	resp, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ContentLength != -1 || !resp.Close {
		t.Errorf("after CloseConnections: length %d, close %v; want an answer up to the close", resp.ContentLength, resp.Close)
	}
}
