package twiliosim

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/onrecord/onrecord/internal/sim"
)

// Sign computes X-Twilio-Signature as Twilio does: HMAC-SHA1 keyed with
// the Auth Token over the full URL followed by each POST parameter's name
// and value, names sorted, a name's values sorted; base64. params is nil
// for GET and JSON deliveries, whose URL is all that is signed.
func Sign(authToken, fullURL string, params url.Values) string {
	return SignWith(sha1.New, authToken, fullURL, params)
}

// SignWith is Sign with another hash and key: what a Webhook Setting with a
// SharedKey signs (the same string).
func SignWith(h func() hash.Hash, key, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for i, v := range vs {
			if i > 0 && vs[i-1] == v {
				continue
			}
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	m := hmac.New(h, []byte(key))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// kv is one form parameter; deliveries keep Twilio's field order, which is
// not sorted, so the body is byte-for-byte what Twilio would send.
type kv struct{ k, v string }

func encodeForm(pairs []kv) string {
	parts := make([]string, 0, len(pairs))
	for _, p := range pairs {
		parts = append(parts, url.QueryEscape(p.k)+"="+url.QueryEscape(p.v))
	}
	return strings.Join(parts, "&")
}

func formValues(pairs []kv) url.Values {
	v := url.Values{}
	for _, p := range pairs {
		v.Add(p.k, p.v)
	}
	return v
}

func withQuery(hookURL, query string) string {
	if strings.Contains(hookURL, "?") {
		return hookURL + "&" + query
	}
	return hookURL + "?" + query
}

func twilioHeader(token string) http.Header {
	h := http.Header{}
	h.Set("User-Agent", "TwilioProxy/1.1")
	h.Set("I-Twilio-Idempotency-Token", token)
	h.Set("X-Home-Region", "us1")
	return h
}

// idempotencyToken is a deterministic stand-in for Twilio's per-delivery
// UUID header.
func idempotencyToken(parts ...string) string {
	h := hexID(append([]string{"token"}, parts...)...)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// formDelivery is a POST webhook with a form body.
func (s *Sim) formDelivery(kind, hookURL string, pairs []kv) sim.Delivery {
	body := encodeForm(pairs)
	h := twilioHeader(idempotencyToken(kind, body))
	h.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	s.sign(h, hookURL, formValues(pairs))
	return sim.Delivery{Kind: kind, Method: http.MethodPost, URL: hookURL, Header: h, Body: []byte(body)}
}

// getDelivery is a GET webhook: the parameters ride in the signed URL.
func (s *Sim) getDelivery(kind, hookURL string, pairs []kv) sim.Delivery {
	u := withQuery(hookURL, encodeForm(pairs))
	h := twilioHeader(idempotencyToken(kind, u))
	s.sign(h, u, nil)
	return sim.Delivery{Kind: kind, Method: http.MethodGet, URL: u, Header: h}
}

// jsonDelivery is a JSON webhook (Event Streams): the body's SHA-256 is
// added to the URL and the URL alone is signed.
func (s *Sim) jsonDelivery(kind, hookURL string, body []byte) sim.Delivery {
	sum := sha256.Sum256(body)
	u := withQuery(hookURL, "bodySHA256="+hex.EncodeToString(sum[:]))
	h := twilioHeader(idempotencyToken(kind, string(body)))
	h.Set("Content-Type", "application/json")
	s.sign(h, u, nil)
	return sim.Delivery{Kind: kind, Method: http.MethodPost, URL: u, Header: h, Body: body}
}

// sign sets X-Twilio-Signature: with the Auth Token, or with the shared key
// and the header that announces it.
func (s *Sim) sign(h http.Header, fullURL string, params url.Values) {
	if s.opts.SharedKey == "" {
		h.Set("X-Twilio-Signature", Sign(s.opts.AuthToken, fullURL, params))
		return
	}
	alg := sha256.New
	if s.opts.SharedKeyAlgorithm == "HMAC_SHA1" {
		alg = sha1.New
	}
	h.Set("X-Twilio-Signature", SignWith(alg, s.opts.SharedKey, fullURL, params))
	h.Set("X-Twilio-Webhooks-Signature-Settings", "key="+s.opts.SharedKeyID+",algorithm="+s.opts.SharedKeyAlgorithm)
}
