package detect

import (
	"math/big"
	"strings"
)

// Cards finds payment card numbers: 13–19 digits, contiguous or grouped
// by spaces or dashes, that pass the Luhn check and start with a known
// issuer prefix. A 16-digit order number that fails Luhn is not a card.
func Cards(text string) []Finding {
	out, _, _ := numbers(text, true, false, false)
	return out
}

func cardAt(text string, r digitRun) (Finding, bool) {
	if r.n < 13 || r.n > 19 || !boundary(text, r.start, r.end) {
		return Finding{}, false
	}
	if d := r.digits(text); luhn(d) && issuer(d) != "" {
		return Finding{Detector: Card, Start: r.start, End: r.end, Entry: issuer(d)}, true
	}
	return Finding{}, false
}

// numbers runs the card, SSN and routing number detectors asked for in
// one pass over the text's digit runs. A routing number is a run of
// contiguous digits, that is a separator-free piece of a run of digits
// grouped by spaces or dashes, so the pieces of each run are its
// candidates.
func numbers(text string, cards, ssns, abas bool) (cs, ss, as []Finding) {
	if !cards && !ssns && !abas {
		return nil, nil, nil
	}
	for r := range digitRuns(text, " -") {
		if cards {
			if f, ok := cardAt(text, r); ok {
				cs = append(cs, f)
			}
		}
		if ssns {
			if f, ok := ssnAt(text, r); ok {
				ss = append(ss, f)
			}
		}
		if !abas {
			continue
		}
		if r.end-r.start == r.n {
			if f, ok := abaAt(text, r); ok {
				as = append(as, f)
			}
			continue
		}
		for i := r.start; i < r.end; {
			p := digitRun{start: i, end: i}
			for p.end < r.end && isDigit(text[p.end]) {
				p.end++
			}
			p.n = p.end - p.start
			if f, ok := abaAt(text, p); ok {
				as = append(as, f)
			}
			i = p.end + 1 // past the separator
		}
	}
	return cs, ss, as
}

func luhn(digits string) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// issuer names the card scheme of a number by its IIN range and length,
// or "" when no major scheme issues such numbers.
func issuer(d string) string {
	n := len(d)
	p := func(k int) int {
		v := 0
		for i := 0; i < k && i < n; i++ {
			v = v*10 + int(d[i]-'0')
		}
		return v
	}
	switch {
	case d[0] == '4' && (n == 13 || n == 16 || n == 19):
		return "visa"
	case (p(2) >= 51 && p(2) <= 55 || p(4) >= 2221 && p(4) <= 2720) && n == 16:
		return "mastercard"
	case (p(2) == 34 || p(2) == 37) && n == 15:
		return "amex"
	case (p(4) == 6011 || p(2) == 65 || p(3) >= 644 && p(3) <= 649) && (n == 16 || n == 19):
		return "discover"
	case p(4) >= 3528 && p(4) <= 3589 && n >= 16 && n <= 19:
		return "jcb"
	case (p(3) >= 300 && p(3) <= 305 || p(2) == 36 || p(2) == 38 || p(2) == 39) && n >= 14 && n <= 19:
		return "diners"
	case (p(2) == 62) && n >= 16 && n <= 19:
		return "unionpay"
	}
	return ""
}

// SSNs finds US social security numbers: AAA-GG-SSSS (dashes or spaces)
// anywhere, and a bare 9-digit number only after words such as "SSN" or
// "social security". Numbers the SSA never issues are not SSNs: area 000,
// 666 or 900–999, group 00, serial 0000.
func SSNs(text string) []Finding {
	_, out, _ := numbers(text, false, true, false)
	return out
}

