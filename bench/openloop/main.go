// openloop: an open-loop HTTP load generator for `bun run bench` (p99 at a constant rate).
//
// Request i is due at start + i/rate whatever happened to earlier ones, and its latency is counted
// from that due time (no coordinated omission: a stalled server shows as latency, not as fewer
// requests). Two ways to say what to send:
//   - POST a JSON body to <url><chat><suffix> (chat 1..chats, round robin): -url, -suffix, -chats, -body;
//   - -targets FILE: one request per line, "URL" or "URL<TAB>BODY", request i sends line i mod the
//     number of lines, with -method (GET, or POST with the line's body as JSON).
//
// Prints one JSON line: sent, answered, non2xx, failed, achieved rate, p50, p90, p95, p99, p999, max (ms).
// Written in Go because a client in the benchmark's own runtime spent more CPU per request than
// the server it measured, on the same two cores (see bench/README.md).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type target struct {
	url  string
	body []byte
}

func readTargets(path string) ([]target, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []target
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if line == "" {
			continue
		}
		url, body, _ := strings.Cut(line, "\t")
		out = append(out, target{url: url, body: []byte(body)})
	}
	return out, scanner.Err()
}

func main() {
	url := flag.String("url", "", "URL prefix; the chat number and -suffix are appended")
	suffix := flag.String("suffix", "", "appended after the chat number")
	rate := flag.Float64("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 8*time.Second, "how long to send")
	chats := flag.Int("chats", 50, "chats to spread the requests over")
	body := flag.String("body", `{"body":"constant rate message with a few words"}`, "JSON body")
	targetsFile := flag.String("targets", "", `file of requests, one per line: "URL" or "URL<TAB>BODY" (replaces -url, -suffix, -chats, -body)`)
	method := flag.String("method", "POST", "GET or POST")
	flag.Parse()
	var targets []target
	if *targetsFile != "" {
		var err error
		if targets, err = readTargets(*targetsFile); err != nil || len(targets) == 0 {
			fmt.Fprintln(os.Stderr, "openloop: no requests in", *targetsFile, err)
			os.Exit(2)
		}
	}
	if (*url == "" && targets == nil) || *rate <= 0 || (*method != "GET" && *method != "POST") {
		fmt.Fprintln(os.Stderr, "usage: openloop -url http://host/prefix/ -suffix /messages -rate 1000 -duration 8s | openloop -targets FILE -method GET -rate 1000")
		os.Exit(2)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}, Timeout: 30 * time.Second}
	var (
		mu        sync.Mutex
		latencies []float64
		non2xx    int
		failed    int
		wg        sync.WaitGroup
	)
	interval := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	sent := 0
	for {
		due := start.Add(time.Duration(sent) * interval)
		if due.Sub(start) >= *duration {
			break
		}
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		i := sent
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			var req *http.Request
			var err error
			if targets != nil {
				t := targets[i%len(targets)]
				if *method == "GET" {
					req, err = http.NewRequest("GET", t.url, nil)
				} else {
					req, err = http.NewRequest("POST", t.url, bytes.NewReader(t.body))
					req.Header.Set("content-type", "application/json")
				}
			} else {
				req, err = http.NewRequest("POST", *url+strconv.Itoa(i%*chats+1)+*suffix, bytes.NewBufferString(*body))
				if err == nil {
					req.Header.Set("content-type", "application/json")
				}
			}
			var resp *http.Response
			if err == nil {
				resp, err = client.Do(req)
			}
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			ms := float64(time.Since(due).Microseconds()) / 1000
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failed++
			case resp.StatusCode >= 300:
				non2xx++
				latencies = append(latencies, ms)
			default:
				latencies = append(latencies, ms)
			}
		}()
	}
	wg.Wait()
	sort.Float64s(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return -1
		}
		k := int(p / 100 * float64(len(latencies)))
		if k >= len(latencies) {
			k = len(latencies) - 1
		}
		return latencies[k]
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"sent": sent, "answered": len(latencies), "non2xx": non2xx, "failed": failed,
		"achieved": float64(sent) / duration.Seconds(), "p50": pct(50), "p90": pct(90), "p95": pct(95), "p99": pct(99), "p999": pct(99.9), "max": pct(100),
	})
}
