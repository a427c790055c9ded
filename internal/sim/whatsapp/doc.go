// Package whatsappsim simulates the parts of the WhatsApp Business Cloud
// API (Meta Graph API) that onrecord talks to, and the webhooks Meta sends,
// so the connector, the gateway and `onrecord demo` can be exercised
// without the internet.
//
// The API side answers like Graph does, including its failures: media info
// (GET /{version}/{media-id}) and the lookaside download both demand the
// bearer token, unknown media ids are 404 with a Graph error, sends are
// validated and recorded, uploads return media ids that can be sent and
// downloaded again.
//
// The webhook side signs bodies exactly as Meta does: the JSON is pure
// ASCII, every non-ASCII character escaped as a lowercase \uXXXX (and "/"
// as "\/"), and X-Hub-Signature-256 is the HMAC-SHA256 of those bytes. A
// receiver that re-encodes the body before checking the signature fails on
// the first name with an accent, which is the point.
package whatsappsim
