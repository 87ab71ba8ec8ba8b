package consent

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"
)

// The sent ledger (docs/consent-file.md, "Recording what was sent"): one JSON line per
// payload a framework sent, in the user state directory, which `usagectl show-last`
// and `usagectl verify` read.

// Outcomes and delivery states a ledger line may carry.
const (
	OutcomeSent   = "sent"
	OutcomeFailed = "failed"

	DeliveryDelivered    = "delivered"     // any HTTP response: the server received the bytes
	DeliveryNotDelivered = "not-delivered" // it failed before the request was written
	DeliveryUnknown      = "unknown"
)

// Sent describes one send attempt.
type Sent struct {
	Framework   string
	Destination string
	Body        []byte // the exact bytes that went on the wire
	Outcome     string // OutcomeSent (default) or OutcomeFailed
	Reason      string // why it failed, for OutcomeFailed
	Delivery    string // "" (not said), or one of the Delivery* states
	HTTPStatus  int    // 0: none
	Identifiers map[string]string
	When        time.Time // zero: now
}

// UserStateDir is usagectl's state directory (USAGECTL_STATE_DIR moves it).
func UserStateDir(env Getenv) string {
	return userDir(env, "USAGECTL_STATE_DIR", "XDG_STATE_HOME", ".local", "state")
}

// LedgerPath is the sent ledger.
func LedgerPath(env Getenv) string { return filepath.Join(UserStateDir(env), "sent.jsonl") }

// RecordSent appends one line to the sent ledger. It never panics; an error says the
// line was not recorded (a telemetry log must not break the program that sends).
func RecordSent(s Sent) error { return RecordSentWith(s, Options{}) }

// RecordSentWith is RecordSent with another environment.
func RecordSentWith(s Sent, o Options) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recording failed: %v", r)
		}
	}()
	line, err := encodeSent(s)
	if err != nil {
		return err
	}
	return appendLocked(LedgerPath(o.getenv()), append(line, '\n'))
}

func encodeSent(s Sent) ([]byte, error) {
	outcome := s.Outcome
	if outcome == "" {
		outcome = OutcomeSent
	}
	if outcome != OutcomeSent && outcome != OutcomeFailed {
		return nil, fmt.Errorf("outcome must be %q or %q", OutcomeSent, OutcomeFailed)
	}
	when := s.When
	if when.IsZero() {
		when = time.Now()
	}
	entry := map[string]any{
		"v": 1, "time": when.UTC().Format("2006-01-02T15:04:05.000000Z"), "framework": s.Framework,
		"destination": nullable(s.Destination), "outcome": outcome, "reason": nullable(s.Reason),
		"body": nil, "body_base64": nil, "identifiers": map[string]string{}, "pid": os.Getpid(),
	}
	if s.Body != nil {
		if utf8.Valid(s.Body) {
			entry["body"] = string(s.Body)
		} else {
			entry["body_base64"] = base64.StdEncoding.EncodeToString(s.Body)
		}
	}
	if s.Identifiers != nil {
		entry["identifiers"] = s.Identifiers
	}
	switch s.Delivery {
	case "":
	case DeliveryDelivered, DeliveryNotDelivered, DeliveryUnknown:
		entry["delivery"] = s.Delivery
	default:
		return nil, errors.New("delivery must be delivered, not-delivered or unknown")
	}
	if s.HTTPStatus != 0 {
		entry["http_status"] = s.HTTPStatus
	}
	return json.Marshal(entry) // escapes <, > and & too: still one JSON line
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
