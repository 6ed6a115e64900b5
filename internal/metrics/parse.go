package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ErrSyntax wraps every error of Parse, which names the line.
var ErrSyntax = errors.New("metrics: bad exposition")

// Family is one metric family read by Parse.
type Family struct {
	Name, Help, Type string
	Samples          []Sample
}

// Sample is one sample line.
type Sample struct {
	Name   string // the family name, or name_bucket/_sum/_count of a histogram
	Labels []Label
	Value  float64
}

// Label returns the value of label name ("" if absent).
func (s *Sample) Label(name string) string {
	for _, l := range s.Labels {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// Parse reads the Prometheus text exposition format strictly: more
// strictly than Prometheus itself, because it checks what fxmatch promises
// rather than what a scraper tolerates.
//
//   - every family has exactly one # HELP and one # TYPE line, before its
//     first sample; TYPE is counter, gauge or histogram;
//   - the samples of a family are contiguous and no series (name and
//     label set) appears twice;
//   - names and label names match the format's grammar, label values are
//     quoted with only \\, \" and \n escapes, values are Go floats or
//     NaN/+Inf/-Inf, no timestamps;
//   - counters are not negative and are named *_total;
//   - a histogram has, per label set, _bucket lines with strictly
//     increasing le ending at +Inf and non-decreasing counts, a _sum, and
//     a _count equal to the +Inf bucket.
//
// Comments other than HELP and TYPE, and blank lines, are allowed.
func Parse(text string) ([]Family, error) {
	var fams []Family
	byName := map[string]int{}
	seen := map[string]bool{} // series keys
	var cur *Family
	lines := strings.Split(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else if text != "" {
		return nil, fmt.Errorf("%w: the last line has no newline", ErrSyntax)
	}
	for ln, line := range lines {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: line %d %q: %s", ErrSyntax, ln+1, line, fmt.Sprintf(format, args...))
		}
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE "):
			kw := line[2:6]
			rest := line[7:]
			name, arg, ok := strings.Cut(rest, " ")
			if !ok || !validName(name, true) {
				return nil, bad("%s needs a metric name and text", kw)
			}
			i, exists := byName[name]
			if !exists {
				fams = append(fams, Family{Name: name})
				i = len(fams) - 1
				byName[name] = i
			}
			f := &fams[i]
			if len(f.Samples) > 0 {
				return nil, bad("%s of %s after its samples", kw, name)
			}
			if exists && cur != f {
				return nil, bad("%s of %s apart from its other header line", kw, name)
			}
			if kw == "HELP" {
				if f.Help != "" {
					return nil, bad("second HELP of %s", name)
				}
				h, err := unescape(arg, false)
				if err != nil || h == "" {
					return nil, bad("HELP text: empty or bad escape")
				}
				f.Help = h
			} else {
				if f.Type != "" {
					return nil, bad("second TYPE of %s", name)
				}
				switch arg {
				case "counter", "gauge", "histogram":
				default:
					return nil, bad("TYPE %q (want counter, gauge or histogram)", arg)
				}
				if arg == "counter" && !strings.HasSuffix(name, "_total") {
					return nil, bad("counter %s is not named *_total", name)
				}
				f.Type = arg
			}
			cur = f
		case strings.HasPrefix(line, "#"):
			continue
		default:
			s, err := parseSample(line)
			if err != nil {
				return nil, bad("%v", err)
			}
			fam := familyOf(s.Name, byName, fams)
			if fam < 0 {
				return nil, bad("sample of %s before its HELP and TYPE", s.Name)
			}
			f := &fams[fam]
			if f.Help == "" || f.Type == "" {
				return nil, bad("family %s lacks HELP or TYPE", f.Name)
			}
			if cur != f {
				return nil, bad("samples of %s are not contiguous", f.Name)
			}
			if f.Type != "histogram" && s.Name != f.Name {
				return nil, bad("sample %s in family %s", s.Name, f.Name)
			}
			if f.Type == "counter" && (s.Value < 0 || math.IsNaN(s.Value)) {
				return nil, bad("counter value %v", s.Value)
			}
			key := seriesKey(s)
			if seen[key] {
				return nil, bad("series appears twice")
			}
			seen[key] = true
			f.Samples = append(f.Samples, s)
		}
	}
	for i := range fams {
		f := &fams[i]
		if f.Help == "" || f.Type == "" {
			return nil, fmt.Errorf("%w: family %s lacks HELP or TYPE", ErrSyntax, f.Name)
		}
		if f.Type == "histogram" {
			if err := checkHistogram(f); err != nil {
				return nil, err
			}
		}
	}
	return fams, nil
}

// familyOf finds the family of a sample name: itself, or a histogram's
// name_bucket / name_sum / name_count.
func familyOf(name string, byName map[string]int, fams []Family) int {
	if i, ok := byName[name]; ok && fams[i].Type != "histogram" {
		return i
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok {
			if i, ok := byName[base]; ok && fams[i].Type == "histogram" {
				return i
			}
		}
	}
	if i, ok := byName[name]; ok {
		return i // a histogram sampled under its bare name: rejected by the caller
	}
	return -1
}

func seriesKey(s Sample) string {
	ls := slices.Clone(s.Labels)
	slices.SortFunc(ls, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	var b strings.Builder
	b.WriteString(s.Name)
	for _, l := range ls {
		b.WriteString("\x00" + l.Name + "\x01" + l.Value)
	}
	return b.String()
}

// checkHistogram checks each label set's buckets, sum and count.
func checkHistogram(f *Family) error {
	type series struct {
		les      []float64
		counts   []float64
		sum, cnt bool
		count    float64
	}
	by := map[string]*series{}
	var order []string
	get := func(s *Sample) *series {
		ls := slices.DeleteFunc(slices.Clone(s.Labels), func(l Label) bool { return l.Name == "le" })
		k := seriesKey(Sample{Labels: ls})
		if by[k] == nil {
			by[k] = &series{}
			order = append(order, k)
		}
		return by[k]
	}
	for i := range f.Samples {
		s := &f.Samples[i]
		sr := get(s)
		switch s.Name {
		case f.Name + "_bucket":
			le := s.Label("le")
			v, err := parseValue(le)
			if le == "" || err != nil {
				return fmt.Errorf("%w: %s bucket with le %q", ErrSyntax, f.Name, le)
			}
			if n := len(sr.les); n > 0 && (v <= sr.les[n-1] || s.Value < sr.counts[n-1]) {
				return fmt.Errorf("%w: %s buckets not increasing at le %q", ErrSyntax, f.Name, le)
			}
			sr.les = append(sr.les, v)
			sr.counts = append(sr.counts, s.Value)
		case f.Name + "_sum":
			sr.sum = true
		case f.Name + "_count":
			sr.cnt, sr.count = true, s.Value
		default:
			return fmt.Errorf("%w: sample %s in histogram %s", ErrSyntax, s.Name, f.Name)
		}
	}
	for _, k := range order {
		sr := by[k]
		n := len(sr.les)
		switch {
		case n == 0 || !math.IsInf(sr.les[n-1], 1):
			return fmt.Errorf("%w: histogram %s has no +Inf bucket", ErrSyntax, f.Name)
		case !sr.sum || !sr.cnt:
			return fmt.Errorf("%w: histogram %s lacks _sum or _count", ErrSyntax, f.Name)
		case sr.count != sr.counts[n-1]:
			return fmt.Errorf("%w: histogram %s: _count %v but the +Inf bucket %v", ErrSyntax, f.Name, sr.count, sr.counts[n-1])
		}
	}
	return nil
}

func parseSample(line string) (Sample, error) {
	var s Sample
	i := 0
	for i < len(line) && line[i] != '{' && line[i] != ' ' {
		i++
	}
	s.Name = line[:i]
	if !validName(s.Name, true) {
		return s, fmt.Errorf("metric name %q", s.Name)
	}
	if i < len(line) && line[i] == '{' {
		i++
		for {
			if i < len(line) && line[i] == '}' {
				i++
				break
			}
			j := i
			for j < len(line) && line[j] != '=' {
				j++
			}
			name := line[i:j]
			if !validName(name, false) {
				return s, fmt.Errorf("label name %q", name)
			}
			if j+1 >= len(line) || line[j+1] != '"' {
				return s, fmt.Errorf("label %s: value not quoted", name)
			}
			k := j + 2
			for k < len(line) && line[k] != '"' {
				if line[k] == '\\' {
					k++
				}
				k++
			}
			if k >= len(line) {
				return s, fmt.Errorf("label %s: unterminated value", name)
			}
			val, err := unescape(line[j+2:k], true)
			if err != nil {
				return s, fmt.Errorf("label %s: %v", name, err)
			}
			for _, l := range s.Labels {
				if l.Name == name {
					return s, fmt.Errorf("label %s twice", name)
				}
			}
			s.Labels = append(s.Labels, Label{name, val})
			i = k + 1
			if i < len(line) && line[i] == ',' {
				i++
				continue
			}
			if i < len(line) && line[i] == '}' {
				i++
				break
			}
			return s, fmt.Errorf("after label %s: want , or }", name)
		}
	}
	if i >= len(line) || line[i] != ' ' {
		return s, errors.New("no space before the value")
	}
	rest := line[i+1:]
	if strings.Contains(rest, " ") {
		return s, errors.New("a timestamp or extra field after the value")
	}
	v, err := parseValue(rest)
	if err != nil {
		return s, err
	}
	s.Value = v
	return s, nil
}

func parseValue(t string) (float64, error) {
	switch t {
	case "+Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	if t == "" || strings.ContainsAny(t, "_xXpP") || strings.EqualFold(t, "inf") || strings.EqualFold(t, "infinity") {
		return 0, fmt.Errorf("value %q", t)
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q", t)
	}
	return v, nil
}

func validName(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || (i > 0 && c >= '0' && c <= '9') || (colon && c == ':')
		if !ok {
			return false
		}
	}
	return true
}

func unescape(s string, quoted bool) (string, error) {
	if !strings.Contains(s, `\`) {
		if quoted && strings.Contains(s, `"`) {
			return "", errors.New("unescaped quote")
		}
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			if c == '"' && quoted {
				return "", errors.New("unescaped quote")
			}
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", errors.New("trailing backslash")
		}
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case '"':
			if !quoted {
				return "", errors.New(`\" outside a label value`)
			}
			b.WriteByte('"')
		default:
			return "", fmt.Errorf("escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

// Value finds the sample of the named series (labels must match
// exactly, in any order) in parsed families.
func Value(fams []Family, name string, labels ...Label) (float64, bool) {
	want := seriesKey(Sample{Name: name, Labels: labels})
	for i := range fams {
		for k := range fams[i].Samples {
			if seriesKey(fams[i].Samples[k]) == want {
				return fams[i].Samples[k].Value, true
			}
		}
	}
	return 0, false
}
