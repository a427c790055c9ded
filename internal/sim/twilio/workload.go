package twiliosim

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

// outboundMsg is a message the bank sent whose statuses the workload
// reports one by one, in order.
type outboundMsg struct {
	sid      string
	party    client
	whatsapp bool
	statuses []string
}

// workload is the state of one Workload run.
type workload struct {
	s       *Sim
	rng     *rand.Rand
	hook    string
	seed    string
	n       int // ids handed out
	clock   time.Time
	pending []*outboundMsg
	convMsg []convMessage // Conversations messages not deleted
	convs   []string
	edits   int
}

// Workload returns n deliveries, deterministic for seed: SMS, MMS and
// WhatsApp messages from clients (some replying to the bank's messages),
// status callbacks that follow each outbound message through its
// lifecycle, Conversations messages with edits and removals, and Event
// Streams JSON batches. Every id is unique and every delivery maps to at
// least one event, none duplicated.
func (s *Sim) Workload(hookURL string, seed int64, n int) []sim.Delivery {
	w := &workload{
		s: s, hook: hookURL, seed: strconv.FormatInt(seed, 10),
		rng:   rand.New(rand.NewPCG(uint64(seed), 0x7477696c696f)),
		clock: simEpoch,
	}
	for i := range 4 {
		w.convs = append(w.convs, w.id("CH", "conv"+strconv.Itoa(i)))
	}
	out := make([]sim.Delivery, 0, n)
	for range n {
		out = append(out, w.next())
	}
	return out
}

func (w *workload) id(prefix string, parts ...string) string {
	w.n++
	return prefix + hexID(append([]string{"workload", w.seed, strconv.Itoa(w.n)}, parts...)...)
}

func (w *workload) client() client { return clients[w.rng.IntN(len(clients))] }

func (w *workload) tick() time.Time {
	w.clock = w.clock.Add(time.Duration(1+w.rng.IntN(20)) * time.Second)
	return w.clock
}

func (w *workload) next() sim.Delivery {
	s, r := w.s, w.rng.Float64()
	w.tick()
	switch {
	case r < 0.28:
		return s.formDelivery("sms_text", w.hook, s.smsPairs(w.id("SM"), w.client(), pick(w.rng, inboundTexts), nil))
	case r < 0.42:
		c := w.client()
		var extra []kv
		if len(w.pending) > 0 && w.rng.IntN(3) == 0 {
			orig := w.pending[w.rng.IntN(len(w.pending))]
			extra = []kv{{"OriginalRepliedMessageSender", "whatsapp:" + s.opts.WhatsAppNumber}, {"OriginalRepliedMessageSid", orig.sid}}
		}
		return s.formDelivery("whatsapp_text", w.hook, s.waPairs(w.id("SM"), c, "text", pick(w.rng, inboundTexts), nil, extra...))
	case r < 0.49:
		sid := w.id("MM")
		media := make([]string, 1+w.rng.IntN(3))
		for i := range media {
			media[i] = mediaSID(w.rng.IntN(len(mediaTypes)), "workload", w.seed, sid, strconv.Itoa(i))
		}
		return s.formDelivery("mms", w.hook, s.smsPairs(sid, w.client(), pick(w.rng, captions), media))
	case r < 0.54:
		sid := w.id("MM")
		kind, t := "whatsapp_image", 0
		if w.rng.IntN(2) == 0 {
			kind, t = "whatsapp_document", 2
		}
		me := mediaSID(t, "workload", w.seed, sid)
		return s.formDelivery(kind, w.hook, s.waPairs(sid, w.client(), kind[len("whatsapp_"):], pick(w.rng, captions), []string{me}))
	case r < 0.57:
		return s.formDelivery("whatsapp_location", w.hook, s.waPairs(w.id("SM"), w.client(), "location", "", nil,
			kv{"Latitude", "40.7047"}, kv{"Longitude", "-74.0112"}, kv{"Label", "Harbor Street Bank – Wall St"}))
	case r < 0.84:
		return w.status()
	case r < 0.95:
		return w.conversations()
	default:
		return w.eventStream()
	}
}

