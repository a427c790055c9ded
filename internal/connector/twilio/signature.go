package twilio

import (
	"crypto/hmac"
	"crypto/sha1" // #nosec G505 -- Twilio signs with HMAC-SHA1; we check, we do not choose
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/onrecord/onrecord/internal/connector"
)

// bodyHashParam is the query parameter Twilio adds to the URL of a JSON
// delivery: the hex SHA-256 of the raw body, covered by the URL signature.
const bodyHashParam = "bodySHA256"

// SignatureSettingsHeader is sent when a Twilio Webhook Rule applies a
// Setting that signs with a SharedKey rather than the Auth Token:
// "key=<the key>,algorithm=HMAC_SHA256" (or HMAC_SHA1). The string signed
// is the same; only the key and the hash change.
const SignatureSettingsHeader = "X-Twilio-Webhooks-Signature-Settings"

// Authenticate checks X-Twilio-Signature over the public URL the delivery
// was addressed to and, for form bodies, the POST parameters sorted by name;
// for JSON bodies, over the URL alone plus the body's bodySHA256. It
// accepts the URL with and without its port, as Twilio's SDKs do. The MAC
// is HMAC-SHA1 with the Auth Token, or, when the delivery carries
// X-Twilio-Webhooks-Signature-Settings, the algorithm it names keyed with
// one of the channel's shared_keys.
func (c *Connector) Authenticate(req *connector.Request) error {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("twilio channel %q: %s: %w", c.name, fmt.Sprintf(format, a...), connector.ErrSignature)
	}
	header := strings.TrimSpace(req.Header.Get(SignatureHeader))
	if header == "" {
		return fail("missing %s header", SignatureHeader)
	}
	var shared func() hash.Hash
	size := sha1.Size
	if settings := req.Header.Get(SignatureSettingsHeader); settings != "" {
		var err error
		if shared, size, err = c.sharedAlgorithm(settings); err != nil {
			return fail("%v", err)
		}
	}
	want, err := base64.StdEncoding.DecodeString(header)
	if err != nil || len(want) != size {
		return fail("malformed %s header (want base64 of a %d-byte HMAC)", SignatureHeader, size)
	}
	raw, err := c.signedURL(req)
	if err != nil {
		return fail("%v", err)
	}
	urls, u, err := urlVariants(raw)
	if err != nil {
		return fail("%v", err)
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fail("the signed URL's query cannot be read")
	}

	var params url.Values
	switch {
	case query.Has(bodyHashParam):
		// JSON delivery: the URL (which carries the body's hash) is what
		// is signed; the body must hash to what it says.
		if err := checkBodyHash(query[bodyHashParam], req.Body); err != nil {
			return fail("%v", err)
		}
	case isJSON(req.Header):
		return fail("JSON body without a %s query parameter cannot be verified", bodyHashParam)
	case req.Method == http.MethodGet || req.Method == http.MethodHead:
		// GET webhooks carry their parameters in the (signed) URL.
	default:
		params, err = req.Form()
		if err != nil {
			return fail("form body is not valid application/x-www-form-urlencoded")
		}
	}

	if shared != nil {
		// A shared key signs rarely enough that its signers are made per
		// delivery; during a rotation either key may be the one.
		for _, key := range c.sharedKeys {
			if (&signer{mac: hmac.New(shared, key)}).matches(urls, params, want) {
				return nil
			}
		}
		return fail("%s does not match any of shared_keys (%s)", SignatureHeader, req.Header.Get(SignatureSettingsHeader))
	}
	m := c.macs.Get().(*signer)
	ok := m.matches(urls, params, want)
	clear(m.params) // message text: not kept in the pool
	c.macs.Put(m)
	if ok {
		return nil
	}
	return fail("%s does not match", SignatureHeader)
}

// sharedAlgorithm reads X-Twilio-Webhooks-Signature-Settings: the hash the
// shared key signs with, and its size.
func (c *Connector) sharedAlgorithm(settings string) (func() hash.Hash, int, error) {
	var alg, key string
	for part := range strings.SplitSeq(settings, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "algorithm":
			alg = strings.TrimSpace(value)
		case "key":
			key = strings.TrimSpace(value)
		}
	}
	if len(c.sharedKeys) == 0 {
		return nil, 0, fmt.Errorf("signed with a Webhook Setting's shared key (%s %q), but the channel has no shared_keys: "+
			"add that SharedKey's secret to shared_keys", SignatureSettingsHeader, key)
	}
	switch strings.ToUpper(alg) {
	case "HMAC_SHA256":
		return sha256.New, sha256.Size, nil
	case "HMAC_SHA1":
		return sha1.New, sha1.Size, nil
	}
	return nil, 0, fmt.Errorf("%s names an algorithm onrecord does not verify: %q (want HMAC_SHA256 or HMAC_SHA1)", SignatureSettingsHeader, alg)
}

