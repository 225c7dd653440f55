// Command shard_hash prints, as JSON, the values shard_test.ts checks Series sharding against:
// Thanos' ShardMatcher hash (storepb/shard_info.go) of a series, XXH64 (github.com/cespare/xxhash,
// the library Thanos uses) over name, 0xff, value, 0xff of each label in label order that the
// shard_info selects (the named labels with by=true, all others with by=false), and the shard it
// falls in for a few shard counts.
//
// Regenerate (Debian: golang-go, golang-github-cespare-xxhash-dev), from the project root:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run server/grpc/thanos/testdata/shard_hash.go \
//	  > server/grpc/thanos/testdata/shard_hash.json
package main

import (
	"encoding/json"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/cespare/xxhash"
)

type label struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type shardCase struct {
	Labels []label  `json:"labels"`
	By     bool     `json:"by"`
	Names  []string `json:"names"`
	// Hash is the uint64 as a decimal string (JSON numbers lose precision above 2^53).
	Hash string `json:"hash"`
	// Shards maps a total_shards to the shard_index the series belongs to.
	Shards map[string]uint64 `json:"shards"`
}

func hash(lbls []label, by bool, names []string) uint64 {
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	var buf []byte
	for _, l := range lbls {
		if set[l.Name] != by {
			continue
		}
		buf = append(buf, l.Name...)
		buf = append(buf, 0xff)
		buf = append(buf, l.Value...)
		buf = append(buf, 0xff)
	}
	return xxhash.Sum64(buf)
}

func labels(pairs ...string) []label {
	var out []label
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, label{pairs[i], pairs[i+1]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func main() {
	sets := [][]label{
		labels("__name__", "up", "job", "api", "instance", "host-1:9100", "cluster", "eu-1"),
		labels("__name__", "up", "job", "api", "instance", "host-2:9100", "cluster", "eu-1"),
		labels("__name__", "up", "job", "web", "instance", "host-1:9100", "cluster", "us-1"),
		labels("__name__", "http_requests_total", "code", "200", "handler", "/api/v1/query", "cluster", "eu-1"),
		labels("__name__", "temp_°C", "city", "Zürich", "sensor", "☃"),
		labels("__name__", "long", "value", strings.Repeat("0123456789", 7)),
	}
	choices := []struct {
		by    bool
		names []string
	}{
		{true, []string{"job"}},
		{true, []string{"cluster", "instance"}},
		{true, nil},
		{false, nil},
		{false, []string{"__name__", "instance"}},
	}
	var out []shardCase
	for _, s := range sets {
		for _, c := range choices {
			h := hash(s, c.by, c.names)
			shards := map[string]uint64{}
			for _, total := range []uint64{1, 2, 3, 16} {
				shards[strconv.FormatUint(total, 10)] = h % total
			}
			names := c.names
			if names == nil {
				names = []string{}
			}
			out = append(out, shardCase{s, c.by, names, strconv.FormatUint(h, 10), shards})
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
