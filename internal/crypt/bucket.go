package crypt

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxClassLen is the longest retention class name.
const MaxClassLen = 64

const dayLayout = "2006-01-02"

// ErrBadBucket is wrapped by every error about a malformed bucket or class
// name.
var ErrBadBucket = errors.New("bad bucket name")

// BucketName returns the bucket of records of retention class class captured
// at t: "class/YYYY-MM-DD", the day taken in UTC. It does not validate class;
// Seal and ParseBucket do.
func BucketName(class string, t time.Time) string {
	// Seal calls this for every record: appending the digits is several
	// times cheaper than time.Format and gives the same text for years
	// 0000-9999 (Seal refuses times outside Unix nanoseconds anyway).
	y, m, d := t.UTC().Date()
	if y < 0 || y > 9999 {
		return class + "/" + t.UTC().Format(dayLayout)
	}
	b := make([]byte, 0, len(class)+11)
	b = append(b, class...)
	b = append(b, '/', byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10),
		'-', byte('0'+int(m)/10), byte('0'+int(m)%10), '-', byte('0'+d/10), byte('0'+d%10)) // #nosec G115 -- single decimal digits of a month and a day
	return string(b)
}

// ParseBucket splits a bucket name into its retention class and its UTC day
// (midnight). Names are strict: class matches [a-z0-9_-]{1,64} and the day is
// exactly YYYY-MM-DD. Bucket names become file paths in the keystore, so
// nothing else is accepted.
func ParseBucket(name string) (class string, day time.Time, err error) {
	class, date, ok := strings.Cut(name, "/")
	if !ok {
		return "", time.Time{}, fmt.Errorf("%w %q: want class/YYYY-MM-DD", ErrBadBucket, name)
	}
	if err := checkClass(class); err != nil {
		return "", time.Time{}, fmt.Errorf("bucket %q: %w", name, err)
	}
	day, err = parseDay(date)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w %q: %v", ErrBadBucket, name, err)
	}
	return class, day, nil
}

func parseDay(date string) (time.Time, error) {
	day, err := time.Parse(dayLayout, date)
	if err != nil {
		return time.Time{}, fmt.Errorf("day %q is not YYYY-MM-DD", date)
	}
	// time.Parse is lenient in places (it accepts some non-canonical
	// forms); insist on the one spelling we write.
	if day.Format(dayLayout) != date {
		return time.Time{}, fmt.Errorf("day %q is not in canonical YYYY-MM-DD form", date)
	}
	return day, nil
}

// checkClass validates a retention class name: [a-z0-9_-]{1,64}.
func checkClass(class string) error {
	if len(class) == 0 || len(class) > MaxClassLen {
		return fmt.Errorf("%w: retention class %q must be 1 to %d characters", ErrBadBucket, class, MaxClassLen)
	}
	for i := 0; i < len(class); i++ {
		c := class[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w: retention class %q may only hold a-z, 0-9, _ and -", ErrBadBucket, class)
		}
	}
	return nil
}
