// Command rfc3339 prints, as JSON, what Go's time.Parse(time.RFC3339, ...) makes of the inputs
// time_or_duration_test.ts checks (the first way Thanos reads --min-time and --max-time): the
// Prometheus timestamp (ms, as timestamp.FromTime computes it) or null when Go refuses the text.
//
// Regenerate (Debian: golang-go; standard library only), from the project root:
//
//	GO111MODULE=off go run cli/testdata/rfc3339.go > cli/testdata/rfc3339.json
package main

import (
	"encoding/json"
	"os"
	"time"
)

type result struct {
	Input string `json:"input"`
	Ms    *int64 `json:"ms"`
}

func main() {
	inputs := []string{
		"0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z",
		"1970-01-01T00:00:00Z",
		"2024-02-29T12:34:56Z",
		"2023-02-29T12:34:56Z",
		"2024-01-31T00:00:00+02:00",
		"2024-01-31T00:00:00-05:30",
		"2024-01-31T00:00:00.123Z",
		"2024-01-31T00:00:00.1239999999Z",
		"2024-01-31T00:00:00,5Z",
		"2024-01-31T7:00:00Z",
		"2024-01-31T24:00:00Z",
		"2024-01-31T23:60:00Z",
		"2024-01-31T23:59:60Z",
		"2024-13-01T00:00:00Z",
		"2024-04-31T00:00:00Z",
		"2024-01-31 00:00:00Z",
		"2024-01-31T00:00:00z",
		"2024-01-31T00:00:00",
		"2024-01-31",
		"24-01-31T00:00:00Z",
		"2024-01-31T00:00:00+0200",
		"1900-03-01T00:00:00Z",
		"0099-06-15T00:00:00Z",
	}
	var out []result
	for _, in := range inputs {
		r := result{Input: in}
		if t, err := time.Parse(time.RFC3339, in); err == nil {
			ms := t.Unix()*1000 + int64(t.Nanosecond())/int64(time.Millisecond)
			r.Ms = &ms
		}
		out = append(out, r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
