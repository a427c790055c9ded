package telegramsim

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/onrecord/onrecord/internal/sim"
)

// person is someone at the simulated bank or one of its clients.
type person struct {
	ID                    int64
	First, Last, Username string
	Premium               bool
}

func (p person) user() *tgUser {
	return &tgUser{ID: p.ID, FirstName: p.First, LastName: p.Last, Username: p.Username, LanguageCode: "en", IsPremium: p.Premium}
}

func (p person) private() tgChat {
	return tgChat{ID: p.ID, FirstName: p.First, LastName: p.Last, Username: p.Username, Type: "private"}
}

// Employees of Harbor & Finch Private Bank use Telegram Business accounts
// connected to the bot; clients write to them and to the bot.
var employees = []person{
	{ID: 5011000001, First: "Maria", Last: "Keller", Username: "mkeller_hf", Premium: true},
	{ID: 5011000002, First: "Tom", Last: "Brandt", Username: "tbrandt_hf", Premium: true},
	{ID: 5011000003, First: "Priya", Last: "Raman", Username: "praman_hf", Premium: true},
}

var clients = []person{
	{ID: 6022000001, First: "Jonas", Last: "Weber", Username: "jonas_weber"},
	{ID: 6022000002, First: "Aiko", Last: "Tanaka", Username: "aiko_t"},
	{ID: 6022000003, First: "Léa", Last: "Dubois", Username: "lea_dubois"},
	{ID: 6022000004, First: "Rafael", Last: "Souza"},
	{ID: 6022000005, First: "Sophie", Last: "Müller", Username: "sophie_mueller"},
	{ID: 6022000006, First: "Henrik", Last: "Larsen", Username: "hlarsen"},
	{ID: 6022000007, First: "Zoë", Last: "Okafor"},
}

// businessConn is an employee's Telegram Business account connected to the bot.
type businessConn struct {
	ID    string
	Owner person
}

var connections = []businessConn{
	{ID: "CPnWd0Lzh0AAAQ-mkeller1", Owner: employees[0]},
	{ID: "CPnWd0Lzh0AAAg-tbrandt2", Owner: employees[1]},
	{ID: "CPnWd0Lzh0AAAw-praman03", Owner: employees[2]},
}

var (
	groupDesk  = tgChat{ID: -1001870000001, Title: "H&F Wealth Desk · Client Q&A", Type: "supergroup"}
	groupForum = tgChat{ID: -1001870000002, Title: "H&F Advisory Topics", Type: "supergroup", IsForum: true}
	channel    = tgChat{ID: -1001870000003, Title: "Harbor & Finch Market Notes", Username: "hf_market_notes", Type: "channel"}
)

// forumTopics are the forum's topics: thread id (the id of the message
// that created the topic) and name.
var forumTopics = []struct {
	ID   int64
	Name string
}{{3, "Mortgages"}, {7, "Retirement planning"}, {12, "Card & payments"}}

// fileID makes a file id of the given kind prefix ("AgAC" photo, ...);
// the same tag always gives the same id.
func fileID(prefix, tag string) string {
	sum := sha256.Sum256([]byte(tag))
	return prefix + "AgIAAxkBAAI" + hex.EncodeToString(sum[:18])
}

func uniqueID(tag string) string {
	sum := sha256.Sum256([]byte("u" + tag))
	return "AQAD" + hex.EncodeToString(sum[:6])
}

func photoSizes(tag string) []tgPhotoSize {
	var out []tgPhotoSize
	for _, d := range [][2]int{{90, 67}, {320, 240}, {1280, 960}} {
		t := tag + "/" + string(rune('a'+len(out)))
		id := fileID("AgAC", t)
		out = append(out, tgPhotoSize{FileID: id, FileUniqueID: uniqueID(t), FileSize: fileSize(id), Width: d[0], Height: d[1]})
	}
	return out
}

func mediaFile(prefix, tag, name, mimeType string) *tgFile {
	id := fileID(prefix, tag)
	return &tgFile{FileName: name, MimeType: mimeType, FileID: id, FileUniqueID: uniqueID(tag), FileSize: fileSize(id)}
}

// builder numbers updates and turns them into signed deliveries.
type builder struct {
	s      *Sim
	hook   string
	nextID int64
	out    []sim.Delivery
}

func (b *builder) add(kind string, u tgUpdate) {
	u.UpdateID = b.nextID
	b.nextID++
	body, err := marshal(u)
	if err != nil {
		return // the simulator's own types always encode
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Telegram-Bot-Api-Secret-Token", b.s.opts.SecretToken)
	b.out = append(b.out, sim.Delivery{Kind: kind, Method: http.MethodPost, URL: b.hook, Header: h, Body: body})
}

// t0 is when the scripted day at the bank starts.
var t0 = time.Date(2025, 3, 3, 8, 0, 0, 0, time.UTC).Unix()
