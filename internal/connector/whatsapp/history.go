package whatsapp

import (
	"fmt"
	"strconv"
	"strings"

	json "github.com/go-json-experiment/json/v1"
	"github.com/onrecord/onrecord"
	"github.com/onrecord/onrecord/internal/connector"
)

// history maps a "history" change: the WhatsApp Business app chat history
// of a number onboarded to coexistence, which Meta sends once, in chunks,
// for the 180 days before onboarding. Each message becomes its own record,
// searchable and linked like a live one, under its own wamid (so a later
// reaction or edit to it finds it), with the message's own bytes as its raw
// payload: a chunk can hold thousands of messages, and repeating the whole
// body in each would make a chunk's records grow with its square. The whole
// body is kept once, in a "history" system record the messages name in
// meta history_chunk.
//
// Meta sends the media of history messages later (only for the last 14
// days), in further history webhooks that repeat the message with its
// media asset id. Such a message is recorded as a "history_media" system
// event that targets the message, with the attachment fetched: the message
// record is never changed, and the repeat is not taken for a conflicting
// copy of it.
//
// A business that declined to share its history is reported in the chunk's
// errors; each is a system "error" event.
func (p *parser) history(sc *scope, value json.RawMessage) {
	var v historyValue
	if err := json.Unmarshal(value, &v); err != nil {
		// Not the documented shape: kept whole, as any other field.
		p.system(sc, value)
		return
	}
	sc.phoneNumberID = v.Metadata.PhoneNumberID.String()
	sc.business = onrecord.Party{ID: firstNonEmpty(normPhone(v.Metadata.DisplayPhoneNumber.String()), sc.phoneNumberID, "business")}
	chunkID := fmt.Sprintf("%s:%s:%s", firstNonEmpty(sc.entryID, "unknown"), fieldHistory, shortHash(value))
	p.historyChunk(sc, &v, chunkID)

	nerr := 0
	for i := range v.History {
		h := &v.History[i]
		for j := range h.Errors {
			p.webhookError(sc, &h.Errors[j], nerr, value)
			nerr++
		}
		item := &historyItem{chunkID: chunkID, phase: h.Metadata.Phase.String(),
			chunkOrder: h.Metadata.ChunkOrder.String(), progress: h.Metadata.Progress.String()}
		for _, th := range h.Threads {
			tsc := *sc
			tsc.thread = onrecord.Party{ID: normPhone(th.ID.String())}
			for _, raw := range th.Messages {
				item.raw = raw
				p.item = item
				p.historyMessage(&tsc, raw)
				p.item = nil
			}
		}
	}
}

// historyMessage maps one message of a history thread. Its direction is
// told by who sent it: the business's own number (or an SMB echo's "to")
// means the business sent it from the app.
func (p *parser) historyMessage(sc *scope, raw json.RawMessage) {
	p.item.status = ""
	var m message
	if err := json.Unmarshal(raw, &m); err != nil {
		if !p.undecodable(sc, raw, onrecord.Inbound, onrecord.KindMessage, err) {
			// Not even an object: still kept, as a history item that
			// could not be read, so the chunk's count adds up.
			p.undecodableItem(sc, raw, err)
		}
		return
	}
	dir := onrecord.Inbound
	if m.To.String() != "" || normPhone(m.From.String()) == sc.business.ID {
		dir = onrecord.Outbound
	}
	if m.HistoryContext != nil {
		p.item.status = m.HistoryContext.Status
	}
	p.message(sc, &m, raw, dir)
}

// undecodableItem keeps a history item that is not a JSON object.
func (p *parser) undecodableItem(sc *scope, raw json.RawMessage, err error) {
	ev := connector.Event{}
	e := &ev.Event
	e.Kind = onrecord.KindMessage
	e.Subtype = "unsupported"
	e.Direction = onrecord.Inbound
	e.ProviderID = "sha256:" + shortHash(raw)
	e.Sender = sc.thread
	e.Conversation = sc.thread.ID
	e.Meta = map[string]string{"unsupported_reason": truncate("history item: "+err.Error(), 300)}
	e.SentAt = p.timeOf("", sc, e.Meta)
	p.add(ev)
}

// historyChunk is the record of the whole delivery.
func (p *parser) historyChunk(sc *scope, v *historyValue, chunkID string) {
	ev := connector.Event{}
	e := &ev.Event
	meta := map[string]string{"field": fieldHistory}
	e.Kind = onrecord.KindSystem
	e.Subtype = fieldHistory
	e.Direction = onrecord.Inbound
	e.ProviderID = chunkID
	e.Sender = onrecord.Party{ID: metaPartyID, Name: metaPartyName}
	e.Conversation = "waba:" + firstNonEmpty(sc.entryID, "unknown")
	e.Recipients = []onrecord.Party{sc.business}
	e.SentAt = p.timeOf("", sc, meta)

	var phases, chunks, progress []string
	threads, messages, errs := 0, 0, 0
	for _, h := range v.History {
		phases = append(phases, firstNonEmpty(h.Metadata.Phase.String(), "?"))
		chunks = append(chunks, firstNonEmpty(h.Metadata.ChunkOrder.String(), "?"))
		progress = append(progress, firstNonEmpty(h.Metadata.Progress.String(), "?"))
		threads += len(h.Threads)
		for _, th := range h.Threads {
			messages += len(th.Messages)
		}
		errs += len(h.Errors)
	}
	meta["history_phase"] = strings.Join(phases, ",")
	meta["history_chunk_order"] = strings.Join(chunks, ",")
	meta["history_progress"] = strings.Join(progress, ",")
	meta["threads"] = strconv.Itoa(threads)
	meta["messages"] = strconv.Itoa(messages)
	if errs > 0 {
		meta["errors"] = strconv.Itoa(errs)
	}
	setIf(meta, "waba_id", sc.entryID)
	setIf(meta, "phone_number_id", sc.phoneNumberID)
	e.Body = fmt.Sprintf("WhatsApp Business app chat history: phase %s, chunk %s, progress %s%%: %d messages in %d threads",
		meta["history_phase"], meta["history_chunk_order"], meta["history_progress"], messages, threads)
	if errs > 0 {
		e.Body += fmt.Sprintf(", %d errors", errs)
	}
	e.Meta = meta
	p.add(ev)
}

// historyItem is what every record of one history message carries.
type historyItem struct {
	chunkID, phase, chunkOrder, progress string
	status                               string
	raw                                  json.RawMessage
}

// apply makes ev a history record: its own bytes as raw payload, where it
// came from in meta, and a message with a media asset id the follow-up
// that brings the media of a message recorded before.
func (it *historyItem) apply(ev *connector.Event) {
	e := &ev.Event
	ev.Raw = it.raw
	ev.Backfill = true
	if e.Meta == nil {
		e.Meta = map[string]string{}
	}
	e.Meta["history"] = "true"
	e.Meta["history_chunk"] = it.chunkID
	setIf(e.Meta, "history_phase", it.phase)
	setIf(e.Meta, "history_chunk_order", it.chunkOrder)
	setIf(e.Meta, "history_progress", it.progress)
	setIf(e.Meta, "history_status", it.status)
	if e.Kind == onrecord.KindMessage && len(ev.Media) > 0 && e.ProviderID != "" && !strings.HasPrefix(e.ProviderID, "sha256:") {
		delete(e.Meta, "media_missing")
		e.Meta["wa_type"] = e.Subtype
		e.Kind = onrecord.KindSystem
		e.Subtype = "history_media"
		e.Target = e.ProviderID
		e.ProviderID += ":media"
	}
}
