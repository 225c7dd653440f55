// Command stringlabels_hash prints, as JSON, the values model/labels_hash_test.ts and engine/aggregations_test.ts
// check our label hash and limit_ratio against: Prometheus' labels.Hash() in its default
// "stringlabels" build (XXH64 of the label set's flat encoding, where every name and value is
// preceded by its byte length: one byte below 255, else 255 and three little-endian bytes),
// limit_ratio's sampling offset float64(hash) / float64(math.MaxUint64), and which series
// limit_ratio keeps for a few ratios. It hashes with github.com/cespare/xxhash, the library
// Prometheus uses.
//
// Regenerate (Debian: golang-go, golang-github-cespare-xxhash-dev), from the project root:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run model/testdata/stringlabels_hash.go \
//	  > model/testdata/stringlabels_hash.json
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/cespare/xxhash"
)

// text is a label name or value: unit repeated times. It is written to JSON as a plain string,
// or as [unit, times] when long, to keep the test data small.
type text struct {
	unit  string
	times int
}

func (t text) String() string { return strings.Repeat(t.unit, t.times) }

func (t text) MarshalJSON() ([]byte, error) {
	if t.times == 1 {
		return json.Marshal(t.unit)
	}
	return json.Marshal([]interface{}{t.unit, t.times})
}

func lit(s string) text { return text{s, 1} }

type label struct{ name, value text }

func (l label) MarshalJSON() ([]byte, error) { return json.Marshal([]text{l.name, l.value}) }

// encode returns the stringlabels encoding of labels sorted by name bytes, as labels.New does.
func encode(ls []label) []byte {
	sorted := append([]label(nil), ls...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name.String() < sorted[j].name.String() })
	var b []byte
	for _, l := range sorted {
		b = appendSized(b, l.name.String())
		b = appendSized(b, l.value.String())
	}
	return b
}

func appendSized(b []byte, s string) []byte {
	n := len(s)
	if n < 255 {
		b = append(b, byte(n))
	} else {
		if n > 1<<24 {
			panic("label string too long for stringlabels")
		}
		b = append(b, 255, byte(n), byte(n>>8), byte(n>>16))
	}
	return append(b, s...)
}

func offset(h uint64) float64 {
	return float64(h) / float64(math.MaxUint64)
}

// keeps is limit_ratio's test for one series: ratios outside [-1, 1] are capped, a positive
// ratio keeps offsets below it, a negative one offsets at or above 1 + ratio.
func keeps(ratio, off float64) bool {
	r := math.Max(-1, math.Min(1, ratio))
	return (r >= 0 && off < r) || (r < 0 && off >= 1+r)
}

type hashCase struct {
	Desc   string  `json:"desc"`
	Labels []label `json:"labels"`
	Hash   string  `json:"hash"`
	Offset float64 `json:"offset"`
}

type offsetCase struct {
	Hash   string  `json:"hash"`
	Offset float64 `json:"offset"`
}

type selection struct {
	Ratio float64 `json:"ratio"`
	// Values of label "i" of the series kept, with and without __name__ in the hashed labels.
	WithName    []string `json:"withName"`
	WithoutName []string `json:"withoutName"`
}

type output struct {
	Comment    string       `json:"comment"`
	Hashes     []hashCase   `json:"hashes"`
	Offsets    []offsetCase `json:"offsets"`
	Metric     string       `json:"metric"`
	Series     []string     `json:"series"`
	Selections []selection  `json:"selections"`
}

func l(name, value string) label { return label{lit(name), lit(value)} }