// signedURL is the URL Twilio called: the gateway's reconstruction of it,
// or, if the gateway did not give one, public_url joined with the request
// URI as received.
func (c *Connector) signedURL(req *connector.Request) (string, error) {
	if req.PublicURL != "" {
		return req.PublicURL, nil
	}
	if c.publicURL != "" && req.URL != nil {
		return c.publicURL + req.URL.RequestURI(), nil
	}
	return "", errors.New("no public URL to verify against (set public_url to the URL Twilio calls)")
}

func checkBodyHash(values []string, body []byte) error {
	if len(values) != 1 {
		return fmt.Errorf("want exactly one %s query parameter, got %d", bodyHashParam, len(values))
	}
	claimed, err := hex.DecodeString(values[0])
	if err != nil || len(claimed) != sha256.Size {
		return fmt.Errorf("malformed %s query parameter", bodyHashParam)
	}
	sum := sha256.Sum256(body)
	if subtle.ConstantTimeCompare(sum[:], claimed) != 1 {
		return fmt.Errorf("body does not match %s", bodyHashParam)
	}
	return nil
}

func isJSON(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// urlVariants returns raw as given plus the port variant Twilio's SDKs also
// accept: without its port if it has one, else with the scheme's default
// port. The rest of the URL (path, query, its encoding) is kept byte for
// byte, since Twilio signs it exactly as it requested it.
func urlVariants(raw string) ([]string, *url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, nil, errors.New("the signed URL is not an absolute http(s) URL")
	}
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i] // a fragment is never sent, so never signed
	}
	i := strings.Index(raw, "://")
	if i < 0 {
		return nil, nil, errors.New("the signed URL has no scheme")
	}
	prefix, rest := raw[:i+3], raw[i+3:]
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, suffix := rest[:end], rest[end:]
	userinfo := ""
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo, authority = authority[:at+1], authority[at+1:]
	}
	host, port := splitPort(authority)
	variants := []string{raw}
	switch {
	case port != "":
		variants = append(variants, prefix+userinfo+host+suffix)
	case strings.EqualFold(u.Scheme, "https"):
		variants = append(variants, prefix+userinfo+host+":443"+suffix)
	default:
		variants = append(variants, prefix+userinfo+host+":80"+suffix)
	}
	return variants, u, nil
}

// splitPort splits "host:port" and "[v6]:port"; port is "" if absent.
func splitPort(hostport string) (host, port string) {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 || strings.HasSuffix(hostport, "]") {
		return hostport, ""
	}
	return hostport[:i], hostport[i+1:]
}

// signer is a keyed HMAC-SHA1 and its scratch space, pooled per
// connector: keying an HMAC and building every URL variant's whole
// signing string was most of what a check cost.
type signer struct {
	mac    hash.Hash
	params []byte
	url    []byte
	sum    []byte
}

func (c *Connector) newSigner() any {
	return &signer{mac: hmac.New(sha1.New, []byte(c.authToken))}
}

// matches reports whether want is the signature of any URL variant with
// params. The string Twilio signs is the URL followed by each parameter
// name and value, names sorted byte-wise (so "Reason" precedes
// "ReasonConferenceEnded"), a repeated name's values sorted and
// de-duplicated as twilio-python does; if de-duplication dropped anything,
// the variant that keeps repeats is tried as well. It is fed to the HMAC
// in two parts, URL then parameters, not built whole for each URL.
func (m *signer) matches(urls []string, params url.Values, want []byte) bool {
	var hadDup bool
	m.params, hadDup = appendParams(m.params[:0], params, true)
	if m.try(urls, want) {
		return true
	}
	if !hadDup {
		return false
	}
	m.params, _ = appendParams(m.params[:0], params, false)
	return m.try(urls, want)
}

func (m *signer) try(urls []string, want []byte) bool {
	for _, u := range urls {
		m.mac.Reset()
		m.url = append(m.url[:0], u...)
		m.mac.Write(m.url)
		m.mac.Write(m.params)
		m.sum = m.mac.Sum(m.sum[:0])
		if hmac.Equal(m.sum, want) {
			return true
		}
	}
	return false
}

// appendParams appends each parameter name and value to dst, names
// sorted, a name's values sorted (and, if dedup, de-duplicated), and
// reports whether de-duplication dropped any.
func appendParams(dst []byte, params url.Values, dedup bool) ([]byte, bool) {
	if len(params) == 0 {
		return dst, false
	}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	hadDup := false
	for _, name := range names {
		values := params[name]
		if len(values) > 1 {
			values = slices.Clone(values)
			slices.Sort(values)
			if dedup {
				n := len(values)
				values = slices.Compact(values)
				hadDup = hadDup || len(values) != n
			}
		}
		for _, v := range values {
			dst = append(dst, name...)
			dst = append(dst, v...)
		}
	}
	return dst, hadDup
}
