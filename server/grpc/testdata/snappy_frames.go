// Command snappy_frames compresses or decompresses stdin with the snappy framing format of
// github.com/klauspost/compress/snappy, the library behind Thanos' gRPC "snappy" compressor.
// Used by snappy_test.ts as an independent implementation. Usage: snappy_frames compress|decompress
package main

import (
	"io"
	"os"

	"github.com/klauspost/compress/snappy"
)

func main() {
	var err error
	switch os.Args[1] {
	case "compress":
		w := snappy.NewBufferedWriter(os.Stdout)
		if _, err = io.Copy(w, os.Stdin); err == nil {
			err = w.Close()
		}
	case "decompress":
		_, err = io.Copy(os.Stdout, snappy.NewReader(os.Stdin))
	}
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
}