func main() {
	cases := []struct {
		desc   string
		labels []label
	}{
		{"no labels", nil},
		{"metric name only", []label{l("__name__", "up")}},
		{"a Prometheus test series", []label{
			l("__name__", "http_requests"), l("job", "api-server"), l("instance", "0"),
			l("group", "production"),
		}},
		{"empty value", []label{l("a", ""), l("b", "x")}},
		{"only empty values", []label{l("a", ""), l("b", "")}},
		{"non-ASCII names and values", []label{
			l("__name__", "température"), l("ville", "Zürich"), l("名前", "値"), l("emoji", "😀"),
		}},
		{"names sorted by UTF-8 bytes, not UTF-16 units", []label{
			l("\U0001F600", "astral"), l("\uE000", "private use"), l("z", "ascii"),
		}},
		{"value of 127 bytes", []label{{lit("v"), text{"a", 127}}}},
		{"value of 128 bytes", []label{{lit("v"), text{"a", 128}}}},
		{"value of 254 bytes: largest one-byte size", []label{{lit("v"), text{"b", 254}}}},
		{"value of 255 bytes: smallest four-byte size", []label{{lit("v"), text{"c", 255}}}},
		{"value of 256 bytes", []label{{lit("v"), text{"d", 256}}}},
		{"name of 300 bytes", []label{{text{"n", 300}, lit("x")}}},
		{"value of 65535 bytes", []label{{lit("v"), text{"e", 65535}}}},
		{"value of 65536 bytes: third size byte set", []label{{lit("v"), text{"f", 65536}}}},
		{"value of 70000 bytes", []label{{lit("v"), text{"g", 70000}}, l("w", "after")}},
		{"200 two-byte characters: 400 bytes", []label{{lit("v"), text{"é", 200}}}},
		{"100 four-byte characters: 400 bytes", []label{{lit("v"), text{"😀", 100}}}},
	}
	for n := 0; n <= 40; n++ {
		cases = append(cases, struct {
			desc   string
			labels []label
		}{fmt.Sprintf("value of %d bytes (every XXH64 tail length)", n), []label{{lit("k"), text{"x", n}}}})
	}
	many := []label{l("__name__", "many_labels")}
	for i := 0; i < 60; i++ {
		many = append(many, l(fmt.Sprintf("label_%02d", i), strings.Repeat(fmt.Sprint(i), i%7+1)))
	}
	cases = append(cases, struct {
		desc   string
		labels []label
	}{"61 labels", many})

	out := output{Comment: "Generated by stringlabels_hash.go; do not edit."}
	for _, c := range cases {
		sorted := append([]label(nil), c.labels...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].name.String() < sorted[j].name.String() })
		if sorted == nil {
			sorted = []label{}
		}
		h := xxhash.Sum64(encode(c.labels))
		out.Hashes = append(out.Hashes, hashCase{c.desc, sorted, fmt.Sprintf("%016x", h), offset(h)})
	}

	// float64(uint64) rounds to nearest, ties to even; above 2^63 doubles are 2048 apart.
	for _, h := range []uint64{
		0, 1, 1 << 53, 1<<53 + 1, 1<<53 + 3, 1 << 63, 1<<63 + 1024, 1<<63 + 1025, 1<<63 + 3072,
		math.MaxUint64 - 1025, math.MaxUint64 - 1024, math.MaxUint64 - 1023, math.MaxUint64,
		0x0123456789abcdef, 0xfedcba9876543210,
	} {
		out.Offsets = append(out.Offsets, offsetCase{fmt.Sprintf("%016x", h), offset(h)})
	}

	out.Metric = "sampled"
	for i := 0; i < 40; i++ {
		out.Series = append(out.Series, fmt.Sprint(i))
	}
	for _, r := range []float64{0.1, 0.25, 0.5, 0.75, 1, 1.5, -0.1, -0.5, -0.75, -1, -2} {
		s := selection{Ratio: r, WithName: []string{}, WithoutName: []string{}}
		for _, i := range out.Series {
			if keeps(r, offset(xxhash.Sum64(encode([]label{l("__name__", out.Metric), l("i", i)})))) {
				s.WithName = append(s.WithName, i)
			}
			if keeps(r, offset(xxhash.Sum64(encode([]label{l("i", i)})))) {
				s.WithoutName = append(s.WithoutName, i)
			}
		}
		out.Selections = append(out.Selections, s)
	}

	writeJSON(out)
}

// writeJSON prints out with one hash, offset or selection per line, to keep diffs readable.
func writeJSON(out output) {
	w := os.Stdout
	fmt.Fprintf(w, "{\n \"comment\": %s,\n \"metric\": %s,\n \"series\": %s,\n",
		compact(out.Comment), compact(out.Metric), compact(out.Series))
	list := func(name string, n int, item func(int) interface{}, last bool) {
		fmt.Fprintf(w, " %q: [\n", name)
		for i := 0; i < n; i++ {
			sep := ","
			if i == n-1 {
				sep = ""
			}
			fmt.Fprintf(w, "  %s%s\n", compact(item(i)), sep)
		}
		if last {
			fmt.Fprint(w, " ]\n}\n")
		} else {
			fmt.Fprint(w, " ],\n")
		}
	}
	list("hashes", len(out.Hashes), func(i int) interface{} { return out.Hashes[i] }, false)
	list("offsets", len(out.Offsets), func(i int) interface{} { return out.Offsets[i] }, false)
	list("selections", len(out.Selections), func(i int) interface{} { return out.Selections[i] }, true)
}

func compact(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
