package policy

import (
	"strconv"
	"strings"
	"time"
)

// number is a numeric condition value: exact for integers, float otherwise.
type number struct {
	i     int64
	f     float64
	isInt bool
}

func parseNumber(s string) (number, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return number{i: i, f: float64(i), isInt: true}, true
	}
	if !isDecimal(s) {
		return number{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return number{}, false
	}
	return number{f: f}, true
}

// isDecimal accepts optional sign, digits, optional fraction and exponent,
// and nothing ParseFloat would also take, such as "Inf" or hex floats.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// cmp returns -1, 0 or 1.
func (a number) cmp(b number) int {
	if a.isInt && b.isInt {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	switch {
	case a.f < b.f:
		return -1
	case a.f > b.f:
		return 1
	}
	return 0
}

// parseDate reads the date forms IAM accepts: epoch seconds, or ISO 8601
// ("2020-01-01", "2020-01-01T12:00Z", "2020-01-01T12:00:00.123+02:00", …).
// A time without a zone is UTC. It does not allocate.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if allDigits(s) {
		if len(s) > 12 {
			// Beyond year 33658 in seconds: not a date IAM would hold.
			return time.Time{}, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	i := 0
	num := func(width int) (int, bool) {
		if i+width > len(s) {
			return 0, false
		}
		v := 0
		for k := 0; k < width; k++ {
			c := s[i+k]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		i += width
		return v, true
	}
	year, ok := num(4)
	if !ok {
		return time.Time{}, false
	}
	month, day := 1, 1
	if i < len(s) && s[i] == '-' {
		i++
		if month, ok = num(2); !ok || month < 1 || month > 12 {
			return time.Time{}, false
		}
		if i < len(s) && s[i] == '-' {
			i++
			if day, ok = num(2); !ok || day < 1 || day > daysIn(month, year) {
				return time.Time{}, false
			}
		}
	}
	hour, minute, sec, nsec := 0, 0, 0, 0
	loc := time.UTC
	offset := 0
	if i < len(s) && (s[i] == 'T' || s[i] == 't') {
		i++
		if hour, ok = num(2); !ok || hour > 23 {
			return time.Time{}, false
		}
		if i < len(s) && s[i] == ':' {
			i++
			if minute, ok = num(2); !ok || minute > 59 {
				return time.Time{}, false
			}
			if i < len(s) && s[i] == ':' {
				i++
				if sec, ok = num(2); !ok || sec > 59 {
					return time.Time{}, false
				}
				if i < len(s) && s[i] == '.' {
					i++
					start := i
					scale := 100000000
					for i < len(s) && s[i] >= '0' && s[i] <= '9' {
						if i-start < 9 {
							nsec += int(s[i]-'0') * scale
							scale /= 10
						}
						i++
					}
					if i == start {
						return time.Time{}, false
					}
				}
			}
		}
		if i < len(s) {
			switch s[i] {
			case 'Z', 'z':
				i++
			case '+', '-':
				sign := 1
				if s[i] == '-' {
					sign = -1
				}
				i++
				oh, ok := num(2)
				if !ok || oh > 23 {
					return time.Time{}, false
				}
				om := 0
				if i < len(s) && s[i] == ':' {
					i++
				}
				if i < len(s) {
					if om, ok = num(2); !ok || om > 59 {
						return time.Time{}, false
					}
				}
				offset = sign * (oh*3600 + om*60)
			}
		}
	} else if i < len(s) && (s[i] == 'Z' || s[i] == 'z') {
		i++
	}
	if i != len(s) {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	return t.Add(-time.Duration(offset) * time.Second), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseBool reads "true" or "false" in any case.
func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// legacyDate is IAM's looser check of a date condition value at save time:
// an epoch of any size that fits 63 bits, or an ISO 8601 form whose fields
// may have fewer digits than the evaluator reads.
func legacyDate(s string) bool {
	l := strings.ToLower(s)
	if !strings.ContainsAny(l, "t-") {
		n, err := strconv.ParseInt(s, 10, 64)
		return err == nil && n >= 0
	}
	datePart, timePart, _ := strings.Cut(l, "t")
	neg := strings.HasPrefix(datePart, "-")
	if neg {
		datePart = datePart[1:]
	}
	fields := strings.Split(datePart, "-")
	if len(fields) > 3 {
		return false
	}
	limits := [][2]int{{-292275054, 292278993}, {1, 12}, {1, 31}}
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil {
			return false
		}
		if i == 0 && neg {
			n = -n
		}
		if n < limits[i][0] || n > limits[i][1] {
			return false
		}
	}
	if timePart == "" {
		return true
	}
	inRange := func(f string, hi int) bool {
		n, err := strconv.Atoi(f)
		return err == nil && n >= 0 && n <= hi
	}
	// The zone: z, +hh or +hh:mm.
	if i := strings.IndexAny(timePart, "z+"); i >= 0 {
		zone := timePart[i:]
		timePart = timePart[:i]
		if zone != "z" {
			hh, mm, hasMin := strings.Cut(zone[1:], ":")
			if len(hh) != 2 || !inRange(hh, 23) || hasMin && (len(mm) != 2 || !inRange(mm, 59)) {
				return false
			}
		}
	}
	tf := strings.Split(timePart, ":")
	if len(tf) > 3 {
		return false
	}
	if !inRange(tf[0], 23) {
		return false
	}
	if len(tf) > 1 && !inRange(tf[1], 59) {
		return false
	}
	if len(tf) > 2 {
		sec, frac, _ := strings.Cut(tf[2], ".")
		if !inRange(sec, 59) || (frac != "" && !allDigits(frac)) {
			return false
		}
	}
	return true
}
