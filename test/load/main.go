// Command load measures irsa's AssumeRoleWithWebIdentity throughput and
// latency against a real `irsa up` on loopback, next to the ceiling that
// token verification sets on the same cores: RSA-2048 signature checks per
// second. It starts and stops the server itself, sends traffic only to
// 127.0.0.1, and stops after a bounded number of seconds.
//
//	go run ./test/load -irsa bin/irsa -duration 10s
package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("irsa", "bin/irsa", "the irsa binary")
	config := flag.String("config", "examples/quickstart.yaml", "config with the s3-reader role")
	duration := flag.Duration("duration", 10*time.Second, "length of each measured phase")
	concurrency := flag.Int("concurrency", 32, "workers in the peak phase")
	onArgs := flag.String("audit-on-args", "", "extra flags of the audited server, e.g. --alert-interval 0")
	flag.Parse()
	with, err := run(*bin, *config, *duration, *concurrency, "audit on", strings.Fields(*onArgs)...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	without, err := run(*bin, *config, *duration, *concurrency, "audit off", "--insecure-disable-audit-for-benchmarks")
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	fmt.Printf("\nauditing costs %.1f%% of peak throughput (%.0f/s with, %.0f/s without, same run)\n", 100*(1-with/without), with, without)
}

// processCPU is the user and system CPU time pid has used, from
// /proc/PID/stat (Linux).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: the fields follow its ")".
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(fields) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	var utime, stime int64
	if _, err := fmt.Sscan(fields[11], &utime); err != nil {
		return 0, err
	}
	if _, err := fmt.Sscan(fields[12], &stime); err != nil {
		return 0, err
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// run measures one server started with extra flags and returns its peak.
func run(bin, config string, d time.Duration, conc int, label string, extra ...string) (float64, error) {
	peak, err := measure(bin, config, d, conc, label, extra...)
	return peak, err
}

func measure(bin, config string, d time.Duration, conc int, label string, extra ...string) (float64, error) {
	dir, err := os.MkdirTemp("", "irsa-load-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	addr, err := freePort()
	if err != nil {
		return 0, err
	}
	args := append([]string{"up", "--listen", addr, "--data-dir", dir, "--config", config, "--log-level", "error"}, extra...)
	srv := exec.Command(bin, args...)
	srv.Stdout, srv.Stderr = io.Discard, os.Stderr
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := srv.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", bin, err)
	}
	defer func() {
		_ = syscall.Kill(-srv.Process.Pid, syscall.SIGTERM)
		_ = srv.Wait()
	}()
	base := "http://" + addr
	if err := waitHealthy(base, 30*time.Second); err != nil {
		return 0, err
	}
	out, err := exec.Command(bin, "token", "--data-dir", dir, "--namespace", "production", "--service-account", "s3-reader", "--expires-in", "1h").Output()
	if err != nil {
		return 0, fmt.Errorf("minting a token: %w", err)
	}
	body := url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
		"RoleArn": {"arn:aws:iam::000000000000:role/s3-reader"}, "RoleSessionName": {"load"},
		"WebIdentityToken": {string(out)},
	}.Encode()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2, MaxConnsPerHost: conc * 2}, Timeout: 10 * time.Second}
	call := func() error {
		resp, err := client.Post(base+"/", "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "<AccessKeyId>ASIA") {
			return fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
		}
		return nil
	}
	if err := call(); err != nil {
		return 0, fmt.Errorf("first AssumeRoleWithWebIdentity failed: %w", err)
	}
	// Warm up connections and caches.
	closedLoop(call, conc, 2*time.Second)

	peak := closedLoop(call, conc, d)
	tool := "Go load generator"
	cpu0, cpuErr := processCPU(srv.Process.Pid)
	if w, err := wrkPeak(base, body, conc, d, dir); err == nil {
		// wrk spends less CPU per request than a Go client, leaving more of
		// the two cores to the server: its peak is the fairer one.
		peak, tool = w, "wrk"
	} else {
		fmt.Fprintln(os.Stderr, "load: wrk not used:", err)
	}
	// The server's CPU time per request at peak: what auditing costs
	// whatever else runs on the machine.
	cpuPerReq := time.Duration(0)
	if cpu1, err := processCPU(srv.Process.Pid); cpuErr == nil && err == nil && tool == "wrk" {
		cpuPerReq = (cpu1 - cpu0) / time.Duration(peak.rps*d.Seconds())
	}
	half := openLoop(call, peak.rps/2, d)
	ceiling := rsaCeiling(3 * time.Second)

	host, _ := os.Hostname()
	fmt.Printf("== %s\n", label)
	fmt.Printf("machine: %s, %d cores (GOMAXPROCS %d), %s/%s, %s\n", host, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Printf("date: %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Println("| phase | requests/s | p50 | p99 | errors |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: |")
	fmt.Printf("| peak, %d connections (%s) | %.0f | %s | %s | %d |\n", conc, tool, peak.rps, ms(peak.p50), ms(peak.p99), peak.errors)
	fmt.Printf("| half of peak, %.0f/s offered | %.0f | %s | %s | %d |\n", peak.rps/2, half.rps, ms(half.p50), ms(half.p99), half.errors)
	if cpuPerReq > 0 {
		fmt.Printf("\nserver CPU per request at peak: %.1f µs (user + system)\n", float64(cpuPerReq.Nanoseconds())/1000)
	}
	fmt.Printf("\nceiling: RSA-2048 PKCS#1 v1.5 verifications on %d cores: %.0f/s\n", runtime.GOMAXPROCS(0), ceiling)
	fmt.Printf("peak / ceiling: %.2f\n", peak.rps/ceiling)
	if peak.errors > 0 || half.errors > 0 {
		return 0, errors.New("some requests failed")
	}
	return peak.rps, nil
}

// wrkPeak measures the peak with wrk, one thread, conc connections.
func wrkPeak(base, body string, conc int, d time.Duration, dir string) (result, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return result{}, err
	}
	script := dir + "/arwwi.lua"
	lua := "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\nwrk.body = \"" + body + "\"\n" +
		"done = function(summary, latency, requests)\n  io.write(string.format(\"irsa-load %d %d %d %d %d\\n\", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))\nend\n"
	if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
		return result{}, err
	}
	out, err := exec.Command(bin, "-t1", fmt.Sprintf("-c%d", conc), fmt.Sprintf("-d%ds", int(d.Seconds())), "-s", script, base+"/").Output()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		var reqs, durUS, p50, p99, errs int64
		if n, _ := fmt.Sscanf(line, "irsa-load %d %d %d %d %d", &reqs, &durUS, &p50, &p99, &errs); n == 5 && durUS > 0 {
			return result{rps: float64(reqs) / (float64(durUS) / 1e6), p50: time.Duration(p50) * time.Microsecond, p99: time.Duration(p99) * time.Microsecond, errors: errs}, nil
		}
	}
	return result{}, fmt.Errorf("wrk printed no summary: %s", out)
}

