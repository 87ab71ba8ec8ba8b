package consent

import (
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
)

// Where the files are (docs/consent-file.md, "Location"): what Python's platformdirs
// gives, which is what usagectl and its Python reader use.

const (
	app             = "usagectl"
	consentFileName = "consent.toml"
	policyFileName  = "policy.toml"
)

// Getenv reads one environment variable; "" means unset.
type Getenv func(string) string

func home(env Getenv) string {
	if h := env("HOME"); runtime.GOOS != "windows" && filepath.IsAbs(h) {
		return h
	}
	// platformdirs treats a relative or missing HOME as unset and asks the password
	// database, as os/user does.
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		return u.HomeDir
	}
	h, _ := os.UserHomeDir()
	return h
}

func xdg(env Getenv, name string) string {
	if v := env(name); strings.HasPrefix(v, "/") {
		return v
	}
	return "" // XDG says relative paths are invalid and must be ignored
}

func xdgFirst(env Getenv, name string) string {
	for _, part := range filepath.SplitList(env(name)) {
		if strings.HasPrefix(part, "/") {
			return part
		}
	}
	return ""
}

// userDir is one of usagectl's per-user directories, as platformdirs places it: the
// USAGECTL_* override, else the platform's base (an absolute XDG variable wins on Linux
// and macOS).
func userDir(env Getenv, overrideVar, xdgVar string, linuxDefault ...string) string {
	if v := env(overrideVar); v != "" {
		return v
	}
	var base string
	switch runtime.GOOS {
	case "windows":
		base = env("LOCALAPPDATA")
		if base == "" {
			base = filepath.Join(home(env), "AppData", "Local")
		}
	case "darwin":
		base = xdg(env, xdgVar)
		if base == "" {
			base = filepath.Join(home(env), "Library", "Application Support")
		}
	default:
		base = xdg(env, xdgVar)
		if base == "" {
			base = filepath.Join(append([]string{home(env)}, linuxDefault...)...)
		}
	}
	return filepath.Join(base, app)
}

// UserConfigDir is the directory of the consent file.
func UserConfigDir(env Getenv) string {
	return userDir(env, "USAGECTL_CONFIG_DIR", "XDG_CONFIG_HOME", ".config")
}

// SiteConfigDir is the directory of the system policy.
func SiteConfigDir(env Getenv) string {
	switch runtime.GOOS {
	case "windows":
		base := env("ProgramData")
		if base == "" {
			base = `C:\ProgramData`
		}
		return filepath.Join(base, app)
	case "darwin":
		base := xdgFirst(env, "XDG_CONFIG_DIRS")
		if base == "" {
			base = "/Library/Application Support"
		}
		return filepath.Join(base, app)
	}
	base := xdgFirst(env, "XDG_CONFIG_DIRS")
	if base == "" {
		base = "/etc/xdg"
	}
	return filepath.Join(base, app)
}

// ConsentPath is the user's consent file.
func ConsentPath(env Getenv) string { return filepath.Join(UserConfigDir(env), consentFileName) }

// PolicyPath is the system policy file (USAGECTL_POLICY_FILE names it directly).
func PolicyPath(env Getenv) string {
	if v := env("USAGECTL_POLICY_FILE"); v != "" {
		return v
	}
	return filepath.Join(SiteConfigDir(env), policyFileName)
}
