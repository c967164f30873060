//go:build linux

package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// inNamespace re-runs this test binary's TestLinkHelperProcess in a new
// user namespace (as root there), with a new network namespace when newNet.
func inNamespace(t *testing.T, mode string, newNet bool) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLinkHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "IRSA_LINK_HELPER="+mode)
	flags := uintptr(syscall.CLONE_NEWUSER)
	if newNet {
		flags |= syscall.CLONE_NEWNET
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  flags,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("user namespaces are not available here (%v): CI=true needs them to exercise the netlink path", err)
		}
		t.Skipf("user namespaces are not available here (%v): the netlink path is not exercised", err)
	}
	return string(out), err
}

// TestLinkHelperProcess runs inside the namespaces of the tests below and
// does nothing in a normal run.
func TestLinkHelperProcess(t *testing.T) {
	mode := os.Getenv("IRSA_LINK_HELPER")
	if mode == "" {
		return
	}
	addrs := []netip.Addr{netip.MustParseAddr("169.254.170.23"), netip.MustParseAddr("fd00:ec2::23")}
	switch mode {
	case "setup":
		// The dummy link needs the kernel's dummy module; where it is
		// missing (some containers), the same code puts the addresses on
		// an existing link, which is what --link-name lo does.
		name := DefaultLinkName
		res, err := SetupLink(LinkConfig{Name: name, Addresses: addrs})
		if err != nil && (errors.Is(err, syscall.EOPNOTSUPP) || strings.Contains(err.Error(), "not supported")) {
			fmt.Println("NODUMMY")
			name = "lo"
			res, err = SetupLink(LinkConfig{Name: name, Addresses: addrs})
		}
		if err != nil {
			t.Fatalf("SetupLink(%s): %v", name, err)
		}
		// Idempotent: a second run succeeds and changes nothing.
		again, err := SetupLink(LinkConfig{Name: name, Addresses: addrs})
		if err != nil || again.Created {
			t.Fatalf("second SetupLink: %+v, %v", again, err)
		}
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if ifc.Flags&net.FlagUp == 0 {
			t.Errorf("%s is not up", name)
		}
		have, err := ifc.Addrs()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range have {
			got = append(got, a.String())
		}
		for _, want := range []string{"169.254.170.23/32", "fd00:ec2::23/128"} {
			if !slices.Contains(got, want) && !slices.Contains(res.Added, netip.MustParsePrefix(want).Addr()) {
				t.Errorf("%s has %v, want %s", name, got, want)
			}
		}
		// The agent can listen on the address at once (no IPv6 DAD wait).
		for _, a := range res.Added {
			ln, err := net.Listen("tcp", net.JoinHostPort(a.String(), "0"))
			if err != nil {
				t.Errorf("listening on %s: %v", a, err)
				continue
			}
			ln.Close()
		}
		fmt.Println("LINKOK", name, res.Created, len(res.Added))
	case "denied":
		_, err := SetupLink(LinkConfig{Name: DefaultLinkName, Addresses: addrs})
		if !errors.Is(err, ErrLinkPermission) {
			t.Fatalf("SetupLink without CAP_NET_ADMIN over the network namespace: %v, want ErrLinkPermission", err)
		}
		fmt.Println("DENIEDOK")
	}
}

func TestSetupLinkInANetworkNamespace(t *testing.T) {
	out, err := inNamespace(t, "setup", true)
	if err != nil || !strings.Contains(out, "LINKOK") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	t.Logf("helper: %s", strings.TrimSpace(out))
}

func TestSetupLinkWithoutPermission(t *testing.T) {
	out, err := inNamespace(t, "denied", false)
	if err != nil || !strings.Contains(out, "DENIEDOK") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
}

func TestLinkConfigValidate(t *testing.T) {
	for name, c := range map[string]LinkConfig{
		"empty name":    {},
		"long name":     {Name: strings.Repeat("x", 16)},
		"invalid addr":  {Name: "x", Addresses: []netip.Addr{{}}},
		"zoned address": {Name: "x", Addresses: []netip.Addr{netip.MustParseAddr("fe80::1%eth0")}},
	} {
		if _, err := SetupLink(c); err == nil {
			t.Errorf("%s: SetupLink accepted it", name)
		}
	}
}
