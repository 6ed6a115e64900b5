package engine

import "time"

// Valid reports whether d is a real calendar date.
func (d Date) Valid() bool {
	y, m, day := int(d/10000), int(d/100%100), int(d%100)
	if y < 1970 || y > 9999 || m < 1 || m > 12 || day < 1 {
		return false
	}
	t := time.Date(y, time.Month(m), day, 0, 0, 0, 0, time.UTC)
	return t.Day() == day
}

// Time returns midnight UTC of d. Pure arithmetic: no clock is read.
func (d Date) Time() time.Time {
	return time.Date(int(d/10000), time.Month(d/100%100), int(d%100), 0, 0, 0, 0, time.UTC)
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date(y*10000 + int(m)*100 + d)
}

// AddDays returns d plus n calendar days.
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.Time().Weekday() }

// calendar answers "is this a business day" for a set of currencies.
type calendar struct {
	holidays map[string]map[Date]bool
}

func newCalendar(h map[string][]Date) calendar {
	c := calendar{holidays: make(map[string]map[Date]bool, len(h))}
	for ccy, days := range h {
		m := make(map[Date]bool, len(days))
		for _, d := range days {
			m[d] = true
		}
		c.holidays[ccy] = m
	}
	return c
}

func (c calendar) businessDay(d Date, ccys ...string) bool {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	for _, ccy := range ccys {
		if c.holidays[ccy][d] {
			return false
		}
	}
	return true
}

// SpotDate is the SPOT value date of a trade in base/term made on trade date
// t: two business days of both currencies after t, then moved forward until
// it is also a USD business day (the market convention for settling through
// USD).
func (c calendar) SpotDate(t Date, base, term string) Date {
	d := t
	for n := 0; n < 2; {
		d = d.AddDays(1)
		if c.businessDay(d, base, term) {
			n++
		}
	}
	for !c.businessDay(d, base, term, "USD") {
		d = d.AddDays(1)
	}
	return d
}
