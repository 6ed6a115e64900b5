package service

import (
	"encoding/json"
	"errors"
)

// errNotFlat: the fast decoder met something it leaves to encoding/json
// (an escape, a nested value, a syntax error), which then decides, with
// its own error message.
var errNotFlat = errors.New("not a flat object")

// decodeScoreRequest decodes a score request body. The common body — a
// flat object of plain strings, numbers and booleans, as the venue's gate
// writes it (ScoreRequest.AppendJSON) — is read by hand: one string
// conversion of the body, every field a substring of it, no reflection
// (encoding/json spends more time on it than the scorer on the order).
// Anything else goes to encoding/json, so that every body it accepts is
// accepted, and every body it refuses is refused with its message.
func decodeScoreRequest(data []byte, r *ScoreRequest) error {
	*r = ScoreRequest{}
	if err := decodeFlat(data, r); err == nil {
		return nil
	}
	*r = ScoreRequest{}
	return json.Unmarshal(data, r)
}

func decodeFlat(data []byte, r *ScoreRequest) error {
	s := string(data)
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return errNotFlat
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return trailing(s, i+1)
	}
	for {
		key, j, ok := plainString(s, i)
		if !ok {
			return errNotFlat
		}
		i = skipWS(s, j)
		if i >= len(s) || s[i] != ':' {
			return errNotFlat
		}
		i = skipWS(s, i+1)
		if i >= len(s) {
			return errNotFlat
		}
		var val string
		isStr := false
		switch c := s[i]; {
		case c == '"':
			if val, j, ok = plainString(s, i); !ok {
				return errNotFlat
			}
			isStr = true
		case c == '-' || c >= '0' && c <= '9':
			j = i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == '-' || s[j] == '+' || s[j] == 'e' || s[j] == 'E') {
				j++
			}
			val = s[i:j]
		case c == 't' || c == 'f':
			switch {
			case len(s)-i >= 4 && s[i:i+4] == "true":
				val, j = "true", i+4
			case len(s)-i >= 5 && s[i:i+5] == "false":
				val, j = "false", i+5
			default:
				return errNotFlat
			}
		default:
			return errNotFlat // null, objects, arrays: encoding/json's business
		}
		if err := r.set(key, val, isStr); err != nil {
			return err
		}
		i = skipWS(s, j)
		if i >= len(s) {
			return errNotFlat
		}
		if s[i] == '}' {
			return trailing(s, i+1)
		}
		if s[i] != ',' {
			return errNotFlat
		}
		i = skipWS(s, i+1)
	}
}

// set assigns one field; a value of the wrong JSON type, or a key seen in
// another case (encoding/json matches keys case-insensitively), is left to
// encoding/json.
func (r *ScoreRequest) set(key, val string, isStr bool) error {
	var dst *string
	switch key {
	case "participant":
		dst = &r.Participant
	case "account":
		dst = &r.Account
	case "cl_ord_id":
		dst = &r.ClOrdID
	case "orig_cl_ord_id":
		dst = &r.OrigClOrdID
	case "symbol":
		dst = &r.Symbol
	case "side":
		dst = &r.Side
	case "ord_type":
		dst = &r.OrdType
	case "tif":
		dst = &r.TIF
	case "channel":
		dst = &r.Channel
	case "source":
		dst = &r.Source
	case "session":
		dst = &r.Session
	case "time":
		dst = &r.Time
	case "qty", "price", "mid":
		n := Num(val)
		if !isStr {
			if _, err := n.Float(); err != nil || val == "" {
				return errNotFlat
			}
		}
		switch key {
		case "qty":
			r.Qty = n
		case "price":
			r.Price = n
		default:
			r.Mid = n
		}
		return nil
	case "preview":
		if isStr || (val != "true" && val != "false") {
			return errNotFlat
		}
		r.Preview = val == "true"
		return nil
	default:
		for k := 0; k < len(key); k++ {
			if c := key[k]; c >= 'A' && c <= 'Z' {
				return errNotFlat
			}
		}
		return nil // an unknown field, ignored as encoding/json would
	}
	if !isStr {
		return errNotFlat
	}
	*dst = val
	return nil
}

// plainString reads a JSON string at s[i] with no escapes and no control
// characters, returning its contents and the index after it.
func plainString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return s[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			// Escapes need unquoting and non-ASCII needs UTF-8 checking:
			// encoding/json does both.
			return "", j, false
		}
	}
	return "", len(s), false
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func trailing(s string, i int) error {
	if skipWS(s, i) != len(s) {
		return errNotFlat
	}
	return nil
}
