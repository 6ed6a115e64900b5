package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Problem is an RFC 9457 problem body. Every error the API returns is one,
// with Content-Type application/problem+json, so a client has one way to
// read every failure: Type (a stable URI per kind of problem), Title (its
// name), Status, Detail (this occurrence in words, naming the bad value),
// Field (the JSON member at fault, as a path: "tiers[1].qty") and Reason
// (for an order the engine refused, the engine's reason keyword:
// "price-not-tick", "risk", …). Extra members (e.g. "risk_reasons") go to
// the top level of the body.
type Problem struct {
	Type, Title string
	Status      int
	Detail      string
	Field       string
	Reason      string
	Extra       map[string]any
}

// problemBase prefixes the problem type URIs. They are URNs rather than
// links: nothing is served at them, and RFC 9457 only needs them stable.
const problemBase = "urn:fxmatch:problem:"

// Problem kinds used across the API. Other groups may add their own with
// newProblem.
func newProblem(status int, slug, title, detail string) Problem {
	return Problem{Type: problemBase + slug, Title: title, Status: status, Detail: detail}
}

func badRequest(field, detail string) Problem {
	p := newProblem(http.StatusBadRequest, "invalid-request", "Invalid request", detail)
	p.Field = field
	return p
}

func notFound(detail string) Problem {
	return newProblem(http.StatusNotFound, "not-found", "Not found", detail)
}

// writeProblem writes pr as the response. The instance is the request's
// path.
func writeProblem(w http.ResponseWriter, r *http.Request, pr Problem) {
	if pr.Status == 0 {
		pr.Status = http.StatusInternalServerError
	}
	if pr.Type == "" {
		pr.Type = "about:blank"
	}
	if pr.Title == "" {
		pr.Title = http.StatusText(pr.Status)
	}
	body := make(map[string]any, 8+len(pr.Extra))
	for k, v := range pr.Extra {
		body[k] = v
	}
	body["type"] = pr.Type
	body["title"] = pr.Title
	body["status"] = pr.Status
	if pr.Detail != "" {
		body["detail"] = pr.Detail
	}
	if r != nil {
		body["instance"] = r.URL.Path
	}
	if pr.Field != "" {
		body["field"] = pr.Field
	}
	if pr.Reason != "" {
		body["reason"] = pr.Reason
	}
	b, err := json.Marshal(body)
	if err != nil {
		b = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
		pr.Status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(pr.Status)
	w.Write(append(b, '\n'))
}

// writeJSON writes v as a JSON response with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, nil, newProblem(http.StatusInternalServerError, "internal", "Internal error", "the response could not be encoded"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decodeJSON reads the request body strictly into dst: the Content-Type
// must be application/json (415), the body at most Options.BodyMax bytes
// (413), one JSON value with no unknown members and no trailing data, each
// member of the right type (400 naming the member). On failure it has
// written the problem and returns false. dst's fields should be pointers
// or types whose zero value means "absent" so the handler can tell a
// missing field (and name it) from a given one.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			writeProblem(w, r, newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
				fmt.Sprintf("Content-Type %q: the body must be application/json", ct)))
			return false
		}
	}
	body := http.MaxBytesReader(w, r.Body, s.opts.BodyMax)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		writeProblem(w, r, s.jsonProblem(err))
		return false
	}
	// One value only: trailing bytes would mean the client and the server
	// disagree about what was sent.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeProblem(w, r, s.jsonProblem(err))
			return false
		}
		writeProblem(w, r, badRequest("", "the body holds more than one JSON value"))
		return false
	}
	return true
}

// jsonProblem names what is wrong with a body encoding/json refused.
func (s *Server) jsonProblem(err error) Problem {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return newProblem(http.StatusRequestEntityTooLarge, "body-too-large", "Request body too large",
			"the body exceeds "+strconv.FormatInt(mbe.Limit, 10)+" bytes")
	case errors.Is(err, io.EOF):
		return badRequest("", "the body is empty: a JSON object is expected")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "the body ends in the middle of a JSON value")
	case errors.As(err, &syn):
		return badRequest("", fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: ")))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return badRequest("", "the body must be a JSON object, not "+typ.Value)
		}
		return badRequest(field, fmt.Sprintf("%s must be %s, not %s", field, jsonTypeName(typ.Type.String()), typ.Value))
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f, _ = strconv.Unquote(f)
		return badRequest(f, fmt.Sprintf("unknown member %q (see /openapi.json for the body's members)", f))
	}
	return badRequest("", "invalid JSON: "+strings.TrimPrefix(err.Error(), "json: "))
}

// jsonTypeName says a Go type as the JSON a client should send.
func jsonTypeName(goType string) string {
	goType = strings.TrimPrefix(goType, "*")
	switch {
	case goType == "string" || strings.HasSuffix(goType, "Dec"):
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map"):
		return "an object"
	}
	return "an object"
}
