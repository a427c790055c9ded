package telegramsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serve(t *testing.T) (*Sim, *httptest.Server) {
	t.Helper()
	s := New(Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	s.SetBaseURL(srv.URL)
	return s, srv
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestSim_WrongTokenIsNotFound(t *testing.T) {
	_, srv := serve(t)
	for _, p := range []string{"/bot7352001234:wrong/getFile?file_id=x", "/file/bot7352001234:wrong/photos/file_000000000000.jpg",
		"/bot" + DefaultBotToken + "/deleteWebhook", "/"} {
		if code, body := get(t, srv.URL+p); code != http.StatusNotFound || !strings.Contains(string(body), `"ok":false`) {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
}

func TestSim_GetFileThenDownload(t *testing.T) {
	_, srv := serve(t)
	id := fileID("AgAC", "t")
	code, body := get(t, srv.URL+"/bot"+DefaultBotToken+"/getFile?file_id="+id)
	var r struct {
		OK     bool `json:"ok"`
		Result struct {
			FilePath string `json:"file_path"`
			FileSize int    `json:"file_size"`
		} `json:"result"`
	}
	if code != 200 || json.Unmarshal(body, &r) != nil || !r.OK || !strings.HasPrefix(r.Result.FilePath, "photos/") {
		t.Fatalf("getFile: %d %s", code, body)
	}
	code, data := get(t, srv.URL+"/file/bot"+DefaultBotToken+"/"+r.Result.FilePath)
	if code != 200 || len(data) != r.Result.FileSize || int64(len(data)) != fileSize(id) || !bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}) {
		t.Fatalf("download: %d, %d bytes", code, len(data))
	}
	if code, _ := get(t, srv.URL+"/bot"+DefaultBotToken+"/getFile?file_id=bogus"); code != http.StatusBadRequest {
		t.Errorf("bogus file id: %d", code)
	}
	if code, _ := get(t, srv.URL+"/file/bot"+DefaultBotToken+"/photos/../secret.jpg"); code != http.StatusNotFound {
		t.Errorf("path outside the file store: %d", code)
	}
}

func TestSim_SendMessageRecordsAndValidates(t *testing.T) {
	s, srv := serve(t)
	post := func(body string) (int, string) {
		resp, err := http.Post(srv.URL+"/bot"+DefaultBotToken+"/sendMessage", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(`{"chat_id":6022000001,"text":"Grüezi"}`); code != 200 || !strings.Contains(body, `"message_id":1001`) || !strings.Contains(body, `"text":"Grüezi"`) {
		t.Fatalf("send: %d %s", code, body)
	}
	if code, _ := post(`{"chat_id":6022000001,"text":""}`); code != 400 {
		t.Errorf("empty text: %d", code)
	}
	if code, _ := post(`{"text":"x"}`); code != 400 {
		t.Errorf("no chat: %d", code)
	}
	if sent := s.Sent(); len(sent) != 1 || sent[0].ChatID != "6022000001" || sent[0].Text != "Grüezi" || sent[0].MessageID != 1001 {
		t.Fatalf("Sent() = %+v", sent)
	}
}

func TestSim_DeliveriesAndWorkloadDoNotShareIDs(t *testing.T) {
	s := New(Options{})
	ids := map[string]string{}
	for _, d := range append(s.Deliveries("h"), s.Workload("h", 1, 500)...) {
		var u struct {
			UpdateID int64 `json:"update_id"`
		}
		if err := json.Unmarshal(d.Body, &u); err != nil {
			t.Fatal(err)
		}
		key := string(mustJSON(u.UpdateID))
		if prev, ok := ids[key]; ok {
			t.Fatalf("update_id %s used by %s and %s", key, prev, d.Kind)
		}
		ids[key] = d.Kind
		if got := d.Header.Get("X-Telegram-Bot-Api-Secret-Token"); got != DefaultSecretToken {
			t.Fatalf("%s: secret header %q", d.Kind, got)
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
