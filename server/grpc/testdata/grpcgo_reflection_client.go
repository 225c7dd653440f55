// Command grpcgo_reflection_client is an independent server reflection client: grpc-go's own
// grpc.reflection.v1alpha stubs (as grpcurl and Thanos tooling of the grpc-go 1.33 era use
// them) on one stream: list the services, resolve thanos.Store (its file and dependencies,
// parsed as FileDescriptorProtos by golang/protobuf), ask again on the same stream, and ask
// for an unknown symbol. Prints the findings as JSON.
//
// Usage: grpcgo_reflection_client PORT
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/golang/protobuf/proto"
	dpb "github.com/golang/protobuf/protoc-gen-go/descriptor"
	"google.golang.org/grpc"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
)

type result struct {
	Services         []string `json:"services"`
	StoreFiles       []string `json:"store_files"`
	StoreMethods     []string `json:"store_methods"`
	SeriesStreaming  bool     `json:"series_server_streaming"`
	AgainFiles       []string `json:"again_files"`
	UnknownCode      int32    `json:"unknown_code"`
	UnknownMessage   string   `json:"unknown_message"`
	EndOfStreamClean bool     `json:"end_of_stream_clean"`
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func ask(stream rpb.ServerReflection_ServerReflectionInfoClient, req *rpb.ServerReflectionRequest) *rpb.ServerReflectionResponse {
	if err := stream.Send(req); err != nil {
		fail(err)
	}
	res, err := stream.Recv()
	if err != nil {
		fail(err)
	}
	return res
}

func files(res *rpb.ServerReflectionResponse) []*dpb.FileDescriptorProto {
	fdr := res.GetFileDescriptorResponse()
	if fdr == nil {
		fail(fmt.Errorf("not a file descriptor response: %v", res))
	}
	var out []*dpb.FileDescriptorProto
	for _, b := range fdr.FileDescriptorProto {
		fd := &dpb.FileDescriptorProto{}
		if err := proto.Unmarshal(b, fd); err != nil {
			fail(err)
		}
		out = append(out, fd)
	}
	return out
}

func names(fds []*dpb.FileDescriptorProto) []string {
	var out []string
	for _, fd := range fds {
		out = append(out, fd.GetName())
	}
	return out
}

func main() {
	conn, err := grpc.Dial("127.0.0.1:"+os.Args[1], grpc.WithInsecure())
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		fail(err)
	}
	var r result

	list := ask(stream, &rpb.ServerReflectionRequest{
		MessageRequest: &rpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	})
	for _, s := range list.GetListServicesResponse().GetService() {
		r.Services = append(r.Services, s.GetName())
	}

	store := files(ask(stream, &rpb.ServerReflectionRequest{
		MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "thanos.Store"},
	}))
	r.StoreFiles = names(store)
	for _, svc := range store[0].GetService() {
		if svc.GetName() != "Store" {
			continue
		}
		for _, m := range svc.GetMethod() {
			r.StoreMethods = append(r.StoreMethods, m.GetName())
			if m.GetName() == "Series" {
				r.SeriesStreaming = m.GetServerStreaming()
			}
		}
	}

	r.AgainFiles = names(files(ask(stream, &rpb.ServerReflectionRequest{
		MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "thanos.SeriesRequest"},
	})))

	unknown := ask(stream, &rpb.ServerReflectionRequest{
		MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "thanos.Nope"},
	})
	r.UnknownCode = unknown.GetErrorResponse().GetErrorCode()
	r.UnknownMessage = unknown.GetErrorResponse().GetErrorMessage()

	if err := stream.CloseSend(); err != nil {
		fail(err)
	}
	_, err = stream.Recv()
	r.EndOfStreamClean = err == io.EOF

	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fail(err)
	}
}
