package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// The assistant's endpoints (a nats micro service, fxmatch-assistant).
const (
	SubjectAssistantScore     = "fxmatch.assistant.score"
	SubjectAssistantRecommend = "fxmatch.assistant.recommend"
	SubjectAssistantChat      = "fxmatch.assistant.chat"
)

// AssistantRequester asks the assistant: body (marshalled to JSON) to one
// of its endpoints, the answer's JSON back. An endpoint's refusal is an
// *AssistantError; anything else means the assistant was not reached.
type AssistantRequester interface {
	Request(ctx context.Context, subject string, body any) ([]byte, error)
}

// AssistantError is an error answer of the assistant's service: Code is
// micro's Nats-Service-Error-Code ("400" bad request, "404" nothing to
// answer yet, "500" failure).
type AssistantError struct {
	Code        string
	Description string
}

func (e *AssistantError) Error() string {
	return "assistant: " + e.Code + " " + e.Description
}

// NATSAssistant asks the assistant over a NATS connection (the venue's
// bus): the assistant may run inside the venue or anywhere on the bus.
type NATSAssistant struct{ NC *nats.Conn }

// Request implements AssistantRequester.
func (a NATSAssistant) Request(ctx context.Context, subject string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	msg, err := a.NC.RequestWithContext(ctx, subject, b)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, errors.New("no assistant is running on the bus")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return nil, errors.New("the assistant did not answer in time")
	case err != nil:
		return nil, fmt.Errorf("NATS: %w", err)
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		return nil, &AssistantError{Code: code, Description: msg.Header.Get("Nats-Service-Error")}
	}
	return msg.Data, nil
}
