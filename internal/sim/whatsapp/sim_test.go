package whatsappsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEscapeNonASCII_WritesMetasASCIIForm(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"n":"Chloé"}`, `{"n":"Chlo\u00e9"}`},
		{`{"e":"🙏"}`, `{"e":"\ud83d\ude4f"}`},
		{`{"u":"https://x/y"}`, `{"u":"https:\/\/x\/y"}`},
		{`{"q":"a\"b\\/c"}`, `{"q":"a\"b\\\/c"}`},
		{`{"k":"\u00e9"}`, `{"k":"\u00e9"}`},
		{`plain ascii`, `plain ascii`},
	}
	for _, tc := range cases {
		got := string(EscapeNonASCII([]byte(tc.in)))
		if got != tc.want {
			t.Errorf("EscapeNonASCII(%s) = %s, want %s", tc.in, got, tc.want)
		}
		var a, b any
		if json.Valid([]byte(tc.in)) {
			json.Unmarshal([]byte(tc.in), &a)
			if err := json.Unmarshal([]byte(got), &b); err != nil {
				t.Errorf("%s: output is not JSON: %v", tc.in, err)
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if !bytes.Equal(ja, jb) {
				t.Errorf("%s: escaping changed the value: %s vs %s", tc.in, ja, jb)
			}
		}
	}
}

func TestMarshalASCII_OutputIsPureASCII(t *testing.T) {
	b, err := MarshalASCII(map[string]string{"name": "Jürgen Weiß", "html": "<b>&</b>"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range b {
		if c >= 0x80 {
			t.Fatalf("non-ASCII byte in %s", b)
		}
	}
	if !strings.Contains(string(b), `"<b>&<\/b>"`) {
		t.Fatalf("HTML characters should stay literal: %s", b)
	}
}

func TestHandler_RequiresTheBearerToken(t *testing.T) {
	s := New(Options{AccessToken: "good"})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	s.SetBaseURL(srv.URL)
	m := s.newMedia("k", "image/jpeg")
	for _, path := range []string{"/v21.0/" + m.ID, "/whatsapp_business/attachments/?mid=" + m.ID} {
		for token, want := range map[string]int{"": http.StatusUnauthorized, "bad": http.StatusUnauthorized, "good": http.StatusOK} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s with token %q: %d, want %d", path, token, resp.StatusCode, want)
			}
		}
	}
}

func TestHandler_SendValidatesAndRecords(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	post := func(body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v21.0/"+s.opts.PhoneNumberID+"/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.opts.AccessToken)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for body, want := range map[string]int{
		`{"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":"hi"}}`:   200,
		`{"to":"1","type":"text","text":{"body":"hi"}}`:                                  400,
		`{"messaging_product":"whatsapp","type":"text","text":{"body":"hi"}}`:            400,
		`{"messaging_product":"whatsapp","to":"1","type":"image","image":{"id":"nope"}}`: 400,
		`{"messaging_product":"whatsapp","to":"1","type":"fax"}`:                         400,
	} {
		if got := post(body); got != want {
			t.Errorf("%s: %d, want %d", body, got, want)
		}
	}
	if sent := s.Sent(); len(sent) != 1 || sent[0].Body != "hi" {
		t.Fatalf("sent = %+v", sent)
	}
}

func TestDeliveries_AreSignedOverTheExactBody(t *testing.T) {
	s := New(Options{AppSecret: "k"})
	for _, d := range s.Deliveries("https://gw.example/hooks/wa") {
		if d.Method != http.MethodPost {
			continue
		}
		if got := d.Header.Get("X-Hub-Signature-256"); got != Sign("k", d.Body) {
			t.Fatalf("%s: signature %s does not cover the body", d.Kind, got)
		}
		if !bytes.Equal(d.Body, EscapeNonASCII(d.Body)) {
			t.Fatalf("%s: body not ASCII-escaped", d.Kind)
		}
	}
}
