package detect

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Emails finds email addresses: a local part, "@", and a domain with at
// least one dot and an alphabetic top-level label.
func Emails(text string) []Finding {
	var out []Finding
	for at := strings.IndexByte(text, '@'); at >= 0; {
		s := at
		for s > 0 && isLocal(text[s-1]) {
			s--
		}
		e := at + 1
		for e < len(text) && isDomain(text[e]) {
			e++
		}
		for e > at+1 && (text[e-1] == '.' || text[e-1] == '-') {
			e-- // a sentence's full stop is not part of the domain
		}
		for s < at && text[s] == '.' {
			s++
		}
		if s < at && e > at+1 && validDomain(text[at+1:e]) {
			out = append(out, Finding{Detector: Email, Start: s, End: e})
		}
		next := strings.IndexByte(text[at+1:], '@')
		if next < 0 {
			break
		}
		at += 1 + next
	}
	return out
}

func isLocal(c byte) bool {
	return isLetter(c) || isDigit(c) || strings.IndexByte("._%+-", c) >= 0
}

func isDomain(c byte) bool { return isLetter(c) || isDigit(c) || c == '.' || c == '-' }

func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if !isLetter(tld[i]) {
			return false
		}
	}
	return true
}

// Phones finds telephone numbers: candidates are runs of 7 to 15 digits
// with the punctuation people write numbers with (+, spaces, dashes, dots,
// parentheses); each is parsed with libphonenumber's metadata in region
// (for numbers without a +country code) and kept only if valid there.
func Phones(text, region string) []Finding {
	if region == "" {
		region = "US"
	}
	var out []Finding
	// A candidate never reaches past a byte that is not a digit or
	// punctuation of numbers, so text is looked at a stretch of such
	// bytes at a time, and only if the stretch holds 7 digits or more.
	for i := 0; i < len(text); {
		d := nextDigit(text, i)
		if d == len(text) {
			break
		}
		from, to, digits := d, d, 0
		for from > i && isPhoneByte(text[from-1]) {
			from--
		}
		for to < len(text) && isPhoneByte(text[to]) {
			if isDigit(text[to]) {
				digits++
			}
			to++
		}
		if digits >= 7 {
			out = phones(text, region, from, to, out)
		}
		i = to
	}
	return out
}

func isPhoneByte(c byte) bool {
	return isDigit(c) || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+'
}

// phones finds the phone numbers in text[from:to], a stretch of digits and
// number punctuation.
func phones(text, region string, from, to int, out []Finding) []Finding {
	i := from
	for i < to {
		c := text[i]
		if !(isDigit(c) || c == '+' || c == '(') {
			i++
			continue
		}
		if i > 0 && (isLetter(text[i-1]) || isDigit(text[i-1])) {
			i++
			continue
		}
		s, digits := i, 0
		e := i
		for i < len(text) {
			c := text[i]
			if isDigit(c) {
				digits++
				i++
				e = i
				continue
			}
			if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+' && i == s) && i+1 < len(text) {
				i++
				continue
			}
			break
		}
		if i == s {
			i++
		}
		if text[s] == '(' && e > s && !strings.Contains(text[s:e], ")") {
			s++
		}
		if digits < 7 || digits > 15 || !boundary(text, s, e) {
			continue
		}
		num, err := phonenumbers.Parse(text[s:e], region)
		if err != nil || !phonenumbers.IsValidNumber(num) {
			continue
		}
		out = append(out, Finding{Detector: Phone, Start: s, End: e, Entry: "+" + strconv.Itoa(int(num.GetCountryCode()))})
	}
	return out
}
