// openloop: an open-loop HTTP load generator for `bun run bench` (p99 at a constant rate).
//
// Request i is due at start + i/rate whatever happened to earlier ones, and its latency is counted
// from that due time (no coordinated omission: a stalled server shows as latency, not as fewer
// requests). It POSTs a JSON body to <url><chat>/messages-style paths: -url is a prefix to which
// the chat number (1..chats, round robin) and -suffix are appended. Prints one JSON line.
// Written in Go because a client in the benchmark's own runtime spent more CPU per request than
// the server it measured, on the same two cores (see bench/README.md).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "URL prefix; the chat number and -suffix are appended")
	suffix := flag.String("suffix", "", "appended after the chat number")
	rate := flag.Float64("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 8*time.Second, "how long to send")
	chats := flag.Int("chats", 50, "chats to spread the requests over")
	body := flag.String("body", `{"body":"constant rate message with a few words"}`, "JSON body")
	flag.Parse()
	if *url == "" || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "usage: openloop -url http://host/prefix/ -suffix /messages -rate 1000 -duration 8s")
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
			target := *url + strconv.Itoa(i%*chats+1) + *suffix
			resp, err := client.Post(target, "application/json", bytes.NewBufferString(*body))
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
		"achieved": float64(sent) / duration.Seconds(), "p50": pct(50), "p99": pct(99), "max": pct(100),
	})
}