func ssnAt(text string, r digitRun) (Finding, bool) {
	if r.n != 9 || !boundary(text, r.start, r.end) {
		return Finding{}, false
	}
	span := text[r.start:r.end]
	grouped := len(span) == 11 && (span[3] == '-' && span[6] == '-' || span[3] == ' ' && span[6] == ' ')
	if !grouped && (len(span) != 9 || !near(text, r.start, 40, "ssn", "social security", "soc sec", "ss#", "ss #", "taxpayer id", "tin")) {
		return Finding{}, false
	}
	d := r.digits(text)
	area, group, serial := d[:3], d[3:5], d[5:]
	if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
		return Finding{}, false
	}
	return Finding{Detector: SSN, Start: r.start, End: r.end}, true
}

// RoutingNumbers finds ABA routing transit numbers: 9 digits with a valid
// Federal Reserve prefix and the 3-7-1 weighted checksum, only near words
// such as "routing" or "ABA" (one 9-digit number in ten passes the
// checksum by chance).
func RoutingNumbers(text string) []Finding {
	_, _, out := numbers(text, false, false, true)
	return out
}

func abaAt(text string, r digitRun) (Finding, bool) {
	if r.n != 9 || !boundary(text, r.start, r.end) {
		return Finding{}, false
	}
	if !near(text, r.start, 40, "routing", "aba", "rtn", "transit", "wire to", "bank code") {
		return Finding{}, false
	}
	if abaValid(r.digits(text)) {
		return Finding{Detector: ABA, Start: r.start, End: r.end}, true
	}
	return Finding{}, false
}

func abaValid(d string) bool {
	pre := int(d[0]-'0')*10 + int(d[1]-'0')
	if !(pre <= 12 || pre >= 21 && pre <= 32 || pre >= 61 && pre <= 72 || pre == 80) {
		return false
	}
	w := []int{3, 7, 1, 3, 7, 1, 3, 7, 1}
	sum := 0
	for i := range 9 {
		sum += w[i] * int(d[i]-'0')
	}
	return sum%10 == 0
}

// ibanLengths is the IBAN length of each country in the SWIFT IBAN
// registry.
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
	"MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
	"RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

// IBANs finds International Bank Account Numbers, written compactly or in
// groups of four, whose length matches the country and whose mod-97 check
// gives 1. An IBAN with a bad checksum is not an IBAN.
func IBANs(text string) []Finding {
	var out []Finding
	for i := 0; i+4 <= len(text); i++ {
		// An IBAN's third byte is a digit: go to the next start where it is.
		if i = nextDigit(text, i+2) - 2; i+4 > len(text) {
			break
		}
		if !isUpper(text[i]) || !isUpper(text[i+1]) || !isDigit(text[i+2]) || !isDigit(text[i+3]) {
			continue
		}
		if i > 0 && (isLetter(text[i-1]) || isDigit(text[i-1])) {
			continue
		}
		want, ok := ibanLengths[text[i:i+2]]
		if !ok {
			continue
		}
		// Collect alphanumerics, allowing single spaces between groups.
		var b strings.Builder
		j := i
		for j < len(text) && b.Len() < want {
			c := text[j]
			switch {
			case isDigit(c) || isUpper(c):
				b.WriteByte(c)
				j++
			case c == ' ' && j+1 < len(text) && (isDigit(text[j+1]) || isUpper(text[j+1])) && b.Len()%4 == 0:
				j++
			default:
				goto done
			}
		}
	done:
		if b.Len() != want || !boundary(text, i, j) || !mod97(b.String()) {
			continue
		}
		out = append(out, Finding{Detector: IBAN, Start: i, End: j, Entry: text[i : i+2]})
		i = j - 1
	}
	return out
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// mod97 is the ISO 7064 check of ISO 13616: move the first four
// characters to the end, letters to numbers (A=10), the value mod 97 is 1.
func mod97(iban string) bool {
	s := iban[4:] + iban[:4]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isUpper(s[i]) {
			b.WriteString(big.NewInt(int64(s[i]-'A') + 10).String())
		} else {
			b.WriteByte(s[i])
		}
	}
	n, ok := new(big.Int).SetString(b.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}
