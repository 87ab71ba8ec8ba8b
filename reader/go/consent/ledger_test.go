package consent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestRecordSentWritesTheVersionOneLine(t *testing.T) {
	state := t.TempDir()
	o := Options{Getenv: func(name string) string {
		if name == "USAGECTL_STATE_DIR" {
			return state
		}
		return ""
	}}
	if err := RecordSentWith(Sent{Framework: "mytool", Destination: "https://t.example.org/v1", Body: []byte(`{"n":1}`),
		Delivery: DeliveryDelivered, HTTPStatus: 204, Identifiers: map[string]string{"install_id": "abc"}}, o); err != nil {
		t.Fatal(err)
	}
	if err := RecordSentWith(Sent{Framework: "mytool", Body: []byte{0xff, 0x00}, Outcome: OutcomeFailed,
		Reason: "connection refused", Delivery: DeliveryNotDelivered}, o); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(state, "sent.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var first, second map[string]any
	if json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[1]), &second) != nil {
		t.Fatal("not JSON")
	}
	var keys []string
	for k := range first {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := "body body_base64 delivery destination framework http_status identifiers outcome pid reason time v"
	if strings.Join(keys, " ") != want {
		t.Errorf("keys %v, want %s", keys, want)
	}
	if first["body"] != `{"n":1}` || first["http_status"] != 204.0 || first["delivery"] != "delivered" {
		t.Errorf("first line %v", first)
	}
	if second["body"] != nil || second["body_base64"] != "/wA=" || second["outcome"] != "failed" {
		t.Errorf("second line %v", second)
	}
	info, _ := os.Stat(filepath.Join(state, "sent.jsonl"))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", info.Mode())
	}
}

func TestRecordSentNeverFollowsASymlink(t *testing.T) {
	state := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Symlink(target, filepath.Join(state, "sent.jsonl")); err != nil {
		t.Fatal(err)
	}
	err := RecordSentWith(Sent{Framework: "x"}, Options{Getenv: func(n string) string {
		if n == "USAGECTL_STATE_DIR" {
			return state
		}
		return ""
	}})
	if err == nil {
		t.Error("appended through a symlink")
	}
	if _, statErr := os.Stat(target); statErr == nil {
		t.Error("the symlink's target was created")
	}
}

// Run by tests/test_go_reader.py, which then reads the line with usagectl's own ledger
// reader and `usagectl show-last`: the two languages share one format.
func TestLedgerInterop(t *testing.T) {
	state := os.Getenv("USAGECTL_GO_INTEROP_STATE_DIR")
	if state == "" {
		t.Skip("run by tests/test_go_reader.py")
	}
	o := Options{Getenv: func(n string) string {
		if n == "USAGECTL_STATE_DIR" {
			return state
		}
		return ""
	}}
	err := RecordSentWith(Sent{Framework: "ray", Destination: "http://127.0.0.1:9/usage", Body: []byte(`{"schema_version":"0.1","source":"go-interop"}`),
		Delivery: DeliveryDelivered, HTTPStatus: 200}, o)
	if err != nil {
		t.Fatal(err)
	}
}
