// Package objectstore is an S3-compatible object store for the drills, in the test's own
// process (gofakes3, its objects in memory), and a stand-in for WAL-G's command line that
// reaches it with a real S3 client (WalG): what Spilo's WAL-G does against the cloud's bucket,
// done against this one, so a drill checks the archive's objects where WAL-G puts them.
package objectstore

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Store is a running S3-compatible server on loopback. It accepts any keys (gofakes3 checks
// no signature); clients are still given these, so that they sign their requests as they
// would against a real store.
type Store struct {
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	Region    string
}

// Start serves a fresh store until the test ends.
func Start(t testing.TB) *Store {
	t.Helper()
	faker := gofakes3.New(s3mem.New(), gofakes3.WithLogger(testLog{t}))
	server := httptest.NewServer(faker.Server())
	t.Cleanup(server.Close)
	return &Store{Endpoint: server.URL, AccessKey: "drill-access-key", SecretKey: "drill-secret-key", Region: "us-east-1"}
}

// WalGEnv is WAL-G's environment for the archive at prefix (s3://bucket/path) in the store:
// path-style addressing, as Spilo sets it for an endpoint of its own.
func (s *Store) WalGEnv(prefix string) map[string]string {
	return map[string]string{
		"WALG_S3_PREFIX": prefix, "AWS_ENDPOINT": s.Endpoint, "AWS_REGION": s.Region, "AWS_S3_FORCE_PATH_STYLE": "true",
		"AWS_ACCESS_KEY_ID": s.AccessKey, "AWS_SECRET_ACCESS_KEY": s.SecretKey,
	}
}

// CreateBucket creates the bucket, as the stack's operator does before the archive is used
// (WAL-G creates none).
func (s *Store) CreateBucket(t testing.TB, name string) {
	t.Helper()
	s.do(t, http.MethodPut, "/"+url.PathEscape(name), nil)
}

// Keys are the keys of the bucket's objects under prefix, as the S3 API lists them
// (ListObjectsV2, page by page), in its order.
func (s *Store) Keys(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	query := url.Values{"list-type": {"2"}, "prefix": {prefix}}
	for {
		var page struct {
			Contents []struct {
				Key string
			}
			IsTruncated           bool
			NextContinuationToken string
		}
		body := s.do(t, http.MethodGet, "/"+url.PathEscape(bucket)+"?"+query.Encode(), nil)
		if err := xml.Unmarshal(body, &page); err != nil {
			t.Fatalf("listing %s/%s: %v\n%s", bucket, prefix, err, body)
		}
		for _, c := range page.Contents {
			keys = append(keys, c.Key)
		}
		if !page.IsTruncated {
			return keys
		}
		query.Set("continuation-token", page.NextContinuationToken)
	}
}

// Get is the object's content.
func (s *Store) Get(t testing.TB, bucket, key string) []byte {
	t.Helper()
	return s.do(t, http.MethodGet, "/"+url.PathEscape(bucket)+"/"+escapeKey(key), nil)
}

// do sends an unsigned request (the store reads no signature) and fails the test on any
// status but 200.
func (s *Store) do(t testing.TB, method, path string, body io.Reader) []byte {
	t.Helper()
	req, err := http.NewRequest(method, s.Endpoint+path, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s\n%s", method, path, resp.Status, out)
	}
	return out
}

// escapeKey escapes each segment of an object key, keeping its slashes.
func escapeKey(key string) string {
	segments := strings.Split(key, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return strings.Join(segments, "/")
}

// testLog passes the store's warnings and errors to the test's log (a client's request the
// store refused says why there); its per-request lines are left out.
type testLog struct{ t testing.TB }

func (l testLog) Print(level gofakes3.LogLevel, v ...any) {
	if level == gofakes3.LogErr || level == gofakes3.LogWarn {
		l.t.Log(append([]any{"object store:", level}, v...)...)
	}
}
