package consent_test

import (
	"fmt"
	"os"
	"path/filepath"
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

// A framework with categories asks per category: a user who allowed only "metrics"
// (`usagectl enable mytool --only metrics`, an entry local + send) gets it, and a
// report without a category is refused, as an older reader would refuse it.
func ExampleAllowedCategory() {
	dir, err := os.MkdirTemp("", "usagectl-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	text := "schema = 1\n[frameworks.mytool]\nmode = \"local\"\nsend = [\"metrics\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "consent.toml"), []byte(text), 0o600); err != nil {
		panic(err)
	}
	env := map[string]string{"USAGECTL_CONFIG_DIR": dir, "USAGECTL_POLICY_FILE": filepath.Join(dir, "policy.toml")}
	options := consent.Options{Getenv: func(name string) string { return env[name] }}
	for _, category := range []string{"metrics", "code", ""} {
		fmt.Printf("%q: %v\n", category, consent.AllowedCategory("mytool", category, 1, time.Time{}, false, options))
	}
	fmt.Println(consent.DecideWith("mytool", options).Send)
	// Output:
	// "metrics": true
	// "code": false
	// "": false
	// [metrics]
}