func waitHealthy(base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("irsa did not become healthy within %s", limit)
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func summarize(lat []time.Duration, elapsed time.Duration, errs int64) result {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := result{rps: float64(len(lat)) / elapsed.Seconds(), errors: errs}
	if len(lat) > 0 {
		r.p50 = lat[len(lat)/2]
		r.p99 = lat[len(lat)*99/100]
	}
	return r
}

// closedLoop runs conc workers, each sending the next request when the
// previous one is answered, for d.
func closedLoop(call func() error, conc int, d time.Duration) result {
	var mu sync.Mutex
	var all []time.Duration
	var errs atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				if err := call(); err != nil {
					errs.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return summarize(all, time.Since(start), errs.Load())
}

// openLoop offers rate requests per second for d, whatever the answers'
// latency, so queueing shows in the percentiles.
func openLoop(call func() error, rate float64, d time.Duration) result {
	if rate < 1 {
		rate = 1
	}
	interval := time.Duration(float64(time.Second) / rate)
	var mu sync.Mutex
	var all []time.Duration
	var errs atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 512)
	start := time.Now()
	for next := start; time.Since(start) < d; next = next.Add(interval) {
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		sem <- struct{}{}
		wg.Add(1)
		scheduled := next
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := call()
			lat := time.Since(scheduled)
			if err != nil {
				errs.Add(1)
				return
			}
			mu.Lock()
			all = append(all, lat)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return summarize(all, time.Since(start), errs.Load())
}

// rsaCeiling counts RSA-2048 signature verifications per second on all
// cores: an upper bound for a server that checks one RS256 token per call.
func rsaCeiling(d time.Duration) float64 {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	digest := sha256.Sum256([]byte("header.payload"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err)
	}
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig) == nil {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}