// outbound starts a message the bank sent, with the statuses Twilio will
// report for it.
func (w *workload) outbound() *outboundMsg {
	m := &outboundMsg{sid: w.id("SM"), party: w.client(), whatsapp: w.rng.IntN(2) == 0}
	switch f := w.rng.IntN(20); {
	case f == 0:
		m.statuses = []string{"queued", "failed"}
	case f < 3:
		m.statuses = []string{"queued", "sent", "undelivered"}
	case m.whatsapp:
		m.statuses = []string{"queued", "sent", "delivered", "read"}
	default:
		m.statuses = []string{"queued", "sending", "sent", "delivered"}
	}
	w.pending = append(w.pending, m)
	return m
}

// nextStatus takes the next status of a pending outbound message (or of a
// new one), so no (MessageSid, status) pair is ever reported twice.
func (w *workload) nextStatus() (*outboundMsg, string) {
	var m *outboundMsg
	if len(w.pending) == 0 || w.rng.IntN(4) == 0 {
		m = w.outbound()
	} else {
		m = w.pending[w.rng.IntN(len(w.pending))]
	}
	st := m.statuses[0]
	m.statuses = m.statuses[1:]
	if len(m.statuses) == 0 {
		for i, p := range w.pending {
			if p == m {
				w.pending = append(w.pending[:i], w.pending[i+1:]...)
				break
			}
		}
	}
	return m, st
}

func (w *workload) status() sim.Delivery {
	m, st := w.nextStatus()
	code, msg := "", ""
	switch st {
	case "undelivered":
		code = "30003"
	case "failed":
		code, msg = "30008", "Unknown error"
	}
	kind := "status_" + st
	if m.whatsapp {
		kind = "status_whatsapp_" + st
	}
	return w.s.formDelivery(kind, w.hook, w.s.statusPairs(m.sid, m.party, m.whatsapp, st, code, msg))
}

func (w *workload) conversations() sim.Delivery {
	s := w.s
	if len(w.convMsg) > 3 && w.rng.IntN(4) == 0 {
		i := w.rng.IntN(len(w.convMsg))
		m := w.convMsg[i]
		if w.rng.IntN(3) == 0 {
			w.convMsg = append(w.convMsg[:i], w.convMsg[i+1:]...)
			return s.formDelivery("conversations_message_removed", w.hook, s.convPairs("onMessageRemoved", m, kv{"DateRemoved", isoTime(w.clock)}))
		}
		w.edits++
		m.body += " (edited)"
		return s.formDelivery("conversations_message_updated", w.hook, s.convPairs("onMessageUpdated", m,
			kv{"DateUpdated", isoTime(w.clock.Add(time.Duration(w.edits) * time.Millisecond))}))
	}
	conv := w.convs[w.rng.IntN(len(w.convs))]
	m := convMessage{sid: w.id("IM"), conv: conv, index: len(w.convMsg), created: w.clock}
	if w.rng.IntN(2) == 0 {
		e := employees[w.rng.IntN(len(employees))]
		m.author, m.source, m.participant, m.body = e.ID, "SDK", "MB"+hexID(conv, e.ID), pick(w.rng, outboundTexts)
	} else {
		c := w.client()
		m.author, m.source, m.participant, m.body = c.ID, "SMS", "MB"+hexID(conv, c.ID), pick(w.rng, inboundTexts)
	}
	w.convMsg = append(w.convMsg, m)
	return s.formDelivery("conversations_message_added", w.hook, s.convPairs("onMessageAdded", m))
}

func (w *workload) eventStream() sim.Delivery {
	n := 1 + w.rng.IntN(3)
	batch := make([]cloudEvent, 0, n)
	for range n {
		if w.rng.IntN(3) == 0 {
			batch = append(batch, w.s.inboundCloudEvent(w.id("SM"), w.client(), pick(w.rng, inboundTexts), w.tick()))
			continue
		}
		m, st := w.nextStatus()
		code := 0
		if st == "undelivered" || st == "failed" {
			code = 30003
		}
		batch = append(batch, w.s.statusCloudEvent(m.sid, m.party, st, w.tick(), code))
	}
	return w.s.jsonDelivery("eventstreams_batch", w.hook, mustJSON(batch))
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
