// Command grpcgo_client is an independent gRPC client (grpc-go, x/net/http2) for the server
// tests. Messages travel as raw protobuf bytes (a pass-through codec); the test encodes
// requests and decodes the hex-encoded responses it prints as JSON. Series is called with the
// "snappy" compressor registered the way Thanos registers it (klauspost/compress framing).
//
// Usage: grpcgo_client PORT SERIES_REQUEST_HEX BAD_SERIES_REQUEST_HEX [LIMITED_SERIES_REQUEST_HEX]
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/klauspost/compress/snappy"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

type snappyCompressor struct{}

func (snappyCompressor) Name() string { return "snappy" }
func (snappyCompressor) Compress(w io.Writer) (io.WriteCloser, error) {
	return snappy.NewBufferedWriter(w), nil
}
func (snappyCompressor) Decompress(r io.Reader) (io.Reader, error) {
	return snappy.NewReader(r), nil
}

func init() { encoding.RegisterCompressor(snappyCompressor{}) }

func dial(addr string) *grpc.ClientConn {
	conn, err := grpc.Dial(addr, grpc.WithInsecure(),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		fail(err)
	}
	return conn
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func series(ctx context.Context, conn *grpc.ClientConn, req []byte, opts ...grpc.CallOption) ([]string, error) {
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/thanos.Store/Series", opts...)
	if err != nil {
		return nil, err
	}
	if err := st.SendMsg(&req); err != nil {
		return nil, err
	}
	if err := st.CloseSend(); err != nil {
		return nil, err
	}
	var out []string
	for {
		var m []byte
		err := st.RecvMsg(&m)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, hex.EncodeToString(m))
	}
}

func main() {
	addr := "127.0.0.1:" + os.Args[1]
	seriesReq, _ := hex.DecodeString(os.Args[2])
	badReq, _ := hex.DecodeString(os.Args[3])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := map[string]interface{}{}

	conn := dial(addr)
	empty := []byte{}
	var health []byte
	if err := conn.Invoke(ctx, "/grpc.health.v1.Health/Check", &empty, &health); err != nil {
		fail(err)
	}
	out["health"] = hex.EncodeToString(health)
	var info []byte
	if err := conn.Invoke(ctx, "/thanos.info.Info/Info", &empty, &info); err != nil {
		fail(err)
	}
	out["info"] = hex.EncodeToString(info)
	msgs, err := series(ctx, conn, seriesReq, grpc.UseCompressor("snappy"))
	if err != nil {
		fail(err)
	}
	out["series_snappy"] = msgs
	_, err = series(ctx, conn, badReq)
	out["bad_code"] = status.Code(err).String()
	if len(os.Args) > 4 {
		limitedReq, _ := hex.DecodeString(os.Args[4])
		_, err = series(ctx, conn, limitedReq)
		out["limited"] = []string{status.Code(err).String(), status.Convert(err).Message()}
	}
	conn.Close()

	// 10 connections, each with 200 concurrent streams, closed as the last one finishes.
	total := 0
	for round := 0; round < 10; round++ {
		c := dial(addr)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := series(ctx, c, seriesReq)
				if err != nil {
					fail(err)
				}
				mu.Lock()
				total += len(m)
				mu.Unlock()
			}()
		}
		wg.Wait()
		c.Close()
	}
	out["rounds_messages"] = total

	conn = dial(addr)
	if err := conn.Invoke(ctx, "/grpc.health.v1.Health/Check", &empty, &health); err != nil {
		fail(err)
	}
	out["health_after"] = hex.EncodeToString(health)
	conn.Close()
	json.NewEncoder(os.Stdout).Encode(out)
}
