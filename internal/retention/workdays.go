package retention

import (
	"fmt"
	"time"
)

// Holiday is one legal public holiday as observed by federal employees.
type Holiday struct {
	Name string
	// Date is the day off (the observed day when the holiday falls on a
	// weekend), at midnight UTC.
	Date time.Time
}

// FederalHolidays lists the legal public holidays of 5 U.S.C. 6103(a) in
// year, on the days they are observed: a Saturday holiday is observed the
// Friday before, a Sunday one the Monday after (5 U.S.C. 6103(b), Executive
// Order 11582). Inauguration Day is left out: it is a holiday only in the
// Washington, D.C. area. Juneteenth counts from 2021, when it became law.
// An observed day can fall in the neighbouring year (1 January on a
// Saturday is observed on 31 December); it is listed under the year whose
// holiday it is.
func FederalHolidays(year int) []Holiday {
	d := func(m time.Month, day int) time.Time { return time.Date(year, m, day, 0, 0, 0, 0, time.UTC) }
	// nth returns the nth weekday of month m (n = -1: the last).
	nth := func(m time.Month, wd time.Weekday, n int) time.Time {
		if n < 0 {
			t := d(m+1, 1).AddDate(0, 0, -1)
			for t.Weekday() != wd {
				t = t.AddDate(0, 0, -1)
			}
			return t
		}
		t := d(m, 1)
		for t.Weekday() != wd {
			t = t.AddDate(0, 0, 1)
		}
		return t.AddDate(0, 0, 7*(n-1))
	}
	observed := func(t time.Time) time.Time {
		switch t.Weekday() {
		case time.Saturday:
			return t.AddDate(0, 0, -1)
		case time.Sunday:
			return t.AddDate(0, 0, 1)
		}
		return t
	}
	hs := []Holiday{
		{"New Year's Day", observed(d(time.January, 1))},
		{"Birthday of Martin Luther King, Jr.", nth(time.January, time.Monday, 3)},
		{"Washington's Birthday", nth(time.February, time.Monday, 3)},
		{"Memorial Day", nth(time.May, time.Monday, -1)},
	}
	if year >= 2021 {
		hs = append(hs, Holiday{"Juneteenth National Independence Day", observed(d(time.June, 19))})
	}
	return append(hs,
		Holiday{"Independence Day", observed(d(time.July, 4))},
		Holiday{"Labor Day", nth(time.September, time.Monday, 1)},
		Holiday{"Columbus Day", nth(time.October, time.Monday, 2)},
		Holiday{"Veterans Day", observed(d(time.November, 11))},
		Holiday{"Thanksgiving Day", nth(time.November, time.Thursday, 4)},
		Holiday{"Christmas Day", observed(d(time.December, 25))},
	)
}

// IsWorkingDay reports whether the calendar day of t (in t's location) is
// a federal working day: not a Saturday, Sunday or observed holiday.
func IsWorkingDay(t time.Time) bool {
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	// The next year's New Year's Day can be observed on 31 December.
	for _, y := range []int{t.Year(), t.Year() + 1} {
		for _, h := range FederalHolidays(y) {
			if h.Date.Equal(day) {
				return false
			}
		}
	}
	return true
}

// AddWorkingDays returns the calendar date n working days after received,
// counted the way FOIA counts its 20-day limit (5 U.S.C. 552(a)(6)(A)):
// the day of receipt is not counted, weekends and legal public holidays
// are skipped. The date is that of received's location; the result is the
// end of that day in the same location (a deadline, not an instant).
func AddWorkingDays(received time.Time, n int) (time.Time, error) {
	if n < 0 {
		return time.Time{}, fmt.Errorf("working days: %d is negative", n)
	}
	loc := received.Location()
	day := time.Date(received.Year(), received.Month(), received.Day(), 0, 0, 0, 0, loc)
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if IsWorkingDay(day) {
			n--
		}
	}
	return day.AddDate(0, 0, 1).Add(-time.Nanosecond), nil
}
