// runc-bounded runs runc after removing, from the process it is asked to start, every
// capability outside this process's own bounding set.
//
// Docker 20.10 grants a --privileged container (and `docker exec --privileged`) every capability
// the kernel knows. On a machine whose init already dropped one (this sandbox has no
// CAP_SYS_RESOURCE), runc then fails with "unable to apply caps: operation not permitted", and
// kind, which always runs its nodes privileged, cannot start a node. Newer engines limit
// privileged containers to the capabilities they have themselves; this wrapper, registered as
// dockerd's default runtime, does the same for the old one. A spec that asks only for available
// capabilities is passed through untouched.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Capability numbers from linux/capability.h, as runc names them.
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// Set at build time (-X main.realRunc=...) to the runc this wraps.
var realRunc = "/usr/sbin/runc"

func boundingSet() (map[string]bool, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if !strings.HasPrefix(line, "CapBnd:") {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "CapBnd:")), 16, 64)
		if err != nil {
			return nil, err
		}
		have := map[string]bool{}
		for i, name := range capNames {
			if mask&(1<<uint(i)) != 0 {
				have[name] = true
			}
		}
		return have, nil
	}
	return nil, fmt.Errorf("no CapBnd line in /proc/self/status")
}

// filterCaps drops unavailable names from every list of a "capabilities" object; it reports
// whether anything changed. Names this table does not know are kept: runc judges them itself.
func filterCaps(caps map[string]interface{}, have map[string]bool) bool {
	known := map[string]bool{}
	for _, n := range capNames {
		known[n] = true
	}
	changed := false
	for set, v := range caps {
		list, ok := v.([]interface{})
		if !ok {
			continue
		}
		kept := make([]interface{}, 0, len(list))
		for _, c := range list {
			name, _ := c.(string)
			if known[name] && !have[name] {
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		caps[set] = kept
	}
	return changed
}

// rewrite edits a JSON file in place; process is where the capabilities object sits
// (config.json holds it under "process", an exec process file at its top level).
func rewrite(path string, underProcess bool, have map[string]bool) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]interface{}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	proc := doc
	if underProcess {
		p, ok := doc["process"].(map[string]interface{})
		if !ok {
			return nil
		}
		proc = p
	}
	caps, ok := proc["capabilities"].(map[string]interface{})
	if !ok || !filterCaps(caps, have) {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, info.Mode().Perm())
}

// flagValue finds --name value or --name=value (runc accepts both, with one or two dashes).
func flagValue(args []string, names ...string) string {
	for i, a := range args {
		for _, n := range names {
			if a == "-"+n || a == "--"+n {
				if i+1 < len(args) {
					return args[i+1]
				}
			}
			for _, p := range []string{"-" + n + "=", "--" + n + "="} {
				if strings.HasPrefix(a, p) {
					return strings.TrimPrefix(a, p)
				}
			}
		}
	}
	return ""
}

func subcommand(args []string) string {
	for _, a := range args {
		switch a {
		case "create", "run", "exec":
			return a
		}
	}
	return ""
}

func main() {
	args := os.Args[1:]
	if err := adjust(args); err != nil {
		fmt.Fprintf(os.Stderr, "runc-bounded: %v\n", err)
		os.Exit(1)
	}
	argv := append([]string{realRunc}, args...)
	if err := syscall.Exec(realRunc, argv, os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "runc-bounded: exec %s: %v\n", realRunc, err)
		os.Exit(1)
	}
}

func adjust(args []string) error {
	sub := subcommand(args)
	if sub == "" {
		return nil
	}
	have, err := boundingSet()
	if err != nil {
		return err
	}
	switch sub {
	case "create", "run":
		bundle := flagValue(args, "bundle", "b")
		if bundle == "" {
			bundle = "."
		}
		return rewrite(filepath.Join(bundle, "config.json"), true, have)
	case "exec":
		if p := flagValue(args, "process", "p"); p != "" {
			return rewrite(p, false, have)
		}
	}
	return nil
}
