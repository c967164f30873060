//go:build linux

package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// SetupLink creates the dummy link cfg.Name (kept when it exists), adds the
// addresses to it (replacing them when present, so it can run at every
// start) and brings it up, over rtnetlink. The addresses get host routes
// in the local table from the kernel, so the node answers them locally.
func SetupLink(cfg LinkConfig) (*LinkResult, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	nl, err := dialNetlink()
	if err != nil {
		return nil, err
	}
	defer nl.close()
	res := &LinkResult{}

	// RTM_NEWLINK name=cfg.Name kind=dummy, exclusive.
	name := append([]byte(cfg.Name), 0)
	msg := ifinfomsg(0, 0, 0)
	msg = attr(msg, unix.IFLA_IFNAME, name)
	msg = attr(msg, unix.IFLA_LINKINFO, attr(nil, unix.IFLA_INFO_KIND, []byte("dummy")))
	err = nl.do(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, msg)
	switch {
	case err == nil:
		res.Created = true
	case errors.Is(err, unix.EEXIST):
	case errors.Is(err, unix.EOPNOTSUPP):
		return nil, fmt.Errorf("creating the dummy link %s: %w (the kernel has no dummy link type: load the dummy module, or put the addresses on the loopback link with --link-name lo)", cfg.Name, err)
	default:
		return nil, linkError("creating the dummy link "+cfg.Name, err)
	}
	ifc, err := net.InterfaceByName(cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("finding the link %s: %w", cfg.Name, err)
	}
	if ifc.Index <= 0 || ifc.Index > math.MaxInt32 {
		return nil, fmt.Errorf("link %s has index %d", cfg.Name, ifc.Index)
	}
	index := uint32(ifc.Index) //nolint:gosec // range checked above
	for _, a := range cfg.Addresses {
		family, bits, flags := uint8(unix.AF_INET), uint8(32), uint8(0)
		if a.Is6() && !a.Is4In6() {
			family, bits, flags = unix.AF_INET6, 128, unix.IFA_F_NODAD
		}
		ip := a.Unmap().AsSlice()
		m := ifaddrmsg(family, bits, flags, index)
		m = attr(m, unix.IFA_LOCAL, ip)
		m = attr(m, unix.IFA_ADDRESS, ip)
		if err := nl.do(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, m); err != nil {
			if family == unix.AF_INET6 && !errors.Is(err, unix.EPERM) {
				res.Skipped = append(res.Skipped, fmt.Errorf("adding %s to %s: %w", a, cfg.Name, err))
				continue
			}
			return res, linkError(fmt.Sprintf("adding %s to %s", a, cfg.Name), err)
		}
		res.Added = append(res.Added, a)
	}
	// RTM_NEWLINK index, flags=up change=up.
	if err := nl.do(unix.RTM_NEWLINK, 0, ifinfomsg(index, unix.IFF_UP, unix.IFF_UP)); err != nil {
		return res, linkError("bringing "+cfg.Name+" up", err)
	}
	return res, nil
}

func linkError(what string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%s: %w (%w)", what, ErrLinkPermission, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// netlinkConn is a NETLINK_ROUTE socket.
type netlinkConn struct {
	fd  int
	seq uint32
}

func dialNetlink() (*netlinkConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("opening a netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("binding the netlink socket: %w", err)
	}
	return &netlinkConn{fd: fd, seq: uint32(os.Getpid()) & 0x7fffffff}, nil //nolint:gosec // a starting sequence number, any value works
}

func (c *netlinkConn) close() { _ = unix.Close(c.fd) }

// do sends one request with NLM_F_REQUEST|NLM_F_ACK and waits for its
// acknowledgement; a negative errno in it is the error.
func (c *netlinkConn) do(typ uint16, flags uint16, body []byte) error {
	c.seq++
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	msg = append(msg, body...)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg))) //nolint:gosec // requests are a few dozen bytes
	ne.PutUint16(msg[4:], typ)
	ne.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	ne.PutUint32(msg[8:], c.seq)
	if err := unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("netlink receive: %w", err)
		}
		for b := buf[:n]; len(b) >= unix.SizeofNlMsghdr; {
			l := int(ne.Uint32(b[0:]))
			if l < unix.SizeofNlMsghdr || l > len(b) {
				return errors.New("netlink: malformed answer")
			}
			t, seq := ne.Uint16(b[4:]), ne.Uint32(b[8:])
			if seq == c.seq && t == unix.NLMSG_ERROR {
				if l < unix.SizeofNlMsghdr+4 {
					return errors.New("netlink: short error message")
				}
				// struct nlmsgerr: a negative errno, 0 for an acknowledgement.
				if errno := int32(ne.Uint32(b[unix.SizeofNlMsghdr:])); errno < 0 { //nolint:gosec // the kernel's int field
					return unix.Errno(uint32(-errno)) //nolint:gosec // positive here
				} else if errno > 0 {
					return fmt.Errorf("netlink: error %d", errno)
				}
				return nil
			}
			if align(l) >= len(b) {
				break
			}
			b = b[align(l):]
		}
	}
}

func align(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// ifinfomsg is struct ifinfomsg: family, pad, type, index, flags, change.
func ifinfomsg(index, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], index)
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint32(b[12:], change)
	return b
}

// ifaddrmsg is struct ifaddrmsg: family, prefixlen, flags, scope, index.
func ifaddrmsg(family, prefixLen, flags uint8, index uint32) []byte {
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0], b[1], b[2], b[3] = family, prefixLen, flags, unix.RT_SCOPE_UNIVERSE
	binary.NativeEndian.PutUint32(b[4:], index)
	return b
}

// attr appends a route attribute, padded to 4 bytes.
func attr(b []byte, typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	h := make([]byte, unix.SizeofRtAttr)
	binary.NativeEndian.PutUint16(h[0:], uint16(l)) //nolint:gosec // attributes are a few bytes
	binary.NativeEndian.PutUint16(h[2:], typ)
	b = append(b, h...)
	b = append(b, data...)
	for range align(l) - l {
		b = append(b, 0)
	}
	return b
}
