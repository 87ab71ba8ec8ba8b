package consent_test

import (
	"fmt"
	"time"

	"github.com/usagectl/usagectl/reader/go/consent"
)

// How a Go program honours the consent file before it sends a report. (Programs call
// consent.Allowed and consent.Decide; this example points Options at files that don't
// exist so that its output doesn't depend on the machine: nobody has chosen.)
func Example() {
	env := map[string]string{
		"USAGECTL_CONFIG_DIR":  "/nonexistent/usagectl-example",
		"USAGECTL_POLICY_FILE": "/nonexistent/usagectl-example/policy.toml",
	}
	options := consent.Options{Getenv: func(name string) string { return env[name] }}
	if consent.AllowedWith("mytool", 1, time.Now(), false, options) {
		fmt.Println("send the report")
	}
	d := consent.DecideWith("mytool", options)
	fmt.Println(d.Mode, d.Source)
	// Output: unset unset
}
