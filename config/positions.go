package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// The TOML decoder reports positions for syntax and type errors only; it
// does not say where a key it did not decode, or a value that fails
// validation, was written. keyLines recovers that with a line scan of the
// file's own shape: [table] and [[array]] headers and "key = value" lines.
// It is best effort and only feeds error messages: a line it cannot place
// makes the message lose its line number, nothing else. (Inline tables and
// dotted keys, which this format does not use, are not placed.)

// keyLines maps indexed key paths ("participant[2].smp", "venue",
// "holidays.USD") to the 1-based line they are written on.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	count := map[string]int{}
	header := ""
	depth := 0 // open brackets of a multi-line array value
	for i, raw := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(raw)
		if j := strings.IndexByte(t, '#'); j >= 0 && !strings.ContainsAny(t[:j], `"'`) {
			t = strings.TrimSpace(t[:j])
		}
		if t == "" {
			continue
		}
		if depth > 0 {
			depth += strings.Count(t, "[") - strings.Count(t, "]")
			continue
		}
		switch {
		case strings.HasPrefix(t, "[["):
			name := strings.TrimSpace(strings.Trim(t, "[] "))
			header = fmt.Sprintf("%s[%d]", name, count[name])
			count[name]++
			lines[header] = i + 1
		case strings.HasPrefix(t, "["):
			header = strings.TrimSpace(strings.Trim(t, "[] "))
			lines[header] = i + 1
		default:
			key, val, ok := strings.Cut(t, "=")
			if !ok {
				continue
			}
			key = strings.Trim(strings.TrimSpace(key), `"'`)
			path := key
			if header != "" {
				path = header + "." + key
			}
			if _, seen := lines[path]; !seen {
				lines[path] = i + 1
			}
			depth = strings.Count(val, "[") - strings.Count(val, "]")
			if depth < 0 {
				depth = 0
			}
		}
	}
	return lines
}

var indexRE = regexp.MustCompile(`\[[0-9]+\]`)

// locate finds the indexed path and line of a decoder key, which carries
// no array indices: the first written key that matches wins.
func (c *Config) locate(k toml.Key) (string, int) {
	want := k.String()
	best, bestLine := want, 0
	for path, line := range c.lines {
		if indexRE.ReplaceAllString(path, "") == want && (bestLine == 0 || line < bestLine) {
			best, bestLine = path, line
		}
	}
	return best, bestLine
}

// lineOf is the line of path, or of the nearest enclosing key that was
// written (a missing key is reported at its table's header).
func (c *Config) lineOf(path string) int {
	for path != "" {
		if l, ok := c.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// errf builds the *Error for key path with its value as written.
func (c *Config) errf(path, value, format string, args ...any) error {
	return &Error{File: c.source, Line: c.lineOf(path), Key: path, Value: value, Msg: fmt.Sprintf(format, args...)}
}
