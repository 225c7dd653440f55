// Command relabel_cases prints, as JSON, the expected results relabel_test.ts checks model/relabel.ts
// against: Prometheus' relabel actions evaluated with Go's own regexp package (RE2, anchored as
// "^(?s:REGEX)$", Expand for replacement templates) and crypto/md5 (hashmod takes the last 8
// bytes of the digest as a big-endian uint64, modulo the modulus). Rules are printed in the
// relabel_config field names, so the test can hand them to the YAML parser as they are.
//
// Regenerate (Debian: golang-go; standard library only), from the project root:
//
//	GO111MODULE=off go run model/testdata/relabel_cases.go > model/testdata/relabel_cases.json
package main

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

type rule struct {
	SourceLabels []string `json:"source_labels,omitempty"`
	Separator    *string  `json:"separator,omitempty"`
	Regex        *string  `json:"regex,omitempty"`
	Modulus      uint64   `json:"modulus,omitempty"`
	TargetLabel  string   `json:"target_label,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

type relabelCase struct {
	Name   string            `json:"name"`
	Rules  []rule            `json:"rules"`
	Input  map[string]string `json:"input"`
	Output map[string]string `json:"output"` // null: dropped
}

type hashmodCase struct {
	Value   string `json:"value"`
	Modulus uint64 `json:"modulus"`
	Result  uint64 `json:"result"`
}

func str(s string) *string { return &s }

func or(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

func hashmod(value string, modulus uint64) uint64 {
	sum := md5.Sum([]byte(value))
	return binary.BigEndian.Uint64(sum[8:]) % modulus
}

func validName(s string) bool { return s != "" && utf8.ValidString(s) }

func set(lbls map[string]string, name, value string) {
	if value == "" {
		delete(lbls, name)
		return
	}
	lbls[name] = value
}

// apply runs one rule with Prometheus' semantics; false when the label set is dropped.
func apply(r rule, lbls map[string]string) bool {
	re := regexp.MustCompile("^(?s:" + or(r.Regex, "(.*)") + ")$")
	values := make([]string, len(r.SourceLabels))
	for i, n := range r.SourceLabels {
		values[i] = lbls[n]
	}
	val := strings.Join(values, or(r.Separator, ";"))
	replacement := or(r.Replacement, "$1")
	action := strings.ToLower(r.Action) // YAML decoding lowercases the action
	if action == "" {
		action = "replace"
	}
	switch action {
	case "drop":
		return !re.MatchString(val)
	case "keep":
		return re.MatchString(val)
	case "dropequal":
		return lbls[r.TargetLabel] != val
	case "keepequal":
		return lbls[r.TargetLabel] == val
	case "replace":
		idx := re.FindStringSubmatchIndex(val)
		if idx == nil {
			return true
		}
		target := string(re.ExpandString(nil, r.TargetLabel, val, idx))
		if !validName(target) {
			return true
		}
		set(lbls, target, string(re.ExpandString(nil, replacement, val, idx)))
	case "hashmod":
		set(lbls, r.TargetLabel, strconv.FormatUint(hashmod(val, r.Modulus), 10))
	case "labelmap":
		names := make([]string, 0, len(lbls))
		for n := range lbls {
			names = append(names, n)
		}
		sort.Strings(names)
		snapshot := map[string]string{}
		for n, v := range lbls {
			snapshot[n] = v
		}
		for _, n := range names {
			if re.MatchString(n) {
				set(lbls, re.ReplaceAllString(n, replacement), snapshot[n])
			}
		}
	case "labeldrop", "labelkeep":
		for n := range lbls {
			if re.MatchString(n) == (action == "labeldrop") {
				delete(lbls, n)
			}
		}
	default:
		panic(action)
	}
	return true
}

func process(rules []rule, input map[string]string) map[string]string {
	lbls := map[string]string{}
	for n, v := range input {
		lbls[n] = v
	}
	for _, r := range rules {
		if !apply(r, lbls) {
			return nil
		}
	}
	return lbls
}

func main() {
	ext := map[string]string{"cluster": "eu-1", "replica": "a", "region": "eu", "tenant": "team-ä"}
	cases := []relabelCase{
		{Name: "keep by one label", Rules: []rule{{SourceLabels: []string{"cluster"}, Regex: str("eu-.*"), Action: "keep"}}},
		{Name: "keep is anchored", Rules: []rule{{SourceLabels: []string{"cluster"}, Regex: str("eu"), Action: "keep"}}},
		{Name: "keep with an absent label", Rules: []rule{{SourceLabels: []string{"zone"}, Regex: str(".+"), Action: "keep"}}},
		{Name: "keep the empty value of an absent label", Rules: []rule{{SourceLabels: []string{"zone"}, Regex: str(""), Action: "keep"}}},
		{Name: "drop by joined labels", Rules: []rule{{SourceLabels: []string{"region", "replica"}, Regex: str("eu;a"), Action: "drop"}}},
		{Name: "drop with a custom separator", Rules: []rule{{SourceLabels: []string{"region", "replica"}, Separator: str("/"), Regex: str("eu;a"), Action: "DROP"}}},
		{Name: "keep case-insensitive alternation", Rules: []rule{{SourceLabels: []string{"cluster"}, Regex: str("(?i)EU-1|us-1"), Action: "keep"}}},
		{Name: "hashmod then keep", Rules: []rule{
			{SourceLabels: []string{"cluster", "tenant"}, Modulus: 3, TargetLabel: "__shard", Action: "hashmod"},
			{SourceLabels: []string{"__shard"}, Regex: str("1"), Action: "keep"},
		}},
		{Name: "hashmod then keep the other shards", Rules: []rule{
			{SourceLabels: []string{"cluster", "tenant"}, Modulus: 3, TargetLabel: "__shard", Action: "hashmod"},
			{SourceLabels: []string{"__shard"}, Regex: str("0|2"), Action: "keep"},
		}},
		{Name: "hashmod writes its label", Rules: []rule{{SourceLabels: []string{"tenant"}, Modulus: 1000, TargetLabel: "shard", Action: "hashmod"}}},
		{Name: "replace with defaults", Rules: []rule{{SourceLabels: []string{"cluster"}, TargetLabel: "copy"}}},
		{Name: "replace with groups and literals", Rules: []rule{{SourceLabels: []string{"cluster"}, Regex: str("([a-z]+)-([0-9]+)"), TargetLabel: "where", Replacement: str("${2}x$1 $$ $1x $01 ${3}")}}},
		{Name: "replace with named groups", Rules: []rule{{SourceLabels: []string{"tenant"}, Regex: str("(?P<team>[a-z]+)-(?P<rest>.*)"), TargetLabel: "t_$team", Replacement: str("$rest/${team}/$nope/${team")}}},
		{Name: "replace without a match changes nothing", Rules: []rule{{SourceLabels: []string{"cluster"}, Regex: str("us-(.*)"), TargetLabel: "where"}}},
		{Name: "replace to empty deletes", Rules: []rule{{SourceLabels: []string{"zone"}, TargetLabel: "replica"}}},
		{Name: "replace with an invalid expanded target does nothing", Rules: []rule{{SourceLabels: []string{"zone"}, Regex: str("(.*)"), TargetLabel: "$1", Replacement: str("x")}}},
		{Name: "labelmap", Rules: []rule{{Regex: str("re(.*)"), Replacement: str("x_$1"), Action: "labelmap"}}},
		{Name: "labeldrop", Rules: []rule{{Regex: str("replica|region"), Action: "labeldrop"}}},
		{Name: "labelkeep", Rules: []rule{{Regex: str("c.*"), Action: "labelkeep"}}},
		{Name: "labelkeep of nothing empties the set", Rules: []rule{{Regex: str("nothing"), Action: "labelkeep"}}},
		{Name: "keepequal", Rules: []rule{{SourceLabels: []string{"region"}, TargetLabel: "region", Action: "keepequal"}}},
		{Name: "dropequal", Rules: []rule{{SourceLabels: []string{"region"}, TargetLabel: "cluster", Action: "dropequal"}}},
		{Name: "dropequal of the same label drops", Rules: []rule{{SourceLabels: []string{"cluster"}, TargetLabel: "cluster", Action: "dropequal"}}},
		{Name: "dot matches a newline", Rules: []rule{
			{SourceLabels: []string{"cluster", "region"}, Separator: str("\n"), Regex: str("eu.*eu"), Action: "keep"},
		}},
	}
	for i := range cases {
		cases[i].Input = ext
		cases[i].Output = process(cases[i].Rules, ext)
	}
	var hashmods []hashmodCase
	for _, v := range []string{"", "eu-1", "us-1", "eu-1;a", "team-ä", "☃", strings.Repeat("long", 100)} {
		for _, m := range []uint64{1, 2, 3, 7, 1000, 1 << 40} {
			hashmods = append(hashmods, hashmodCase{v, m, hashmod(v, m)})
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(map[string]interface{}{"relabel": cases, "hashmod": hashmods}); err != nil {
		panic(err)
	}
}
