package app

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestIndexBehind_RequestsAnswer503InsteadOfWaiting: a search, a
// conversation view or an export waits for the index to take in what was
// acknowledged before it, but not for more than the index's wait limit
// (after an upgrade that rebuilds the index it could be minutes): beyond it
// they answer 503 with Retry-After and how far behind the index is, never a
// partial answer; once the lag is within the limit they catch up and find
// everything.
func TestIndexBehind_RequestsAnswer503InsteadOfWaiting(t *testing.T) {
	a, srv := apiTestApp(t) // not started: no tailer
	a.index.maxWait = 5
	appendN := func(n int) { t.Helper(); appendEvents(t, a, n) }
	do := func(method, path, body string) (*http.Response, map[string]any) {
		t.Helper()
		var out map[string]any
		return apiCall(t, srv, method, path, body, &out), out
	}
	requests := []struct{ method, path, body string }{
		{"GET", "/api/v1/search?q=quarterly", ""},
		{"GET", "/api/v1/conversations/c1", ""},
		{"POST", "/api/v1/exports", `{"query": "quarterly", "format": "jsonl"}`},
	}

	appendN(8) // more than the limit behind
	for _, r := range requests {
		resp, out := do(r.method, r.path, r.body)
		msg, _ := out["error"].(string)
		var lag int
		_, after, _ := strings.Cut(msg, ": ")
		fmt.Sscanf(after, "%d records", &lag) // 8 events and any records the app wrote itself
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
			!strings.Contains(msg, "catching up") || lag < 8 {
			t.Errorf("%s %s with the index 8 behind: %d, Retry-After %q, %v", r.method, r.path, resp.StatusCode, resp.Header.Get("Retry-After"), out)
		}
	}

	if err := a.index.catchUp(t.Context()); err != nil { // what the tailer does
		t.Fatal(err)
	}
	appendN(3) // within the limit: the request catches up itself
	resp, out := do("GET", "/api/v1/search?q=quarterly", "")
	if resp.StatusCode != http.StatusOK || fmt.Sprint(out["count"]) != "11" {
		t.Errorf("search with the index 3 behind: %d %v, want 200 and all 11", resp.StatusCode, out)
	}
	resp, out = do("POST", "/api/v1/exports", `{"query": "quarterly", "format": "jsonl"}`)
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("export with the index caught up: %d %v", resp.StatusCode, out)
	}
}
