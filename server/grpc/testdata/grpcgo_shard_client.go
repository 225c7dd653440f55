// Command grpcgo_shard_client is an independent grpc-go client for the sharding tests: it sends
// one unsharded Series request and one request per shard (raw protobuf bytes the test encodes),
// decodes the series labels of every answer itself, and checks each sharded series against
// Thanos' ShardMatcher hash, computed here with github.com/cespare/xxhash as Thanos computes it:
// XXH64 over name, 0xff, value, 0xff of each label the shard_info selects, modulo total_shards.
//
// Usage: grpcgo_shard_client PORT BY(true|false) LABELS(comma-separated) UNSHARDED_HEX SHARD_HEX...
// where the i-th SHARD_HEX asks for shard i of len(SHARD_HEX...). Prints JSON: the unsharded
// series, each shard's series (labels as {name="value",...}), and the sharded series whose
// hash puts them in another shard.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cespare/xxhash"
	"google.golang.org/grpc"
)

type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

type label struct{ name, value string }

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// fields splits a protobuf message into (field number, length-delimited payload) pairs,
// skipping varint and fixed-width fields.
func fields(b []byte) ([][2]interface{}, error) {
	var out [][2]interface{}
	for len(b) > 0 {
		key, n := uvarint(b)
		if n <= 0 {
			return nil, errors.New("bad key")
		}
		b = b[n:]
		num, typ := int(key>>3), key&7
		switch typ {
		case 0:
			_, n = uvarint(b)
			if n <= 0 {
				return nil, errors.New("bad varint")
			}
			b = b[n:]
		case 1:
			b = b[8:]
		case 5:
			b = b[4:]
		case 2:
			l, n := uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return nil, errors.New("bad length")
			}
			out = append(out, [2]interface{}{num, b[n : n+int(l)]})
			b = b[n+int(l):]
		default:
			return nil, fmt.Errorf("wire type %d", typ)
		}
	}
	return out, nil
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(b) && i < 10; i++ {
		x |= uint64(b[i]&0x7f) << (7 * uint(i))
		if b[i] < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}

// seriesLabels returns the label sets of a SeriesResponse (series = 1, batch = 4 of series = 1;
// a series' labels = 1, a label's name = 1 and value = 2).
func seriesLabels(msg []byte) ([][]label, error) {
	top, err := fields(msg)
	if err != nil {
		return nil, err
	}
	var series [][]byte
	for _, f := range top {
		switch f[0].(int) {
		case 1:
			series = append(series, f[1].([]byte))
		case 4:
			inner, err := fields(f[1].([]byte))
			if err != nil {
				return nil, err
			}
			for _, g := range inner {
				if g[0].(int) == 1 {
					series = append(series, g[1].([]byte))
				}
			}
		}
	}
	var out [][]label
	for _, s := range series {
		sf, err := fields(s)
		if err != nil {
			return nil, err
		}
		var ls []label
		for _, f := range sf {
			if f[0].(int) != 1 {
				continue
			}
			lf, err := fields(f[1].([]byte))
			if err != nil {
				return nil, err
			}
			var l label
			for _, g := range lf {
				if g[0].(int) == 1 {
					l.name = string(g[1].([]byte))
				} else if g[0].(int) == 2 {
					l.value = string(g[1].([]byte))
				}
			}
			ls = append(ls, l)
		}
		out = append(out, ls)
	}
	return out, nil
}

func call(conn *grpc.ClientConn, reqHex string) ([][]label, error) {
	req, err := hex.DecodeString(reqHex)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/thanos.Store/Series")
	if err != nil {
		return nil, err
	}
	if err := st.SendMsg(&req); err != nil {
		return nil, err
	}
	if err := st.CloseSend(); err != nil {
		return nil, err
	}
	var out [][]label
	for {
		var m []byte
		err := st.RecvMsg(&m)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		ls, err := seriesLabels(m)
		if err != nil {
			return nil, err
		}
		out = append(out, ls...)
	}
}

func text(ls []label) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%s=%q", l.name, l.value)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func shardHash(ls []label, by bool, names map[string]bool) uint64 {
	var buf []byte
	for _, l := range ls {
		if names[l.name] != by {
			continue
		}
		buf = append(buf, l.name...)
		buf = append(buf, 0xff)
		buf = append(buf, l.value...)
		buf = append(buf, 0xff)
	}
	return xxhash.Sum64(buf)
}

func main() {
	if len(os.Args) < 6 {
		fail(errors.New("usage: grpcgo_shard_client PORT BY LABELS UNSHARDED_HEX SHARD_HEX..."))
	}
	by := os.Args[2] == "true"
	names := map[string]bool{}
	for _, n := range strings.Split(os.Args[3], ",") {
		if n != "" {
			names[n] = true
		}
	}
	conn, err := grpc.Dial("127.0.0.1:"+os.Args[1], grpc.WithInsecure(),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	all, err := call(conn, os.Args[4])
	if err != nil {
		fail(err)
	}
	result := map[string]interface{}{}
	unsharded := []string{}
	for _, ls := range all {
		unsharded = append(unsharded, text(ls))
	}
	result["unsharded"] = unsharded
	shardReqs := os.Args[5:]
	total := uint64(len(shardReqs))
	shards := [][]string{}
	misplaced := []string{}
	for i, reqHex := range shardReqs {
		got, err := call(conn, reqHex)
		if err != nil {
			fail(err)
		}
		shard := []string{}
		for _, ls := range got {
			shard = append(shard, text(ls))
			if h := shardHash(ls, by, names); h%total != uint64(i) {
				misplaced = append(misplaced, fmt.Sprintf("%s in shard %d, hash %d", text(ls), i, h))
			}
		}
		shards = append(shards, shard)
	}
	result["shards"] = shards
	result["misplaced"] = misplaced
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fail(err)
	}
}
